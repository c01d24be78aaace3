import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';

const root = new URL('../../', import.meta.url).pathname;
const scripts = [
  ...readdirSync(join(root, 'scripts'))
    .filter((f) => f.endsWith('.sh'))
    .map((f) => join('scripts', f)),
];

t.test('every script passes shellcheck', async (t) => {
  let version: string;
  try {
    version = execFileSync('shellcheck', ['--version'], { encoding: 'utf8' });
  } catch {
    throw new Error('shellcheck is missing: apt-get install shellcheck (scripts/test.sh does this)');
  }
  t.match(version, /version/);
  const files = [...scripts, 'scripts/lib/toolchain.sh', '.ci/run'];
  const result = spawnSync('shellcheck', ['--severity=style', ...files], { cwd: root, encoding: 'utf8' });
  t.equal(result.status, 0, result.stdout);
});

t.test('every script answers --help with its usage', async (t) => {
  t.ok(scripts.length >= 2);
  for (const script of scripts) {
    const result = spawnSync(join(root, script), ['--help'], { cwd: root, encoding: 'utf8', timeout: 10_000 });
    t.equal(result.status, 0, `${script} --help exits 0`);
    t.match(result.stdout, /^usage: /m, `${script} --help prints its usage`);
  }
});
