import type { Redis } from 'ioredis';
import { QUEUE_NAMES, type QueueName, type Queues } from '../queue/queues.ts';
import { readThroughput, type ThroughputPoint } from './throughput.ts';

// What the dashboard's live panel shows: the queues, the workers listening
// on them, the mails per second and the web pods answering, read from Redis
// alone.

export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
export type QueueDepth = { name: QueueName } & Record<(typeof QUEUE_STATES)[number], number>;

export interface LiveWorker {
  /** The worker's BullMQ name: pod/version. */
  name: string;
  pod: string;
  version: string;
  queues: QueueName[];
  /** Mails (sent and failed) per second over the last 15 seconds. */
  perSecond: number;
}

export interface LiveWebPod {
  /** pod/version. */
  name: string;
  pod: string;
  version: string;
  /** Requests answered per second over the last 15 seconds (probes, metrics and this panel's own polls left out). */
  perSecond: number;
  /** Of those, answered 5xx. */
  errorsPerSecond: number;
}

export interface SystemSnapshot {
  at: string;
  queues: QueueDepth[];
  /** Null where Redis does not list its clients (a provider that refuses CLIENT LIST). */
  workers: LiveWorker[] | null;
  /** The web pods that ran in the last 15 seconds. */
  web: LiveWebPod[];
  bucketSeconds: number;
  throughput: ThroughputPoint[];
}

/** pod/version, split (a name without a slash is all pod). */
function podAndVersion(name: string): { pod: string; version: string } {
  const slash = name.indexOf('/');
  return slash === -1 ? { pod: name, version: '' } : { pod: name.slice(0, slash), version: name.slice(slash + 1) };
}

/** A worker's name as BullMQ keeps it in its Redis client name (bull:QUEUE:w:NAME); '' for a worker given none. */
function nameInClient(rawName: string): string {
  const marker = rawName.indexOf(':w:');
  return marker === -1 ? '' : rawName.slice(marker + 3);
}

async function listWorkers(queues: Queues): Promise<Array<{ queue: QueueName; name: string }> | null> {
  try {
    const lists = await Promise.all(
      QUEUE_NAMES.map(async (queue) =>
        (await queues[queue].getWorkers()).map((client) => ({ queue, name: nameInClient(client.rawname ?? '') })),
      ),
    );
    return lists.flat();
  } catch {
    return null;
  }
}

/**
 * Reads the system's state at most once per `maxAgeMs`, however many pages
 * ask: twenty open dashboards cost Redis what one does.
 */
export class SystemMonitor {
  readonly #queues: Queues;
  readonly #redis: Redis;
  readonly #maxAgeMs: number;
  #latest: { at: number; snapshot: Promise<SystemSnapshot> } | undefined;

  constructor(queues: Queues, redis: Redis, maxAgeMs = 1000) {
    this.#queues = queues;
    this.#redis = redis;
    this.#maxAgeMs = maxAgeMs;
  }

  snapshot(): Promise<SystemSnapshot> {
    const now = Date.now();
    if (this.#latest === undefined || now - this.#latest.at >= this.#maxAgeMs) {
      const snapshot = this.#read(now);
      // A failed read is not kept: the next page asks Redis again.
      snapshot.catch(() => {
        if (this.#latest?.snapshot === snapshot) this.#latest = undefined;
      });
      this.#latest = { at: now, snapshot };
    }
    return this.#latest.snapshot;
  }

  async #read(now: number): Promise<SystemSnapshot> {
    const [queues, clients, throughput] = await Promise.all([
      Promise.all(QUEUE_NAMES.map(async (name) => ({ name, ...(await this.#queues[name].getJobCounts(...QUEUE_STATES)) }) as QueueDepth)),
      listWorkers(this.#queues),
      readThroughput(this.#redis, now),
    ]);
    let workers: LiveWorker[] | null = null;
    if (clients !== null) {
      const byName = new Map<string, LiveWorker>();
      for (const { queue, name } of clients) {
        const worker = byName.get(name) ?? {
          name,
          ...podAndVersion(name),
          queues: [],
          perSecond: throughput.byWorker.get(name) ?? 0,
        };
        if (!worker.queues.includes(queue)) worker.queues.push(queue);
        byName.set(name, worker);
      }
      workers = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
    }
    const web = [...throughput.byWebPod]
      .map(([name, rates]) => ({ name, ...podAndVersion(name), ...rates }))
      .sort((a, b) => a.name.localeCompare(b.name));
    return {
      at: new Date(now).toISOString(),
      queues,
      workers,
      web,
      bucketSeconds: throughput.bucketSeconds,
      throughput: throughput.points,
    };
  }
}
