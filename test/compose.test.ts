import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { CHART, ROOT } from './helpers/helm.ts';

// compose.yaml cannot be started here (its third-party images come from
// Docker Hub, which this machine cannot reach; test/image.test.ts has
// docker-compose check its syntax), so it is checked against the contract:
// the variables the service really reads (taken from service/src/config.ts),
// the services the app needs, the wiring, and the chart's image versions.

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  read_only?: boolean;
}

const compose = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const configSource = readFileSync(join(ROOT, 'service/src/config.ts'), 'utf8');
const knownVariables = new Set([...configSource.matchAll(/'([A-Z][A-Z0-9_]+)'/g)].map((m) => m[1] as string));
const appServices = ['migrate', 'web', 'worker', 'unleash-flags'];

t.test('the stack of the chart: every part is there', async (t) => {
  t.same(Object.keys(services).sort(), [
    'mailpit',
    'migrate',
    'postgres',
    'redis',
    'unleash',
    'unleash-db',
    'unleash-flags',
    'web',
    'worker',
  ]);
  for (const name of appServices) {
    t.ok(services[name]?.build, `${name} is built from this repository's Dockerfile`);
    t.equal(services[name]?.image, 'mail-worker:local', `${name} uses the one image`);
    t.equal(services[name]?.read_only, true, `${name} runs with a read-only root filesystem`);
  }
  t.same(services.web?.command, ['web']);
  t.same(services.worker?.command, ['worker']);
  t.same(services.migrate?.command, ['migrate']);
  t.same(services['unleash-flags']?.command, ['setup-flags']);
  t.match(services.redis?.image, /^redis:/);
  t.ok(services.redis?.command?.includes('--appendonly'), 'Redis keeps an append-only file');
  t.match(services.mailpit?.image, /^axllent\/mailpit:/);
});

t.test('environment: only variables the service reads, wired to the right services', async (t) => {
  t.ok(knownVariables.has('DATABASE_URL') && knownVariables.has('REDIS_URL'), 'the contract was read from config.ts');
  for (const name of appServices) {
    for (const key of Object.keys(services[name]?.environment ?? {}))
      t.ok(knownVariables.has(key), `${name}: ${key} is a variable the service reads`);
  }
  const env = services.web?.environment ?? {};
  t.match(env.DATABASE_URL, /^postgres:\/\/mailworker:[^@]+@postgres:5432\/mailworker$/, 'web and worker share PostgreSQL');
  t.equal(env.REDIS_URL, 'redis://redis:6379/0');
  t.same([env.SMTP_HOST, env.SMTP_PORT], ['mailpit', '1025']);
  t.equal(env.UNLEASH_URL, 'http://unleash:4242/api');
  t.same(services.worker?.environment?.DATABASE_URL, env.DATABASE_URL);
  const clientToken = env.UNLEASH_API_TOKEN;
  t.match(services.unleash?.environment?.INIT_CLIENT_API_TOKENS, clientToken, "the app's client token is created by Unleash");
  t.match(services.unleash?.environment?.INIT_ADMIN_API_TOKENS, services['unleash-flags']?.environment?.UNLEASH_ADMIN_TOKEN ?? 'missing');
});

t.test('ports, health and start order', async (t) => {
  t.same(services.web?.ports, ['3000:3000']);
  t.same(services.mailpit?.ports, ['8025:8025']);
  t.same(services.unleash?.ports, ['4242:4242']);
  t.equal(services.worker?.ports, undefined, 'no published worker port, so --scale worker=N works');
  for (const name of ['redis', 'postgres', 'mailpit', 'unleash', 'unleash-db'])
    t.ok(services[name]?.healthcheck, `${name} has a health check`);
  t.same(services.web?.depends_on?.migrate, { condition: 'service_completed_successfully' });
  t.same(services.worker?.depends_on?.migrate, { condition: 'service_completed_successfully' });
  t.same(services.migrate?.depends_on?.postgres, { condition: 'service_healthy' });
  t.same(services['unleash-flags']?.depends_on?.unleash, { condition: 'service_healthy' });
  t.same(services.worker?.depends_on?.redis, { condition: 'service_healthy' });
});

t.test('compose runs the same third-party images as the chart, and the tests the same Unleash', async (t) => {
  type Image = { repository: string; tag: string };
  const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Record<string, { image: Image }>;
  const chartImage = (part: string) => `${values[part]!.image.repository}:${values[part]!.image.tag}`;
  t.equal(services.redis?.image, chartImage('redis'), 'Redis');
  t.equal(services.postgres?.image, chartImage('postgresql'), 'PostgreSQL');
  t.equal(services['unleash-db']?.image, chartImage('postgresql'), "Unleash's PostgreSQL (the chart uses postgresql.image for it)");
  t.equal(services.mailpit?.image, chartImage('mailcatcher'), 'Mailpit');
  // The suite's own Mailpit is built at MAILPIT_VERSION: the images run its minor.
  const mailpit = readFileSync(join(ROOT, 'scripts/lib/versions.sh'), 'utf8').match(/^MAILPIT_VERSION=(v\d+\.\d+)\.\d+$/m)?.[1];
  t.equal(values.mailcatcher!.image.tag, mailpit, "the chart's Mailpit is the suite's minor");
  t.equal(services.unleash?.image, chartImage('unleash'), 'Unleash');
  // The tests run the unleash-server npm package, the same server as the image.
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  t.equal(
    pkg.devDependencies['unleash-server']?.replace(/^\^/, '').split('.')[0],
    values.unleash!.image.tag,
    "the suite's Unleash is the image's major",
  );
});
