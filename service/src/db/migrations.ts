import { type Kysely, sql } from 'kysely';
import { type Migration, Migrator } from 'kysely/migration';
import type { Database, Dialect } from './database.ts';

// Migrations live in code, in order, so the one image carries them and
// `mail-worker migrate` needs no files beside it.

function idColumn(dialect: Dialect) {
  return dialect === 'postgres' ? 'serial' : 'integer';
}

function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '001_recipients_runs_deliveries': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('recipients')
          .addColumn('id', idColumn(dialect), (c) => (dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('email', 'text', (c) => c.notNull())
          .addColumn('email_key', 'text', (c) => c.notNull().unique())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('runs')
          .addColumn('id', idColumn(dialect), (c) => (dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
          .addColumn('total', 'integer', (c) => c.notNull())
          .addColumn('enqueued', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('enqueue_cursor', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('sent', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('failed', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('queue', 'text', (c) => c.notNull())
          .addColumn('failure_rate', 'real', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('finished_at', 'text')
          .addCheckConstraint('runs_counts_within_total', sql`sent + failed <= total and enqueued <= total`)
          .execute();

        await db.schema
          .createTable('deliveries')
          .addColumn('run_id', 'integer', (c) => c.notNull().references('runs.id').onDelete('cascade'))
          .addColumn('recipient_id', 'integer', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('email', 'text', (c) => c.notNull())
          .addColumn('outcome', 'text', (c) => c.check(sql`outcome in ('sent', 'failed')`))
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('error', 'text')
          .addColumn('finished_at', 'text')
          .addPrimaryKeyConstraint('deliveries_pk', ['run_id', 'recipient_id'])
          .execute();

        await db.schema.createIndex('deliveries_by_outcome').on('deliveries').columns(['run_id', 'outcome']).execute();
      },
    },
    '002_index_only_failed_deliveries': {
      // Only the failures list reads deliveries by outcome. Indexing every
      // delivery's outcome made each recorded outcome move an index entry,
      // nearly half of the database time per job (docs/performance.md); a
      // partial index holds just the failed ones, in the order they are listed.
      async up(db: Kysely<unknown>) {
        await db.schema.dropIndex('deliveries_by_outcome').execute();
        await db.schema
          .createIndex('deliveries_failed')
          .on('deliveries')
          .columns(['run_id', 'recipient_id'])
          .where(sql.ref('outcome'), '=', 'failed')
          .execute();
      },
    },
    '003_count_recipients_by_trigger': {
      // The dashboard and the recipients API show the total on every call, and
      // count(*) reads every row: 7.5 ms for 100,000 on PostgreSQL, the
      // largest share of a dashboard request on SQLite. Triggers keep the
      // count in the transaction that inserts or deletes, so it stays exact.
      // (On PostgreSQL, writers of recipients now queue on this one row until
      // they commit, as every SQLite writer already does.)
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('row_counts')
          .addColumn('table_name', 'text', (c) => c.primaryKey())
          .addColumn('row_count', 'bigint', (c) => c.notNull())
          .execute();
        await sql`insert into row_counts (table_name, row_count) select 'recipients', count(*) from recipients`.execute(db);
        if (dialect === 'sqlite') {
          // Row triggers: SQLite has no statement-level ones.
          await sql`create trigger recipients_count_insert after insert on recipients begin
            update row_counts set row_count = row_count + 1 where table_name = 'recipients'; end`.execute(db);
          await sql`create trigger recipients_count_delete after delete on recipients begin
            update row_counts set row_count = row_count - 1 where table_name = 'recipients'; end`.execute(db);
        } else {
          // One update per statement, however many rows an import batch inserts.
          await sql`create function count_recipients() returns trigger language plpgsql as $$
            begin
              if tg_op = 'INSERT' then
                update row_counts set row_count = row_count + (select count(*) from added) where table_name = 'recipients';
              else
                update row_counts set row_count = row_count - (select count(*) from removed) where table_name = 'recipients';
              end if;
              return null;
            end $$`.execute(db);
          await sql`create trigger recipients_count_insert after insert on recipients
            referencing new table as added for each statement execute function count_recipients()`.execute(db);
          await sql`create trigger recipients_count_delete after delete on recipients
            referencing old table as removed for each statement execute function count_recipients()`.execute(db);
        }
      },
    },
    '004_run_tallies_per_writer': {
      // Every recorded outcome used to add to its run's row in `runs`, so on
      // PostgreSQL every worker's transaction queued on that one row until
      // the one before it had committed: with four workers, 84% of the time
      // statements ran went to waiting on that lock (docs/performance.md).
      // Each worker process now adds to a row of its own; the run's row is
      // written once, when the last outcome is in.
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('run_tallies')
          .addColumn('run_id', 'integer', (c) => c.notNull().references('runs.id').onDelete('cascade'))
          .addColumn('writer', 'integer', (c) => c.notNull())
          .addColumn('sent', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('failed', 'integer', (c) => c.notNull().defaultTo(0))
          .addPrimaryKeyConstraint('run_tallies_pk', ['run_id', 'writer'])
          .execute();
        // Runs still sending carry on from the counts they have.
        await sql`insert into run_tallies (run_id, writer, sent, failed)
          select id, 0, sent, failed from runs where finished_at is null and sent + failed > 0`.execute(db);
        await sql`update runs set sent = 0, failed = 0 where finished_at is null`.execute(db);
      },
    },
    '005_retried_attempts': {
      // Attempts that failed and were tried again, per run: at a 30% failure
      // rate hundreds of attempts fail while the final failures stay few, and
      // a run that only showed the latter hid the retries from the learner.
      async up(db: Kysely<unknown>) {
        await db.schema
          .alterTable('run_tallies')
          .addColumn('retried', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema
          .alterTable('runs')
          .addColumn('retried', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
      },
    },
    '006_relay_latency': {
      // How long each delivery of a run waits as on a slow SMTP relay: with
      // it, sending waits on I/O as it does against a real relay, and more
      // workers really send faster (docs/guides/keda.md).
      async up(db: Kysely<unknown>) {
        await db.schema
          .alterTable('runs')
          .addColumn('relay_latency_ms', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
      },
    },
    '007_tally_pods': {
      // Which pod did the work: each writer's tally names the worker pod
      // and the version it runs, so a run's page shows how KEDA's or the
      // HPA's new pods shared its mails. Tallies written before say ''.
      async up(db: Kysely<unknown>) {
        for (const column of ['pod', 'version']) {
          await db.schema
            .alterTable('run_tallies')
            .addColumn(column, 'text', (c) => c.notNull().defaultTo(''))
            .execute();
        }
      },
    },
    '008_record_outcomes_procedure': {
      // On PostgreSQL, recording a batch of outcomes of one kind, committing
      // it and checking whether its run is complete, in one round trip: a
      // procedure may COMMIT, and the check after it sees every outcome
      // committed before, as RunStore.finishIfComplete's own statement does
      // (see it for why the check must follow the commit). A slow relay's
      // worker records almost every mail alone, and each round trip was a
      // share of its CPU per mail (docs/performance.md). The run's id reaches
      // the lookups behind a subquery, as in RunStore (runIdAtRunTime).
      async up(db: Kysely<unknown>) {
        if (dialect !== 'postgres') return;
        await sql`create procedure record_outcomes(
            p_run_id integer, p_recipient_ids integer[], p_outcome text, p_attempts integer, p_error text,
            p_at text, p_writer integer, p_pod text, p_version text, inout given integer[])
          language plpgsql as $$
          begin
            with written as (
              update deliveries set outcome = p_outcome, attempts = p_attempts, error = p_error, finished_at = p_at
              where run_id = (select p_run_id) and recipient_id = any (p_recipient_ids) and outcome is null
              returning recipient_id
            ), tallied as (
              insert into run_tallies (run_id, writer, pod, version, sent, failed)
              select p_run_id, p_writer, p_pod, p_version,
                count(*) filter (where p_outcome = 'sent'), count(*) filter (where p_outcome = 'failed')
              from written having count(*) > 0
              on conflict (run_id, writer) do update
                set sent = run_tallies.sent + excluded.sent, failed = run_tallies.failed + excluded.failed
            )
            select coalesce(array_agg(recipient_id), '{}') into given from written;
            if cardinality(given) = 0 then
              return;
            end if;
            commit;
            update runs set finished_at = p_at,
                sent = (select coalesce(sum(t.sent), 0) from run_tallies t where t.run_id = p_run_id),
                failed = (select coalesce(sum(t.failed), 0) from run_tallies t where t.run_id = p_run_id),
                retried = (select coalesce(sum(t.retried), 0) from run_tallies t where t.run_id = p_run_id)
              where id = p_run_id and finished_at is null
                and total = (select coalesce(sum(t.sent + t.failed), 0) from run_tallies t where t.run_id = p_run_id);
          end $$`.execute(db);
      },
    },
  };
}

/** Applies the migrations not yet applied, up to `target` (a migration's name) or all of them. */
export async function migrate(database: Database, target?: string): Promise<string[]> {
  const migrator = new Migrator({
    db: database.db,
    provider: { getMigrations: () => Promise.resolve(migrations(database.dialect)) },
  });
  const { error, results } = await (target === undefined ? migrator.migrateToLatest() : migrator.migrateTo(target));
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
