import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Tables } from './schema.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface Database {
  db: Kysely<Tables>;
  dialect: Dialect;
  /** A description safe to log: never the password. */
  description: string;
  close(): Promise<void>;
}

/** Opens SQLite for `file:PATH` (or `sqlite:PATH`) and PostgreSQL for `postgres://…`. */
export function openDatabase(url: string): Database {
  if (/^postgres(ql)?:\/\//.test(url)) return openPostgres(url);
  return openSqlite(url.replace(/^(file|sqlite):(\/\/)?/, ''));
}

function openSqlite(path: string): Database {
  const file = path === ':memory:' ? path : resolve(path);
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const database = new SQLite(file);
  // WAL lets the web and worker processes read while one of them writes; the
  // busy timeout makes a writer wait for the lock instead of failing at once.
  database.pragma('journal_mode = WAL');
  database.pragma('busy_timeout = 5000');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database }) });
  return { db, dialect: 'sqlite', description: `SQLite ${file}`, close: () => db.destroy() };
}

function openPostgres(url: string): Database {
  // A connection attempt gives up after 10 s rather than never (pg's
  // default): while a PostgreSQL pod is replaced, an attempt to an address
  // that no longer answers would otherwise hold a request or a job until
  // the kernel gives up, minutes later. keepAlive finds a dead peer of an
  // idle connection the same way.
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 10_000, keepAlive: true });
  // A client losing its connection must not crash the process: an idle one
  // is reported on the pool, one checked out (a transaction between two
  // queries, when PostgreSQL restarts) on itself, with nobody listening.
  // Its query rejects instead, and the pool drops the broken client when it
  // is released; the next query reports any lasting problem.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
  const safe = new URL(url);
  if (safe.password) safe.password = '***';
  return { db, dialect: 'postgres', description: `PostgreSQL ${safe.toString()}`, close: () => db.destroy() };
}
