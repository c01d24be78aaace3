import type { Test } from 'tap';
import { freePort } from './ports.ts';
import { createDatabase, startPostgres } from './servers.ts';

export const ADMIN_TOKEN = '*:*.mail-worker-test-admin';
export const CLIENT_TOKEN = 'default:development.mail-worker-test-client';

export interface UnleashServer {
  /** The API base the app and the setup command use. */
  url: string;
  stop(): Promise<void>;
  admin(method: string, path: string, body?: unknown): Promise<Response>;
}

/** A real Unleash (the unleash-server package) on PostgreSQL, in this process, with known tokens. */
export async function startUnleash(t: Test): Promise<UnleashServer> {
  // Unleash keeps background jobs on its pool even after stop(); pulling the
  // database from under them mid-suite would crash this process, so its
  // database lives until the process exits.
  const postgres = await startPostgres({ untilExit: true });
  const database = await createDatabase(postgres, 'unleash');
  const port = await freePort();
  const { start } = (await import('unleash-server')) as unknown as { start(options: unknown): Promise<{ stop(): Promise<void> }> };
  const server = await start({
    db: { connectionString: database, ssl: false },
    server: { port, host: '127.0.0.1' },
    logLevel: 'error',
    authentication: {
      initApiTokens: [
        { environment: '*', project: '*', secret: ADMIN_TOKEN, type: 'admin', tokenName: 'test-admin' },
        { environment: 'development', project: 'default', secret: CLIENT_TOKEN, type: 'client', tokenName: 'test-client' },
      ],
    },
  });
  let stopped = false;
  const stop = async () => {
    if (!stopped) await server.stop();
    stopped = true;
  };
  t.teardown(stop);
  const url = `http://127.0.0.1:${port}/api`;
  return {
    url,
    stop,
    admin: (method, path, body) =>
      fetch(`${url}/admin${path}`, {
        method,
        headers: { Authorization: ADMIN_TOKEN, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
  };
}
