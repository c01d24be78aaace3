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
  /**
   * Tallies of the deliveries' outcomes. They only ever change in the same
   * transaction that moves one delivery from no outcome to its outcome, so a
   * retried or re-delivered job can never count twice.
   */
  sent: Generated<number>;
  failed: Generated<number>;
  queue: string;
  failure_rate: number;
  created_at: string;
  finished_at: string | null;
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
  deliveries: DeliveryTable;
  row_counts: RowCountTable;
}

export type RecipientRow = Selectable<RecipientTable>;
export type RunRow = Selectable<RunTable>;
export type NewRecipientRow = Insertable<RecipientTable>;
