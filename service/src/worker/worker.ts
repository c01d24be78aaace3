import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { settledWithin } from '../deadline.ts';
import { type DeliveryPolicy, gaveUpAfterStalling, workerOptions } from '../queue/delivery-policy.ts';
import { QUEUE_NAMES, QUEUE_PREFIX, redisConnection, workerName } from '../queue/queues.ts';
import { checkMailJob, createProcessor, type ProcessorDeps } from './processor.ts';

export interface MailWorkersOptions {
  redisUrl: string;
  concurrency: number;
  /** Mails per second across all workers of a queue; undefined for no limit. */
  rateLimit?: number;
  shutdownGraceMs: number;
  /** Locks and the stalled limit (see delivery-policy.ts). */
  policy: DeliveryPolicy;
  log: { info(msg: string): void; warn(msg: string): void; error(obj: unknown, msg: string): void };
}

/**
 * A job that stalled too often is failed by BullMQ without reaching the
 * processor, so its outcome is written here; the run still ends with
 * sent + failed == total. (For every other failure the processor already
 * wrote the outcome, and this write is a no-op.)
 */
async function recordGivenUp(deps: ProcessorDeps, job: Job, error: Error): Promise<void> {
  if (!gaveUpAfterStalling(job)) return;
  const mail = checkMailJob(job.name, job.data);
  await deps.runs.recordOutcome({
    runId: mail.runId,
    recipientId: mail.recipientId,
    outcome: 'failed',
    attempts: job.attemptsMade,
    error: error.message,
  });
}

/** How long the workers get to close once their connections are dropped. */
const FORCED_CLOSE_MS = 2_000;

/** Resolves once one of CONNECTIONS has lost Redis, or at once if one already had. */
function redisLost(connections: Redis[]): Promise<'lost'> {
  return new Promise((resolve) => {
    for (const c of connections) {
      if (c.status !== 'ready') resolve('lost');
      c.once('close', () => resolve('lost'));
    }
  });
}

/** BullMQ's limiter counts jobs per window; a fractional rate widens the window. */
function limiter(rate: number | undefined) {
  if (rate === undefined) return undefined;
  return rate >= 1 ? { max: Math.round(rate), duration: 1000 } : { max: 1, duration: Math.round(1000 / rate) };
}

/**
 * One BullMQ worker per queue, each with the full concurrency, so the
 * priority lane keeps capacity of its own however long the default queue is.
 */
export class MailWorkers {
  readonly #workers: Worker[];
  readonly #connections: Redis[];
  readonly #options: MailWorkersOptions;
  /** Jobs in the processor right now, over both queues. */
  #active = 0;

  constructor(deps: ProcessorDeps, options: MailWorkersOptions) {
    this.#options = options;
    const process = createProcessor(deps);
    const processor = async (job: Job) => {
      this.#active++;
      try {
        return await process(job);
      } finally {
        this.#active--;
      }
    };
    this.#connections = QUEUE_NAMES.map(() => redisConnection(options.redisUrl, 'worker'));
    const rate = limiter(options.rateLimit);
    this.#workers = QUEUE_NAMES.map((name, i) => {
      const worker = new Worker(name, processor, {
        connection: this.#connections[i] as Redis,
        prefix: QUEUE_PREFIX,
        concurrency: options.concurrency,
        name: workerName(deps.worker),
        ...workerOptions(options.policy),
        ...(rate ? { limiter: rate } : {}),
        autorun: false,
      });
      // A worker emits 'error' for connection trouble it recovers from by
      // itself; without a listener Node would treat it as fatal.
      worker.on('error', (error) => options.log.error({ err: error, queue: name }, 'worker error'));
      worker.on('failed', (job, error) => {
        if (job)
          void recordGivenUp(deps, job, error).catch((e: unknown) => options.log.error({ err: e }, 'recording a stalled job failed'));
      });
      return worker;
    });
  }

  start(): void {
    for (const worker of this.#workers) {
      void worker.run().catch((error: unknown) => this.#options.log.error({ err: error }, 'worker stopped'));
    }
  }

  /** True while every worker's connection to Redis is up. */
  async isReady(): Promise<boolean> {
    const answers = await Promise.all(
      this.#connections.map((c) =>
        c.ping().then(
          () => true,
          () => false,
        ),
      ),
    );
    return answers.every(Boolean);
  }

  /**
   * Stops taking jobs and lets the active ones finish within the grace period.
   * Jobs still running after it are left to BullMQ's stalled-job check: the
   * next worker picks them up again (their outcome guard prevents a double count).
   * Redis gone (a namespace deleted or a release uninstalled, Redis with
   * it) ends the wait at once: with none running there is nothing to wait
   * for, and the ones running can no longer record their end, so waiting
   * out the grace period would only hold the pod that long.
   */
  async close(): Promise<void> {
    const closed = Promise.all(this.#workers.map((w) => w.close(this.#active === 0)));
    const ended = await Promise.race([settledWithin(closed, this.#options.shutdownGraceMs), redisLost(this.#connections)]);
    if (ended === 'pending' || ended === 'lost') {
      this.#options.log.warn(
        ended === 'lost'
          ? 'Redis is gone; leaving the jobs still active to the stalled-job check'
          : `jobs still active after ${this.#options.shutdownGraceMs} ms; leaving them to the stalled-job check`,
      );
      // A second close(true) would return the graceful close under way. What
      // ends it is dropping the connections: the commands its jobs wait on
      // fail at once, as they would if Redis were gone (it may be).
      for (const c of this.#connections) c.disconnect();
      if ((await settledWithin(closed, FORCED_CLOSE_MS)) === 'pending')
        this.#options.log.warn('the workers did not close; going on without them');
      return;
    }
    // QUIT would wait in the offline queue for a Redis that is not there.
    await Promise.all(this.#connections.map((c) => (c.status === 'ready' ? c.quit().catch(() => c.disconnect()) : c.disconnect())));
  }
}
