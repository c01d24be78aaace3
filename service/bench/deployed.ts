// npm run bench -- --topology deployed: the service as the chart runs it.
// PostgreSQL with its default durability, Redis with its append-only file,
// Mailpit with the chart's settings, one web process and 1, 2 or 4 worker
// processes with the chart's concurrency and NODE_OPTIONS, all real
// processes on this machine's two cores. Every figure is a ratio against a
// reference measured in the same run: these machines are shared and noisy.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { parse } from 'yaml';
import { composeMail } from '../src/mail/compose.ts';
import { buildMessage } from '../src/mail/message.ts';
import { runToEnd, type ServiceProcess, spawnService } from '../../test/helpers/process.ts';
import { startMailpit } from '../../test/helpers/mailpit.ts';
import { createDatabase, startPostgres, startRedis } from '../../test/helpers/servers.ts';
import { startSmtpSink } from '../../test/helpers/smtp.ts';
import {
  chartNodeOptions,
  cpuSeconds,
  finished,
  MAIN,
  machineCpu,
  memory,
  post,
  processTree,
  ROOT,
  runBenchmark,
  step,
  t,
} from './harness.ts';
import { scalingPlot } from './plot.ts';

const RESULTS = join(ROOT, 'bench/results/deployed.json');
/** Set by `hack/bench.sh --topology deployed --profile`: each worker writes a CPU profile there. */
const PROFILES = process.env.BENCH_PROFILE_DIR;
const PLOT = join(ROOT, 'bench/results/deployed.svg');
const WORKER_COUNTS = [1, 2, 4];
const MAILS = 10_000;
/** The slow relay: each DATA answered after this long, at this concurrency per worker. */
const SLOW = { delayMs: 100, concurrency: 5, mailsPerWorker: 1_000 };

interface ChartValues {
  worker: { concurrency: number };
  mailcatcher: { maxMessages: number };
}
const chart = parse(readFileSync(join(ROOT, 'charts/mail-worker/values.yaml'), 'utf8')) as ChartValues;

/**
 * CPU seconds used so far by this benchmark's descendants: the processes
 * named in `roles` (web, workers) by role, the others by command name
 * (postgres with its backends, redis-server, mailpit).
 */
function cpuByPart(roles: Map<number, string>): Map<string, number> {
  const byPart = new Map<string, number>();
  for (const pid of processTree(process.pid).slice(1)) {
    let part = roles.get(pid);
    try {
      part ??= readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      continue; // ended meanwhile
    }
    byPart.set(part, (byPart.get(part) ?? 0) + cpuSeconds(pid));
  }
  return byPart;
}

/**
 * Samples what PostgreSQL's client backends are doing, every 10 ms: of the
 * samples where a backend is running a statement, the share spent waiting,
 * by kind of wait (Lock: a row or table lock another transaction holds; IO:
 * mostly the commit's WAL flush; LWLock: shared memory).
 */
function sampleWaits(url: string, database: string) {
  const client = new pg.Client({ connectionString: url });
  const counts = new Map<string, number>();
  let active = 0;
  let running = true;
  const done = (async () => {
    await client.connect();
    while (running) {
      const { rows } = await client.query<{ wait: string | null }>(
        `select wait_event_type as wait from pg_stat_activity
         where datname = $1 and backend_type = 'client backend' and state = 'active' and pid <> pg_backend_pid()`,
        [database],
      );
      for (const { wait } of rows) {
        active += 1;
        if (wait) counts.set(wait, (counts.get(wait) ?? 0) + 1);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await client.end();
  })();
  return async (): Promise<{ activeSamples: number; waitShare: Record<string, number> }> => {
    running = false;
    await done;
    return { activeSamples: active, waitShare: Object.fromEntries([...counts].map(([kind, n]) => [kind, n / Math.max(1, active)])) };
  };
}

/** Transactions committed in the database so far (each statement outside a transaction is one). */
async function transactions(url: string, database: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>('select xact_commit as n from pg_stat_database where datname = $1', [database]);
    return Number(rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

/** The rate an SMTP client reaches against the catcher alone, as many connections as four workers open. */
async function smtpCeiling(port: number, mails: number, connections: number): Promise<number> {
  const transport = nodemailer.createTransport({ pool: true, maxConnections: connections, maxMessages: Infinity, host: '127.0.0.1', port });
  const from = { name: 'Mail Worker', address: 'mail-worker@example.test' };
  let next = 0;
  const started = performance.now();
  const sender = async () => {
    while (next < mails) {
      const i = next++;
      const job = { runId: 1, recipientId: i + 1, name: `Bench ${i}`, email: `ceiling${i}@bench.test`, failureRate: 0 };
      const sentAt = new Date();
      // The mail a worker would send, composed the same way.
      const raw = composeMail(from, { name: job.name, address: job.email }, buildMessage(job, sentAt), sentAt);
      await transport.sendMail({ envelope: { from: from.address, to: [job.email] }, raw });
    }
  };
  await Promise.all(Array.from({ length: connections }, sender));
  const seconds = (performance.now() - started) / 1000;
  transport.close();
  return mails / seconds;
}

async function stop(processes: ServiceProcess[]): Promise<void> {
  for (const p of processes) p.child.kill('SIGTERM');
  await Promise.all(processes.map((p) => p.exited));
}

interface Measured {
  workers: number;
  mails: number;
  seconds: number;
  mailsPerSecond: number;
  workerCpuMsPerMail: number;
  workerPeakRssMB: number[];
  /** Share of the run each command's processes kept a core busy (2 = both cores). */
  cores: Record<string, number>;
  machineBusy: number;
  postgres: { activeSamples: number; waitShare: Record<string, number>; transactionsPerMail: number };
}

/** One run of `mails` through `count` worker processes, with what each part of the system spent on it. */
async function measure(
  web: ServiceProcess,
  env: Record<string, string>,
  options: { label: string; count: number; mails: number; concurrency: number; databaseUrl: string; delivered: () => Promise<number> },
): Promise<Measured> {
  const workers: ServiceProcess[] = [];
  for (let i = 0; i < options.count; i++) {
    workers.push(
      await spawnService(
        t,
        'worker',
        {
          ...env,
          WORKER_CONCURRENCY: String(options.concurrency),
          NODE_OPTIONS: `${chartNodeOptions('worker')}${PROFILES ? ` --cpu-prof --cpu-prof-dir=${PROFILES}/${options.label}-${options.count}` : ''}`,
        },
        MAIN,
      ),
    );
  }
  const roles = new Map([[web.child.pid as number, 'web'], ...workers.map((w) => [w.child.pid as number, 'workers'] as const)]);
  const deliveredBefore = await options.delivered();
  const cpuBefore = cpuByPart(roles);
  const machineBefore = machineCpu();
  const database = new URL(options.databaseUrl).pathname.slice(1);
  const transactionsBefore = await transactions(options.databaseUrl, database);
  // The sampler connects to another database, so its own queries are not counted.
  const server = new URL(options.databaseUrl);
  server.pathname = '/postgres';
  const waits = sampleWaits(server.toString(), database);

  const started = performance.now();
  const { id } = await post(`${web.url}/api/runs`, { count: options.mails, failureRate: 0 });
  await finished(web.url, id);
  const seconds = (performance.now() - started) / 1000;

  const waited = await waits();
  const machineAfter = machineCpu();
  const cpuAfter = cpuByPart(roles);
  const workerCpuUsed = (cpuAfter.get('workers') ?? 0) - (cpuBefore.get('workers') ?? 0);
  const delivered = (await options.delivered()) - deliveredBefore;
  if (delivered !== options.mails) throw new Error(`the SMTP server received ${delivered} mails, not ${options.mails}`);
  const workerPeakRssMB = workers.map((w) => memory(w.child.pid as number).peak);
  await stop(workers);
  // Backends report their statistics when idle, at most once a second.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const postgres = {
    ...waited,
    transactionsPerMail: ((await transactions(options.databaseUrl, database)) - transactionsBefore) / options.mails,
  };

  const cores: Record<string, number> = {};
  for (const [command, after] of cpuAfter) {
    const share = (after - (cpuBefore.get(command) ?? 0)) / seconds;
    if (share > 0.01) cores[command] = share;
  }
  return {
    workers: options.count,
    mails: options.mails,
    seconds,
    mailsPerSecond: options.mails / seconds,
    workerCpuMsPerMail: (workerCpuUsed * 1000) / options.mails,
    workerPeakRssMB,
    cores,
    machineBusy: (machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total),
    postgres,
  };
}

async function main() {
  step('starting PostgreSQL (default durability), Redis (append-only), Mailpit (the chart settings) and the web');
  const postgres = await startPostgres({ durable: true });
  t.teardown(() => postgres.stop());
  const databaseUrl = await createDatabase(postgres, 'bench');
  const redis = await startRedis({ appendonly: true });
  t.teardown(() => redis.stop());
  const mailpit = await startMailpit(t, { maxMessages: chart.mailcatcher.maxMessages });
  const env = {
    REDIS_URL: redis.url,
    DATABASE_URL: databaseUrl,
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(mailpit.smtpPort),
    FLAGS_FILE: join(dirname(RESULTS), 'flags.json'),
    LOG_LEVEL: 'warn',
  };
  const migrated = await runToEnd(process.execPath, [MAIN, 'migrate'], { env: { ...process.env, ...env } });
  if (migrated.status !== 0) throw new Error(`migrate: ${migrated.stderr}`);
  const web = await spawnService(t, 'web', { ...env, NODE_OPTIONS: chartNodeOptions('web') }, MAIN);
  const csv = ['name,email', ...Array.from({ length: MAILS }, (_, i) => `Bench ${i},bench${i}@bench.test`)].join('\n');
  const imported = await fetch(`${web.url}/api/recipients/import`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
  if (!imported.ok) throw new Error(`import: ${imported.status} ${await imported.text()}`);

  const concurrency = chart.worker.concurrency;
  const connections = concurrency * Math.max(...WORKER_COUNTS);
  step(`1/3 Mailpit's ceiling: ${MAILS.toLocaleString('en')} mails straight from one SMTP client over ${connections} connections`);
  const before = await mailpit.accepted();
  const ceiling = await smtpCeiling(mailpit.smtpPort, MAILS, connections);
  if ((await mailpit.accepted()) - before !== MAILS) throw new Error('Mailpit did not accept every mail of the ceiling run');
  process.stderr.write(`  ${ceiling.toFixed(0)} mails/s\n`);

  const catcher: Measured[] = [];
  for (const count of WORKER_COUNTS) {
    step(`2/3 ${MAILS.toLocaleString('en')} mails to Mailpit through ${count} worker process(es) at concurrency ${concurrency}`);
    catcher.push(await measure(web, env, { label: 'mailpit', count, mails: MAILS, concurrency, databaseUrl, delivered: mailpit.accepted }));
  }

  const relay = await startSmtpSink({ dataDelayMs: SLOW.delayMs });
  t.teardown(() => relay.stop());
  const slow: Measured[] = [];
  for (const count of WORKER_COUNTS) {
    const mails = SLOW.mailsPerWorker * count;
    step(
      `3/3 ${mails.toLocaleString('en')} mails to a relay answering DATA after ${SLOW.delayMs} ms, ${count} worker(s) at concurrency ${SLOW.concurrency}`,
    );
    slow.push(
      await measure(
        web,
        { ...env, SMTP_PORT: String(relay.port) },
        { label: 'slow-relay', count, mails, concurrency: SLOW.concurrency, databaseUrl, delivered: async () => relay.mails.length },
      ),
    );
  }

  const idealPerWorker = (SLOW.concurrency * 1000) / SLOW.delayMs;
  const results = {
    date: new Date().toISOString(),
    node: process.version,
    cores: (await import('node:os')).availableParallelism(),
    mailpitCeilingPerSecond: ceiling,
    ceilingConnections: connections,
    concurrency,
    catcher: catcher.map((m) => ({ ...m, shareOfCeiling: m.mailsPerSecond / ceiling })),
    slowRelay: {
      ...SLOW,
      idealPerWorker,
      runs: slow.map((m) => ({
        ...m,
        speedup: m.mailsPerSecond / (slow[0] as Measured).mailsPerSecond,
        shareOfIdeal: m.mailsPerSecond / (idealPerWorker * m.workers),
      })),
    },
  };
  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(
    PLOT,
    scalingPlot({
      title: `Mails per second against worker processes (${results.cores} cores shared by all, PostgreSQL, Redis)`,
      workers: WORKER_COUNTS,
      panels: [
        {
          title: `To Mailpit, concurrency ${concurrency}`,
          series: [
            { name: 'measured', rates: catcher.map((m) => m.mailsPerSecond) },
            { name: `Mailpit's ceiling (one SMTP client)`, rates: WORKER_COUNTS.map(() => ceiling), dashed: true },
          ],
        },
        {
          title: `To a relay taking ${SLOW.delayMs} ms per mail, concurrency ${SLOW.concurrency}`,
          series: [
            { name: 'measured', rates: slow.map((m) => m.mailsPerSecond) },
            { name: `ideal: ${idealPerWorker}/s per worker`, rates: WORKER_COUNTS.map((n) => n * idealPerWorker), dashed: true },
          ],
        },
      ],
    }),
  );

  const percent = (share: number) => `${(share * 100).toFixed(0)}%`;
  const lockShare = (m: Measured) => m.postgres.waitShare.Lock ?? 0;
  console.log(`\nMailpit's ceiling: ${ceiling.toFixed(0)} mails/s (one SMTP client, ${connections} connections)\n`);
  console.log(
    '| workers | to Mailpit | share of ceiling | worker CPU per mail | worker peak RSS | PostgreSQL transactions per mail | PostgreSQL waits on locks | machine busy |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const m of results.catcher)
    console.log(
      `| ${m.workers} | ${m.mailsPerSecond.toFixed(0)} mails/s | ${percent(m.shareOfCeiling)} | ${m.workerCpuMsPerMail.toFixed(2)} ms | ${Math.max(...m.workerPeakRssMB).toFixed(0)} MB | ${m.postgres.transactionsPerMail.toFixed(2)} | ${percent(lockShare(m))} | ${percent(m.machineBusy)} |`,
    );
  console.log(
    `\n| workers | to the slow relay | against 1 worker | share of the ideal (${idealPerWorker}/s per worker) | PostgreSQL waits on locks |`,
  );
  console.log('| --- | --- | --- | --- | --- |');
  for (const m of results.slowRelay.runs)
    console.log(
      `| ${m.workers} | ${m.mailsPerSecond.toFixed(0)} mails/s | ${m.speedup.toFixed(2)}x | ${percent(m.shareOfIdeal)} | ${percent(lockShare(m))} |`,
    );
  console.log(`\nfigures written to ${RESULTS.replace(ROOT, '')}, the plot to ${PLOT.replace(ROOT, '')}`);
}

runBenchmark(main);
