import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

// The names below are part of the contract: the chart's KEDA trigger, the
// Grafana dashboard and the docs build their Redis keys from them
// (bull:mail-default:wait and friends), and the chart tests read them here.
export const QUEUE_PREFIX = 'bull';
export const QUEUE_NAMES = ['mail-default', 'mail-priority'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

export function isQueueName(value: unknown): value is QueueName {
  return (QUEUE_NAMES as readonly unknown[]).includes(value);
}

/**
 * The longest simulated relay wait per mail: five seconds, slower than any
 * relay worth simulating, and a run of 1,000 at ten at a time already takes
 * over eight minutes. (A waiting job's BullMQ lock is renewed as usual.)
 */
export const MAX_RELAY_LATENCY_MS = 5000;

/** What one job carries: everything needed to send without reading the recipient table. */
export interface MailJob {
  runId: number;
  recipientId: number;
  name: string;
  email: string;
  failureRate: number;
  /** Absent in jobs an older version enqueued: no wait. */
  relayLatencyMs?: number;
}

/**
 * Deterministic job id for a (run, recipient) pair: adding the same pair twice
 * is a no-op while the first job is kept, which makes resuming an interrupted
 * enqueue safe. (BullMQ forbids ':' in custom ids and all-digit ids.)
 */
export function jobId(runId: number, recipientId: number): string {
  return `run-${runId}-rcpt-${recipientId}`;
}

/**
 * A worker's name in BullMQ: its pod and version. BullMQ keeps it on each
 * job it takes (processedBy), Redis lists the worker's connection by it, and
 * the dashboard counts each worker's mails by it. A Redis client name takes
 * no spaces or odd characters.
 */
export function workerName(identity: { pod: string; version: string }): string {
  return `${identity.pod}/${identity.version}`.replace(/[^\w./-]/g, '_');
}

export type RedisRole = 'queue' | 'worker' | 'events';

/**
 * One Redis connection per role, as BullMQ recommends: workers block on their
 * connection, so it must never be shared with the connection that adds jobs.
 * Worker connections retry commands forever (maxRetriesPerRequest: null), so a
 * Redis restart pauses a worker instead of killing it.
 */
export function redisConnection(url: string, role: RedisRole): Redis {
  return new Redis(url, {
    connectionName: `mail-worker:${role}`,
    maxRetriesPerRequest: role === 'worker' ? null : 3,
    enableOfflineQueue: role === 'worker',
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
}

export type Queues = Record<QueueName, Queue<MailJob>>;

export function openQueues(connection: Redis): Queues {
  const open = (name: QueueName) => new Queue<MailJob>(name, { connection, prefix: QUEUE_PREFIX });
  return { 'mail-default': open('mail-default'), 'mail-priority': open('mail-priority') };
}

/**
 * How many workers listen on QUEUE now: BullMQ names each worker's Redis
 * connection, and CLIENT LIST counts them. Null where Redis does not say
 * (a provider that refuses CLIENT LIST, or Redis out of reach): the run's
 * own figures live in the database and must not wait on this.
 */
export async function listeningWorkers(queue: Queue): Promise<number | null> {
  try {
    return await queue.getWorkersCount();
  } catch {
    return null;
  }
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all(Object.values(queues).map((q) => q.close()));
}
