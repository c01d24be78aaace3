import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Test } from 'tap';
import { ROOT } from './helm.ts';
import { run } from './cluster.ts';

/**
 * The DOCKER_HOST of the harness's shared Docker Engine
 * (hack/docker-engine.sh --shared). hack/test.sh keeps it running while its
 * two lanes run side by side (MAIL_WORKER_ENGINE_HELD=1), so the end of one
 * test never stops the engine under another's build; a test run on its own
 * starts it and stops it when it ends.
 */
export function sharedDockerEngine(t: Test): string {
  const up = execFileSync(join(ROOT, 'hack/docker-engine.sh'), ['up', '--shared'], { encoding: 'utf8' });
  if (!process.env.MAIL_WORKER_ENGINE_HELD) {
    t.teardown(() => run(join(ROOT, 'hack/docker-engine.sh'), ['down', '--shared']).then(() => undefined));
  }
  return up.trim().replace(/^DOCKER_HOST=/, '');
}
