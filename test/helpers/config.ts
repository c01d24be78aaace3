import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { type Config, loadConfig } from '../../service/src/config.ts';

/**
 * A config for tests: loopback servers, a SQLite file in a fresh folder
 * (removed when the test ends), quiet logs.
 */
export function testConfig(t: Test, env: Record<string, string | undefined>): Config {
  const dir = mkdtempSync(join(tmpdir(), 'mw-app-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: `file:${join(dir, 'test.sqlite')}`,
    FLAGS_FILE: join(dir, 'flags.json'),
    LOG_LEVEL: 'silent',
    SEND_RETRY_DELAY_MS: '10',
    ...env,
  });
}
