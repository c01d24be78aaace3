import type { Generated, Insertable, Selectable } from 'kysely';

// Timestamps are ISO-8601 strings in UTC: they sort correctly as text and read
// the same from SQLite and PostgreSQL.

export interface RecipientTable {
  id: Generated<number>;
  name: string;
  email: string;
  /** Lower-cased email: the uniqueness key, so Ann@x.test and ann@x.test are one recipient. */
  email_key: string;
  created_at: string;
}

export interface RunTable {
  id: Generated<number>;
  total: number;
  /** How many of the run's deliveries have been handed to the queue. */
  enqueued: Generated<number>;
  /** The highest recipient id enqueued so far: where a resumed enqueue continues. */
  enqueue_cursor: Generated<number>;
  /** The outcomes of a finished run's deliveries, written when it finishes; 0 while it sends (see RunTallyTable). */
  sent: Generated<number>;
  failed: Generated<number>;
  retried: Generated<number>;
  queue: string;
  failure_rate: number;
  /** Milliseconds each delivery waits before it is handed to the relay (a slow relay, simulated). */
  relay_latency_ms: Generated<number>;
  created_at: string;
  finished_at: string | null;
}

/**
 * How many of a run's deliveries each writer (a worker process) gave an
 * outcome: each worker adds to its own row, so workers never wait for each
 * other's transactions. A row only changes in the transaction that moves
 * deliveries from no outcome to their outcome, so a retried or re-delivered
 * job can never count twice. While a run sends, its counts are the sums of
 * these rows; when the last outcome is in, the sums are written to the run.
 */
export interface RunTallyTable {
  run_id: number;
  writer: number;
  sent: Generated<number>;
  failed: Generated<number>;
  /**
   * Attempts that failed and were tried again, as the workers saw them: an
   * attempt whose worker died after counting it, before the queue learnt of
   * the failure, is tried and counted once more.
   */
  retried: Generated<number>;
  /** The writer's pod (its host name outside Kubernetes) and the version it runs; '' in tallies older than migration 007. */
  pod: Generated<string>;
  version: Generated<string>;
}

export type Outcome = 'sent' | 'failed';

/** One (run, recipient) pair: the unit of work and of accounting. */
export interface DeliveryTable {
  run_id: number;
  recipient_id: number;
  /** Snapshot of the recipient, so deleting a recipient mid-run changes nothing. */
  name: string;
  email: string;
  outcome: Outcome | null;
  attempts: number;
  error: string | null;
  finished_at: string | null;
}

/**
 * Row counts kept by triggers in the same transaction as the rows they count
 * (migration 003), so reading one is a key lookup instead of a scan.
 */
export interface RowCountTable {
  table_name: 'recipients';
  row_count: number;
}

export interface Tables {
  recipients: RecipientTable;
  runs: RunTable;
  run_tallies: RunTallyTable;
  deliveries: DeliveryTable;
  row_counts: RowCountTable;
}

export type RecipientRow = Selectable<RecipientTable>;
export type RunRow = Selectable<RunTable>;
export type NewRecipientRow = Insertable<RecipientTable>;
