import { randomUUID } from 'node:crypto';
import { problem } from '../problems.ts';
import type { Flags } from '../flags/flags.ts';
import { type DeliveryPolicy, jobOptions } from '../queue/delivery-policy.ts';
import { jobId, MAX_RELAY_LATENCY_MS, type Queues, type QueueName } from '../queue/queues.ts';
import { type Run, RunError, type RunStore } from './store.ts';

export const MAX_RUN_SIZE = 100_000;
/** Jobs per addBulk call: one Redis round trip (a MULTI) per chunk. */
export const ENQUEUE_CHUNK = 1000;
/**
 * Chunks in flight at once: while Redis runs one chunk's scripts, this
 * process serialises the next ones, so both cores work. The window is
 * refilled group by group, and each group ends with a wait for Redis; ten
 * chunks put a run of 10,000 (the largest button) in one group, which cut
 * the benchmark's enqueue by about a fifth against four.
 */
export const CHUNKS_IN_FLIGHT = 10;

export interface RunRequest {
  count: number;
  failureRate: number;
  relayLatencyMs: number;
}

/** A form's text as a number (the JSON API sends numbers); empty or absent is FALLBACK. */
function numeric(value: unknown, fallback?: number): unknown {
  if (value === undefined || (typeof value === 'string' && value.trim() === '')) return fallback;
  return typeof value === 'string' ? Number(value) : value;
}

/** Checks a run request from the API or a form; names the first bad field. */
export function checkRunRequest(body: { count?: unknown; failureRate?: unknown; relayLatencyMs?: unknown }): RunRequest {
  const count = numeric(body.count);
  const rate = numeric(body.failureRate, 0);
  const latency = numeric(body.relayLatencyMs, 0);
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_RUN_SIZE) {
    throw new RunError(422, problem('run.count.invalid', { max: MAX_RUN_SIZE }));
  }
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
    throw new RunError(422, problem('run.failure_rate.invalid'));
  }
  if (typeof latency !== 'number' || !Number.isInteger(latency) || latency < 0 || latency > MAX_RELAY_LATENCY_MS) {
    throw new RunError(422, problem('run.relay_latency.invalid', { max: MAX_RELAY_LATENCY_MS }));
  }
  return { count, failureRate: rate, relayLatencyMs: latency };
}

/**
 * Redis at its maxmemory with noeviction (the chart's) refuses writes with
 * an OOM error rather than dropping queued jobs: the run stops where it
 * is, resumable once workers have drained the queues.
 */
function redisFull(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('OOM ');
}

/** The web side of a bulk send: create a run, then hand its jobs to the queue. */
export class BulkSender {
  readonly #runs: RunStore;
  readonly #queues: Queues;
  readonly #flags: Flags;
  readonly #policy: DeliveryPolicy;

  constructor(runs: RunStore, queues: Queues, flags: Flags, policy: DeliveryPolicy) {
    this.#runs = runs;
    this.#queues = queues;
    this.#flags = flags;
    this.#policy = policy;
  }

  async start(request: RunRequest): Promise<Run> {
    // A random stickiness key per run: a gradual rollout of send_strategy
    // splits runs between the queues, and all jobs of one run share a queue.
    const flags = this.#flags.evaluate(randomUUID());
    if (!flags.bulkSend.enabled) {
      throw new RunError(403, problem('run.bulk_send.off'));
    }
    const queue: QueueName = flags.sendStrategy.variant === 'priority' ? 'mail-priority' : 'mail-default';
    const run = await this.#runs.create({ ...request, queue });
    await this.enqueue(run);
    return (await this.#runs.get(run.id)) ?? run;
  }

  /**
   * Adds the run's jobs in chunks, continuing after the stored cursor, so a
   * run whose enqueue was interrupted (a crash, Redis away) can be resumed
   * any number of times: job ids are deterministic, so nothing is added twice.
   */
  async enqueue(run: Pick<Run, 'id' | 'queue' | 'failureRate' | 'relayLatencyMs'>): Promise<void> {
    const queue = this.#queues[run.queue as QueueName];
    const options = jobOptions(this.#policy);
    for (;;) {
      const cursor = await this.#runs.enqueueCursor(run.id);
      if (cursor === undefined) return;
      const group = await this.#runs.deliveriesAfter(run.id, cursor, ENQUEUE_CHUNK * CHUNKS_IN_FLIGHT);
      const last = group.at(-1);
      if (last === undefined) return;
      const jobs = group.map((d) => ({
        name: 'send',
        data: {
          runId: run.id,
          recipientId: d.recipientId,
          name: d.name,
          email: d.email,
          failureRate: run.failureRate,
          relayLatencyMs: run.relayLatencyMs,
        },
        opts: { ...options, jobId: jobId(run.id, d.recipientId) },
      }));
      const chunks = Array.from({ length: Math.ceil(jobs.length / ENQUEUE_CHUNK) }, (_, i) =>
        jobs.slice(i * ENQUEUE_CHUNK, (i + 1) * ENQUEUE_CHUNK),
      );
      // The cursor moves only once every chunk of the group is in Redis.
      await Promise.all(chunks.map((chunk) => queue.addBulk(chunk))).catch(async (error: unknown) => {
        if (!redisFull(error)) throw error;
        const stopped = await this.#runs.get(run.id);
        throw new RunError(507, problem('run.queue_full', { id: run.id, enqueued: stopped?.enqueued ?? 0, total: stopped?.total ?? 0 }));
      });
      await this.#runs.advanceEnqueueCursor(run.id, cursor, last.recipientId, group.length);
    }
  }
}
