import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { runToEnd, spawnService } from './helpers/process.ts';
import { freePort } from './helpers/ports.ts';
import { startRedis } from './helpers/servers.ts';
import { ROOT } from './helpers/helm.ts';

// scripts/load.sh against the real local stack (`mail-worker all`, embedded
// mail catcher, real Redis): it imports what is missing, starts the runs and
// follows them to their exact end.

const run = (args: string[]) => runToEnd(join(ROOT, 'scripts/load.sh'), args, { cwd: ROOT });

/** `mail-worker all` with the embedded mail catcher and a real Redis, plus ENV. */
async function localStack(t: Test, env: Record<string, string>) {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const data = mkdtempSync(join(tmpdir(), 'mw-load-'));
  return spawnService(t, 'all', {
    REDIS_URL: redis.url,
    DATABASE_URL: `file:${join(data, 'db.sqlite')}`,
    FLAGS_FILE: join(data, 'flags.json'),
    EMBEDDED_MAIL_CATCHER: 'true',
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(await freePort()),
    ...env,
  });
}

t.test('scripts/load.sh drives runs through the JSON API', async (t) => {
  const stack = await localStack(t, { SEND_RETRY_DELAY_MS: '10' });

  const result = await run(['--url', stack.url, '--count', '200', '--failure-rate', '0.5', '--relay-latency', '20', '--repeat', '2']);
  t.equal(result.status, 0, result.stderr);
  t.match(result.stderr, /importing 200 recipients \(have 0, need 200\)/);
  const finished = [...result.stdout.matchAll(/^run #(\d+) (completed\S*): sent (\d+), failed (\d+) in \d+ s$/gm)];
  t.equal(finished.length, 2, 'both runs were followed to their end');
  for (const [, id, , sent, failed] of finished) {
    t.equal(Number(sent) + Number(failed), 200, `run #${id}: sent + failed == 200`);
    const api = (await (await fetch(`${stack.url}/api/runs/${id}`)).json()) as { sent: number; failed: number; relayLatencyMs: number };
    t.same([api.sent, api.failed], [Number(sent), Number(failed)], `run #${id}: the script reports what the API says`);
    t.equal(api.relayLatencyMs, 20, `run #${id}: with the relay latency asked for`);
  }

  const bad = await run(['--url', stack.url, '--failure-rate', '2']);
  t.equal(bad.status, 1);
  t.match(bad.stderr, /--failure-rate must be a number from 0 to 1, not 2/);
  const slow = await run(['--url', stack.url, '--relay-latency', '99999']);
  t.equal(slow.status, 1);
  t.match(slow.stderr, /--relay-latency must be whole milliseconds from 0 to 5000, not 99999/);
  // Nothing listens on port 9: after --ready-timeout (a minute by default), it says so.
  const nobody = await run(['--url', 'http://127.0.0.1:9', '--ready-timeout', '2']);
  t.equal(nobody.status, 1);
  t.match(nobody.stderr, /does not answer \/readyz: is the stack running/);
  const impatient = await run(['--ready-timeout', 'soon']);
  t.equal(impatient.status, 1);
  t.match(impatient.stderr, /--ready-timeout must be whole seconds, not soon/);
});

// The analysis guide's traffic: a steady rate that a version answering 500s
// must not stop, or the analysis would judge it on no data.
t.test('scripts/load.sh --requests-per-second keeps its rate through 5xx answers', async (t) => {
  const stack = await localStack(t, { FAULT_ERROR_RATE: '0.5' });

  const result = await run(['--url', stack.url, '--requests-per-second', '20', '--duration', '10']);
  t.equal(result.status, 0, result.stderr);
  const batches = [...result.stdout.matchAll(/^\d+s: (.*)$/gm)].map(([, counts]) =>
    Object.fromEntries(counts!.split(', ').map((c) => c.split('×').map(Number) as [number, number])),
  );
  t.equal(batches.length, 2, `two 5-second batches: ${result.stdout}`);
  for (const batch of batches) {
    t.equal((batch[200] ?? 0) + (batch[500] ?? 0), 100, `every call answered, 200 or 500: ${JSON.stringify(batch)}`);
    t.ok(batch[500]! > 20 && batch[200]! > 20, 'about half are 500s, and the calls went on after them');
  }
});
