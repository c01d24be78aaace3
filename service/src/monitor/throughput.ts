import type { Redis } from 'ioredis';

// Mails per second over the last minutes, per worker, and requests per
// second per web pod: each process adds its counts to Redis once a second,
// so every web pod reads the same history and neither a mail nor a request
// costs a Redis round trip of its own.

/** How finely outcomes are counted over time. */
export const BUCKET_SECONDS = 5;
/** How many buckets the dashboard shows: five minutes. */
export const WINDOW_BUCKETS = 60;
/** A worker's rate: its mails over the last 15 seconds. */
const RATE_BUCKETS = 3;
const KEY_PREFIX = 'mail-worker:throughput:';

/** What a worker counts: its mails' outcomes. */
export const COUNTED = ['sent', 'failed', 'retried'] as const;
/** What a web pod counts: the requests it answered, and of those the ones answered 5xx. */
export const ANSWERED = ['answered', 'errors'] as const;
export type Counted = (typeof COUNTED)[number] | (typeof ANSWERED)[number];
const MAIL_OUTCOMES: readonly string[] = COUNTED;

const bucketOf = (ms: number) => Math.floor(ms / 1000 / BUCKET_SECONDS) * BUCKET_SECONDS;

export interface RecorderOptions {
  flushMs?: number;
  /**
   * Write every flush, with nothing counted too: a web pod shows in the panel
   * as soon as it runs (a worker is listed by BullMQ instead).
   */
  heartbeat?: boolean;
}

/** Counts one process's outcomes and adds them to Redis once a second. */
export class ThroughputRecorder {
  readonly #redis: Redis;
  readonly #name: string;
  readonly #heartbeat: boolean;
  readonly #timer: NodeJS.Timeout;
  #counts = new Map<Counted, number>();

  /** `name` is pod/version: for a worker, its BullMQ name, the one the queues list it by. */
  constructor(redis: Redis, name: string, { flushMs = 1000, heartbeat = false }: RecorderOptions = {}) {
    this.#redis = redis;
    this.#name = name;
    this.#heartbeat = heartbeat;
    this.#timer = setInterval(() => void this.flush(), flushMs).unref();
  }

  count(outcome: Counted): void {
    this.#counts.set(outcome, (this.#counts.get(outcome) ?? 0) + 1);
  }

  /** Adds what was counted since the last flush to the current bucket; kept for the next flush if Redis does not answer. */
  async flush(now = Date.now()): Promise<void> {
    if (this.#counts.size === 0 && !this.#heartbeat) return;
    const counts = this.#counts;
    this.#counts = new Map();
    if (this.#heartbeat && !counts.has('answered')) counts.set('answered', 0);
    const key = KEY_PREFIX + bucketOf(now);
    const transaction = this.#redis.multi();
    for (const [outcome, n] of counts) transaction.hincrby(key, `${outcome} ${this.#name}`, n);
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
  /** Each web pod that ran in the last 15 seconds: its requests and 5xx answers per second, by pod/version. */
  byWebPod: Map<string, { perSecond: number; errorsPerSecond: number }>;
}

/** The last five minutes of every process's counts: one Redis round trip. */
export async function readThroughput(redis: Redis, now = Date.now()): Promise<Throughput> {
  const last = bucketOf(now) - BUCKET_SECONDS;
  const starts = Array.from({ length: WINDOW_BUCKETS }, (_, i) => last - (WINDOW_BUCKETS - 1 - i) * BUCKET_SECONDS);
  const pipeline = redis.pipeline();
  for (const start of starts) pipeline.hgetall(KEY_PREFIX + start);
  const answers = (await pipeline.exec()) ?? [];
  const byWorker = new Map<string, number>();
  const byWebPod: Throughput['byWebPod'] = new Map();
  const perSecond = (n: number) => n / (RATE_BUCKETS * BUCKET_SECONDS);
  const points = starts.map((start, i) => {
    const [error, fields] = answers[i] ?? [null, {}];
    if (error) throw error;
    const point = { at: new Date(start * 1000).toISOString(), sent: 0, failed: 0, retried: 0 };
    const recent = i >= WINDOW_BUCKETS - RATE_BUCKETS;
    for (const [field, value] of Object.entries(fields as Record<string, string>)) {
      const space = field.indexOf(' ');
      const outcome = field.slice(0, space);
      const name = field.slice(space + 1);
      const n = Number(value);
      if (!Number.isFinite(n)) continue;
      if (MAIL_OUTCOMES.includes(outcome)) {
        point[outcome as (typeof COUNTED)[number]] += n / BUCKET_SECONDS;
        if (recent && outcome !== 'retried') byWorker.set(name, (byWorker.get(name) ?? 0) + perSecond(n));
      } else if (recent && (outcome === 'answered' || outcome === 'errors')) {
        const pod = byWebPod.get(name) ?? { perSecond: 0, errorsPerSecond: 0 };
        if (outcome === 'answered') pod.perSecond += perSecond(n);
        else pod.errorsPerSecond += perSecond(n);
        byWebPod.set(name, pod);
      }
    }
    return point;
  });
  return { bucketSeconds: BUCKET_SECONDS, points, byWorker, byWebPod };
}
