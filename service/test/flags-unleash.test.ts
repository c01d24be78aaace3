import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { QUEUE_PREFIX } from '../src/queue/queues.ts';
import { startApp } from '../../test/helpers/app.ts';
import { waitFor } from '../../test/helpers/ports.ts';
import { MAIN, runToEnd } from '../../test/helpers/process.ts';
import { startRedis } from '../../test/helpers/servers.ts';
import { ADMIN_TOKEN, CLIENT_TOKEN, startUnleash } from '../../test/helpers/unleash.ts';

interface UnleashFeature {
  environments: Array<{ name: string; strategies: Array<{ id: string; variants: Array<{ name: string }> }> }>;
}

// Feature flags against a real Unleash server: the setup command, the gate,
// the variant, and what happens when Unleash goes away.

// Asynchronous on purpose: Unleash runs in this process and must keep answering.
const setupFlags = (env: Record<string, string>) =>
  runToEnd(process.execPath, [MAIN, 'setup-flags'], { env: { PATH: process.env.PATH ?? '', ...env } });

t.test('Unleash drives the gate and the queue, and its absence is survived', async (t) => {
  const unleash = await startUnleash(t);
  const redis = await startRedis();
  t.teardown(() => redis.stop());

  await t.test('setup-flags creates both flags once, then leaves them alone', async (t) => {
    const first = await setupFlags({ UNLEASH_URL: unleash.url, UNLEASH_ADMIN_TOKEN: ADMIN_TOKEN });
    t.equal(first.status, 0, first.stderr);
    t.match(first.stdout, /bulk_send_feature: created and switched on in development/);
    t.match(first.stdout, /send_strategy: created and switched on in development/);
    const again = await setupFlags({ UNLEASH_URL: unleash.url, UNLEASH_ADMIN_TOKEN: ADMIN_TOKEN });
    t.equal(again.status, 0, again.stderr);
    t.match(again.stdout, /bulk_send_feature: exists, left as it is/);
    const feature = (await (await unleash.admin('GET', '/projects/default/features/send_strategy')).json()) as UnleashFeature;
    const strategies = feature.environments.find((e) => e.name === 'development')!.strategies;
    t.equal(strategies.length, 1, 'running twice added no second strategy');
    t.same(
      strategies[0]!.variants.map((v) => v.name),
      ['default', 'priority'],
    );
    const refused = await setupFlags({ UNLEASH_URL: unleash.url, UNLEASH_ADMIN_TOKEN: CLIENT_TOKEN, UNLEASH_SETUP_WAIT_MS: '0' });
    t.not(refused.status, 0);
    t.match(refused.stderr, /refused the admin token/);
    const missing = await setupFlags({ UNLEASH_URL: unleash.url });
    t.equal(missing.status, 78);
    t.match(missing.stderr, /UNLEASH_ADMIN_TOKEN: required/);
  });

  const backupPath = mkdtempSync(join(tmpdir(), 'mw-unleash-backup-'));
  const env = {
    REDIS_URL: redis.url,
    UNLEASH_URL: unleash.url,
    UNLEASH_API_TOKEN: CLIENT_TOKEN,
    UNLEASH_REFRESH_INTERVAL_MS: '500',
    UNLEASH_BACKUP_PATH: backupPath,
  };
  const service = await startApp(t, 'web', env);
  const app = service.app!;
  const flags = async () => (await app.inject({ method: 'GET', url: '/api/flags' })).json();
  const startRun = () => app.inject({ method: 'POST', url: '/api/runs', payload: { count: 1 } });
  /** Starts runs until one is answered with `status`, within the refresh interval and some. */
  const runAnswering = (status: number, what: string) =>
    waitFor(
      what,
      async () => {
        const response = await startRun();
        return response.statusCode === status ? response : undefined;
      },
      5000,
    );
  await app.inject({ method: 'POST', url: '/api/recipients', payload: { name: 'Flag', email: 'flag@unleash.test' } });

  await t.test('values come from Unleash once fetched', async (t) => {
    const current = await waitFor('flags from Unleash', async () => {
      const f = await flags();
      return f.bulkSend.source === 'unleash' && f.sendStrategy.source === 'unleash' ? f : undefined;
    });
    t.same(current, { bulkSend: { enabled: true, source: 'unleash' }, sendStrategy: { variant: 'default', source: 'unleash' } });
  });

  await t.test('bulk_send_feature off: POST /api/runs answers 403 within the refresh interval; on again: accepted', async (t) => {
    t.equal((await unleash.admin('POST', '/projects/default/features/bulk_send_feature/environments/development/off')).status, 200);
    const refused = await runAnswering(403, 'the gate to close');
    t.match(refused.json(), { error: /bulk_send_feature/ });
    t.match((await app.inject({ method: 'GET', url: '/' })).body, /switched off by the feature flag bulk_send_feature/);
    await unleash.admin('POST', '/projects/default/features/bulk_send_feature/environments/development/on');
    const accepted = await runAnswering(202, 'the gate to open');
    t.equal(accepted.json().queue, 'mail-default');
  });

  await t.test('send_strategy at priority: the next run lands in mail-priority', async (t) => {
    const feature = (await (await unleash.admin('GET', '/projects/default/features/send_strategy')).json()) as UnleashFeature;
    const strategy = feature.environments.find((e) => e.name === 'development')!.strategies[0]!;
    const updated = await unleash.admin(
      'PUT',
      `/projects/default/features/send_strategy/environments/development/strategies/${strategy.id}`,
      {
        ...strategy,
        variants: [
          { name: 'default', weight: 0, weightType: 'fix', stickiness: 'default' },
          { name: 'priority', weight: 1000, weightType: 'variable', stickiness: 'default' },
        ],
      },
    );
    t.equal(updated.status, 200, await updated.clone().text());
    await waitFor('the priority variant', async () => ((await flags()).sendStrategy.variant === 'priority' ? true : undefined), 5000);
    const run = await startRun();
    t.equal(run.json().queue, 'mail-priority');
    t.equal(await redis.client().llen(`${QUEUE_PREFIX}:mail-priority:wait`), 1, "the run's job is in mail-priority");
  });

  await t.test('Unleash stopped: the app keeps serving with the last known values and says so', async (t) => {
    await unleash.stop();
    const current = await waitFor(
      'the warning',
      async () => {
        const f = await flags();
        return f.warning ? f : undefined;
      },
      10_000,
    );
    t.match(current, {
      bulkSend: { enabled: true, source: 'unleash' },
      sendStrategy: { variant: 'priority', source: 'unleash' },
      warning: /unreachable.*last known values/,
    });
    t.equal((await startRun()).json().queue, 'mail-priority');
    t.match((await app.inject({ method: 'GET', url: '/' })).body, /role="alert">Flags: Unleash is unreachable/);

    // A new process while Unleash is still away starts at once, from the backup file.
    const restarted = await startApp(t, 'web', env);
    const fromBackup = await waitFor(
      'values from the backup',
      async () => {
        const f = (await restarted.app!.inject({ method: 'GET', url: '/api/flags' })).json();
        return f.sendStrategy.source === 'unleash' ? f : undefined;
      },
      5000,
    );
    t.equal(fromBackup.sendStrategy.variant, 'priority');
  });
});

t.test('no Unleash ever reached: documented defaults, a warning, no waiting at start', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const started = Date.now();
  const lonely = await startApp(t, 'web', {
    REDIS_URL: redis.url,
    UNLEASH_URL: 'http://127.0.0.1:9/api',
    UNLEASH_BACKUP_PATH: mkdtempSync(join(tmpdir(), 'mw-none-')),
  });
  t.ok(Date.now() - started < 5000, 'start-up did not wait for Unleash');
  const current = await waitFor(
    'the warning',
    async () => {
      const f = (await lonely.app!.inject({ method: 'GET', url: '/api/flags' })).json();
      return f.warning ? f : undefined;
    },
    10_000,
  );
  t.match(current, {
    bulkSend: { enabled: true, source: 'default' },
    sendStrategy: { variant: 'default', source: 'default' },
    warning: /using the defaults/,
  });
});
