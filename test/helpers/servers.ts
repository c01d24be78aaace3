import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freePort, waitFor } from './ports.ts';

// Real servers for the tests, each on a free loopback port in its own
// temporary folder, so suites never touch the machine's own services and can
// run side by side. A missing server binary fails with what to install.

function findBinary(name: string, candidates: string[], install: string): string {
  for (const candidate of candidates) if (existsSync(candidate)) return candidate;
  try {
    return execFileSync('which', [name], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`${name} not found: install it (${install}); .ci/run does this on a fresh machine`);
  }
}

function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

export interface RedisServer {
  url: string;
  port: number;
  /** Stops the server: SIGTERM lets it write its append-only file, SIGKILL is a crash (appendfsync always loses nothing). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and folder (its data comes back with AOF on). */
  start(): Promise<void>;
  client(): Redis;
}

/**
 * A redis-server of its own. `appendfsync` is `always` unless told: the
 * crash tests count on losing nothing; the chart runs `everysec`.
 */
export async function startRedis(options: { appendonly?: boolean; appendfsync?: 'always' | 'everysec' } = {}): Promise<RedisServer> {
  const binary = findBinary('redis-server', ['/usr/bin/redis-server'], 'apt-get install redis-server');
  const dir = mkdtempSync(join(tmpdir(), 'mw-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const clients: Redis[] = [];

  const start = async () => {
    child = spawn(
      binary,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        options.appendonly ? 'yes' : 'no',
        '--appendfsync',
        options.appendfsync ?? 'always',
      ],
      { stdio: 'ignore' },
    );
    await waitFor(`redis-server on port ${port}`, async () => {
      const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => {}); // refused until the server listens: connect() reports it
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG';
      } finally {
        probe.disconnect();
      }
    });
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    start,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      for (const c of clients.splice(0)) c.disconnect();
      if (child) await stopProcess(child, signal);
    },
    client() {
      const c = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: null });
      clients.push(c);
      return c;
    },
  };
}

export interface PostgresServer {
  url: string;
  stop(): Promise<void>;
  /** Stops the server in immediate mode (SIGQUIT: no checkpoint, so the next start recovers, as after a killed pod). */
  crash(): Promise<void>;
  /** Starts it again on the same data and port; resolves once it accepts queries. */
  start(): Promise<void>;
}

function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(root, v, 'bin', 'initdb'))) return join(root, v, 'bin');
  const initdb = findBinary('initdb', [], 'apt-get install postgresql');
  return join(initdb, '..');
}

/** PostgreSQL refuses to run as root, so as root the server runs as the postgres user. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    return { uid, gid };
  } catch {
    throw new Error('running as root needs the "postgres" user to start PostgreSQL: apt-get install postgresql creates it');
  }
}

/**
 * `untilExit`: the server is stopped when this process exits instead of by
 * stop(), and does not keep the process alive meanwhile. `durable`: keep
 * PostgreSQL's default fsync and synchronous commit, as the chart's server
 * runs (the benchmark needs that; tests trade it for speed).
 */
export async function startPostgres(options: { untilExit?: boolean; durable?: boolean } = {}): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'mw-pg-'));
  const user = runAs();
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const port = await freePort();
  execFileSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], {
    stdio: 'ignore',
    ...user,
  });
  const serve = () =>
    spawn(
      join(bin, 'postgres'),
      [
        '-D',
        data,
        '-p',
        String(port),
        '-k',
        dir,
        '-c',
        'listen_addresses=127.0.0.1',
        ...(options.durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
      ],
      { stdio: 'ignore', ...user },
    );
  let child = serve();
  if (options.untilExit) {
    child.unref();
    process.once('exit', () => {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const accepting = () =>
    waitFor(`PostgreSQL on port ${port}`, async () => {
      const client = new pg.Client({ connectionString: url });
      try {
        await client.connect();
        await client.query('select 1');
        return true;
      } finally {
        await client.end().catch(() => {});
      }
    });
  await accepting();
  return {
    url,
    async stop() {
      await stopProcess(child, 'SIGINT');
      rmSync(dir, { recursive: true, force: true });
    },
    crash: () => stopProcess(child, 'SIGQUIT'),
    async start() {
      child = serve();
      await accepting();
    },
  };
}

/** A fresh, empty database on a running server, so tests sharing a server never see each other's rows. */
export async function createDatabase(server: PostgresServer, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    await client.query(`create database "${name}"`);
  } finally {
    await client.end();
  }
  return server.url.replace(/\/postgres$/, `/${name}`);
}
