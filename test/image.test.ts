import { execSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';
import { readDockerfile, type Stage } from './helpers/dockerfile.ts';
import { ROOT } from './helpers/helm.ts';
import { spawnService } from '../service/test/helpers/process.ts';
import { startRedis } from '../service/test/helpers/servers.ts';
import { startSmtpSink } from '../service/test/helpers/smtp.ts';

// No container engine runs here, so this test replays the Dockerfile's
// project-level steps in clean folders: COPY from a clean checkout (only what
// the Dockerfile names), the RUN steps of the build stage, the COPYs of the
// runtime stage, then every mode of the result against real Redis and SMTP.
// System-level steps (apt-get, creating the user) are not replayed: the
// machine's toolchain stands in for the base image's.

const dockerfile = readDockerfile(join(ROOT, 'Dockerfile'));
const SYSTEM_STEP = /^(apt-get|groupadd|useradd|mkdir -p \/data)/;

t.test('the Dockerfile: two stages, Node 24, non-root, every mode', async (t) => {
  const [build, runtime] = dockerfile.stages as [Stage, Stage];
  t.equal(dockerfile.stages.length, 2);
  t.match(build.image, /^node:24-bookworm-slim$/);
  t.equal(runtime.image, build.image, 'the same Debian slim Node 24 base');
  const other = (stage: Stage, keyword: string) =>
    stage.instructions.filter((i) => i.op === 'OTHER' && i.keyword === keyword).map((i) => (i as { rest: string }).rest);
  t.same(other(runtime, 'USER'), ['1001:1001'], 'runs as a non-root user');
  t.match(other(runtime, 'ENTRYPOINT')[0], /service\/dist\/main\.js/);
  t.match(other(runtime, 'HEALTHCHECK')[0], /\/healthz/);
  t.match(other(runtime, 'LABEL')[0], /org\.opencontainers\.image\.source/);
  t.notMatch(JSON.stringify(dockerfile), /amd64|arm64|x86_64|aarch64|curl |wget /, 'no architecture-specific downloads');
});

// A full `npm ci` with native builds takes minutes on two cores.
t.setTimeout(900_000);

t.test("replaying the image's build steps gives a working image", { timeout: 900_000 }, async (t) => {
  const checkout = mkdtempSync(join(tmpdir(), 'mw-checkout-'));
  // A clean copy of what git tracks, as a fresh clone (the build context) has it.
  execSync(`git -C "${ROOT}" ls-files -z | xargs -0 -I{} cp --parents {} "${checkout}"`, { shell: '/bin/bash' });
  const [build, runtime] = dockerfile.stages as [Stage, Stage];
  const stageDirs: Record<string, string> = {};
  const env: Record<string, string> = {};

  const replay = (stage: Stage, root: string) => {
    let workdir = root;
    for (const step of stage.instructions) {
      if (step.op === 'WORKDIR') {
        workdir = join(root, step.path);
        mkdirSync(workdir, { recursive: true });
      } else if (step.op === 'COPY') {
        // Sources are relative to the build context, or absolute in an earlier stage.
        const base = step.from ? stageDirs[step.from] : checkout;
        if (base === undefined) throw new Error(`COPY --from=${step.from}: no such stage`);
        for (const item of step.sources) {
          const from = join(base, item);
          t.ok(existsSync(from), `COPY source ${item} exists`);
          const target =
            step.destination.endsWith('/') || step.sources.length > 1
              ? join(workdir, step.destination, item.split('/').pop()!)
              : join(workdir, step.destination);
          cpSync(from, target, { recursive: true });
        }
      } else if (step.op === 'RUN' && !SYSTEM_STEP.test(step.command)) {
        t.comment(`RUN ${step.command}`);
        // Native addons build against this Node's headers, as the base image's npm would against its own.
        const nodedir = process.env.npm_config_nodedir ?? dirname(dirname(process.execPath));
        execSync(step.command, {
          cwd: workdir,
          stdio: ['ignore', 'ignore', 'inherit'],
          env: { ...process.env, NODE_ENV: '', npm_config_nodedir: nodedir },
        });
      } else if (step.op === 'ENV') {
        Object.assign(env, step.values);
      }
    }
    return workdir;
  };

  const buildRoot = mkdtempSync(join(tmpdir(), 'mw-build-'));
  stageDirs[build.name ?? 'build'] = buildRoot;
  replay(build, buildRoot);
  const app = replay(runtime, mkdtempSync(join(tmpdir(), 'mw-runtime-')));

  t.ok(existsSync(join(app, 'service/dist/main.js')), 'compiled entry point');
  t.notOk(existsSync(join(app, 'service/src')), 'no TypeScript sources in the image');
  const modules = readdirSync(join(app, 'node_modules'));
  t.ok(modules.includes('better-sqlite3') && modules.includes('bullmq'), 'production dependencies');
  // (typescript itself stays: valibot, under bull-board, declares it as a peer.)
  for (const dev of ['tap', 'eslint', 'prettier', 'unleash-server', 'playwright-core', 'kubernetes-models'])
    t.notOk(modules.includes(dev), `no ${dev}: development only`);

  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const smtp = await startSmtpSink();
  t.teardown(() => smtp.stop());
  const data = mkdtempSync(join(tmpdir(), 'mw-data-'));
  const runEnv = {
    ...env,
    DATABASE_URL: `file:${join(data, 'mail-worker.sqlite')}`,
    FLAGS_FILE: join(data, 'flags.json'),
    REDIS_URL: redis.url,
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(smtp.port),
  };
  const main = join(app, 'service/dist/main.js');

  execSync(`node "${main}" migrate`, { env: { ...process.env, ...runEnv, LOG_LEVEL: 'warn' } });
  for (const mode of ['web', 'worker', 'all']) {
    const service = await spawnService(t, mode, runEnv, main);
    t.ok((await fetch(`${service.url}/readyz`)).ok, `${mode} mode reaches /readyz`);
    if (mode !== 'worker') {
      const page = await fetch(`${service.url}/`);
      t.equal(page.status, 200, `${mode} mode serves the dashboard (views and assets are in the image)`);
      t.equal((await fetch(`${service.url}/assets/style.css`)).status, 200);
      t.match(await page.text(), new RegExp(`version ${env.APP_VERSION}`), 'APP_VERSION from the image');
    }
    service.child.kill('SIGTERM');
    t.equal(await service.exited, 0, `${mode} mode stops cleanly on SIGTERM`);
  }
});
