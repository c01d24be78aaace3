// npm run bench -- --topology deployed: the service as the chart runs it.
// PostgreSQL with its default durability, Redis with its append-only file,
// Mailpit with the chart's settings, one web process and 1, 2 or 4 worker
// processes with the chart's concurrency and NODE_OPTIONS, all real
// processes on this machine's two cores. Every figure is a ratio against a
// reference measured in the same run: these machines are shared and noisy.
// The whole sequence runs three times (--runs N); the tables give the
// median with the lowest and highest.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { dirname, join } from 'node:path';
import type { Redis } from 'ioredis';
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
  cpuModel,
  cpuSeconds,
  finished,
  MAIN,
  machineCpu,
  memory,
  oneCoreSpeed,
  post,
  processTree,
  ROOT,
  runBenchmark,
  spread,
  step,
  t,
} from './harness.ts';
import { scalingPlot } from './plot.ts';

const RESULTS = join(ROOT, 'bench/results/deployed.json');
/** Set by `hack/bench.sh --topology deployed --profile`: each worker writes a CPU profile there. */
const PROFILES = process.env.BENCH_PROFILE_DIR;
/**
 * Set by `hack/bench.sh --topology deployed --against REV`: that revision's
 * build, measured beside this one in every run (each step once with each,
 * in turns), so a change's before and after share the machine's moment.
 */
const AGAINST = process.env.BENCH_AGAINST_MAIN
  ? { revision: process.env.BENCH_AGAINST_REVISION ?? '', main: process.env.BENCH_AGAINST_MAIN }
  : undefined;
const PLOT = join(ROOT, 'bench/results/deployed.svg');
const WORKER_COUNTS = [1, 2, 4];
const MAILS = 10_000;
/** The slow relay: each DATA answered after this long, at this concurrency per worker. */
const SLOW = { delayMs: 100, concurrency: 5, mailsPerWorker: 1_000 };
/** The dashboard's first button, sent to the slow relay: short enough that starting and ending weigh. */
const LEARNER_MAILS = 1_000;
/** What more workers should buy against the slow relay, for the long runs and the learner's: ×1.9 with 2, ×3.6 with 4. */
const SPEEDUP_GOALS: Record<number, number> = { 2: 1.9, 4: 3.6 };
const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const RUNS = Number(args.runs);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`--runs must be a whole number from 1, not ${args.runs}`);

interface ChartValues {
  worker: { concurrency: number };
  mailcatcher: { maxMessages: number };
}
const chart = parse(readFileSync(join(ROOT, 'charts/mail-worker/values.yaml'), 'utf8')) as ChartValues;

/**
 * CPU seconds used so far by this benchmark's descendants: the processes
 * named in `roles` (web, workers) by role, the others by command name
 * (postgres with its backends, redis-server, mailpit); none of `skip`.
 */
function cpuByPart(roles: Map<number, string>, skip: number[] = []): Map<string, number> {
  const byPart = new Map<string, number>();
  for (const pid of processTree(process.pid).slice(1)) {
    if (skip.includes(pid)) continue;
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

/** Processes just started finish loading and compiling for a while; this long keeps that out of what is measured next. */
const SETTLE_MS = 3000;
/** How long the parts are watched at rest: a 10 ms clock tick is then 0.0007 of a core. */
const REST_SECONDS = 15;

/** What each part uses with nothing to do (its timers, heartbeats and polls), in cores. */
async function coresAtRest(roles: Map<number, string>, skip: number[]): Promise<Record<string, number>> {
  const before = cpuByPart(roles, skip);
  await new Promise((resolve) => setTimeout(resolve, REST_SECONDS * 1000));
  const after = cpuByPart(roles, skip);
  return Object.fromEntries([...after].map(([part, used]) => [part, (used - (before.get(part) ?? 0)) / REST_SECONDS]));
}

/**
 * Samples what PostgreSQL's client backends are doing, every 50 ms: of the
 * samples where a backend is running a statement, the share spent waiting,
 * by kind of wait (Lock: a row or table lock another transaction holds; IO:
 * mostly the commit's WAL flush; LWLock: shared memory). Its own backend's
 * pid comes first, for the CPU figures to leave out.
 */
function sampleWaits(url: string, database: string) {
  const client = new pg.Client({ connectionString: url });
  const counts = new Map<string, number>();
  let active = 0;
  let running = true;
  const backend = client
    .connect()
    .then(async () => (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid ?? 0);
  const done = (async () => {
    await backend;
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
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await client.end();
  })();
  return {
    backend,
    async stop(): Promise<{ activeSamples: number; waitShare: Record<string, number> }> {
      running = false;
      await done;
      return { activeSamples: active, waitShare: Object.fromEntries([...counts].map(([kind, n]) => [kind, n / Math.max(1, active)])) };
    },
  };
}

/** Commands Redis has run so far, and the microseconds it spent in them (INFO commandstats). */
async function redisCommands(redis: Redis): Promise<{ calls: number; usec: number }> {
  const stats = await redis.info('commandstats');
  let calls = 0;
  let usec = 0;
  for (const match of stats.matchAll(/calls=(\d+),usec=(\d+)/g)) {
    calls += Number(match[1]);
    usec += Number(match[2]);
  }
  return { calls, usec };
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

/** PostgreSQL's and Redis's versions: this machine's packages, not the chart's images. */
async function serverVersions(url: string, redis: Redis): Promise<{ postgresql: string; redis: string }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('show server_version');
    return {
      postgresql: rows[0]?.server_version.split(' ')[0] ?? 'unknown',
      redis: /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown',
    };
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
  /** From POST /api/runs to the run's finish. */
  seconds: number;
  /** When the POST was answered (the run stored, its jobs queued), and when the first outcome showed. */
  createdAfterSeconds: number;
  firstOutcomeAfterSeconds: number;
  mailsPerSecond: number;
  /** CPU milliseconds per mail, by part of the topology (web, workers, postgres, redis-server, mailpit). */
  cpuMsPerMail: Record<string, number>;
  /** Summed over every part. */
  stackCpuMsPerMail: number;
  /**
   * How long a mail held a worker's slot, on average, above the relay's own
   * answer time: by Little's law, slots ÷ rate − relay delay (every slot is
   * busy through a long run).
   */
  addedLatencyMs: number;
  workerPeakRssMB: number[];
  machineBusy: number;
  postgres: { activeSamples: number; waitShare: Record<string, number>; transactionsPerMail: number };
  /** Commands per mail (BullMQ's scripts count as one each, with the calls they make inside), and Redis's time in them. */
  redis: { commandsPerMail: number; commandMsPerMail: number };
}

/** `count` worker processes of a build, each ready. */
async function startWorkers(build: Build, count: number, env: Record<string, string>): Promise<ServiceProcess[]> {
  const workers: ServiceProcess[] = [];
  for (let i = 0; i < count; i++) workers.push(await spawnService(t, 'worker', { ...build.env, ...env }, build.main));
  return workers;
}

/** The build's own processes by pid, named by role (the servers' go by their command's name). */
function rolesOf(build: Build, workers: ServiceProcess[]): Map<number, string> {
  return new Map([[build.web.child.pid as number, 'web'], ...workers.map((w) => [w.child.pid as number, 'workers'] as const)]);
}

/**
 * What every part uses at rest, in cores: the build's web and as many
 * workers as the largest step runs, up and connected, nothing queued, as a
 * learner's namespace sits between runs.
 */
async function atRest(build: Build, elsewhere: number[]): Promise<Record<string, number>> {
  const workers = await startWorkers(build, Math.max(...WORKER_COUNTS), { NODE_OPTIONS: chartNodeOptions('worker') });
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const cores = await coresAtRest(rolesOf(build, workers), elsewhere);
  await stop(workers);
  return cores;
}

/** One run of `mails` through `count` worker processes, with what each part of the system spent on it. */
async function measure(
  build: Build,
  smtp: { SMTP_PORT: string },
  options: {
    label: string;
    count: number;
    mails: number;
    concurrency: number;
    relayDelayMs: number;
    redis: Redis;
    delivered: () => Promise<number>;
    /** Processes of the other build, at rest meanwhile: not part of this one's figures. */
    elsewhere: number[];
  },
): Promise<Measured> {
  const { web } = build;
  const workers = await startWorkers(build, options.count, {
    ...smtp,
    WORKER_CONCURRENCY: String(options.concurrency),
    NODE_OPTIONS: `${chartNodeOptions('worker')}${PROFILES ? ` --cpu-prof --cpu-prof-dir=${PROFILES}/${options.label}-${options.count}` : ''}`,
  });
  const roles = rolesOf(build, workers);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const deliveredBefore = await options.delivered();
  const cpuBefore = cpuByPart(roles, options.elsewhere);
  const machineBefore = machineCpu();
  const database = new URL(build.databaseUrl).pathname.slice(1);
  const transactionsBefore = await transactions(build.databaseUrl, database);
  const commandsBefore = await redisCommands(options.redis);
  // The sampler connects to another database, so its own queries are not counted.
  const server = new URL(build.databaseUrl);
  server.pathname = '/postgres';
  const waits = sampleWaits(server.toString(), database);

  const started = performance.now();
  const { id } = await post(`${web.url}/api/runs`, { count: options.mails, failureRate: 0 });
  const created = performance.now();
  const { firstOutcomeAt, finishedAt } = await finished(web.url, id, AGAINST ? `${build.name}, run ${id}` : undefined);
  const seconds = (finishedAt - started) / 1000;

  const machineAfter = machineCpu();
  const readSeconds = (performance.now() - started) / 1000;
  // Read while the sampler's backend is alive: once it ends, its CPU joins PostgreSQL's count of ended children.
  const cpuAfter = cpuByPart(roles, [...options.elsewhere, await waits.backend]);
  const waited = await waits.stop();
  const commandsAfter = await redisCommands(options.redis);
  const delivered = (await options.delivered()) - deliveredBefore;
  if (delivered !== options.mails) throw new Error(`the SMTP server received ${delivered} mails, not ${options.mails}`);
  const workerPeakRssMB = workers.map((w) => memory(w.child.pid as number).peak);
  await stop(workers);
  // Backends report their statistics when idle, at most once a second.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const postgres = {
    ...waited,
    transactionsPerMail: ((await transactions(build.databaseUrl, database)) - transactionsBefore) / options.mails,
  };

  const cpuMsPerMail: Record<string, number> = {};
  for (const [part, after] of cpuAfter) {
    const ms = ((after - (cpuBefore.get(part) ?? 0)) * 1000) / options.mails;
    if (ms > 0) cpuMsPerMail[part] = ms;
  }
  const mailsPerSecond = options.mails / seconds;
  return {
    workers: options.count,
    mails: options.mails,
    seconds,
    createdAfterSeconds: (created - started) / 1000,
    firstOutcomeAfterSeconds: (firstOutcomeAt - started) / 1000,
    mailsPerSecond,
    cpuMsPerMail,
    stackCpuMsPerMail: Object.values(cpuMsPerMail).reduce((a, b) => a + b, 0),
    addedLatencyMs: ((options.concurrency * options.count) / mailsPerSecond) * 1000 - options.relayDelayMs,
    workerPeakRssMB,
    // The readings also span the poll's wait after the finish, at rest: the share busy over the run alone.
    machineBusy: Math.min(
      1,
      ((machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total)) * (readSeconds / seconds),
    ),
    postgres,
    redis: {
      commandsPerMail: (commandsAfter.calls - commandsBefore.calls) / options.mails,
      commandMsPerMail: (commandsAfter.usec - commandsBefore.usec) / 1000 / options.mails,
    },
  };
}

/** One pass of the whole sequence, on servers already running. */
interface Repetition {
  /** oneCoreSpeed(): thousands of JSON round trips per second on one core. */
  oneCoreSpeed: number;
  mailpitCeilingPerSecond: number;
  /** Cores each part uses at rest: the web and four workers (together), PostgreSQL, Redis, Mailpit. */
  atRest: Record<string, number>;
  catcher: Measured[];
  slowRelay: Measured[];
  learner: Measured[];
}

const PARTS = ['workers', 'web', 'postgres', 'redis-server', 'mailpit'];

/** One revision's service: its build, its own database and its web process. */
interface Build {
  name: string;
  main: string;
  databaseUrl: string;
  /** What its processes are given: Redis, the database, the flags, Mailpit (a step may give another SMTP port). */
  env: Record<string, string>;
  web: ServiceProcess;
}

async function main() {
  step('starting PostgreSQL (default durability), Redis (append-only), Mailpit (the chart settings), the slow relay and the web');
  const postgres = await startPostgres({ durable: true });
  t.teardown(() => postgres.stop());
  const redis = await startRedis({ appendonly: true, appendfsync: 'everysec' }); // as the chart runs it
  t.teardown(() => redis.stop());
  const mailpit = await startMailpit(t, { maxMessages: chart.mailcatcher.maxMessages });
  const relay = await startSmtpSink({ dataDelayMs: SLOW.delayMs });
  t.teardown(() => relay.stop());
  const shared = {
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(mailpit.smtpPort),
    FLAGS_FILE: join(dirname(RESULTS), 'flags.json'),
    LOG_LEVEL: 'warn',
  };
  const csv = ['name,email', ...Array.from({ length: MAILS }, (_, i) => `Bench ${i},bench${i}@bench.test`)].join('\n');
  /**
   * A build's database, migrated by the build itself, its Redis database (the
   * builds' runs have the same ids, and so would their jobs), and its web
   * process with the recipients imported.
   */
  const startBuild = async (name: string, main: string, database: string, redisDatabase: number): Promise<Build> => {
    const databaseUrl = await createDatabase(postgres, database);
    const redisUrl = new URL(redis.url);
    redisUrl.pathname = `/${redisDatabase}`;
    const env = { ...shared, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl.toString() };
    const migrated = await runToEnd(process.execPath, [main, 'migrate'], { env: { ...process.env, ...env } });
    if (migrated.status !== 0) throw new Error(`migrate (${name}): ${migrated.stderr}`);
    const web = await spawnService(t, 'web', { ...env, NODE_OPTIONS: chartNodeOptions('web') }, main);
    const imported = await fetch(`${web.url}/api/recipients/import`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: csv,
    });
    if (!imported.ok) throw new Error(`import (${name}): ${imported.status} ${await imported.text()}`);
    return { name, main, databaseUrl, env, web };
  };
  const builds = [
    await startBuild('this', MAIN, 'bench', 0),
    ...(AGAINST ? [await startBuild(AGAINST.revision, AGAINST.main, 'bench_against', 1)] : []),
  ];

  const concurrency = chart.worker.concurrency;
  const connections = concurrency * Math.max(...WORKER_COUNTS);
  const toMailpit = { SMTP_PORT: String(mailpit.smtpPort) };
  const toRelay = { SMTP_PORT: String(relay.port) };
  const stats = redis.client();
  const relayed = {
    concurrency: SLOW.concurrency,
    relayDelayMs: SLOW.delayMs,
    redis: stats,
    delivered: async () => relay.mails.length,
  };
  /**
   * One step, with each build in turn (which goes first alternates from one
   * run to the next): this build's figures, and the other's if there is one.
   */
  const eachBuild = async <T>(r: number, step: (build: Build, elsewhere: number[]) => Promise<T>): Promise<T[]> => {
    const measured = new Map<Build, T>();
    for (const b of r % 2 ? builds : [...builds].reverse()) {
      measured.set(
        b,
        await step(
          b,
          builds.filter((other) => other !== b).map((other) => other.web.child.pid as number),
        ),
      );
    }
    return builds.map((b) => measured.get(b) as T);
  };
  const repetitions: Repetition[] = [];
  const againstRepetitions: Repetition[] = [];
  for (let r = 1; r <= RUNS; r++) {
    const of = `run ${r}/${RUNS}:`;
    step(
      `${of} this machine's speed on one core, then Mailpit's ceiling (${MAILS.toLocaleString('en')} mails, ${connections} connections)`,
    );
    const speed = oneCoreSpeed();
    const before = await mailpit.accepted();
    const ceiling = await smtpCeiling(mailpit.smtpPort, MAILS, connections);
    if ((await mailpit.accepted()) - before !== MAILS) throw new Error('Mailpit did not accept every mail of the ceiling run');
    process.stderr.write(`  ${speed.toFixed(0)}k JSON round trips/s on one core; Mailpit ${ceiling.toFixed(0)} mails/s\n`);
    step(`${of} at rest: the web and ${Math.max(...WORKER_COUNTS)} workers up, nothing queued, ${REST_SECONDS} s`);
    const rest = await eachBuild(r, atRest);

    // Per worker count, each build's figures (this one's first).
    const catcher: Measured[][] = [];
    const slowRelay: Measured[][] = [];
    const learner: Measured[][] = [];
    for (const count of WORKER_COUNTS) {
      step(`${of} ${MAILS.toLocaleString('en')} mails to Mailpit, ${count} worker(s) at concurrency ${concurrency}`);
      catcher.push(
        await eachBuild(r, (b, elsewhere) =>
          measure(b, toMailpit, {
            label: 'mailpit',
            count,
            mails: MAILS,
            concurrency,
            relayDelayMs: 0,
            redis: stats,
            delivered: mailpit.accepted,
            elsewhere,
          }),
        ),
      );
    }
    for (const count of WORKER_COUNTS) {
      const mails = SLOW.mailsPerWorker * count;
      step(
        `${of} ${mails.toLocaleString('en')} mails to a relay answering after ${SLOW.delayMs} ms, ${count} worker(s) at concurrency ${SLOW.concurrency}`,
      );
      slowRelay.push(
        await eachBuild(r, (b, elsewhere) => measure(b, toRelay, { label: 'slow-relay', count, mails, ...relayed, elsewhere })),
      );
    }
    for (const count of WORKER_COUNTS) {
      step(`${of} the learner's run: ${LEARNER_MAILS.toLocaleString('en')} mails to the same relay, ${count} worker(s)`);
      learner.push(
        await eachBuild(r, (b, elsewhere) => measure(b, toRelay, { label: 'learner', count, mails: LEARNER_MAILS, ...relayed, elsewhere })),
      );
    }
    /** The figures of build `b` (0: this one), in a repetition of their own. */
    const ofBuild = (b: number): Repetition => ({
      oneCoreSpeed: speed,
      mailpitCeilingPerSecond: ceiling,
      atRest: rest[b] as Record<string, number>,
      catcher: catcher.map((m) => m[b] as Measured),
      slowRelay: slowRelay.map((m) => m[b] as Measured),
      learner: learner.map((m) => m[b] as Measured),
    });
    repetitions.push(ofBuild(0));
    if (AGAINST) againstRepetitions.push(ofBuild(1));
  }

  const idealPerWorker = (SLOW.concurrency * 1000) / SLOW.delayMs;
  /** One figure of every repetition, for worker count index `i` of the runs `pick` chooses. */
  const across = (pick: (r: Repetition) => Measured[], i: number, figure: (m: Measured) => number) =>
    repetitions.map((r) => figure(pick(r)[i] as Measured));
  /** Each repetition's rate with worker count `i` against its rate with one worker. */
  const speedups = (pick: (r: Repetition) => Measured[], i: number) =>
    repetitions.map((r) => (pick(r)[i] as Measured).mailsPerSecond / (pick(r)[0] as Measured).mailsPerSecond);
  const results = {
    date: new Date().toISOString(),
    node: process.version,
    cores: availableParallelism(),
    cpu: cpuModel(),
    ...(await serverVersions((builds[0] as Build).databaseUrl, stats)),
    runs: RUNS,
    concurrency,
    ceilingConnections: connections,
    slowRelay: { ...SLOW, idealPerWorker },
    learnerMails: LEARNER_MAILS,
    speedupGoals: SPEEDUP_GOALS,
    repetitions,
    ...(AGAINST ? { against: { revision: AGAINST.revision, repetitions: againstRepetitions } } : {}),
  };
  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);

  const line = (name: string, values: (i: number) => number[], dashed = false) => {
    const spreads = WORKER_COUNTS.map((_, i) => spread(values(i)));
    return {
      name,
      values: spreads.map((x) => x.median),
      ...(dashed ? { dashed } : { ranges: spreads.map((x): [number, number] => [x.low, x.high]) }),
    };
  };
  const catcherRuns = (r: Repetition) => r.catcher;
  const slowRuns = (r: Repetition) => r.slowRelay;
  const learnerRuns = (r: Repetition) => r.learner;
  const ceilings = repetitions.map((r) => r.mailpitCeilingPerSecond);
  writeFileSync(
    PLOT,
    scalingPlot({
      title: `Against worker processes, ${results.cores} cores shared by every part (median of ${RUNS} runs, whiskers: lowest to highest)`,
      workers: WORKER_COUNTS,
      panels: [
        {
          title: `To Mailpit, concurrency ${concurrency}`,
          unit: 'mails per second',
          series: [
            line('measured', (i) => across(catcherRuns, i, (m) => m.mailsPerSecond)),
            line(`Mailpit's ceiling (one SMTP client)`, () => ceilings, true),
          ],
        },
        {
          title: `To a relay taking ${SLOW.delayMs} ms, concurrency ${SLOW.concurrency}`,
          unit: 'mails per second',
          series: [
            line(`long runs (${SLOW.mailsPerWorker.toLocaleString('en')} mails per worker)`, (i) =>
              across(slowRuns, i, (m) => m.mailsPerSecond),
            ),
            line(`ideal: ${idealPerWorker}/s per worker`, (i) => [idealPerWorker * (WORKER_COUNTS[i] as number)], true),
            line(`a learner's ${LEARNER_MAILS.toLocaleString('en')}-mail run, request to finish`, (i) =>
              across(learnerRuns, i, (m) => m.mailsPerSecond),
            ),
          ],
        },
        {
          title: 'CPU per mail to Mailpit, by part',
          unit: 'CPU milliseconds per mail',
          series: [
            line('all parts', (i) => across(catcherRuns, i, (m) => m.stackCpuMsPerMail)),
            ...PARTS.map((part) => line(part, (i) => across(catcherRuns, i, (m) => m.cpuMsPerMail[part] ?? 0))),
          ],
        },
      ],
    }),
  );

  const figure = (values: number[], digits: number, unit = '') => {
    const { median, low, high } = spread(values);
    const f = (n: number) => n.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });
    return RUNS === 1 ? `${f(median)}${unit}` : `${f(median)}${unit} (${f(low)}–${f(high)})`;
  };
  const percent = (values: number[]) =>
    figure(
      values.map((v) => v * 100),
      0,
      '%',
    );
  const goal = (i: number) => SPEEDUP_GOALS[WORKER_COUNTS[i] as number];
  const table = (header: string[], rows: string[][]) => {
    console.log(`| ${header.join(' | ')} |`);
    console.log(`| ${header.map(() => '---').join(' | ')} |`);
    for (const row of rows) console.log(`| ${row.join(' | ')} |`);
    console.log('');
  };
  console.log(
    `\nmedian (lowest–highest) of ${RUNS} run(s); ${results.cpu}, ${results.cores} cores, Node ${process.version}, PostgreSQL ${results.postgresql}, Redis ${results.redis}\n`,
  );
  table(
    ['this machine', 'figure'],
    [
      [
        'one core: JSON round trips of a job payload',
        figure(
          repetitions.map((r) => r.oneCoreSpeed),
          0,
          'k/s',
        ),
      ],
      [`Mailpit's ceiling (one SMTP client, ${connections} connections)`, figure(ceilings, 0, ' mails/s')],
    ],
  );
  table(
    [
      'workers',
      'to Mailpit',
      'share of ceiling',
      'machine busy',
      'PostgreSQL transactions per mail',
      'waits on locks',
      'Redis commands per mail',
      'worker peak RSS',
    ],
    WORKER_COUNTS.map((n, i) => [
      String(n),
      figure(
        across(catcherRuns, i, (m) => m.mailsPerSecond),
        0,
        '/s',
      ),
      percent(repetitions.map((r) => (r.catcher[i] as Measured).mailsPerSecond / r.mailpitCeilingPerSecond)),
      percent(across(catcherRuns, i, (m) => m.machineBusy)),
      figure(
        across(catcherRuns, i, (m) => m.postgres.transactionsPerMail),
        2,
      ),
      percent(across(catcherRuns, i, (m) => m.postgres.waitShare.Lock ?? 0)),
      figure(
        across(catcherRuns, i, (m) => m.redis.commandsPerMail),
        2,
      ),
      figure(
        across(catcherRuns, i, (m) => Math.max(...m.workerPeakRssMB)),
        0,
        ' MB',
      ),
    ]),
  );
  table(
    ['workers', 'CPU ms per mail, all parts', ...PARTS],
    WORKER_COUNTS.map((n, i) => [
      String(n),
      figure(
        across(catcherRuns, i, (m) => m.stackCpuMsPerMail),
        2,
      ),
      ...PARTS.map((part) =>
        figure(
          across(catcherRuns, i, (m) => m.cpuMsPerMail[part] ?? 0),
          2,
        ),
      ),
    ]),
  );
  const restingOf = (r: Repetition, part?: string) =>
    part === undefined ? Object.values(r.atRest).reduce((a, b) => a + b, 0) : (r.atRest[part] ?? 0);
  table(
    [`at rest (web, ${Math.max(...WORKER_COUNTS)} workers)`, 'all parts', ...PARTS],
    [
      [
        'cores used',
        ...[undefined, ...PARTS].map((part) =>
          figure(
            repetitions.map((r) => restingOf(r, part)),
            4,
          ),
        ),
      ],
    ],
  );
  table(
    [
      'workers',
      'to the slow relay',
      'against 1 worker',
      'goal',
      `share of the ideal (${idealPerWorker}/s per worker)`,
      'added per mail',
      'CPU ms per mail, all parts',
      'workers',
    ],
    WORKER_COUNTS.map((n, i) => [
      String(n),
      figure(
        across(slowRuns, i, (m) => m.mailsPerSecond),
        0,
        '/s',
      ),
      i === 0 ? '1×' : figure(speedups(slowRuns, i), 2, '×'),
      goal(i) ? `${goal(i)}×` : '',
      percent(across(slowRuns, i, (m) => m.mailsPerSecond / (idealPerWorker * m.workers))),
      figure(
        across(slowRuns, i, (m) => m.addedLatencyMs),
        1,
        ' ms',
      ),
      figure(
        across(slowRuns, i, (m) => m.stackCpuMsPerMail),
        2,
      ),
      figure(
        across(slowRuns, i, (m) => m.cpuMsPerMail.workers ?? 0),
        2,
      ),
    ]),
  );
  table(
    [
      'workers',
      `${LEARNER_MAILS.toLocaleString('en')} mails, request to finish`,
      'ideal',
      'against 1 worker',
      'goal',
      'request answered',
      'first outcome',
    ],
    WORKER_COUNTS.map((n, i) => [
      String(n),
      figure(
        across(learnerRuns, i, (m) => m.seconds),
        2,
        ' s',
      ),
      `${(LEARNER_MAILS / (idealPerWorker * n)).toFixed(2)} s`,
      i === 0 ? '1×' : figure(speedups(learnerRuns, i), 2, '×'),
      goal(i) ? `${goal(i)}×` : '',
      figure(
        across(learnerRuns, i, (m) => m.createdAfterSeconds),
        2,
        ' s',
      ),
      figure(
        across(learnerRuns, i, (m) => m.firstOutcomeAfterSeconds),
        2,
        ' s',
      ),
    ]),
  );
  if (AGAINST) {
    console.log(
      `this build against ${AGAINST.revision}, measured side by side in each run: medians, this / ${AGAINST.revision}, and the median of the runs' ratios`,
    );
    /** One figure of every run of both builds: medians, this / the other, and the median of the runs' ratios. */
    const sideBySide = (figureOf: (r: Repetition) => number, digits = 2) => {
      const ours = repetitions.map(figureOf);
      const theirs = againstRepetitions.map(figureOf);
      // A part idle in a run of either build (Mailpit at the slow relay, where
      // one 10 ms tick of CPU in one build and none in the other is noise) has no ratio.
      const ratios = ours.flatMap((v, k) => (v > 0 && (theirs[k] as number) > 0 ? [v / (theirs[k] as number)] : []));
      const ratio = ratios.length > 0 ? ` (×${spread(ratios).median.toFixed(2)})` : '';
      return `${spread(ours).median.toFixed(digits)} / ${spread(theirs).median.toFixed(digits)}${ratio}`;
    };
    const compared = (pick: (r: Repetition) => Measured[], i: number, value: (m: Measured) => number) =>
      sideBySide((r) => value(pick(r)[i] as Measured));
    const kinds: [string, (r: Repetition) => Measured[]][] = [
      ['to Mailpit', catcherRuns],
      ['slow relay', slowRuns],
      ["learner's run", learnerRuns],
    ];
    table(
      ['run', 'workers', 'mails per second', 'CPU ms per mail, all parts', ...PARTS],
      kinds.flatMap(([name, pick]) =>
        WORKER_COUNTS.map((n, i) => [
          name,
          String(n),
          compared(pick, i, (m) => m.mailsPerSecond),
          compared(pick, i, (m) => m.stackCpuMsPerMail),
          ...PARTS.map((part) => compared(pick, i, (m) => m.cpuMsPerMail[part] ?? 0)),
        ]),
      ),
    );
    table(
      [`at rest (web, ${Math.max(...WORKER_COUNTS)} workers)`, 'all parts', ...PARTS],
      [['cores used', ...[undefined, ...PARTS].map((part) => sideBySide((r) => restingOf(r, part), 4))]],
    );
  }
  console.log(`figures written to ${RESULTS.replace(ROOT, '')}, the plot to ${PLOT.replace(ROOT, '')}`);
}

runBenchmark(main);
