import { type Job, type JobsOptions, UnrecoverableError, type WorkerOptions } from 'bullmq';

// What happens to a test mail whose attempt fails, in one place: the web
// reads it when it enqueues (attempts and backoff travel with each job), the
// worker when it takes jobs (locks and the stalled limit) and when it judges
// a failure (worth another attempt or not).

export interface DeliveryPolicy {
  /** Attempts after the first (SEND_RETRIES). */
  retries: number;
  /** Base of the exponential backoff between attempts, in milliseconds (SEND_RETRY_DELAY_MS). */
  retryBaseDelayMs: number;
  /**
   * How long a job's lock lasts without renewal (JOB_LOCK_MS): a worker that
   * died holds its jobs this long before another worker takes them back.
   */
  lockMs: number;
}

/** Times a job is taken back from a worker that died with it before BullMQ fails it. */
export const MAX_STALLED = 3;

/** How each job is enqueued. */
export function jobOptions(policy: DeliveryPolicy): JobsOptions {
  return {
    attempts: policy.retries + 1,
    // Exponential backoff with jitter, so retries of a burst of failures do
    // not come back as one synchronized burst.
    backoff: { type: 'exponential', delay: policy.retryBaseDelayMs, jitter: 0.5 },
    // Keep a window of finished jobs for bull-board without letting Redis grow
    // without bound; accounting lives in the database, not in these lists.
    removeOnComplete: { count: 1000 },
    removeOnFail: { count: 5000 },
  };
}

/**
 * After a Redis command fails on a lost connection, BullMQ waits this long
 * before it fetches or finishes a job again (15 s by default, and again after
 * every failed retry). A worker's connection tries to reconnect every 2 s at
 * most (redisConnection), so 1 s lets it go on within a few seconds of Redis
 * coming back: with the default, the faults guide's run stood still for 9 to
 * 60 s after Redis's pod was deleted, though the new pod was Ready in 5.
 */
const RUN_RETRY_DELAY_MS = 1000;

/** How a worker holds its jobs, takes back those of workers that died, and waits out a lost Redis. */
export function workerOptions(
  policy: DeliveryPolicy,
): Pick<WorkerOptions, 'lockDuration' | 'stalledInterval' | 'maxStalledCount' | 'runRetryDelay'> {
  return { lockDuration: policy.lockMs, stalledInterval: policy.lockMs, maxStalledCount: MAX_STALLED, runRetryDelay: RUN_RETRY_DELAY_MS };
}

/**
 * A failure no further attempt can fix: the job itself is wrong
 * (UnrecoverableError), or the SMTP server refused the mail for good (a 5xx
 * answer). Anything else, a 4xx or a lost connection, is worth a retry.
 */
export function isPermanentFailure(error: unknown): boolean {
  if (error instanceof UnrecoverableError) return true;
  const code = (error as { responseCode?: unknown } | null)?.responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}

/**
 * True for a job BullMQ failed because it stalled more than MAX_STALLED times
 * (its workers kept dying with it): BullMQ marks such a job with a deferred
 * failure, and the next worker fails it without running the processor.
 */
export function gaveUpAfterStalling(job: Job): boolean {
  return job.deferredFailure !== undefined;
}
