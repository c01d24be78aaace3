// npm run bench: how fast, against what. Real Redis, a real SMTP server,
// SQLite, and the service as real processes on this machine. Every figure is
// measured side by side in one run and reported with its ratio, never as a
// timed assertion: these machines are shared and noisy.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { sql } from 'kysely';
import { type Database, openDatabase } from '../src/db/database.ts';
import { migrate } from '../src/db/migrations.ts';
import { DEFAULT_FLAGS } from '../src/flags/flags.ts';
import { jobOptions } from '../src/queue/delivery-policy.ts';
import { jobId, type MailJob, redisConnection } from '../src/queue/queues.ts';
import { BulkSender } from '../src/runs/bulk-send.ts';
import { RunStore } from '../src/runs/store.ts';
import { chartNodeOptions, cpuSeconds, finished, MAIN, memory, post, ROOT, runBenchmark, step, t, teardowns } from './harness.ts';
import { spawnService } from '../../test/helpers/process.ts';
import { startRedis } from '../../test/helpers/servers.ts';
import { startSmtpSink } from '../../test/helpers/smtp.ts';

const ENQUEUE_ROUNDS = 5;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const RESULTS = join(ROOT, 'bench/results/latest.json');

function csvFile(rows: number, dir: string, prefix: string): Promise<string> {
  const file = join(dir, `${prefix}.csv`);
  const out = createWriteStream(file);
  out.write('name,email\n');
  for (let i = 0; i < rows; i++) out.write(`Bench ${prefix} ${i},${prefix}${i}@bench.test\n`);
  return new Promise((resolve) => out.end(() => resolve(file)));
}

/**
 * A history of finished runs of ten deliveries each, written straight to the
 * database: sending them through the queue would take minutes and change
 * nothing the dashboard reads.
 */
async function storeFinishedRuns(database: Database, count: number): Promise<void> {
  const now = new Date().toISOString();
  await database.db.transaction().execute(async (trx) => {
    for (let i = 0; i < count; i++) {
      const { id } = await trx
        .insertInto('runs')
        .values({ total: 10, enqueued: 10, sent: 10, queue: 'mail-default', failure_rate: 0, created_at: now, finished_at: now })
        .returning('id')
        .executeTakeFirstOrThrow();
      await trx
        .insertInto('deliveries')
        .columns(['run_id', 'recipient_id', 'name', 'email', 'outcome', 'attempts', 'finished_at'])
        .expression((eb) =>
          eb
            .selectFrom('recipients')
            .select([
              sql.lit(id).as('run_id'),
              'id',
              'name',
              'email',
              sql.lit('sent').as('outcome'),
              sql.lit(1).as('attempts'),
              sql.lit(now).as('finished_at'),
            ])
            .where('id', '>', (i * 10) % 99_990)
            .orderBy('id')
            .limit(10),
        )
        .execute();
    }
  });
}

/** The live panel's window per measurement, and how often app.js asks for it. */
const PANEL_SECONDS = 20;
const PANEL_POLL_MS = 2000;

/**
 * `pages` open dashboards for PANEL_SECONDS, each asking for GET /system
 * every two seconds as app.js does, their first asks spread over the
 * interval as pages opened at different moments would be. Answers the
 * web's CPU and Redis's commands per second meanwhile, and the asks' times.
 */
async function openPages(web: { url: string; pid: number }, redis: Redis, pages: number) {
  const commands = async () => Number(/total_commands_processed:(\d+)/.exec(await redis.info('stats'))?.[1]);
  const [cpuBefore, commandsBefore, start] = [cpuSeconds(web.pid), await commands(), performance.now()];
  const until = start + PANEL_SECONDS * 1000;
  const times: number[] = [];
  await Promise.all([
    sleep(PANEL_SECONDS * 1000),
    ...Array.from({ length: pages }, async (_, i) => {
      await sleep((PANEL_POLL_MS * i) / pages);
      while (performance.now() < until) {
        const asked = performance.now();
        const response = await fetch(`${web.url}/system`);
        await response.text();
        if (!response.ok) throw new Error(`GET /system answered ${response.status}`);
        times.push(performance.now() - asked);
        await sleep(PANEL_POLL_MS);
      }
    }),
  ]);
  const seconds = (performance.now() - start) / 1000;
  // Less the INFO commands this measurement sent itself.
  const commandsPerSecond = ((await commands()) - commandsBefore - 1) / seconds;
  return {
    pages,
    asks: times.length,
    webCpuPercent: ((cpuSeconds(web.pid) - cpuBefore) * 100) / seconds,
    redisCommandsPerSecond: commandsPerSecond,
    medianAskMs: times.length > 0 ? median(times) : 0,
  };
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'mw-bench-'));
  const redis = await startRedis();
  teardowns.push(() => redis.stop());
  const smtp = await startSmtpSink();
  teardowns.push(() => smtp.stop());
  const databaseUrl = `file:${join(work, 'bench.sqlite')}`;
  const env = {
    REDIS_URL: redis.url,
    DATABASE_URL: databaseUrl,
    FLAGS_FILE: join(work, 'flags.json'),
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(smtp.port),
    LOG_LEVEL: 'warn',
  };
  const database = openDatabase(databaseUrl);
  teardowns.push(() => database.close());
  await migrate(database);
  const results: Record<string, Record<string, number | number[]>> = {};

  step('1/6 CSV import of 100,000 rows through POST /api/recipients/import');
  const web = await spawnService(t, 'web', { ...env, IMPORT_MAX_ROWS: '200000', NODE_OPTIONS: chartNodeOptions('web') }, MAIN);
  const pid = web.child.pid as number;
  const file = await csvFile(100_000, work, 'import');
  const before = memory(pid).rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, memory(pid).rss)), 10);
  const importStart = performance.now();
  const response = await fetch(`${web.url}/api/recipients/import`, {
    method: 'POST',
    headers: { 'content-type': 'text/csv' },
    body: readFileSync(file),
  });
  const imported = (await response.json()) as { imported: number };
  const importSeconds = (performance.now() - importStart) / 1000;
  clearInterval(sampler);
  if (imported.imported !== 100_000) throw new Error(`import stored ${imported.imported} rows`);
  results.import = { rows: 100_000, seconds: importSeconds, memoryGrowthMB: peak - before };

  step('2/6 enqueue 10,000 jobs: chunked addBulk (the service) against one add per job');
  const runs = new RunStore(database.db);
  const queueConnection = redisConnection(redis.url, 'queue');
  teardowns.push(() => queueConnection.quit());
  const bulkQueue = new Queue<MailJob>('bench-bulk', { connection: queueConnection, prefix: 'bull' });
  const singleQueue = new Queue<MailJob>('bench-single', { connection: queueConnection, prefix: 'bull' });
  const policy = { retries: 3, retryBaseDelayMs: 1000, lockMs: 30_000 };
  const sender = new BulkSender(
    runs,
    { 'mail-default': bulkQueue, 'mail-priority': bulkQueue },
    { evaluate: () => DEFAULT_FLAGS, close: async () => {} },
    policy,
  );
  const options = jobOptions(policy);
  // Five rounds, each method once per round, reporting the medians: the
  // first round also pays for compiling the code paths, and both methods
  // share the same conditions.
  const bulkRounds: number[] = [];
  const singleRounds: number[] = [];
  for (let round = 1; round <= ENQUEUE_ROUNDS; round++) {
    const run = await runs.create({ count: 10_000, failureRate: 0, relayLatencyMs: 0, queue: 'mail-default' });
    const bulkStart = performance.now();
    await sender.enqueue(run);
    bulkRounds.push((performance.now() - bulkStart) / 1000);
    const deliveries = await runs.deliveriesAfter(run.id, 0, 10_000);
    const singleStart = performance.now();
    for (const d of deliveries) {
      await singleQueue.add(
        'send',
        { runId: run.id, recipientId: d.recipientId, name: d.name, email: d.email, failureRate: 0 },
        { ...options, jobId: jobId(run.id, d.recipientId) },
      );
    }
    singleRounds.push((performance.now() - singleStart) / 1000);
    if ((await bulkQueue.count()) !== 10_000 || (await singleQueue.count()) !== 10_000) throw new Error('enqueue lost jobs');
    await Promise.all([bulkQueue.obliterate({ force: true }), singleQueue.obliterate({ force: true })]);
    process.stderr.write(
      `  round ${round}: addBulk ${bulkRounds.at(-1)?.toFixed(3)} s, one add per job ${singleRounds.at(-1)?.toFixed(2)} s\n`,
    );
  }
  const bulkSeconds = median(bulkRounds);
  const singleSeconds = median(singleRounds);
  const speedup = singleSeconds / bulkSeconds;
  results.enqueue = {
    jobs: 10_000,
    rounds: ENQUEUE_ROUNDS,
    addBulkSeconds: bulkSeconds,
    onePerJobSeconds: singleSeconds,
    speedup,
    addBulkRange: [Math.min(...bulkRounds), Math.max(...bulkRounds)],
    onePerJobRange: [Math.min(...singleRounds), Math.max(...singleRounds)],
  };
  await Promise.all([bulkQueue.close(), singleQueue.close()]);

  step('3/6 BullMQ ceiling: 10,000 no-op jobs at the same concurrency');
  const concurrency = 20;
  const noopQueue = new Queue('bench-noop', { connection: queueConnection, prefix: 'bull' });
  await noopQueue.addBulk(Array.from({ length: 10_000 }, (_, i) => ({ name: 'noop', data: { i } })));
  const ceiling = await new Promise<number>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(dirname(fileURLToPath(import.meta.url)), 'noop-worker.ts'), redis.url, 'bench-noop', '10000', String(concurrency)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) =>
      code === 0 ? resolve(10_000 / (JSON.parse(out) as { seconds: number }).seconds) : reject(new Error(`no-op worker exited ${code}`)),
    );
  });
  await noopQueue.obliterate({ force: true });
  await noopQueue.close();

  step('4/6 delivery: 10,000 mails from POST /api/runs until every outcome is recorded, one worker process');
  const worker = await spawnService(
    t,
    'worker',
    { ...env, WORKER_CONCURRENCY: String(concurrency), NODE_OPTIONS: chartNodeOptions('worker') },
    MAIN,
  );
  const mailsBefore = smtp.mails.length;
  const deliveryStart = performance.now();
  const { id } = await post(`${web.url}/api/runs`, { count: 10_000, failureRate: 0 });
  const deliverySeconds = ((await finished(web.url, id)).finishedAt - deliveryStart) / 1000;
  const workerMemory = memory(worker.child.pid as number);
  if (smtp.mails.length - mailsBefore !== 10_000) throw new Error(`the SMTP server received ${smtp.mails.length - mailsBefore} mails`);
  const rate = 10_000 / deliverySeconds;
  results.delivery = {
    mails: 10_000,
    seconds: deliverySeconds,
    mailsPerSecond: rate,
    noopCeilingPerSecond: ceiling,
    shareOfCeiling: rate / ceiling,
    concurrency,
  };
  results.worker = { peakRssMB: workerMemory.peak };

  step('5/6 dashboard and JSON API under load (100,000 recipients, 1,000 runs stored)');
  await storeFinishedRuns(database, 1000 - (await runs.list(1000)).length);
  const load = async (path: string) => {
    const result = await autocannon({ url: `${web.url}${path}`, connections: 20, duration: 10, pipelining: 1 });
    return { requestsPerSecond: result.requests.average, p99Ms: result.latency.p99, errors: result.errors + result.non2xx };
  };
  const dashboard = await load('/');
  const apiRecipients = await load('/api/recipients?limit=50');
  const apiRuns = await load('/api/runs');
  Object.assign(results, { dashboard, apiRecipients, apiRuns });

  step(
    `6/6 the live panel: the web's CPU with 0, 1 and 20 open dashboards asking every ${PANEL_POLL_MS / 1000} s, ${PANEL_SECONDS} s each`,
  );
  const panelWeb = { url: web.url, pid };
  const panel = [];
  for (const pages of [0, 1, 20]) {
    panel.push(await openPages(panelWeb, queueConnection, pages));
    const last = panel.at(-1) as Awaited<ReturnType<typeof openPages>>;
    process.stderr.write(
      `  ${pages} pages: web ${last.webCpuPercent.toFixed(1)}% of a core, Redis ${last.redisCommandsPerSecond.toFixed(0)} commands/s, ${last.asks} asks\n`,
    );
  }
  const [idle, onePage, twentyPages] = panel as [(typeof panel)[0], (typeof panel)[0], (typeof panel)[0]];
  results.livePanel = {
    idleWebCpuPercent: idle.webCpuPercent,
    onePageWebCpuPercent: onePage.webCpuPercent,
    twentyPagesWebCpuPercent: twentyPages.webCpuPercent,
    onePageRedisCommandsPerSecond: onePage.redisCommandsPerSecond,
    twentyPagesRedisCommandsPerSecond: twentyPages.redisCommandsPerSecond,
    twentyPagesMedianAskMs: twentyPages.medianAskMs,
  };

  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2)}\n`);

  const served = (name: string, r: { requestsPerSecond: number; p99Ms: number }): [string, string, boolean] => [
    name,
    `${r.requestsPerSecond.toFixed(0)} req/s, p99 ${r.p99Ms} ms`,
    r.requestsPerSecond >= 1500 && r.p99Ms <= 50,
  ];
  const targets: Array<[string, string, boolean]> = [
    [
      'enqueue 10,000',
      `${bulkSeconds.toFixed(3)} s addBulk vs ${singleSeconds.toFixed(2)} s one add per job: ${speedup.toFixed(1)}x (medians of ${ENQUEUE_ROUNDS})`,
      bulkSeconds < 0.5 && speedup >= 10,
    ],
    [
      'delivery',
      `${rate.toFixed(0)} mails/s; no-op ceiling ${ceiling.toFixed(0)} jobs/s: ${((rate / ceiling) * 100).toFixed(0)}%`,
      rate >= 1000 && rate / ceiling >= 0.4,
    ],
    [
      'import 100,000 rows',
      `${importSeconds.toFixed(2)} s, memory growth ${(peak - before).toFixed(0)} MB`,
      importSeconds <= 3 && peak - before <= 64,
    ],
    served('dashboard GET /', dashboard),
    served('GET /api/recipients', apiRecipients),
    served('GET /api/runs', apiRuns),
    ['worker peak RSS', `${workerMemory.peak.toFixed(0)} MB`, workerMemory.peak <= 150],
    [
      'live panel, 20 open pages',
      `web ${twentyPages.webCpuPercent.toFixed(1)}% of a core (idle ${idle.webCpuPercent.toFixed(1)}%, one page ${onePage.webCpuPercent.toFixed(1)}%); Redis ${twentyPages.redisCommandsPerSecond.toFixed(0)} commands/s (one page ${onePage.redisCommandsPerSecond.toFixed(0)}); median ask ${twentyPages.medianAskMs.toFixed(1)} ms`,
      twentyPages.webCpuPercent - idle.webCpuPercent <= 5,
    ],
  ];
  console.log('\n| benchmark | result | target met |\n| --- | --- | --- |');
  for (const [name, figure, met] of targets) console.log(`| ${name} | ${figure} | ${met ? 'yes' : 'no'} |`);
  console.log(`\nfigures written to ${RESULTS.replace(ROOT, '')}`);
}

runBenchmark(main);
