import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { freePort, waitFor } from './helpers/ports.ts';
import { createDatabase, startPostgres, startRedis } from './helpers/servers.ts';
import { startSmtpSink } from './helpers/smtp.ts';
import { ADMIN_TOKEN, startUnleash } from './helpers/unleash.ts';
import { run } from './helpers/cluster.ts';
import { ROOT } from './helpers/helm.ts';
import { sharedDockerEngine } from './helpers/docker-engine.ts';

// The real image, built by a real Docker Engine from a clean copy of the
// repository with the commands scripts/image.sh uses, then run the way the
// chart runs it (read-only, uid 1001, no capabilities) against the suite's
// own Redis, PostgreSQL, SMTP and Unleash servers on loopback. The engine is
// the harness's shared one (hack/docker-engine.sh --shared), which has just
// built the same Dockerfile for the real node (hack/cluster/images.sh): its
// layer cache makes this build the same image, not a second one, and a
// change to the Dockerfile or the service shows here and there alike.
// No registry is reachable here: the base image is the local stand-in of
// hack/base-image.sh, unless the engine already has the real one.

t.setTimeout(1_800_000);
const TAG = 'suite';
const IMAGE = `mail-worker:${TAG}`;
const BASE = 'node:24-bookworm-slim';
/**
 * `docker run` as the chart runs a pod: host network (the suite's servers
 * are on loopback), read-only root filesystem with /tmp writable, uid 1001,
 * no capabilities, no privilege escalation. Detached and named when a name
 * is given, else removed when it exits.
 */
function asTheChartRunsIt(env: Record<string, string>, name?: string): string[] {
  return [
    'run',
    ...(name ? ['-d', '--name', name] : ['--rm']),
    '--network=host',
    '--read-only',
    '--tmpfs=/tmp',
    '--user=1001:1001',
    '--cap-drop=ALL',
    '--security-opt=no-new-privileges',
    ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
  ];
}

const env = { DOCKER_HOST: sharedDockerEngine(t), DOCKER_BUILDKIT: '1' };
const docker = (args: string[], timeoutMs = 120_000) => run('/usr/bin/docker', args, { env, timeoutMs });
async function dockerOk(args: string[], timeoutMs?: number): Promise<string> {
  const result = await docker(args, timeoutMs);
  if (result.status !== 0) throw new Error(`docker ${args.join(' ')}: ${result.stderr || result.stdout}`);
  return result.stdout.trim();
}
// Containers a crashed earlier run left in the shared engine would hold these names.
await docker(['rm', '-f', 'mw-web', 'mw-worker', 'mw-all']);
const inspect = async <T>(what: string, format: string): Promise<T> =>
  JSON.parse(await dockerOk(['inspect', '--format', `{{json ${format}}}`, what])) as T;

/** Until the container on that port answers /readyz. */
const ready = (what: string, port: number) =>
  waitFor(
    `${what} /readyz`,
    async () => ((await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok ? true : undefined),
    60_000,
  );

t.test('the image builds from a clean copy of the repository', async (t) => {
  const copy = mkdtempSync(join(tmpdir(), 'mw-clean-'));
  // What git tracks (or would), as a fresh clone has it: no node_modules, no .tools.
  execFileSync('bash', [
    '-c',
    `git -C "${ROOT}" ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents {} "${copy}"`,
  ]);
  const built = await run(join(copy, 'scripts/image.sh'), ['--tag', TAG, '--no-load'], { env, timeoutMs: 1_200_000 });
  t.equal(built.status, 0, 'scripts/image.sh --no-load builds it', { log: built.status === 0 ? '' : built.stderr.slice(-3000) });

  const [imageSize, baseSize] = await Promise.all([inspect<number>(IMAGE, '.Size'), inspect<number>(BASE, '.Size')]);
  const above = (imageSize - baseSize) / 1e6;
  t.comment(`image ${(imageSize / 1e6).toFixed(0)} MB, of which ${above.toFixed(1)} MB above ${BASE}`);
  t.ok(above <= 90, `the layers above the base weigh ${above.toFixed(1)} MB (budget: 90 MB)`);
});

t.test('labels, user, port and entrypoint are what the chart expects', async (t) => {
  const config = await inspect<{
    User: string;
    ExposedPorts: Record<string, unknown>;
    Entrypoint: string[];
    Cmd: string[];
    Labels: Record<string, string>;
    Healthcheck?: { Test: string[] };
    Env: string[];
  }>(IMAGE, '.Config');
  t.equal(config.User, '1001:1001', 'runs as uid 1001 (the chart runAsUser)');
  t.same(Object.keys(config.ExposedPorts), ['3000/tcp'], 'port 3000, the chart containerPort');
  t.same(config.Entrypoint, ['node', 'service/dist/main.js'], 'the entrypoint is the service');
  t.same(config.Cmd, ['web'], 'the chart passes the mode as args');
  t.match(config.Labels, { 'org.opencontainers.image.title': 'mail-worker', 'org.opencontainers.image.version': TAG }, 'OCI labels');
  t.match(config.Healthcheck?.Test.join(' '), /\/healthz/, 'HEALTHCHECK asks /healthz');
  t.ok(config.Env.includes(`APP_VERSION=${TAG}`), 'APP_VERSION is the tag');

  const modules = (await dockerOk(['run', '--rm', '--network', 'none', '--entrypoint', 'ls', IMAGE, 'node_modules'])).split('\n');
  t.ok(modules.includes('better-sqlite3') && modules.includes('bullmq'), 'production dependencies');
  for (const dev of ['typescript', 'tap', 'eslint', 'prettier', 'unleash-server', 'playwright-core', 'kubernetes-models']) {
    t.notOk(modules.includes(dev), `no ${dev}: development only`);
  }
  const tools = await docker([
    'run',
    '--rm',
    '--network',
    'none',
    '--entrypoint',
    'sh',
    IMAGE,
    '-c',
    'command -v gcc g++ make python3 || true',
  ]);
  t.equal(tools.stdout.trim(), '', 'no build tools in the runtime image');
});

t.test('every mode runs as the chart runs it; a send run completes', async (t) => {
  const [redis, postgres, smtp] = await Promise.all([startRedis(), startPostgres(), startSmtpSink()]);
  t.teardown(() => Promise.all([redis.stop(), postgres.stop(), smtp.stop()]).then(() => undefined));
  const database = await createDatabase(postgres, 'image');
  const appEnv = { DATABASE_URL: database, REDIS_URL: redis.url, SMTP_HOST: '127.0.0.1', SMTP_PORT: String(smtp.port), LOG_LEVEL: 'warn' };
  const containers: string[] = [];
  t.teardown(() => (containers.length ? docker(['rm', '-f', ...containers]).then(() => undefined) : undefined));

  const migrate = await docker([...asTheChartRunsIt(appEnv), IMAGE, 'migrate']);
  t.equal(migrate.status, 0, 'migrate exits 0', { log: migrate.stderr });

  const webPort = await freePort();
  const workerPort = await freePort();
  for (const [mode, port] of [
    ['web', webPort],
    ['worker', workerPort],
  ] as const) {
    containers.push(await dockerOk([...asTheChartRunsIt({ ...appEnv, PORT: String(port) }, `mw-${mode}`), IMAGE, mode]));
    await ready(mode, port);
    t.pass(`${mode} answers /readyz`);
  }
  const web = `http://127.0.0.1:${webPort}`;
  const csv = ['name,email', ...Array.from({ length: 40 }, (_, i) => `Recipient ${i},image-${i}@example.test`)].join('\n');
  const imported = await fetch(`${web}/api/recipients/import`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
  t.match(await imported.json(), { imported: 40 }, 'recipients imported through the JSON API');
  const created = await fetch(`${web}/api/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ count: 40 }),
  });
  t.equal(created.status, 202, 'a send run of 40 is accepted');
  const { id } = (await created.json()) as { id: number };
  const finished = await waitFor(
    'the send run to finish',
    async () => {
      const runState = (await (await fetch(`${web}/api/runs/${id}`)).json()) as { status: string; sent: number; failed: number };
      return runState.status.startsWith('completed') ? runState : undefined;
    },
    120_000,
  );
  t.match(finished, { status: 'completed', sent: 40, failed: 0 }, 'the run completes with every mail sent');
  t.equal(smtp.countsByRecipient().size, 40, 'every mail arrived at the SMTP server');

  // The chart's `helm test` script, in the image as its test Job runs it.
  const smokeTest = readFileSync(join(ROOT, 'charts/mail-worker/files/smoke-test.mjs'), 'utf8');
  const smoke = (workerUrl: string) =>
    docker([
      ...asTheChartRunsIt({ WEB_URL: web, WORKER_URL: workerUrl }),
      '--entrypoint',
      'node',
      IMAGE,
      '--input-type=module',
      '-e',
      smokeTest,
    ]);
  const passed = await smoke(`http://127.0.0.1:${workerPort}`);
  t.equal(passed.status, 0, "the chart's helm test script passes against the running release", { log: passed.stdout + passed.stderr });
  const failed = await smoke(`http://127.0.0.1:${await freePort()}`);
  t.equal(failed.status, 1, 'and fails when the worker does not answer');
  t.match(failed.stdout, /FAILED: the worker is alive/);

  for (const name of ['mw-web', 'mw-worker']) {
    await waitFor(
      `${name} healthy`,
      async () => ((await inspect<string>(name, '.State.Health.Status')) === 'healthy' ? true : undefined),
      60_000,
    );
    t.pass(`${name}: HEALTHCHECK reports healthy`);
  }
  for (const name of ['mw-web', 'mw-worker']) {
    const started = Date.now();
    await dockerOk(['stop', '--time', '30', name], 60_000);
    t.equal(await inspect<number>(name, '.State.ExitCode'), 0, `${name}: docker stop ends it with exit 0`);
    t.ok(Date.now() - started < 30_000, `${name}: within the grace period (${Date.now() - started} ms)`);
  }

  // all: web and worker in one process, on SQLite in the image's /data volume.
  const allPort = await freePort();
  containers.push(await dockerOk([...asTheChartRunsIt({ REDIS_URL: redis.url, PORT: String(allPort) }, 'mw-all'), IMAGE, 'all']));
  await ready('all', allPort);
  t.equal((await fetch(`http://127.0.0.1:${allPort}/`)).status, 200, 'all mode serves the dashboard (views and assets are in the image)');
  await dockerOk(['stop', '--time', '30', 'mw-all'], 60_000);
  t.equal(await inspect<number>('mw-all', '.State.ExitCode'), 0, 'all mode stops with exit 0');
});

t.test('setup-flags creates the flags in a real Unleash', async (t) => {
  const unleash = await startUnleash(t);
  const result = await docker([...asTheChartRunsIt({ UNLEASH_URL: unleash.url, UNLEASH_ADMIN_TOKEN: ADMIN_TOKEN }), IMAGE, 'setup-flags']);
  t.equal(result.status, 0, 'setup-flags exits 0', { log: result.stderr });
  const features = (await (await unleash.admin('GET', '/projects/default/features')).json()) as { features: { name: string }[] };
  t.same(features.features.map((f) => f.name).sort(), ['bulk_send_feature', 'send_strategy'], 'both flags exist');
});

t.test('docker compose accepts compose.yaml', async (t) => {
  const compose = await run('docker-compose', ['-f', join(ROOT, 'compose.yaml'), 'config', '-q'], { env });
  t.equal(compose.status, 0, 'docker-compose config -q accepts it', { log: compose.stderr });
  // Its third-party images (PostgreSQL, Redis, Mailpit, Unleash) come from
  // Docker Hub, which this machine cannot reach: `docker compose up` is not
  // run here. test/compose.test.ts checks its variables against the service.
  t.comment('compose up is not run: its third-party images cannot be pulled here');
});
