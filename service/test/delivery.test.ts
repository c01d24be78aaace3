import t from 'tap';
import type { Test } from 'tap';
import { Queue } from 'bullmq';
import { openDatabase } from '../src/db/database.ts';
import { QUEUE_PREFIX } from '../src/queue/queues.ts';
import type { Run } from '../src/runs/store.ts';
import { type RunningService } from '../src/service.ts';
import { startApp } from '../../test/helpers/app.ts';
import { spawnService } from '../../test/helpers/process.ts';
import { waitFor } from '../../test/helpers/ports.ts';
import { createDatabase, type PostgresServer, type RedisServer, startPostgres, startRedis } from '../../test/helpers/servers.ts';
import { type SmtpSink, startSmtpSink } from '../../test/helpers/smtp.ts';

// The delivery invariants, proven with real processes: a web app in this
// process, workers as separate `mail-worker worker` processes, a real Redis
// and a real SMTP server.

let databases = 0;

interface Stack {
  redis: RedisServer;
  smtp: SmtpSink;
  web: RunningService & { config: { databaseUrl: string } };
  env: Record<string, string>;
}

/** The stack, on SQLite unless a PostgreSQL server is given (a fresh database on it). */
async function stack(
  t: Test,
  options: { appendonly?: boolean; postgres?: PostgresServer; env?: Record<string, string> } = {},
): Promise<Stack> {
  const redis = await startRedis({ appendonly: options.appendonly ?? false });
  t.teardown(() => redis.stop());
  const smtp = await startSmtpSink();
  t.teardown(() => smtp.stop());
  const env = {
    ...(options.postgres ? { DATABASE_URL: await createDatabase(options.postgres, `delivery_${process.pid}_${++databases}`) } : {}),
    REDIS_URL: redis.url,
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(smtp.port),
    SEND_RETRY_DELAY_MS: '20',
    JOB_LOCK_MS: '2000',
    WORKER_CONCURRENCY: '10',
    ...options.env,
  };
  const web = await startApp(t, 'web', env);
  return { redis, smtp, web, env: { ...env, DATABASE_URL: web.config.databaseUrl, FLAGS_FILE: web.config.flagsFile } };
}

async function addRecipients(s: Stack, count: number): Promise<void> {
  const csv = ['name,email', ...Array.from({ length: count }, (_, i) => `User ${i},user${i}@delivery.test`)].join('\n');
  const response = await s.web.app!.inject({
    method: 'POST',
    url: '/api/recipients/import',
    headers: { 'content-type': 'text/csv' },
    payload: csv,
  });
  if (response.json().imported !== count) throw new Error(`import failed: ${response.body}`);
}

async function startRun(s: Stack, count: number, failureRate = 0, relayLatencyMs = 0): Promise<number> {
  const response = await s.web.app!.inject({ method: 'POST', url: '/api/runs', payload: { count, failureRate, relayLatencyMs } });
  if (response.statusCode !== 202) throw new Error(`run refused: ${response.body}`);
  return response.json().id as number;
}

async function getRun(
  s: Stack,
  id: number,
): Promise<
  Run & {
    failures: Array<{ email: string; attempts: number; error: string }>;
    pods: Array<{ pod: string; version: string; sent: number; failed: number; retried: number }>;
    workers: number | null;
  }
> {
  return (await s.web.app!.inject({ method: 'GET', url: `/api/runs/${id}?` })).json();
}

const finished = (s: Stack, id: number, timeoutMs = 120_000) =>
  waitFor(
    `run ${id} to finish`,
    async () => {
      const run = await getRun(s, id);
      return run.finishedAt ? run : undefined;
    },
    timeoutMs,
  );

/** How many extra copies the SMTP server received beyond one per recipient. */
function duplicates(smtp: SmtpSink): number {
  let extra = 0;
  for (const count of smtp.countsByRecipient().values()) extra += count - 1;
  return extra;
}

t.test('failureRate 0.3 on 1,000 mails: exact counts, each sent mail once, failures tried 4 times', async (t) => {
  const s = await stack(t);
  await addRecipients(s, 1000);
  const worker = await spawnService(t, 'worker', s.env);
  const id = await startRun(s, 1000, 0.3);
  const run = await finished(s, id);

  t.equal(run.sent + run.failed, 1000, 'sent + failed == total');
  t.ok(run.failed > 0 && run.failed < 60, `some failures after 3 retries (0.3^4 of 1,000 is about 8; got ${run.failed})`);
  t.equal(run.status, run.failed > 0 ? 'completed_with_failures' : 'completed');
  t.equal(s.smtp.mails.length, run.sent, 'the SMTP server received exactly the sent mails');
  t.equal(duplicates(s.smtp), 0, 'no recipient received a mail twice');
  const failedAddresses = new Set(run.failures.map((f) => f.email));
  t.ok(
    run.failures.every((f) => f.attempts === 4 && /simulated failure/.test(f.error)),
    'every failure was tried 1 + 3 times',
  );
  t.ok(
    [...failedAddresses].every((email) => !s.smtp.countsByRecipient().has(email)),
    'failed recipients received nothing',
  );

  const metrics = await (await fetch(`${worker.url}/metrics`)).text();
  const counter = (outcome: string) =>
    Number(new RegExp(`mail_deliveries_total\\{queue="mail-default",outcome="${outcome}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
  t.equal(counter('sent'), run.sent, 'metrics count the sent mails');
  t.equal(counter('failed'), run.failed, 'metrics count final failures only');
  t.ok(counter('retried') > 200, 'retried attempts are counted apart from failures');
  t.equal(run.retried, counter('retried'), `the run shows its ${run.retried} retried attempts, not only its final failures`);
  const database = openDatabase(s.env.DATABASE_URL as string);
  t.teardown(() => database.close());
  const attempts = await database.db
    .selectFrom('deliveries')
    .select((eb) => eb.fn.sum<number>(eb('attempts', '-', 1)).as('retried'))
    .where('run_id', '=', id)
    .executeTakeFirstOrThrow();
  t.equal(run.retried, Number(attempts.retried), 'one for every attempt before the last of each delivery');
  t.match(metrics, /bullmq_job_count\{queue="mail-default",state="completed"\}/);

  const jobs = new Queue('mail-default', { connection: s.redis.client(), prefix: QUEUE_PREFIX });
  const failedJob = (await jobs.getFailed(0, 0))[0];
  t.ok(failedJob, 'final failures stay visible in the failed list');
  const { logs } = await jobs.getJobLogs(failedJob!.id!);
  t.equal(logs.length, 4, 'one job log line per attempt, for bull-board');
  t.match(
    logs[3],
    /^attempt 4\/4 failed on \S+ \(\S+\): simulated failure.*\(final\)$/,
    "the last attempt's line names the pod it failed on",
  );
  await jobs.close();
});

t.test('a relay latency: each mail waits that long before the relay, and the run records it', async (t) => {
  const s = await stack(t);
  await addRecipients(s, 40);
  const worker = await spawnService(t, 'worker', s.env);
  const id = await startRun(s, 40, 0, 300);
  const run = await finished(s, id);
  t.match(run, { sent: 40, failed: 0, relayLatencyMs: 300 });
  t.equal(s.smtp.mails.length, 40);

  // The wait is part of each mail's send duration: no mail took under 0.25 s.
  const metrics = await (await fetch(`${worker.url}/metrics`)).text();
  const bucket = (le: string) =>
    Number(new RegExp(`mail_send_duration_seconds_bucket\\{le="${le}",queue="mail-default"\\} (\\d+)`).exec(metrics)?.[1]);
  t.equal(bucket('0.25'), 0, 'no mail was faster than the relay latency');
  t.match(metrics, 'mail_send_duration_seconds_count{queue="mail-default"} 40', 'every mail is in the histogram');
});

t.test('a permanent SMTP error (5xx) fails at once; a malformed job fails clearly and the worker lives on', async (t) => {
  const s = await stack(t);
  await addRecipients(s, 20);
  s.smtp.rejectPermanently.add('user3@delivery.test');
  const worker = await spawnService(t, 'worker', s.env);

  const jobs = new Queue('mail-default', { connection: s.redis.client(), prefix: QUEUE_PREFIX });
  t.teardown(() => jobs.close());
  const garbage = await jobs.add('send', { runId: 'x', email: 42, relayLatencyMs: 'slow' } as never);
  const unknown = await jobs.add('reticulate-splines', {} as never);
  const state = (id: string) => waitFor(`job ${id} to fail`, async () => ((await jobs.getJobState(id)) === 'failed' ? true : undefined));
  await state(garbage.id!);
  await state(unknown.id!);
  t.match(
    (await jobs.getJob(garbage.id!))?.failedReason,
    /malformed job payload: runId must be a positive whole number.*email must be a valid email address.*relayLatencyMs must be a whole number from 0 to 5000/,
  );
  t.match((await jobs.getJob(unknown.id!))?.failedReason, /unknown job name "reticulate-splines"/);
  t.equal((await jobs.getJob(garbage.id!))?.attemptsMade, 1, 'not retried');

  const id = await startRun(s, 20);
  const run = await finished(s, id);
  t.match(run, { sent: 19, failed: 1, status: 'completed_with_failures' });
  t.match(run.failures, [{ email: 'user3@delivery.test', attempts: 1, error: /550/ }]);
  t.ok((await fetch(`${worker.url}/readyz`)).ok, 'the worker is still up');
});

t.test('a worker killed with SIGKILL mid-run: a new worker finishes the run with exact counts, each pod its share', async (t) => {
  const s = await stack(t, { env: { SEND_RATE_LIMIT: '300' } });
  await addRecipients(s, 1500);
  const first = await spawnService(t, 'worker', { ...s.env, POD_NAME: 'worker-first', APP_VERSION: 'v1' });
  const id = await startRun(s, 1500);
  await waitFor('the run to be under way', async () => (await getRun(s, id)).sent >= 300);
  first.child.kill('SIGKILL');
  await first.exited;
  const atKill = (await getRun(s, id)).sent;

  await spawnService(t, 'worker', { ...s.env, POD_NAME: 'worker-second', APP_VERSION: 'v2' });
  const run = await finished(s, id);
  t.ok(atKill < 1500, `killed mid-run (${atKill} sent before the kill)`);
  t.match(run, { sent: 1500, failed: 0, status: 'completed' });
  // Which pod did the work: the run's page (its API) and every mail say so.
  const detail = await getRun(s, id);
  t.equal(detail.workers, 1, 'Redis lists the worker by its name (pod and version) on the queue');
  const pods = Object.fromEntries(detail.pods.map((p) => [p.pod, p]));
  t.match(
    pods,
    { 'worker-first': { version: 'v1', sent: atKill }, 'worker-second': { version: 'v2', sent: 1500 - atKill } },
    'each pod its share',
  );
  const senders = new Map<string, number>();
  for (const mail of s.smtp.mails) {
    const pod = /^X-Mail-Worker-Pod: (\S+)\r$/m.exec(mail.raw)?.[1] ?? 'none';
    senders.set(pod, (senders.get(pod) ?? 0) + 1);
  }
  t.same([...senders.keys()].sort(), ['worker-first', 'worker-second'], 'every mail names the pod that sent it');
  t.ok(
    (senders.get('worker-second') ?? 0) >= 1500 - atKill,
    `the second pod's mails (${senders.get('worker-second')}) are at least its share`,
  );
  t.equal(new Set(s.smtp.mails.flatMap((m) => m.to)).size, 1500, 'every recipient got the mail');
  const extra = duplicates(s.smtp);
  t.comment(`duplicate mails after SIGKILL: ${extra} (in flight at the kill: at most WORKER_CONCURRENCY = 10)`);
  t.ok(extra <= 10, 'duplicates at the SMTP server no more than the jobs in flight at the kill');
});

t.test('SIGTERM mid-run: in-flight jobs finish before the process exits', async (t) => {
  const s = await stack(t, { env: { SEND_RATE_LIMIT: '200', SHUTDOWN_GRACE_MS: '20000' } });
  await addRecipients(s, 1000);
  const worker = await spawnService(t, 'worker', s.env);
  const id = await startRun(s, 1000);
  await waitFor('the run to be under way', async () => (await getRun(s, id)).sent >= 100);
  worker.child.kill('SIGTERM');
  t.equal(await worker.exited, 0, 'exits cleanly');

  const client = s.redis.client();
  t.equal(await client.llen(`${QUEUE_PREFIX}:mail-default:active`), 0, 'no job was left active');
  const run = await getRun(s, id);
  t.equal(s.smtp.mails.length, run.sent, 'every mail the SMTP server accepted has its outcome recorded');
  t.ok(run.sent < 1000, `stopped mid-run (${run.sent} sent)`);

  await spawnService(t, 'worker', s.env);
  t.match(await finished(s, id), { sent: 1000, failed: 0 });
  t.equal(duplicates(s.smtp), 0, 'a graceful stop sends nothing twice');
});

t.test('SIGTERM with Redis gone and no job running: the worker exits at once, not at the end of its grace period', async (t) => {
  // As when a namespace is deleted: Redis and the worker get SIGTERM together.
  const s = await stack(t, { env: { SHUTDOWN_GRACE_MS: '60000' } });
  const worker = await spawnService(t, 'worker', s.env);
  await s.redis.stop('SIGKILL');
  const stopped = Date.now();
  worker.child.kill('SIGTERM');
  const exited = await Promise.race([worker.exited, new Promise<'waiting'>((r) => setTimeout(r, 15_000, 'waiting').unref())]);
  t.equal(
    exited,
    0,
    `exits cleanly without waiting out SHUTDOWN_GRACE_MS (${exited === 'waiting' ? 'still running after 15 s' : `${Date.now() - stopped} ms`})`,
  );
  if (exited === 'waiting') worker.child.kill('SIGKILL');
});

t.test('SIGTERM with Redis gone mid-run: the worker exits at once, not at the end of its grace period', async (t) => {
  // As when a release is uninstalled mid-run (the KEDA guide's Cleanup), or
  // dev.sh's Ctrl-C stopped Redis beside the service: jobs in flight that
  // can no longer record their end, and connections that can no longer quit.
  const s = await stack(t, { env: { SHUTDOWN_GRACE_MS: '60000' } });
  await addRecipients(s, 100);
  const worker = await spawnService(t, 'worker', s.env);
  await startRun(s, 100, 0, 5_000);
  await waitFor('jobs in flight', async () => (await s.redis.client().llen(`${QUEUE_PREFIX}:mail-default:active`)) > 0);
  await s.redis.stop('SIGKILL');
  const stopped = Date.now();
  worker.child.kill('SIGTERM');
  const exited = await Promise.race([worker.exited, new Promise<'waiting'>((r) => setTimeout(r, 15_000, 'waiting').unref())]);
  if (exited === 'waiting') worker.child.kill('SIGKILL');
  t.equal(
    exited,
    0,
    `exits cleanly without waiting out SHUTDOWN_GRACE_MS (${exited === 'waiting' ? 'still running after 15 s' : `${Date.now() - stopped} ms`})`,
  );
});

// When a part dies mid-run, on PostgreSQL as the chart runs it: each run
// must finish on its own with sent + failed = total, every recipient's mail
// at the SMTP server, copies only of what was in flight, and the web and
// worker still running. Each prints its figures (docs/architecture.md has
// the table of what a run promises).
t.test('a part dies mid-run, on PostgreSQL: the run finishes on its own, nothing lost', async (t) => {
  // Durable, as the chart's server runs: with synchronous_commit off, an
  // immediate stop loses commits PostgreSQL had already acknowledged.
  const postgres = await startPostgres({ durable: true });
  t.teardown(() => postgres.stop());

  /** Starts a 1,000-mail run with one worker, breaks a part once it is under way, mends it, and checks the run's end. */
  async function survives(t: Test, part: string, s: Stack, fault: () => Promise<() => Promise<void>>): Promise<void> {
    await addRecipients(s, 1000);
    const worker = await spawnService(t, 'worker', s.env);
    const id = await startRun(s, 1000);
    await waitFor('the run to be under way', async () => (await getRun(s, id)).sent >= 150);
    const mend = await fault();
    const atFault = s.smtp.mails.length;
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the part stays away for 1.5 s
    const mended = Date.now();
    await mend();
    await waitFor(`mails to flow again after ${part}`, () => s.smtp.mails.length > atFault + 10, 60_000, {
      describe: async () =>
        `worker (exit ${worker.child.exitCode}): ${worker.output().slice(-3000)}\nrun: ${JSON.stringify(await getRun(s, id))}`,
    });
    const recovered = (Date.now() - mended) / 1000;
    const run = await waitFor(
      `run ${id} to finish after ${part}`,
      async () => {
        const current = await getRun(s, id);
        return current.finishedAt ? current : undefined;
      },
      60_000,
      {
        describe: async () => {
          const queue = new Queue('mail-default', { connection: s.redis.client(), prefix: QUEUE_PREFIX });
          const counts = await queue.getJobCounts();
          await queue.close();
          return `run: ${JSON.stringify(await getRun(s, id))}\nqueue: ${JSON.stringify(counts)}\nworker: ${worker.output().slice(-3000)}\nsmtp: ${s.smtp.mails.length}, distinct ${new Set(s.smtp.mails.flatMap((m) => m.to)).size}`;
        },
      },
    );
    t.equal(run.sent + run.failed, 1000, `${part}: sent + failed = 1,000`);
    t.ok(atFault < 1000, `${part}: it happened mid-run (${atFault} mails out before)`);
    t.equal(new Set(s.smtp.mails.flatMap((m) => m.to)).size, run.sent, `${part}: every sent mail reached the SMTP server`);
    const extra = duplicates(s.smtp);
    t.ok(extra <= 10, `${part}: copies only of what was in flight (${extra}, at most WORKER_CONCURRENCY = 10)`);
    t.equal(worker.child.exitCode, null, `${part}: the worker process lives on`);
    t.ok((await fetch(`${worker.url}/readyz`)).ok, `${part}: and is ready`);
    t.equal((await s.web.app!.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, `${part}: the web is ready`);
    t.comment(
      `${part}: sent ${run.sent}, failed ${run.failed}, duplicates ${extra}, mails flowing again ${recovered.toFixed(1)} s after it came back`,
    );
  }

  await t.test('Redis killed (SIGKILL) and restarted from its append-only file', async (t) => {
    const s = await stack(t, { postgres, appendonly: true, env: { SEND_RATE_LIMIT: '300' } });
    await survives(t, 'Redis killed', s, async () => {
      await s.redis.stop('SIGKILL');
      return () => s.redis.start();
    });
  });

  await t.test('PostgreSQL stopped in immediate mode and started again', async (t) => {
    const s = await stack(t, { postgres, env: { SEND_RATE_LIMIT: '300', SEND_RETRIES: '8' } });
    await survives(t, 'PostgreSQL restarted', s, async () => {
      await postgres.crash();
      const answer = await s.web.app!.inject({ method: 'GET', url: '/api/recipients?limit=1' });
      t.equal(answer.statusCode, 503, 'meanwhile the API answers 503, which a client may retry');
      t.match(answer.json(), { code: 'service.unavailable', error: /database or Redis/ }, 'and says what is away');
      t.equal(answer.headers['retry-after'], '5', 'and when to try again');
      return () => postgres.start();
    });
  });

  await t.test('the SMTP server gone for less than the retry window', async (t) => {
    // Enough retries with backoff to outlast the outage (20 ms doubling: about 5 s in all).
    const s = await stack(t, { postgres, env: { SEND_RATE_LIMIT: '300', SEND_RETRIES: '8' } });
    await survives(t, 'SMTP gone', s, async () => {
      await s.smtp.stop();
      return () => s.smtp.start();
    });
  });
});

t.test('a job BullMQ gave up on after its workers kept dying is counted as failed, and the run finishes', async (t) => {
  const s = await stack(t);
  await addRecipients(s, 3);
  const id = await startRun(s, 3);
  // What BullMQ's stalled-job check writes on a job taken back more than
  // MAX_STALLED times (workers killed while holding it, which this test does
  // not wait for): a deferred failure, which the next worker applies without
  // running the processor.
  const client = s.redis.client();
  t.teardown(() => client.quit());
  const [waiting] = await client.lrange(`${QUEUE_PREFIX}:mail-default:wait`, 0, 0);
  await client.hset(`${QUEUE_PREFIX}:mail-default:${waiting}`, 'defa', 'job stalled more than allowable limit');

  await spawnService(t, 'worker', s.env);
  const run = await finished(s, id);
  t.match(run, { sent: 2, failed: 1, status: 'completed_with_failures' });
  t.match(run.failures, [{ error: /stalled more than allowable limit/ }], 'the failure says why');
  t.equal(s.smtp.mails.length, 2, 'the job given up on sent nothing');
});
