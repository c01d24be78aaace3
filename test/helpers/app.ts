import type { Test } from 'tap';
import type { Config } from '../../service/src/config.ts';
import { type Mode, type RunningService, startService } from '../../service/src/service.ts';
import { testConfig } from './config.ts';

/**
 * Starts the real service in this process (migrated first) and closes it when
 * the test ends. Requests go through Fastify's inject() or the real port.
 */
export async function startApp(t: Test, mode: Mode, env: Record<string, string | undefined>): Promise<RunningService & { config: Config }> {
  const config = testConfig(t, env);
  await (await startService('migrate', config)).close();
  const service = await startService(mode, config);
  t.teardown(() => service.close());
  return { ...service, config };
}

/** A CSRF token and its cookie, read from a rendered page as a browser would. */
export async function csrfFrom(service: RunningService, url = '/'): Promise<{ token: string; cookie: string }> {
  const page = await service.app!.inject({ method: 'GET', url });
  const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
  const cookie = page.cookies.find((c) => c.name === '_csrf');
  if (!token || !cookie) throw new Error(`no CSRF token on ${url}`);
  return { token, cookie: `_csrf=${cookie.value}` };
}
