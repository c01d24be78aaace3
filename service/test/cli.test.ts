import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { openDatabase } from '../src/db/database.ts';
import { MAIN } from '../../test/helpers/process.ts';

const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });

t.test('usage and unknown modes', async (t) => {
  const help = cli(['--help']);
  t.equal(help.status, 0);
  t.match(help.stdout, /usage: mail-worker <mode>/);
  const none = cli([]);
  t.equal(none.status, 2);
  const unknown = cli(['serve']);
  t.equal(unknown.status, 2);
  t.match(unknown.stderr, /unknown mode "serve"/);
});

t.test('a bad variable stops start-up with a message naming it', async (t) => {
  const result = cli(['web'], { PORT: '99999', REDIS_URL: 'localhost:6379' });
  t.equal(result.status, 78);
  t.match(result.stderr, /PORT="99999": expected a whole number from 0 to 65535/);
  t.match(result.stderr, /REDIS_URL: unsupported scheme localhost: \(expected redis: or rediss:\)/);
});

t.test('migrate creates the schema and exits; running it again is harmless', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'mw-cli-')), 'nested', 'db.sqlite');
  const env = { DATABASE_URL: `file:${file}` };
  const first = cli(['migrate'], env);
  t.equal(first.status, 0, first.stderr);
  const second = cli(['migrate'], env);
  t.equal(second.status, 0, second.stderr);
  const database = openDatabase(`file:${file}`);
  t.teardown(() => database.close());
  const tables = await database.db.introspection.getTables();
  t.same(tables.map((table) => table.name).sort(), ['deliveries', 'recipients', 'row_counts', 'run_tallies', 'runs']);
});

t.test('an unreachable database fails start-up with a clear message', async (t) => {
  const result = cli(['migrate'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
  t.equal(result.status, 1);
  t.match(result.stderr, /mail-worker: .*(ECONNREFUSED|connect)/);
});
