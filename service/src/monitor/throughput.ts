import type { Redis } from 'ioredis';

// Mails per second over the last minutes, per worker: each worker adds its
// counts to Redis once a second, so every web pod reads the same history
// and a mail costs no Redis round trip of its own.

/** How finely outcomes are counted over time. */
export const BUCKET_SECONDS = 5;
/** How many buckets the dashboard shows: five minutes. */
export const WINDOW_BUCKETS = 60;
/** A worker's rate: its mails over the last 15 seconds. */
const RATE_BUCKETS = 3;
const KEY_PREFIX = 'mail-worker:throughput:';

export const COUNTED = ['sent', 'failed', 'retried'] as const;
export type Counted = (typeof COUNTED)[number];

const bucketOf = (ms: number) => Math.floor(ms / 1000 / BUCKET_SECONDS) * BUCKET_SECONDS;

/** Counts one worker's outcomes and adds them to Redis once a second. */
export class ThroughputRecorder {
  readonly #redis: Redis;
  readonly #worker: string;
  readonly #timer: NodeJS.Timeout;
  #counts = new Map<Counted, number>();

  /** `worker` is the worker's BullMQ name (pod/version), the name the queues list it by. */
  constructor(redis: Redis, worker: string, flushMs = 1000) {
    this.#redis = redis;
    this.#worker = worker;
    this.#timer = setInterval(() => void this.flush(), flushMs).unref();
  }

  count(outcome: Counted): void {
    this.#counts.set(outcome, (this.#counts.get(outcome) ?? 0) + 1);
  }

  /** Adds what was counted since the last flush to the current bucket; kept for the next flush if Redis does not answer. */
  async flush(now = Date.now()): Promise<void> {
    if (this.#counts.size === 0) return;
    const counts = this.#counts;
    this.#counts = new Map();
    const key = KEY_PREFIX + bucketOf(now);
    const transaction = this.#redis.multi();
    for (const [outcome, n] of counts) transaction.hincrby(key, `${outcome} ${this.#worker}`, n);
    transaction.expire(key, (WINDOW_BUCKETS + RATE_BUCKETS) * BUCKET_SECONDS);
    try {
      await transaction.exec();
    } catch {
      // Monitoring must never stop a send: the counts wait for Redis to come back.
      for (const [outcome, n] of counts) this.#counts.set(outcome, (this.#counts.get(outcome) ?? 0) + n);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}

/** Mails per second in one bucket. */
export interface ThroughputPoint {
  /** The bucket's start. */
  at: string;
  sent: number;
  failed: number;
  retried: number;
}

export interface Throughput {
  bucketSeconds: number;
  /** The last complete buckets, oldest first: the one being filled is left out, so no bar shows a dip that is only unfinished. */
  points: ThroughputPoint[];
  /** Each worker's mails (sent and failed) per second over the last 15 seconds, by its BullMQ name. */
  byWorker: Map<string, number>;
}

/** The last five minutes of every worker's counts: one Redis round trip. */
export async function readThroughput(redis: Redis, now = Date.now()): Promise<Throughput> {
  const last = bucketOf(now) - BUCKET_SECONDS;
  const starts = Array.from({ length: WINDOW_BUCKETS }, (_, i) => last - (WINDOW_BUCKETS - 1 - i) * BUCKET_SECONDS);
  const pipeline = redis.pipeline();
  for (const start of starts) pipeline.hgetall(KEY_PREFIX + start);
  const answers = (await pipeline.exec()) ?? [];
  const byWorker = new Map<string, number>();
  const points = starts.map((start, i) => {
    const [error, fields] = answers[i] ?? [null, {}];
    if (error) throw error;
    const point = { at: new Date(start * 1000).toISOString(), sent: 0, failed: 0, retried: 0 };
    const recent = i >= WINDOW_BUCKETS - RATE_BUCKETS;
    for (const [field, value] of Object.entries(fields as Record<string, string>)) {
      const space = field.indexOf(' ');
      const outcome = field.slice(0, space) as Counted;
      const n = Number(value);
      if (!COUNTED.includes(outcome) || !Number.isFinite(n)) continue;
      point[outcome] += n / BUCKET_SECONDS;
      if (recent && outcome !== 'retried') {
        const worker = field.slice(space + 1);
        byWorker.set(worker, (byWorker.get(worker) ?? 0) + n / (RATE_BUCKETS * BUCKET_SECONDS));
      }
    }
    return point;
  });
  return { bucketSeconds: BUCKET_SECONDS, points, byWorker };
}
