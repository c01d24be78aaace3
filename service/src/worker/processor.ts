import { setTimeout as sleep } from 'node:timers/promises';
import { type Job, UnrecoverableError } from 'bullmq';
import type { MailTransport } from '../mail/transport.ts';
import { composeMail } from '../mail/compose.ts';
import { isValidEmail, type Mailbox } from '../mail/mailbox.ts';
import { buildMessage } from '../mail/message.ts';
import type { Metrics } from '../metrics.ts';
import type { Counted, ThroughputRecorder } from '../monitor/throughput.ts';
import { isPermanentFailure } from '../queue/delivery-policy.ts';
import { MAX_RELAY_LATENCY_MS, type MailJob } from '../queue/queues.ts';
import type { RunStore, WorkerIdentity } from '../runs/store.ts';

export class SimulatedFailure extends Error {
  constructor(rate: number) {
    super(`simulated failure (the run's failure rate is ${Math.round(rate * 100)}%)`);
    this.name = 'SimulatedFailure';
  }
}

/** Validates a job's payload: a malformed one must fail clearly, not crash the worker. */
export function checkMailJob(name: string, data: unknown): MailJob {
  if (name !== 'send') throw new UnrecoverableError(`unknown job name ${JSON.stringify(name)}: this worker only handles "send"`);
  const d = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  const problems: string[] = [];
  const positiveInt = (key: string) => {
    if (!Number.isSafeInteger(d[key]) || (d[key] as number) < 1) problems.push(`${key} must be a positive whole number`);
  };
  positiveInt('runId');
  positiveInt('recipientId');
  if (typeof d.email !== 'string' || !isValidEmail(d.email)) problems.push('email must be a valid email address');
  // eslint-disable-next-line no-control-regex -- a line break would end up in the To header
  if (typeof d.name !== 'string' || /[\u0000-\u001f\u007f]/.test(d.name)) problems.push('name must be a string without control characters');
  if (typeof d.failureRate !== 'number' || !(d.failureRate >= 0 && d.failureRate <= 1))
    problems.push('failureRate must be a number from 0 to 1');
  const latency = d.relayLatencyMs ?? 0;
  if (!Number.isSafeInteger(latency) || (latency as number) < 0 || (latency as number) > MAX_RELAY_LATENCY_MS)
    problems.push(`relayLatencyMs must be a whole number from 0 to ${MAX_RELAY_LATENCY_MS}`);
  if (problems.length > 0) throw new UnrecoverableError(`malformed job payload: ${problems.join('; ')}`);
  return d as unknown as MailJob;
}

export interface ProcessorDeps {
  runs: RunStore;
  transport: MailTransport;
  mailFrom: Mailbox;
  metrics: Metrics;
  /** The dashboard's mails per second: counted here, beside the Prometheus counter. */
  throughput: Pick<ThroughputRecorder, 'count'>;
  /** This worker's pod and version: in each mail's headers and the job's log lines. */
  worker: WorkerIdentity;
  /** Injectable so tests can decide which attempts fail; Math.random in production. */
  random?: () => number;
}

export type ProcessResult = 'sent' | 'already-recorded';

/**
 * Handles one attempt of one delivery. The outcome is written here, not in a
 * 'failed' event handler, so it lands before BullMQ moves the job on: if the
 * process dies in between, the stalled job comes back, finds its outcome and
 * stops, and nothing is counted twice.
 */
export function createProcessor(deps: ProcessorDeps) {
  const random = deps.random ?? Math.random;
  const on = `on ${deps.worker.pod} (${deps.worker.version})`;
  const counted = (queue: string, outcome: Counted) => {
    deps.metrics.deliveries.inc({ queue, outcome });
    deps.throughput.count(outcome);
  };
  return async function process(job: Job<unknown>): Promise<ProcessResult> {
    const mail = checkMailJob(job.name, job.data);
    const queue = job.queueName;
    const attempt = job.attemptsMade + 1;
    const attempts = job.opts.attempts ?? 1;

    const recorded = await deps.runs.outcomeOf(mail.runId, mail.recipientId);
    if (recorded === undefined) {
      throw new UnrecoverableError(`run ${mail.runId} has no delivery for recipient ${mail.recipientId} (was the run deleted?)`);
    }
    if (recorded !== null) {
      // Its worker may have died between recording and finishing the run.
      await deps.runs.finishIfComplete(mail.runId);
      await job.log(`attempt ${attempt} ${on}: outcome already recorded (${recorded}); not sending again`);
      return 'already-recorded';
    }

    try {
      if (random() < mail.failureRate) throw new SimulatedFailure(mail.failureRate);
      const started = performance.now();
      // A slow relay, simulated: the job waits on I/O, as against a real
      // relay, so a worker's pace is its concurrency over the latency and
      // more workers send faster. The wait counts in the send duration.
      if (mail.relayLatencyMs) await sleep(mail.relayLatencyMs);
      const sentAt = new Date();
      const to = { name: mail.name, address: mail.email };
      const raw = composeMail(deps.mailFrom, to, buildMessage(mail, sentAt), sentAt, deps.worker);
      await deps.transport.send({ from: deps.mailFrom.address, to: [mail.email] }, raw);
      deps.metrics.sendDuration.observe({ queue }, (performance.now() - started) / 1000);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const permanent = isPermanentFailure(error);
      const last = permanent || attempt >= attempts;
      await job.log(`attempt ${attempt}/${attempts} failed ${on}: ${reason}${last ? ' (final)' : ' (will retry)'}`);
      if (!last) {
        await deps.runs.recordRetry(mail.runId);
        counted(queue, 'retried');
        throw error;
      }
      await deps.runs.recordOutcome({
        runId: mail.runId,
        recipientId: mail.recipientId,
        outcome: 'failed',
        attempts: attempt,
        error: reason,
      });
      counted(queue, 'failed');
      throw permanent ? new UnrecoverableError(reason) : error;
    }

    await deps.runs.recordOutcome({ runId: mail.runId, recipientId: mail.recipientId, outcome: 'sent', attempts: attempt });
    counted(queue, 'sent');
    // After failed attempts the log tells how it ended; a first-time success
    // needs no log line (its result says 'sent'), and skipping it saves a
    // Redis round trip for nearly every mail.
    if (attempt > 1) await job.log(`attempt ${attempt}/${attempts} ${on}: sent to ${mail.email}`);
    return 'sent';
  };
}
