import t from 'tap';
import { closeQueues, openQueues, QUEUE_NAMES, redisConnection } from '../src/queue/queues.ts';
import { SystemMonitor } from '../src/monitor/system.ts';
import { BUCKET_SECONDS, readThroughput, ThroughputRecorder, WINDOW_BUCKETS } from '../src/monitor/throughput.ts';
import { startApp } from '../../test/helpers/app.ts';
import { waitFor } from '../../test/helpers/ports.ts';
import { startRedis } from '../../test/helpers/servers.ts';
import { startSmtpSink } from '../../test/helpers/smtp.ts';

// The dashboard's live panel: the throughput history in Redis, the snapshot
// the web pods read, and GET /api/system and /system on the running service,
// with a real Redis and a real SMTP server.

// 12:00:07.5 falls in the bucket that starts at 12:00:05.
const NOW = Date.UTC(2026, 11, 5, 12, 0, 7, 500);
const FLUSH_BY_HAND = 3_600_000;

t.test('each worker adds its counts to five-second buckets; the web reads them back as mails per second', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const client = redis.client();
  const a = new ThroughputRecorder(client, 'pod-a/v1', { flushMs: FLUSH_BY_HAND });
  const b = new ThroughputRecorder(client, 'pod-b/v2', { flushMs: FLUSH_BY_HAND });
  t.teardown(() => Promise.all([a.close(), b.close()]));
  for (let i = 0; i < 10; i++) a.count('sent');
  for (let i = 0; i < 5; i++) a.count('failed');
  for (let i = 0; i < 2; i++) a.count('retried');
  for (let i = 0; i < 20; i++) b.count('sent');
  await Promise.all([a.flush(NOW), b.flush(NOW)]);

  const filling = await readThroughput(client, NOW);
  t.equal(filling.points.length, WINDOW_BUCKETS, 'five minutes of buckets');
  t.ok(
    filling.points.every((p) => p.sent + p.failed + p.retried === 0),
    'the bucket still being filled is left out',
  );

  const read = await readThroughput(client, NOW + BUCKET_SECONDS * 1000);
  t.same(
    read.points.at(-1),
    { at: '2026-12-05T12:00:05.000Z', sent: 30 / 5, failed: 5 / 5, retried: 2 / 5 },
    'per second, both workers summed',
  );
  t.same(Object.fromEntries(read.byWorker), { 'pod-a/v1': 15 / 15, 'pod-b/v2': 20 / 15 }, "each worker's mails over 15 seconds");
  t.equal(read.points.at(-2)?.at, '2026-12-05T12:00:00.000Z', 'oldest first, a bucket apart');

  const ttl = await client.ttl(`mail-worker:throughput:${Date.UTC(2026, 11, 5, 12, 0, 5) / 1000}`);
  t.ok(
    ttl > WINDOW_BUCKETS * BUCKET_SECONDS && ttl <= (WINDOW_BUCKETS + 3) * BUCKET_SECONDS,
    `the bucket expires after the window (${ttl} s)`,
  );
  const later = await readThroughput(client, NOW + (WINDOW_BUCKETS + 1) * BUCKET_SECONDS * 1000);
  t.ok(
    later.points.every((p) => p.sent === 0),
    'five minutes on, it is out of the window',
  );
  t.same(Object.fromEntries(later.byWorker), {}, 'and no worker has a rate');
});

t.test('each web pod counts its answers; with a heartbeat it shows before its first request', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const client = redis.client();
  const busy = new ThroughputRecorder(client, 'web-a/v1', { flushMs: FLUSH_BY_HAND, heartbeat: true });
  const idle = new ThroughputRecorder(client, 'web-b/v2', { flushMs: FLUSH_BY_HAND, heartbeat: true });
  const worker = new ThroughputRecorder(client, 'worker-a/v1', { flushMs: FLUSH_BY_HAND });
  t.teardown(() => Promise.all([busy.close(), idle.close(), worker.close()]));
  for (let i = 0; i < 30; i++) busy.count('answered');
  for (let i = 0; i < 6; i++) busy.count('errors');
  await Promise.all([busy.flush(NOW), idle.flush(NOW), worker.flush(NOW)]);

  const read = await readThroughput(client, NOW + BUCKET_SECONDS * 1000);
  t.same(
    Object.fromEntries(read.byWebPod),
    { 'web-a/v1': { perSecond: 30 / 15, errorsPerSecond: 6 / 15 }, 'web-b/v2': { perSecond: 0, errorsPerSecond: 0 } },
    'requests and 5xx per second over 15 seconds; the idle pod at 0, a worker with nothing counted not at all',
  );
  t.ok(
    read.points.every((p) => p.sent + p.failed + p.retried === 0),
    'requests are not mails',
  );
  const gone = await readThroughput(client, NOW + 5 * BUCKET_SECONDS * 1000);
  t.same(Object.fromEntries(gone.byWebPod), {}, 'a pod silent for 15 seconds is gone from the list');
});

t.test('a flush while Redis is away keeps the counts for the next one', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  // The service's own kind of connection: it fails at once while Redis is down.
  const connection = redisConnection(redis.url, 'queue');
  connection.on('error', () => {});
  t.teardown(() => connection.disconnect());
  const recorder = new ThroughputRecorder(connection, 'pod-a/v1', { flushMs: FLUSH_BY_HAND });
  await redis.stop();
  for (let i = 0; i < 3; i++) recorder.count('sent');
  await recorder.flush(NOW);
  await redis.start();
  await waitFor('the connection to come back', () => connection.status === 'ready');
  recorder.count('sent');
  await recorder.flush(NOW);
  const read = await readThroughput(connection, NOW + BUCKET_SECONDS * 1000);
  t.equal(read.points.at(-1)?.sent, 4 / 5, 'the three counted while Redis was away, and the one after');
});

t.test('the live panel on the running service', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const smtp = await startSmtpSink();
  t.teardown(() => smtp.stop());
  const service = await startApp(t, 'all', {
    REDIS_URL: redis.url,
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(smtp.port),
    SEND_RETRY_DELAY_MS: '20',
    POD_NAME: 'panel-pod',
    APP_VERSION: 'v9',
  });
  const app = service.app!;
  const csv = ['name,email', ...Array.from({ length: 200 }, (_, i) => `Panel ${i},panel${i}@system.test`)].join('\n');
  await app.inject({ method: 'POST', url: '/api/recipients/import', headers: { 'content-type': 'text/csv' }, payload: csv });
  const { id } = (await app.inject({ method: 'POST', url: '/api/runs', payload: { count: 200, failureRate: 0.2 } })).json();
  const run = await waitFor('the run to finish', async () => {
    const r = (await app.inject({ method: 'GET', url: `/api/runs/${id}` })).json();
    return r.finishedAt && r;
  });

  const mails = (points: Array<{ sent: number; failed: number; retried: number }>, key: 'sent' | 'failed' | 'retried') =>
    Math.round(points.reduce((sum, p) => sum + p[key], 0) * BUCKET_SECONDS);
  const system = await waitFor(
    "the run's mails in the panel's history",
    async () => {
      const s = (await app.inject({ method: 'GET', url: '/api/system' })).json();
      return mails(s.throughput, 'sent') + mails(s.throughput, 'failed') === 200 && s;
    },
    (BUCKET_SECONDS + 5) * 1000,
    { intervalMs: 500 },
  );

  await t.test('GET /api/system', async (t) => {
    t.same(
      [mails(system.throughput, 'sent'), mails(system.throughput, 'failed'), mails(system.throughput, 'retried')],
      [run.sent, run.failed, run.retried],
      `the history holds the run: ${run.sent} sent, ${run.failed} failed, ${run.retried} retried`,
    );
    t.same(
      system.queues.map((q: { name: string }) => q.name),
      QUEUE_NAMES,
      'both queues',
    );
    t.match(system.queues[0], { waiting: 0, active: 0, delayed: 0 }, 'nothing left to do');
    t.match(
      system.workers,
      [{ name: 'panel-pod/v9', pod: 'panel-pod', version: 'v9', queues: ['mail-default', 'mail-priority'], perSecond: Number }],
      'one worker, on both queues, named by its pod and version',
    );
    const again = (await app.inject({ method: 'GET', url: '/api/system' })).json();
    const third = (await app.inject({ method: 'GET', url: '/api/system' })).json();
    t.equal(again.at, third.at, 'read once for requests within a second');
  });

  await t.test('the web pod: its requests counted, probes and the panel itself left out', async (t) => {
    const client = redis.client();
    const answered = async () => {
      let sum = 0;
      for (const key of await client.keys('mail-worker:throughput:*'))
        sum += Number((await client.hget(key, 'answered panel-pod/v9')) ?? 0);
      return sum;
    };
    const listed = await waitFor(
      'the web pod in the panel with its requests',
      async () => {
        await app.inject({ method: 'GET', url: '/api/version' });
        const s = (await app.inject({ method: 'GET', url: '/api/system' })).json();
        return s.web.find((w: { perSecond: number }) => w.perSecond > 0) && s;
      },
      (BUCKET_SECONDS + 5) * 1000,
      { intervalMs: 500 },
    );
    t.match(listed.web, [{ name: 'panel-pod/v9', pod: 'panel-pod', version: 'v9', errorsPerSecond: 0 }], 'one web pod, by pod and version');

    // 200 probes, scrapes and polls, then one request: the count grows by
    // that one (and the few of the wait above not yet flushed), not by 201.
    const before = await answered();
    for (const url of ['/healthz', '/readyz', '/metrics', '/system', '/api/system'])
      await Promise.all(Array.from({ length: 40 }, () => app.inject({ method: 'GET', url })));
    await app.inject({ method: 'GET', url: '/api/recipients' });
    const after = await waitFor('the request flushed', async () => ((await answered()) > before ? answered() : undefined), 5000);
    t.ok(after - before <= 5, `200 probes and polls left out: the count grew by ${after - before}`);
  });

  await t.test('the panel: on the dashboard and as the fragment app.js swaps in, in English and Japanese', async (t) => {
    const dashboard = await app.inject({ method: 'GET', url: '/' });
    t.match(dashboard.body, /<section class="panel system" id="system"/, 'the dashboard has the panel');
    t.match(dashboard.body, /<table class="live-workers">[\s\S]*<code>panel-pod<\/code><\/td><td>v9<\/td>/, 'the live worker');
    t.match(dashboard.body, /<tr data-web-pod="panel-pod"><td><code>panel-pod<\/code><\/td><td>v9<\/td>/, 'the web pod');
    const fragment = await app.inject({ method: 'GET', url: '/system', headers: { 'accept-language': 'ja' } });
    t.equal(fragment.statusCode, 200, 'GET /system answers');
    t.notMatch(fragment.body, /<html/, 'a fragment, not a page');
    t.match(fragment.body, /稼働中のワーカー[\s\S]*Web ポッド/, 'in Japanese');
    t.match(
      fragment.body,
      /<tr data-queue="mail-default"><th scope="row"><code>mail-default<\/code><\/th><td data-state="waiting">0<\/td>/,
      'the queue figures',
    );
    const bars = fragment.body.match(/<rect class="sent"/g) ?? [];
    t.equal(
      bars.length,
      system.throughput.filter((p: { sent: number; failed: number }) => p.sent + p.failed > 0).length,
      'a bar per bucket with mails',
    );
    t.match(fragment.headers['cache-control'], 'no-store', 'never cached');
  });

  await t.test('with Redis gone the dashboard still renders, saying so; the API answers 503', async (t) => {
    await redis.stop();
    // The last snapshot serves for up to a second.
    const dashboard = await waitFor('the dashboard to say Redis is gone', async () => {
      const page = await app.inject({ method: 'GET', url: '/' });
      return page.body.includes('Redis does not answer: no queue figures for now.') && page;
    });
    t.equal(dashboard.statusCode, 200, 'the page renders');
    t.match(dashboard.body, /<table class="recipients">/, 'with the recipients from the database');
    const api = await app.inject({ method: 'GET', url: '/api/system' });
    t.equal(api.statusCode, 503, 'GET /api/system: 503');
    t.match(api.json(), { code: 'service.unavailable' }, api.body);
  });
});

t.test('the snapshot is read once however many ask within its age', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const client = redis.client();
  const queues = openQueues(client);
  t.teardown(() => closeQueues(queues));
  const commands = async () => Number((await client.info('stats')).match(/total_commands_processed:(\d+)/)?.[1]);
  // Each difference counts the snapshot's commands and the INFO before it;
  // the first snapshot also loads BullMQ's scripts.
  await new SystemMonitor(queues, client, 60_000).snapshot();
  let before = await commands();
  await new SystemMonitor(queues, client, 60_000).snapshot();
  const one = (await commands()) - before - 1;
  const monitor = new SystemMonitor(queues, client, 60_000);
  before = await commands();
  const snapshots = await Promise.all(Array.from({ length: 20 }, () => monitor.snapshot()));
  t.equal(new Set(snapshots).size, 1, 'twenty asks, one snapshot');
  t.equal((await commands()) - before - 1, one, `twenty asks cost Redis the ${one} commands of one`);
});
