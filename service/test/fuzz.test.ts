import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { openDatabase } from '../src/db/database.ts';
import { runToEnd, spawnService } from '../../test/helpers/process.ts';
import { waitFor } from '../../test/helpers/ports.ts';
import { startRedis } from '../../test/helpers/servers.ts';
import { startSmtpSink } from '../../test/helpers/smtp.ts';

// Schemathesis (from PyPI, pinned; hack/test.sh installs it) reads
// /openapi.json and throws generated requests at the `all` mode, with its
// real Redis, SQLite and an SMTP server: valid and invalid bodies, parameters
// at and beyond their bounds, undeclared methods, and sequences of calls that
// follow the document's links. Every check runs (service/test/fuzz/
// schemathesis.toml says what it allows): no 5xx, every answer documented and
// matching its schema, invalid input refused, valid input accepted. Then the
// data it left must still add up.
//
// The CSV import is left out here: its body is a file the document
// describes in words only, so generated bodies would only be refused.
// fuzz-import.test.ts fuzzes it with generated CSV files instead. So are
// the fault controls (/api/faults): what they are for is making the server
// answer 500 and late, which the fuzzer would rightly report everywhere
// after; pod-faults.test.ts tries their bounds.

const CONFIG = fileURLToPath(new URL('fuzz/schemathesis.toml', import.meta.url));

t.test('the API holds under Schemathesis, and what it stored adds up', async (t) => {
  const bin = process.env.SCHEMATHESIS_BIN;
  if (!bin || !existsSync(bin)) {
    throw new Error(`Schemathesis not found (SCHEMATHESIS_BIN=${bin ?? ''}): run the suite through hack/test.sh, which installs it`);
  }
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const smtp = await startSmtpSink();
  t.teardown(() => smtp.stop());
  const dir = mkdtempSync(join(tmpdir(), 'mw-fuzz-'));
  const databaseUrl = `file:${join(dir, 'fuzz.sqlite')}`;
  const service = await spawnService(t, 'all', {
    REDIS_URL: redis.url,
    DATABASE_URL: databaseUrl,
    FLAGS_FILE: join(dir, 'flags.json'),
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(smtp.port),
    SEND_RETRY_DELAY_MS: '10',
  });
  const csv = ['name,email', ...Array.from({ length: 50 }, (_, i) => `Fuzz ${i},fuzz${i}@fuzz.test`)].join('\n');
  const imported = await fetch(`${service.url}/api/recipients/import`, {
    method: 'POST',
    headers: { 'content-type': 'text/csv' },
    body: csv,
  });
  t.equal(imported.status, 200, 'recipients for the runs it starts');

  const fuzz = await runToEnd(
    bin,
    [
      '--config-file',
      CONFIG,
      '--no-color',
      'run',
      `${service.url}/openapi.json`,
      '--checks',
      'all',
      '--exclude-path',
      '/api/recipients/import',
      '--exclude-path',
      '/api/faults',
      '--max-examples',
      '100',
      '--workers',
      '1',
    ],
    { cwd: dir },
  );
  const summary = fuzz.stdout.slice(fuzz.stdout.lastIndexOf('SUMMARY'));
  const document = (await (await fetch(`${service.url}/openapi.json`)).json()) as { paths: Record<string, object> };
  const operations = Object.values(document.paths).reduce((sum, methods) => sum + Object.keys(methods).length, 0);
  t.equal(fuzz.status, 0, 'Schemathesis found no failure', { output: fuzz.status === 0 ? summary : fuzz.stdout + fuzz.stderr });
  const tested = operations - 4; // all but the import and the three fault controls
  t.match(summary, new RegExp(`Tested: ${tested}\\b`), `every operation but the import and the fault controls was tested (${tested})`);
  t.comment(summary.split('\n').find((line) => /generated/.test(line)) ?? '');

  // Every run it started finishes, with each delivery counted once. (Read
  // from the database: the API lists only the newest 200 runs.)
  const database = openDatabase(databaseUrl);
  t.teardown(() => database.close());
  const unfinished = () => database.db.selectFrom('runs').select('id').where('finished_at', 'is', null).execute();
  await waitFor('every run the fuzzer started to finish', async () => (await unfinished()).length === 0, 120_000);
  const runs = await database.db.selectFrom('runs').select(['id', 'total', 'sent', 'failed']).execute();
  t.ok(runs.length > 0, `the fuzzer started runs (${runs.length})`);
  t.same(
    runs.filter((run) => run.sent + run.failed !== run.total),
    [],
    'in every run, sent + failed == total',
  );
  const sent = runs.reduce((sum, run) => sum + run.sent, 0);
  t.equal(smtp.mails.length, sent, `the SMTP server received exactly the ${sent} mails counted as sent`);
  // The stored count of recipients (kept by triggers) still matches the rows.
  const page = (offset: number) =>
    fetch(`${service.url}/api/recipients?limit=200&offset=${offset}`).then((r) => r.json() as Promise<{ total: number; items: unknown[] }>);
  const { total } = await page(0);
  let listed = 0;
  for (let items = (await page(0)).items; items.length > 0; items = (await page(listed)).items) listed += items.length;
  t.equal(listed, total, `the recipients' total (${total}) is the number listed`);
});
