import { randomInt } from 'node:crypto';
import { type Kysely, PostgresAdapter, type RawBuilder, sql } from 'kysely';
import { Batcher } from '../db/batcher.ts';
import type { Outcome, RunRow, Tables } from '../db/schema.ts';
import { type Problem, problem, ProblemError } from '../problems.ts';
import { countRecipients } from '../recipients/store.ts';

export type RunStatus = 'queued' | 'sending' | 'completed' | 'completed_with_failures';

export interface Run {
  id: number;
  total: number;
  enqueued: number;
  sent: number;
  failed: number;
  /** Attempts that failed and were tried again (not deliveries: one delivery can be retried three times). */
  retried: number;
  status: RunStatus;
  queue: string;
  failureRate: number;
  relayLatencyMs: number;
  createdAt: string;
  finishedAt: string | null;
}

export interface Failure {
  recipientId: number;
  name: string;
  email: string;
  attempts: number;
  error: string | null;
  finishedAt: string | null;
}

/** A worker's identity: the pod (its host name outside Kubernetes) and the version it runs. */
export interface WorkerIdentity {
  pod: string;
  version: string;
}

/** What one worker pod did for a run: its outcomes and the failed attempts it gave another try. */
export interface PodTally extends WorkerIdentity {
  sent: number;
  failed: number;
  retried: number;
}

export interface PendingDelivery {
  recipientId: number;
  name: string;
  email: string;
}

export interface DeliveryKey {
  runId: number;
  recipientId: number;
}

export interface OutcomeInput extends DeliveryKey {
  outcome: Outcome;
  attempts: number;
  error?: string;
}

const pairKey = (key: DeliveryKey) => `${key.runId}:${key.recipientId}`;

/** A run could not be created; nothing was stored. */
export class RunError extends ProblemError {
  declare readonly statusCode: 403 | 422 | 507;
  constructor(statusCode: 403 | 422 | 507, p: Problem) {
    super(statusCode, p);
    this.name = 'RunError';
  }
}

export function runStatus(run: Pick<RunRow, 'sent' | 'failed' | 'finished_at'>): RunStatus {
  if (run.finished_at !== null) return run.failed > 0 ? 'completed_with_failures' : 'completed';
  return run.sent + run.failed > 0 ? 'sending' : 'queued';
}

/**
 * A run's count of one outcome (or of retried attempts), read in the same statement (one snapshot) as
 * the run: the final count once it has finished, else the sum of its
 * writers' tallies.
 */
const counted = (column: Outcome | 'retried') =>
  sql<number>`case when runs.finished_at is null then ${tallied(sql.ref(column), sql.ref('runs.id'))} else runs.${sql.ref(column)} end`.as(
    column,
  );

/** The sum of an expression over a run's tallies (0 when it has none). */
function tallied(sum: RawBuilder<unknown>, runId: RawBuilder<unknown> | number) {
  return sql<number>`(select cast(coalesce(sum(${sum}), 0) as integer) from run_tallies where run_tallies.run_id = ${runId})`;
}
/**
 * A run's id as a batch's lookup by key gives it to PostgreSQL: a value the
 * planner learns only when the statement runs. The statistics of
 * `deliveries` date from its last ANALYZE, from before the newest runs, so
 * for such a run's id they predict one row; told the id, the planner then
 * reads every delivery of the run and filters out the batch's few (9,400
 * buffers and 2 ms per statement for a run of 10,000, against 12 buffers
 * and 0.05 ms; docs/performance.md). Behind a subquery it plans for an
 * average run and looks each delivery up by both columns of the key.
 */
const runIdAtRunTime = (runId: number) => sql<number>`(select cast(${runId} as integer))`;

const RUN_COLUMNS = [
  'id',
  'total',
  'enqueued',
  'enqueue_cursor',
  'queue',
  'failure_rate',
  'relay_latency_ms',
  'created_at',
  'finished_at',
] as const;

function toRun(row: RunRow): Run {
  return {
    id: row.id,
    total: row.total,
    enqueued: row.enqueued,
    sent: row.sent,
    failed: row.failed,
    retried: row.retried,
    status: runStatus(row),
    queue: row.queue,
    failureRate: row.failure_rate,
    relayLatencyMs: row.relay_latency_ms,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
}

export class RunStore {
  readonly #db: Kysely<Tables>;
  // Every job reads its outcome before sending and writes it after; batched,
  // a busy worker makes a few queries per turn instead of a few per job.
  readonly #outcomeReads = new Batcher((keys: DeliveryKey[]) => this.#outcomesOf(keys));
  readonly #outcomeWrites = new Batcher((inputs: OutcomeInput[]) => this.#recordOutcomes(inputs));
  readonly #retryWrites = new Batcher((runIds: number[]) => this.#recordRetries(runIds));
  /**
   * This process's row in run_tallies. Chosen at random: two processes that
   * drew the same number would share a row, which is slower but still exact.
   */
  readonly #writer = randomInt(1, 2 ** 31 - 1);
  /** Written into this writer's tallies: which pod did the work. */
  readonly #identity: WorkerIdentity;
  readonly #onPostgres: boolean;

  constructor(db: Kysely<Tables>, identity: WorkerIdentity = { pod: '', version: '' }) {
    this.#db = db;
    this.#identity = identity;
    this.#onPostgres = db.getExecutor().adapter instanceof PostgresAdapter;
  }

  /**
   * Stores a run and picks its `count` distinct recipients at random, in one
   * transaction: a run exists only together with all of its deliveries.
   */
  async create(input: { count: number; failureRate: number; relayLatencyMs: number; queue: string }): Promise<Run> {
    // The insert comes first on purpose: on SQLite a transaction that starts
    // by reading and then writes fails at once (SQLITE_BUSY_SNAPSHOT) if
    // another process wrote in between; one that starts by writing waits for
    // the lock instead. A refused run rolls the insert back.
    return this.#db.transaction().execute(async (trx) => {
      const run = await trx
        .insertInto('runs')
        .values({
          total: input.count,
          queue: input.queue,
          failure_rate: input.failureRate,
          relay_latency_ms: input.relayLatencyMs,
          created_at: new Date().toISOString(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const stored = await countRecipients(trx);
      if (stored < input.count) {
        throw new RunError(422, problem('run.count.too_large', { count: input.count, stored }));
      }
      await trx
        .insertInto('deliveries')
        .columns(['run_id', 'recipient_id', 'name', 'email'])
        .expression((eb) =>
          eb
            .selectFrom('recipients')
            .select([sql.lit(run.id).as('run_id'), 'id', 'name', 'email'])
            .orderBy(sql`random()`)
            .limit(input.count),
        )
        .execute();
      return toRun(run);
    });
  }

  async get(id: number): Promise<Run | undefined> {
    const row = await this.#db
      .selectFrom('runs')
      .select([...RUN_COLUMNS, counted('sent'), counted('failed'), counted('retried')])
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toRun(row);
  }

  async list(limit: number): Promise<Run[]> {
    const rows = await this.#db
      .selectFrom('runs')
      .select([...RUN_COLUMNS, counted('sent'), counted('failed'), counted('retried')])
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toRun);
  }

  /**
   * What each worker pod did for the run, busiest first: a pod's writers
   * (one per process it ran, a restarted container being a new one) summed.
   */
  async pods(runId: number): Promise<PodTally[]> {
    const rows = await this.#db
      .selectFrom('run_tallies')
      .select(['pod', 'version'])
      .select((eb) => [
        sql<number>`cast(sum(${eb.ref('sent')}) as integer)`.as('sent'),
        sql<number>`cast(sum(${eb.ref('failed')}) as integer)`.as('failed'),
        sql<number>`cast(sum(${eb.ref('retried')}) as integer)`.as('retried'),
      ])
      .where('run_id', '=', runId)
      .groupBy(['pod', 'version'])
      .orderBy(sql`sum(sent + failed)`, 'desc')
      .orderBy('pod')
      .execute();
    return rows.map((r) => ({
      pod: r.pod,
      version: r.version,
      sent: Number(r.sent),
      failed: Number(r.failed),
      retried: Number(r.retried),
    }));
  }

  async failures(runId: number, limit: number): Promise<Failure[]> {
    const rows = await this.#db
      .selectFrom('deliveries')
      .select(['recipient_id', 'name', 'email', 'attempts', 'error', 'finished_at'])
      .where('run_id', '=', runId)
      // A literal, not a parameter: only then can SQLite use the partial index of failed deliveries.
      .where('outcome', '=', sql.lit('failed'))
      .orderBy('recipient_id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      recipientId: r.recipient_id,
      name: r.name,
      email: r.email,
      attempts: r.attempts,
      error: r.error,
      finishedAt: r.finished_at,
    }));
  }

  /** Where the run's enqueue stands: the cursor to continue after. */
  async enqueueCursor(runId: number): Promise<number | undefined> {
    const row = await this.#db.selectFrom('runs').select('enqueue_cursor').where('id', '=', runId).executeTakeFirst();
    return row?.enqueue_cursor;
  }

  /** The next deliveries to enqueue, in recipient order after `cursor`. */
  async deliveriesAfter(runId: number, cursor: number, limit: number): Promise<PendingDelivery[]> {
    const rows = await this.#db
      .selectFrom('deliveries')
      .select(['recipient_id', 'name', 'email'])
      .where('run_id', '=', runId)
      .where('recipient_id', '>', cursor)
      .orderBy('recipient_id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ recipientId: r.recipient_id, name: r.name, email: r.email }));
  }

  /**
   * Moves the cursor from `from` to `to` after `count` jobs were added. It only
   * moves if nobody else moved it meanwhile (two resumes at once add the same
   * job ids, which BullMQ ignores; only one of them counts the chunk).
   */
  async advanceEnqueueCursor(runId: number, from: number, to: number, count: number): Promise<void> {
    await this.#db
      .updateTable('runs')
      .set((eb) => ({ enqueue_cursor: to, enqueued: eb('enqueued', '+', count) }))
      .where('id', '=', runId)
      .where('enqueue_cursor', '=', from)
      .execute();
  }

  /** The delivery's outcome: null while it has none, undefined if the run has no such delivery. */
  outcomeOf(runId: number, recipientId: number): Promise<Outcome | null | undefined> {
    return this.#outcomeReads.add({ runId, recipientId });
  }

  async #outcomesOf(keys: DeliveryKey[]): Promise<Array<Outcome | null | undefined>> {
    const outcomes = new Map<string, Outcome | null>();
    for (const [runId, recipientIds] of byRun(keys)) {
      const rows = await this.#db
        .selectFrom('deliveries')
        .select(['recipient_id', 'outcome'])
        .where('run_id', '=', runIdAtRunTime(runId))
        .where('recipient_id', 'in', recipientIds)
        .execute();
      for (const row of rows) outcomes.set(pairKey({ runId, recipientId: row.recipient_id }), row.outcome);
    }
    return keys.map((key) => outcomes.get(pairKey(key)));
  }

  /**
   * Records a delivery's final outcome exactly once. The tally changes in the
   * same transaction, and only when this call is the one that gave the
   * delivery its outcome; a second call (a re-delivered job) changes nothing
   * and answers false. Calls arriving together share one transaction.
   */
  recordOutcome(input: OutcomeInput): Promise<boolean> {
    return this.#outcomeWrites.add(input);
  }

  /** Counts one failed attempt of the run's that will be tried again. */
  async recordRetry(runId: number): Promise<void> {
    await this.#retryWrites.add(runId);
  }

  async #recordRetries(runIds: number[]): Promise<undefined[]> {
    const perRun = new Map<number, number>();
    for (const runId of runIds) perRun.set(runId, (perRun.get(runId) ?? 0) + 1);
    // Each addition stands alone: no transaction around them.
    for (const [runId, retried] of perRun) await this.#addToTally(this.#db, runId, { retried });
    return runIds.map(() => undefined);
  }

  /** Adds to this writer's tally of the run. */
  #addToTally(db: Kysely<Tables>, runId: number, counts: { sent?: number; failed?: number; retried?: number }) {
    return db
      .insertInto('run_tallies')
      .values({ run_id: runId, writer: this.#writer, ...this.#identity, ...counts })
      .onConflict((conflict) =>
        conflict.columns(['run_id', 'writer']).doUpdateSet((eb) => ({
          sent: eb('run_tallies.sent', '+', eb.ref('excluded.sent')),
          failed: eb('run_tallies.failed', '+', eb.ref('excluded.failed')),
          retried: eb('run_tallies.retried', '+', eb.ref('excluded.retried')),
        })),
      )
      .execute();
  }

  /**
   * Marks the run finished once every delivery has its outcome, with its
   * counts summed from the tallies. Called after every transaction that
   * recorded outcomes, once it has committed: of two workers recording the
   * last outcomes at the same time, the later check sees both (on PostgreSQL
   * the procedure record_outcomes makes the same check after its commit).
   * One statement, safe to repeat: a job that comes back after its worker
   * died between commit and check calls it again (see the processor).
   */
  async finishIfComplete(runId: number): Promise<void> {
    await this.#db
      .updateTable('runs')
      .set({
        finished_at: new Date().toISOString(),
        sent: tallied(sql.ref('sent'), runId),
        failed: tallied(sql.ref('failed'), runId),
        retried: tallied(sql.ref('retried'), runId),
      })
      .where('id', '=', runId)
      .where('finished_at', 'is', null)
      .where('total', '=', tallied(sql`sent + failed`, runId))
      .execute();
  }

  async #recordOutcomes(inputs: OutcomeInput[]): Promise<boolean[]> {
    if (this.#onPostgres && oneKind(inputs)) return this.#recordOneKind(inputs);
    const { given, runIds } = await this.#recordInTransaction(inputs);
    for (const runId of runIds) await this.finishIfComplete(runId);
    return given;
  }

  /**
   * The usual batch (one run, every delivery with the same outcome, attempts
   * and error) on PostgreSQL: the outcomes, the tally, the commit and the
   * check whether the run is complete in one round trip (the procedure of
   * migration 008), instead of BEGIN, two statements, COMMIT and the check.
   * A slow relay's worker records almost every mail alone, and round trips
   * were most of its CPU per mail (docs/performance.md).
   */
  async #recordOneKind(inputs: OutcomeInput[]): Promise<boolean[]> {
    const { runId, outcome, attempts, error } = inputs[0] as OutcomeInput;
    const recipientIds = [...new Set(inputs.map((i) => i.recipientId))];
    const { pod, version } = this.#identity;
    const { rows } = await sql<{ given: number[] }>`call record_outcomes(${runId}, ${recipientIds}, ${outcome}, ${attempts},
      ${error ?? null}, ${new Date().toISOString()}, ${this.#writer}, ${pod}, ${version}, null)`.execute(this.#db);
    const fresh = new Set(rows[0]?.given);
    // The first call for each delivery written here is the one that gave it its outcome.
    return inputs.map((input) => fresh.delete(input.recipientId));
  }

  async #recordInTransaction(inputs: OutcomeInput[]): Promise<{ given: boolean[]; runIds: number[] }> {
    return this.#db.transaction().execute(async (trx) => {
      const now = new Date().toISOString();
      // Deliveries of one run given the same outcome, attempts and error: one UPDATE.
      const groups = new Map<string, OutcomeInput[]>();
      for (const input of inputs) {
        const key = kindOf(input);
        const group = groups.get(key);
        if (group) group.push(input);
        else groups.set(key, [input]);
      }

      const givenBy = new Map<string, string>(); // delivery -> the group that gave it its outcome
      const tallies = new Map<number, { sent: number; failed: number }>();
      // Rows are locked in run order, so two workers' batches on PostgreSQL
      // wait for each other instead of deadlocking.
      const first = (group: OutcomeInput[]) => group[0] as OutcomeInput;
      for (const [key, group] of [...groups].sort(([, a], [, b]) => first(a).runId - first(b).runId)) {
        const { runId, outcome, attempts, error } = first(group);
        const rows = await trx
          .updateTable('deliveries')
          .set({ outcome, attempts, error: error ?? null, finished_at: now })
          .where('run_id', '=', runIdAtRunTime(runId))
          .where('recipient_id', 'in', [...new Set(group.map((i) => i.recipientId))])
          .where('outcome', 'is', null)
          .returning('recipient_id')
          .execute();
        if (rows.length === 0) continue;
        for (const row of rows) givenBy.set(pairKey({ runId, recipientId: row.recipient_id }), key);
        const tally = tallies.get(runId) ?? { sent: 0, failed: 0 };
        tally[outcome] += rows.length;
        tallies.set(runId, tally);
      }

      for (const [runId, tally] of [...tallies].sort(([a], [b]) => a - b)) await this.#addToTally(trx, runId, tally);
      // True for exactly one call per delivery that got its outcome here: the
      // first of the calls whose values were written.
      const given = inputs.map((input) => givenBy.get(pairKey(input)) === kindOf(input) && givenBy.delete(pairKey(input)));
      return { given, runIds: [...tallies.keys()] };
    });
  }
}

/** What outcomes written by one statement share: the run, the outcome, the attempts and the error. */
function kindOf(input: OutcomeInput): string {
  return JSON.stringify([input.runId, input.outcome, input.attempts, input.error ?? null]);
}

/** Whether every input is of one kind. */
function oneKind(inputs: OutcomeInput[]): boolean {
  const kind = inputs[0] && kindOf(inputs[0]);
  return inputs.every((i) => kindOf(i) === kind);
}

/** Recipient ids per run, each once. */
function byRun(keys: DeliveryKey[]): Map<number, number[]> {
  const runs = new Map<number, Set<number>>();
  for (const { runId, recipientId } of keys) runs.set(runId, (runs.get(runId) ?? new Set()).add(recipientId));
  return new Map([...runs].map(([runId, ids]) => [runId, [...ids]]));
}
