import t from 'tap';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { openDatabase } from '../src/db/database.ts';
import { migrate } from '../src/db/migrations.ts';
import type { Tables } from '../src/db/schema.ts';
import { RecipientStore } from '../src/recipients/store.ts';
import { RunError, RunStore } from '../src/runs/store.ts';
import { onBothDatabases } from '../../test/helpers/databases.ts';
import { waitFor } from '../../test/helpers/ports.ts';
import { createDatabase, startPostgres } from '../../test/helpers/servers.ts';

t.test('data layer on SQLite and PostgreSQL', (t) =>
  onBothDatabases(t, async (t, database) => {
    const recipients = new RecipientStore(database.db);
    const runs = new RunStore(database.db);

    await t.test('migrations are idempotent', async (t) => {
      t.same(await migrate(database), [], 'a second migrate applies nothing');
    });

    await t.test('recipients: add, duplicate by case-insensitive email, delete', async (t) => {
      const ann = await recipients.add({ name: 'Ann', email: 'Ann@Example.test' });
      t.ok(ann);
      t.match(ann, { name: 'Ann', email: 'Ann@Example.test' });
      t.equal(await recipients.add({ name: 'Other', email: 'ann@example.TEST' }), undefined, 'same address in other case is a duplicate');
      t.equal(await recipients.count(), 1);
      t.equal(await recipients.delete(ann!.id), true);
      t.equal(await recipients.delete(ann!.id), false, 'deleting twice reports not found');
      t.equal(await recipients.count(), 0);
    });

    await t.test('recipients: the stored count follows every insert and delete, also around the store', async (t) => {
      const before = await recipients.count();
      const a = await recipients.add({ name: 'Count A', email: 'count-a@data.test' });
      await recipients.add({ name: 'Count A again', email: 'COUNT-A@data.test' }); // a duplicate, not inserted
      await recipients.add({ name: 'Count B', email: 'count-b@data.test' });
      t.equal(await recipients.count(), before + 2);
      // An import batch and a console's delete both go around the store.
      await database.db
        .insertInto('recipients')
        .values(['c', 'd', 'e'].map((x) => ({ name: x, email: `count-${x}@data.test`, email_key: `count-${x}@data.test`, created_at: '' })))
        .execute();
      await database.db.deleteFrom('recipients').where('id', '=', a!.id).execute();
      const { n } = await database.db
        .selectFrom('recipients')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      t.equal(await recipients.count(), Number(n), 'the same as counting the rows');
      t.equal((await recipients.list({ limit: 1, offset: 0 })).total, Number(n), 'the list reports it');
      await database.db.deleteFrom('recipients').where('email_key', 'like', 'count-%').execute();
      t.equal(await recipients.count(), before);
    });

    await t.test('recipients: search and pagination, newest first', async (t) => {
      for (let i = 1; i <= 25; i++) await recipients.add({ name: `Person ${i}`, email: `p${i}@list.test` });
      await recipients.add({ name: '100%_real', email: 'percent@list.test' });
      const first = await recipients.list({ limit: 10, offset: 0 });
      t.equal(first.total, 26);
      t.equal(first.items.length, 10);
      t.equal(first.items[0]?.email, 'percent@list.test', 'newest first');
      const last = await recipients.list({ limit: 10, offset: 20 });
      t.equal(last.items.length, 6);
      const found = await recipients.list({ limit: 50, offset: 0, q: 'person 2' });
      t.same(found.items.map((r) => r.name).sort(), [
        'Person 2',
        'Person 20',
        'Person 21',
        'Person 22',
        'Person 23',
        'Person 24',
        'Person 25',
      ]);
      t.equal(found.total, 7);
      const literal = await recipients.list({ limit: 50, offset: 0, q: '%_' });
      t.same(
        literal.items.map((r) => r.name),
        ['100%_real'],
        '% and _ are matched literally',
      );
      t.equal((await recipients.list({ limit: 50, offset: 0, q: 'P7@LIST' })).total, 1, 'email search ignores case');
    });

    await t.test('runs: distinct random recipients, refused when too few', async (t) => {
      const total = await recipients.count();
      await t.rejects(runs.create({ count: total + 1, failureRate: 0, relayLatencyMs: 0, queue: 'mail-default' }), RunError);
      t.equal((await runs.list(10)).length, 0, 'a refused run stores nothing');

      const run = await runs.create({ count: 20, failureRate: 0.25, relayLatencyMs: 150, queue: 'mail-default' });
      t.match(run, { total: 20, enqueued: 0, sent: 0, failed: 0, status: 'queued', failureRate: 0.25, relayLatencyMs: 150 });
      const picked = await runs.deliveriesAfter(run.id, 0, 1000);
      t.equal(picked.length, 20);
      t.equal(new Set(picked.map((d) => d.recipientId)).size, 20, 'recipients are distinct');
      t.same(
        picked.map((d) => d.recipientId),
        [...picked.map((d) => d.recipientId)].sort((a, b) => a - b),
        'in recipient order, for the enqueue cursor',
      );
    });

    await t.test('runs: outcomes are recorded once and drive counts and status', async (t) => {
      const run = await runs.create({ count: 3, failureRate: 0, relayLatencyMs: 0, queue: 'mail-priority' });
      const [a, b, c] = await runs.deliveriesAfter(run.id, 0, 10);
      t.equal(await runs.recordOutcome({ runId: run.id, recipientId: a!.recipientId, outcome: 'sent', attempts: 1 }), true);
      t.equal(
        await runs.recordOutcome({ runId: run.id, recipientId: a!.recipientId, outcome: 'failed', attempts: 2, error: 'late' }),
        false,
        'a second outcome for the same pair is ignored',
      );
      t.match(await runs.get(run.id), { sent: 1, failed: 0, status: 'sending', finishedAt: null });
      await runs.recordOutcome({ runId: run.id, recipientId: b!.recipientId, outcome: 'failed', attempts: 4, error: 'boom' });
      await runs.recordOutcome({ runId: run.id, recipientId: c!.recipientId, outcome: 'sent', attempts: 2 });
      const done = await runs.get(run.id);
      t.match(done, { sent: 2, failed: 1, status: 'completed_with_failures' });
      t.ok(done?.finishedAt, 'finished when sent + failed == total');
      t.same(
        (await runs.failures(run.id, 10)).map((f) => [f.recipientId, f.attempts, f.error]),
        [[b!.recipientId, 4, 'boom']],
      );
      t.equal(await runs.outcomeOf(run.id, a!.recipientId), 'sent');
      t.equal(await runs.outcomeOf(run.id, 999_999), undefined, 'unknown pair');
    });

    await t.test('runs: concurrent outcome writes count exactly once each', async (t) => {
      const run = await runs.create({ count: 20, failureRate: 0, relayLatencyMs: 0, queue: 'mail-default' });
      const deliveries = await runs.deliveriesAfter(run.id, 0, 100);
      // Every delivery reported three times at once, as re-delivered jobs would.
      const writes = deliveries.flatMap((d, i) =>
        [1, 2, 3].map(() =>
          runs.recordOutcome({ runId: run.id, recipientId: d.recipientId, outcome: i % 4 === 0 ? 'failed' : 'sent', attempts: 1 }),
        ),
      );
      const accepted = (await Promise.all(writes)).filter(Boolean).length;
      t.equal(accepted, 20);
      t.match(await runs.get(run.id), { sent: 15, failed: 5, status: 'completed_with_failures' });
    });

    await t.test('runs: a batch of one kind (the usual one), each delivery reported three times, counts once each', async (t) => {
      // All sent at the first attempt: on PostgreSQL one call writes the
      // outcomes and the tally, commits and finishes the run (RunStore's fast
      // path, the procedure of migration 008), here with duplicates in it.
      const run = await runs.create({ count: 20, failureRate: 0, relayLatencyMs: 0, queue: 'mail-default' });
      const deliveries = await runs.deliveriesAfter(run.id, 0, 100);
      const writes = deliveries.flatMap((d) =>
        [1, 2, 3].map(() => runs.recordOutcome({ runId: run.id, recipientId: d.recipientId, outcome: 'sent', attempts: 1 })),
      );
      const accepted = await Promise.all(writes);
      t.equal(accepted.filter(Boolean).length, 20, 'one call per delivery told it gave the outcome');
      t.same(
        accepted.map((given, i) => given === (i % 3 === 0)),
        accepted.map(() => true),
        'the first of its three calls',
      );
      t.match(await runs.get(run.id), { sent: 20, failed: 0, status: 'completed' });
      t.equal(
        await runs.recordOutcome({ runId: run.id, recipientId: deliveries[0]!.recipientId, outcome: 'sent', attempts: 1 }),
        false,
        'a later one changes nothing',
      );
      t.match(await runs.get(run.id), { sent: 20 });
    });

    await t.test('runs: four workers finishing one run at once count exactly and finish it once', async (t) => {
      // Four stores are four writers (worker processes), each with its own
      // tally row and transactions; every delivery is reported by two of them.
      // The first two are one pod, its container restarted; the last runs v2.
      const identities = [
        { pod: 'worker-a', version: 'v1' },
        { pod: 'worker-a', version: 'v1' },
        { pod: 'worker-b', version: 'v1' },
        { pod: 'worker-c', version: 'v2' },
      ];
      const writers = identities.map((identity) => new RunStore(database.db, identity));
      await database.db
        .insertInto('recipients')
        .values(
          Array.from({ length: 200 }, (_, i) => ({
            name: `W ${i}`,
            email: `w${i}@data.test`,
            email_key: `w${i}@data.test`,
            created_at: '',
          })),
        )
        .execute();
      const run = await runs.create({ count: 200, failureRate: 0, relayLatencyMs: 0, queue: 'mail-default' });
      const deliveries = await runs.deliveriesAfter(run.id, 0, 200);
      const writes = deliveries.flatMap((d, i) =>
        [i % 4, (i + 1) % 4].map((w) =>
          writers[w]!.recordOutcome({ runId: run.id, recipientId: d.recipientId, outcome: i % 10 === 0 ? 'failed' : 'sent', attempts: 1 }),
        ),
      );
      t.equal((await Promise.all(writes)).filter(Boolean).length, 200, 'each delivery counted by one writer');
      const done = await runs.get(run.id);
      t.match(done, { sent: 180, failed: 20, status: 'completed_with_failures', finishedAt: String });
      const tallies = await database.db.selectFrom('run_tallies').select(['sent', 'failed']).where('run_id', '=', run.id).execute();
      t.ok(tallies.length >= 2 && tallies.length <= 4, `one tally per writer that won deliveries (${tallies.length})`);
      t.equal(
        tallies.reduce((sum, r) => sum + r.sent + r.failed, 0),
        200,
        'which add up to the run',
      );
      await writers[0]!.finishIfComplete(run.id);
      t.equal((await runs.get(run.id))?.finishedAt, done?.finishedAt, 'finishing again changes nothing');

      // A retry from every writer gives each a tally row, whatever it won.
      for (const writer of [...writers, writers[2]!]) await writer.recordRetry(run.id);
      const pods = await runs.pods(run.id);
      t.same(pods.map((p) => p.pod).sort(), ['worker-a', 'worker-b', 'worker-c'], 'one row per pod: the restarted one summed');
      t.equal(
        pods.reduce((sum, p) => sum + p.sent + p.failed, 0),
        200,
        'the pods add up to the run',
      );
      t.match(
        Object.fromEntries(pods.map((p) => [p.pod, { version: p.version, retried: p.retried }])),
        { 'worker-a': { version: 'v1', retried: 2 }, 'worker-b': { version: 'v1', retried: 2 }, 'worker-c': { version: 'v2', retried: 1 } },
        "each pod's retries and version",
      );
      t.ok(
        pods.every((p, i) => i === 0 || pods[i - 1]!.sent + pods[i - 1]!.failed >= p.sent + p.failed),
        'busiest first',
      );
    });

    await t.test('runs: one batch of outcomes across runs, with different values for the same delivery', async (t) => {
      const first = await runs.create({ count: 3, failureRate: 0, relayLatencyMs: 0, queue: 'mail-default' });
      const second = await runs.create({ count: 2, failureRate: 0, relayLatencyMs: 0, queue: 'mail-default' });
      const [a, b, c] = await runs.deliveriesAfter(first.id, 0, 10);
      const [d, e] = await runs.deliveriesAfter(second.id, 0, 10);
      // Issued in one turn, so they share one transaction.
      const answers = await Promise.all([
        runs.recordOutcome({ runId: first.id, recipientId: a!.recipientId, outcome: 'failed', attempts: 2, error: 'first' }),
        runs.recordOutcome({ runId: first.id, recipientId: a!.recipientId, outcome: 'sent', attempts: 3 }),
        runs.recordOutcome({ runId: first.id, recipientId: b!.recipientId, outcome: 'sent', attempts: 1 }),
        runs.recordOutcome({ runId: second.id, recipientId: d!.recipientId, outcome: 'sent', attempts: 1 }),
        runs.recordOutcome({ runId: second.id, recipientId: e!.recipientId, outcome: 'failed', attempts: 1, error: 'x' }),
        runs.outcomeOf(first.id, c!.recipientId),
      ]);
      t.equal(answers.slice(0, 5).filter(Boolean).length, 4, 'one outcome for the delivery reported twice');
      t.equal(answers[0] === true, (await runs.failures(first.id, 10)).length === 1, 'the call that answered true is the one stored');
      t.equal(answers[5], null, 'a read in the same turn');
      t.match(await runs.get(first.id), { sent: (answers[0] ? 0 : 1) + 1, failed: answers[0] ? 1 : 0, finishedAt: null });
      t.match(await runs.get(second.id), { sent: 1, failed: 1, status: 'completed_with_failures' });
    });

    await t.test('runs: the enqueue cursor only moves from where it was', async (t) => {
      const run = await runs.create({ count: 4, failureRate: 0, relayLatencyMs: 0, queue: 'mail-default' });
      await runs.advanceEnqueueCursor(run.id, 0, 10, 2);
      await runs.advanceEnqueueCursor(run.id, 0, 10, 2); // a concurrent resume lost the race
      t.equal((await runs.get(run.id))?.enqueued, 2);
      t.equal(await runs.enqueueCursor(run.id), 10);
    });
  }),
);

t.test('a database with recipients gets their count when migrated', (t) =>
  onBothDatabases(
    t,
    async (t, database) => {
      await migrate(database, '002_index_only_failed_deliveries');
      await database.db
        .insertInto('recipients')
        .values([1, 2, 3, 4].map((i) => ({ name: `Old ${i}`, email: `old${i}@data.test`, email_key: `old${i}@data.test`, created_at: '' })))
        .execute();
      t.same(await migrate(database), [
        '003_count_recipients_by_trigger',
        '004_run_tallies_per_writer',
        '005_retried_attempts',
        '006_relay_latency',
        '007_tally_pods',
        '008_record_outcomes_procedure',
      ]);
      t.equal(await new RecipientStore(database.db).count(), 4);
    },
    { migrated: false },
  ),
);

t.test('a run still sending when migrated keeps its counts and finishes', (t) =>
  onBothDatabases(
    t,
    async (t, database) => {
      await migrate(database, '003_count_recipients_by_trigger');
      const { db } = database;
      await db
        .insertInto('recipients')
        .values([1, 2, 3].map((i) => ({ name: `Old ${i}`, email: `old${i}@data.test`, email_key: `old${i}@data.test`, created_at: '' })))
        .execute();
      const { id } = await db
        .insertInto('runs')
        .values({ total: 3, enqueued: 3, sent: 1, failed: 1, queue: 'mail-default', failure_rate: 0, created_at: '' })
        .returning('id')
        .executeTakeFirstOrThrow();
      const recipients = await db.selectFrom('recipients').select(['id', 'name', 'email']).orderBy('id').execute();
      await db
        .insertInto('deliveries')
        .values(
          recipients.map((r, i) => ({
            run_id: id,
            recipient_id: r.id,
            name: r.name,
            email: r.email,
            outcome: (['sent', 'failed', null] as const)[i] ?? null,
            attempts: i < 2 ? 1 : 0,
          })),
        )
        .execute();

      t.same(await migrate(database), [
        '004_run_tallies_per_writer',
        '005_retried_attempts',
        '006_relay_latency',
        '007_tally_pods',
        '008_record_outcomes_procedure',
      ]);
      const runs = new RunStore(db);
      t.match(await runs.get(id), { sent: 1, failed: 1, status: 'sending', finishedAt: null }, 'the counts carry over');
      t.equal((await runs.get(id))?.relayLatencyMs, 0, 'a run from before relay latencies waits on no relay');
      t.equal(await runs.recordOutcome({ runId: id, recipientId: recipients[2]!.id, outcome: 'sent', attempts: 1 }), true);
      t.match(await runs.get(id), { sent: 2, failed: 1, status: 'completed_with_failures', finishedAt: String }, 'and the run finishes');
      t.same(
        await runs.pods(id),
        [{ pod: '', version: '', sent: 2, failed: 1, retried: 0 }],
        'work from before pods were recorded has no pod',
      );
    },
    { migrated: false },
  ),
);

t.test('PostgreSQL: a batch looks its deliveries up by key while the statistics predate its run', async (t) => {
  const server = await startPostgres();
  t.teardown(() => server.stop());
  const url = await createDatabase(server, 'stale_statistics');
  const migrating = openDatabase(url);
  await migrate(migrating);
  await migrating.close();
  // One connection, so the store's statements and the readings of what they cost share one session.
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  // The server stops first at the end, under the idle connection: as in database.ts, not a crash.
  pool.on('error', () => {});
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
  t.teardown(() => db.destroy());
  await sql`insert into recipients (name, email, email_key, created_at)
    select 'R' || i, 'r' || i || '@data.test', 'r' || i || '@data.test', '' from generate_series(1, 2000) i`.execute(db);
  const runs = new RunStore(db);
  const options = { count: 2000, failureRate: 0, relayLatencyMs: 0, queue: 'mail-default' };
  await runs.create(options);
  // As autovacuum would, after the first run: the statistics know that run, not the next one.
  await sql`analyze deliveries`.execute(db);
  const run = await runs.create(options);
  const batch = await db.selectFrom('deliveries').select('recipient_id').where('run_id', '=', run.id).limit(3).execute();

  /** Pages of deliveries' heap this session has read so far, from the statistics it has flushed. */
  const heapPagesRead = async () => {
    await sql`select pg_stat_force_next_flush()`.execute(db);
    const { rows } = await sql<{ pages: string }>`
      select heap_blks_hit + heap_blks_read as pages from pg_statio_user_tables where relname = 'deliveries'`.execute(db);
    return Number(rows[0]?.pages);
  };
  const before = await heapPagesRead();
  const keys = batch.map((d) => ({ runId: run.id, recipientId: d.recipient_id }));
  t.same(await Promise.all(keys.map((k) => runs.outcomeOf(k.runId, k.recipientId))), [null, null, null]);
  t.same(await Promise.all(keys.map((k) => runs.recordOutcome({ ...k, outcome: 'sent', attempts: 1 }))), [true, true, true]);
  const read = (await heapPagesRead()) - before;
  // By key, a few pages per delivery (21 here); filtering the run's deliveries instead reads a page per delivery of the run, twice (3,789).
  t.ok(read < 100, `reading and writing three outcomes read ${read} pages of deliveries (the run has 2,000)`);
});

t.test('SQLite: creating runs while another process writes never fails with a busy snapshot', async (t) => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { spawn } = await import('node:child_process');
  const { openDatabase } = await import('../src/db/database.ts');
  const file = join(mkdtempSync(join(tmpdir(), 'mw-busy-')), 'db.sqlite');
  const web = openDatabase(`file:${file}`);
  t.teardown(() => web.close());
  await migrate(web);
  const recipients = new RecipientStore(web.db);
  for (let i = 0; i < 50; i++) await recipients.add({ name: `R${i}`, email: `r${i}@busy.test` });
  // Another process writes as fast as it can, as the worker does while the web creates runs.
  const writer = spawn(
    process.execPath,
    [
      '-e',
      `const db = new (require('better-sqlite3'))(${JSON.stringify(file)}); db.pragma('busy_timeout = 5000'); db.pragma('synchronous = OFF');
       const insert = db.prepare("insert into recipients (name, email, email_key, created_at) values (?, ?, ?, '')");
       const pause = new Int32Array(new SharedArrayBuffer(4));
       const end = Date.now() + 60_000; // bounded; the teardown kills it sooner
       for (let i = 0; Date.now() < end; i++) {
         insert.run('W' + i, 'w' + i + '@busy.test', 'w' + i + '@busy.test');
         Atomics.wait(pause, 0, 0, 1);
       }`,
    ],
    { stdio: 'ignore' },
  );
  // SIGKILL: the loop never yields, so a handled SIGTERM (tap's signal-exit, loaded into every child) would wait for it.
  t.teardown(() => writer.kill('SIGKILL'));
  const written = () =>
    web.db
      .selectFrom('recipients')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('email', 'like', 'w%@busy.test')
      .executeTakeFirstOrThrow()
      .then((row) => Number(row.n));
  // Each run is created right after the other process committed: the
  // moment a stale read snapshot would make the web's write fail.
  const runs = new RunStore(web.db);
  let last = 0;
  let created = 0;
  for (let i = 0; i < 50; i++) {
    last = await waitFor(
      'the other process to commit again',
      async () => {
        const n = await written();
        return n > last ? n : undefined;
      },
      10_000,
      { intervalMs: 1 },
    );
    await runs.create({ count: 10, failureRate: 0, relayLatencyMs: 0, queue: 'mail-default' });
    created++;
  }
  t.equal(writer.exitCode, null, `the other process still writes (${last} rows so far)`);
  t.equal(created, 50, 'every run was created, each right after the other process committed');
});
