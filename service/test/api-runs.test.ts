import { writeFileSync } from 'node:fs';
import { Worker } from 'bullmq';
import t from 'tap';
import { jobId, QUEUE_PREFIX } from '../src/queue/queues.ts';
import { RunStore } from '../src/runs/store.ts';
import { openDatabase } from '../src/db/database.ts';
import { csrfFrom, startApp } from '../../test/helpers/app.ts';
import { startRedis } from '../../test/helpers/servers.ts';

t.test('runs API (web mode: jobs wait in the queue)', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const service = await startApp(t, 'web', { REDIS_URL: redis.url });
  const app = service.app!;
  const client = redis.client();
  const startRun = (payload: unknown) => app.inject({ method: 'POST', url: '/api/runs', payload: payload as object });

  const csv = ['name,email', ...Array.from({ length: 10_000 }, (_, i) => `Load ${i},load${i}@runs.test`)].join('\n');
  const imported = await app.inject({
    method: 'POST',
    url: '/api/recipients/import',
    headers: { 'content-type': 'text/csv' },
    payload: csv,
  });
  t.equal(imported.json().imported, 10_000);

  await t.test('bad counts, failure rates and relay latencies: 422 naming the field, no run stored', async (t) => {
    const cases: Array<[unknown, RegExp]> = [
      [{ count: 0 }, /count must be a whole number/],
      [{ count: -5 }, /count must be a whole number/],
      [{ count: 1.5 }, /count must be a whole number/],
      [{ count: 'ten' }, /count must be a whole number/],
      [{}, /count must be a whole number/],
      [{ count: 10, failureRate: 1.5 }, /failureRate must be a number from 0 to 1/],
      [{ count: 10, failureRate: -0.1 }, /failureRate must be a number from 0 to 1/],
      [{ count: 10, failureRate: 'lots' }, /failureRate must be a number from 0 to 1/],
      [{ count: 10, relayLatencyMs: -1 }, /relayLatencyMs must be a whole number from 0 to 5000/],
      [{ count: 10, relayLatencyMs: 5001 }, /relayLatencyMs must be a whole number from 0 to 5000/],
      [{ count: 10, relayLatencyMs: 0.5 }, /relayLatencyMs must be a whole number from 0 to 5000/],
      [{ count: 10_001 }, /only 10000 recipients are stored/],
      [[], /expected a JSON object/],
    ];
    for (const [body, message] of cases) {
      const response = await startRun(body);
      t.equal(response.statusCode, 422, JSON.stringify(body));
      t.match(response.json(), { error: message }, JSON.stringify(body));
    }
    t.same((await app.inject({ method: 'GET', url: '/api/runs' })).json(), { items: [] });
  });

  await t.test('a 10,000-recipient run enqueues 10,000 jobs with distinct deterministic ids', async (t) => {
    const response = await startRun({ count: 10_000, failureRate: 0.3, relayLatencyMs: 20 });
    t.equal(response.statusCode, 202);
    const { id, total, queue } = response.json();
    t.same({ total, queue }, { total: 10_000, queue: 'mail-default' });
    t.equal(await client.llen(`${QUEUE_PREFIX}:mail-default:wait`), 10_000);
    const ids = await client.lrange(`${QUEUE_PREFIX}:mail-default:wait`, 0, -1);
    t.equal(new Set(ids).size, 10_000, 'job ids are distinct');
    t.ok(
      ids.every((j) => /^run-\d+-rcpt-\d+$/.test(j)),
      'ids name run and recipient',
    );
    t.ok(ids.includes(jobId(id, 1)), 'recipient 1 is in a 10,000 of 10,000 run');
    const run = (await app.inject({ method: 'GET', url: `/api/runs/${id}` })).json();
    t.match(run, {
      id,
      total: 10_000,
      enqueued: 10_000,
      sent: 0,
      failed: 0,
      status: 'queued',
      queue: 'mail-default',
      failureRate: 0.3,
      relayLatencyMs: 20,
      failures: [],
      workers: 0,
    });

    const resumed = await app.inject({ method: 'POST', url: `/api/runs/${id}/resume` });
    t.equal(resumed.statusCode, 202);
    t.equal(await client.llen(`${QUEUE_PREFIX}:mail-default:wait`), 10_000, 'resuming a complete enqueue adds nothing');
  });

  await t.test('an interrupted enqueue resumes without duplicates', async (t) => {
    await client.del(`${QUEUE_PREFIX}:mail-default:wait`); // start from an empty list for exact counting
    const { id } = (await startRun({ count: 2500 })).json();
    const added = await client.llen(`${QUEUE_PREFIX}:mail-default:wait`);
    t.equal(added, 2500);
    // Simulate a crash after the first chunk: the cursor and count go back.
    const database = openDatabase(service.config.databaseUrl);
    t.teardown(() => database.close());
    const runs = new RunStore(database.db);
    const [first] = await runs.deliveriesAfter(id, 0, 1000).then((d) => [d.at(-1)]);
    await database.db.updateTable('runs').set({ enqueued: 1000, enqueue_cursor: first!.recipientId }).where('id', '=', id).execute();
    t.match((await app.inject({ method: 'GET', url: `/api/runs/${id}` })).json(), { enqueued: 1000 });

    const resumed = await app.inject({ method: 'POST', url: `/api/runs/${id}/resume` });
    t.match(resumed.json(), { id, enqueued: 2500 });
    t.equal(await client.llen(`${QUEUE_PREFIX}:mail-default:wait`), 2500, 'the re-added chunks were ignored by their job ids');

    // The HTML page offers no resume once complete, and does before.
    const page = await app.inject({ method: 'GET', url: `/runs/${id}` });
    t.notMatch(page.body, /action="\/runs\/\d+\/resume"/);
  });

  await t.test('Redis full (maxmemory, noeviction): 507 naming the run and what was queued; resumed once there is room', async (t) => {
    await client.del(`${QUEUE_PREFIX}:mail-default:wait`);
    const used = Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1]);
    await client.config('SET', 'maxmemory', String(used + 2 * 1024 * 1024));
    t.teardown(() => client.config('SET', 'maxmemory', '0'));
    const full = await startRun({ count: 10_000 });
    t.equal(full.statusCode, 507);
    t.match(full.json(), {
      error: /^Redis is full \(its maxmemory\): run #\d+ stopped with 0 of 10000 mails queued; resume it from its page/,
      code: 'run.queue_full',
    });
    const [stopped] = (await app.inject({ method: 'GET', url: '/api/runs?limit=1' })).json().items;
    t.match(stopped, { enqueued: 0, total: 10_000 }, 'the run is stored, its cursor where Redis stopped it');
    t.ok((await client.llen(`${QUEUE_PREFIX}:mail-default:wait`)) < 10_000, 'Redis took only part of it');
    const page = await app.inject({ method: 'GET', url: `/runs/${stopped.id}` });
    t.match(page.body, new RegExp(`action="/runs/${stopped.id}/resume"`), 'its page offers to resume it');

    const { token, cookie } = await csrfFrom(service, `/runs/${stopped.id}`);
    const stillFull = await app.inject({
      method: 'POST',
      url: `/runs/${stopped.id}/resume`,
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `_csrf=${encodeURIComponent(token)}`,
    });
    t.equal(stillFull.statusCode, 507, 'resumed from the page while Redis is still full: 507');
    t.match(stillFull.body, /Redis is full/, 'and the page says why');

    await client.config('SET', 'maxmemory', '0');
    const resumed = await app.inject({ method: 'POST', url: `/api/runs/${stopped.id}/resume` });
    t.match(resumed.json(), { id: stopped.id, enqueued: 10_000 });
    t.equal(
      await client.llen(`${QUEUE_PREFIX}:mail-default:wait`),
      10_000,
      'every job once: the ones Redis had taken were not added again',
    );
  });

  await t.test('a run says how many workers listen on its queue: none in web mode, and its page says the mails wait', async (t) => {
    const { id } = (await startRun({ count: 5 })).json();
    t.match((await app.inject({ method: 'GET', url: `/api/runs/${id}` })).json(), { status: 'queued', workers: 0, pods: [] });
    const page = await app.inject({ method: 'GET', url: `/runs/${id}` });
    t.match(page.body, /<p class="banner warning" data-field="no-workers">No worker is running/, 'the page says no worker runs');
    t.match(page.body, /Worker pods<\/abbr><\/h2>\s*<p>No worker has taken a mail of this run yet\.<\/p>/, 'nor has any pod done its work');
    // A worker that connects and takes nothing (autorun off): BullMQ names its connection.
    const worker = new Worker('mail-default', null, { connection: redis.client(), prefix: QUEUE_PREFIX, autorun: false });
    t.teardown(() => worker.close());
    await worker.waitUntilReady();
    t.match((await app.inject({ method: 'GET', url: `/api/runs/${id}` })).json(), { workers: 1 }, 'one worker, once it connects');
    t.match(
      (await app.inject({ method: 'GET', url: `/runs/${id}` })).body,
      /<p class="banner warning" data-field="no-workers" hidden>/,
      'and the page keeps the note hidden (app.js shows it again when the count falls to 0)',
    );
  });

  await t.test('unknown and malformed run ids', async (t) => {
    t.equal((await app.inject({ method: 'GET', url: '/api/runs/999999' })).statusCode, 404);
    t.equal((await app.inject({ method: 'GET', url: '/api/runs/abc' })).statusCode, 400);
    t.equal((await app.inject({ method: 'POST', url: '/api/runs/999999/resume' })).statusCode, 404);
  });

  await t.test('runs list newest first', async (t) => {
    const { items } = (await app.inject({ method: 'GET', url: '/api/runs' })).json();
    t.ok(items.length >= 2);
    t.ok(items[0].id > items[1].id);
  });

  await t.test('the bulk_send_feature flag gates new runs; send_strategy picks the queue', async (t) => {
    writeFileSync(service.config.flagsFile, JSON.stringify({ bulk_send_feature: false }));
    const off = await startRun({ count: 1 });
    t.equal(off.statusCode, 403);
    t.match(off.json(), { error: /switched off.*bulk_send_feature/ });
    t.match((await app.inject({ method: 'GET', url: '/api/flags' })).json(), {
      bulkSend: { enabled: false, source: 'file' },
      sendStrategy: { variant: 'default', source: 'default' },
    });
    const page = await app.inject({ method: 'GET', url: '/' });
    t.match(page.body, /<button type="submit" name="count" value="1000" disabled>/, 'send buttons are disabled');

    writeFileSync(service.config.flagsFile, JSON.stringify({ bulk_send_feature: true, send_strategy: 'priority' }));
    const priority = await startRun({ count: 3 });
    t.equal(priority.statusCode, 202);
    t.equal(priority.json().queue, 'mail-priority');
    t.equal(await client.llen(`${QUEUE_PREFIX}:mail-priority:wait`), 3);

    writeFileSync(service.config.flagsFile, '{ not json');
    const flags = (await app.inject({ method: 'GET', url: '/api/flags' })).json();
    t.match(flags, { sendStrategy: { variant: 'priority' }, warning: /unreadable/ }, 'a broken file keeps the last good values');
  });
});
