import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { type Database, openDatabase } from '../../service/src/db/database.ts';
import { migrate } from '../../service/src/db/migrations.ts';
import { createDatabase, type PostgresServer, startPostgres } from './servers.ts';

let counter = 0;

/**
 * Runs `body` once against SQLite and once against PostgreSQL, each with a
 * fresh database, migrated unless `migrated` is false: the data layer must
 * behave the same on both.
 */
export async function onBothDatabases(
  t: Test,
  body: (t: Test, database: Database) => Promise<void>,
  { migrated = true } = {},
): Promise<void> {
  let server: PostgresServer | undefined;
  t.teardown(() => server?.stop());
  const open = {
    sqlite: async () => openDatabase(`file:${join(mkdtempSync(join(tmpdir(), 'mw-sqlite-')), 'db.sqlite')}`),
    postgres: async () => {
      server ??= await startPostgres();
      return openDatabase(await createDatabase(server, `test_${process.pid}_${++counter}`));
    },
  };
  for (const [name, make] of Object.entries(open)) {
    await t.test(name, async (t) => {
      const database = await make();
      t.teardown(() => database.close());
      if (migrated) await migrate(database);
      await body(t, database);
    });
  }
}
