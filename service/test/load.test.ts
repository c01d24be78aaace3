import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { MAIN, runToEnd, spawnService } from '../../test/helpers/process.ts';
import { waitFor } from '../../test/helpers/ports.ts';
import { startRedis } from '../../test/helpers/servers.ts';

// `mail-worker load`, the chart's load generator, against a real web
// process that fails half its answers (FAULT_ERROR_RATE): it keeps its pace
// through 500s and through the web's death, and counts each by what it was.

/** A counter's value per label set, from Prometheus text. */
async function counts(url: string, metric: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const found: Record<string, number> = {};
  for (const [, labels, value] of text.matchAll(new RegExp(`^${metric}\\{([^}]*)\\} (\\d+)$`, 'gm')))
    found[labels as string] = Number(value);
  return found;
}

t.test('the load generator: steady requests and runs that never stop on an error', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const dir = mkdtempSync(join(tmpdir(), 'mw-load-'));
  const env = { REDIS_URL: redis.url, DATABASE_URL: `file:${join(dir, 'db.sqlite')}`, FLAGS_FILE: join(dir, 'flags.json') };
  execFileSync(process.execPath, [MAIN, 'migrate'], { env: { ...process.env, LOG_LEVEL: 'warn', ...env } });
  const web = await spawnService(t, 'web', { ...env, FAULT_ERROR_RATE: '0.5' });
  const csv = ['name,email', ...Array.from({ length: 20 }, (_, i) => `Load ${i},load${i}@load.test`)].join('\n');
  // Half the answers are 500s: the import is tried until one is stored.
  await waitFor('the recipients to be imported', async () => {
    const answer = await fetch(`${web.url}/api/recipients/import`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
    return answer.ok;
  });

  const load = await spawnService(t, 'load', {
    LOAD_TARGET_URL: web.url,
    LOAD_REQUESTS_PER_SECOND: '40',
    LOAD_PATHS: '/api/version,/',
    LOAD_RUN_COUNT: '5',
    LOAD_RUN_EVERY_SECONDS: '1',
    LOAD_REPORT_SECONDS: '1',
    LOG_LEVEL: 'info',
  });

  await t.test('requests to each path, 200s and 500s counted apart, and runs started', async (t) => {
    const seen = await waitFor('200s and 500s on both paths and a run started', async () => {
      const c = await counts(load.url, 'load_requests_total');
      const has = (path: string, status: string) => (c[`path="${path}",status="${status}"`] ?? 0) > 0;
      return has('/api/version', '200') && has('/api/version', '500') && has('/', '200') && has('/', '500') && has('/api/runs', '202') && c;
    });
    t.ok(Object.keys(seen).length >= 5, `counted: ${JSON.stringify(seen)}`);
    const served = await counts(web.url, 'http_requests_total');
    t.ok((served['method="GET",route="/api/version",status_code="500"'] ?? 0) > 0, 'the web counted the same 500s');
    const line = await waitFor('a line of counts', () => /"msg":"\d+s: ((200|202|500|error)×\d+(, )?)+"/.exec(load.output())?.[0]);
    t.pass(`a line of counts each second, as scripts/load.sh prints: ${line}`);
  });

  await t.test('the web gone: errors counted, the generator goes on', async (t) => {
    web.child.kill('SIGKILL');
    await waitFor('requests to fail for want of an answer', async () => {
      const c = await counts(load.url, 'load_requests_total');
      return (c['path="/api/version",status="error"'] ?? 0) > 5;
    });
    t.equal(load.child.exitCode, null, 'still running');
    t.equal((await fetch(`${load.url}/readyz`)).status, 200, 'and ready: it has nothing to wait for');
    load.child.kill('SIGTERM');
    t.equal(await load.exited, 0, 'SIGTERM stops it cleanly');
  });
});

t.test('a bad configuration stops it with a message naming the variable', async (t) => {
  const result = await runToEnd(process.execPath, [MAIN, 'load'], {
    env: { ...process.env, LOAD_TARGET_URL: '', LOAD_REQUESTS_PER_SECOND: 'lots', LOAD_PATHS: 'api/version' },
  });
  t.equal(result.status, 78);
  t.match(result.stderr, /LOAD_TARGET_URL: required/);
  t.match(result.stderr, /LOAD_REQUESTS_PER_SECOND="lots": expected a number from 0 to 1000/);
  t.match(result.stderr, /LOAD_PATHS="api\/version": expected paths starting with \//);
});
