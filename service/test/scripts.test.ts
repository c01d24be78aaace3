import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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
  const lib = readdirSync(join(root, 'scripts/lib'))
    .filter((f) => f.endsWith('.sh'))
    .map((f) => join('scripts/lib', f));
  const files = [...scripts, ...lib, '.ci/run'];
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

t.test('every pinned version lives in scripts/lib/versions.sh', async (t) => {
  const versions = readFileSync(join(root, 'scripts/lib/versions.sh'), 'utf8');
  const pinned = [...versions.matchAll(/^([A-Z0-9_]+)=(\S+)$/gm)];
  t.ok(pinned.length >= 10, `${pinned.length} versions pinned`);
  for (const [, name, value] of pinned) {
    t.match(value, /^v?\d+\.\d+\.\d+$/, `${name} is an exact version, not a range or a moving tag`);
  }
  // Every script names versions only through those variables.
  const texts = [...scripts, ...readdirSync(join(root, 'scripts/lib')).map((f) => join('scripts/lib', f))]
    .filter((f) => /\.(sh|ts)$/.test(f) && !f.endsWith('versions.sh'))
    .map((f) => [f, readFileSync(join(root, f), 'utf8')] as const);
  for (const [file, text] of texts) {
    t.same(text.match(/\bv\d+\.\d+\.\d+\b|--version \d/g), null, `${file} hard-codes no version`);
  }
  for (const [, name] of pinned) {
    t.ok(
      texts.some(([, text]) => text.includes(`$${name}`) || text.includes(`\${${name}`)),
      `${name} is used`,
    );
  }
});
