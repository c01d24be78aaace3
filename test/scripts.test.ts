import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ROOT as root } from './helpers/helm.ts';

// Every shell file git knows: the learner's scripts/, the harness's hack/
// (and the libraries both source), the stand-in images' entrypoints, .ci/run.
const tracked = (pattern: string) =>
  execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', pattern], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f && existsSync(join(root, f)));
const shellFiles = [...tracked('*.sh'), '.ci/run'];
/** The commands a person runs: the scripts at the top of scripts/ and hack/. */
const scripts = shellFiles.filter((f) => /^(scripts|hack)\/[^/]+\.sh$/.test(f));

t.test('every script passes shellcheck', async (t) => {
  let version: string;
  try {
    version = execFileSync('shellcheck', ['--version'], { encoding: 'utf8' });
  } catch {
    throw new Error('shellcheck is missing: apt-get install shellcheck (hack/test.sh does this)');
  }
  t.match(version, /version/);
  t.ok(shellFiles.includes('hack/cluster/real-node.sh') && shellFiles.includes('scripts/lib/common.sh'), 'libraries are checked too');
  const result = spawnSync('shellcheck', ['--severity=style', '--external-sources', ...shellFiles], { cwd: root, encoding: 'utf8' });
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
  const texts = [...shellFiles, ...tracked('hack/*.ts')]
    .filter((f) => f !== 'scripts/lib/versions.sh')
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

t.test("the scripts read a run's own counts from its answer, not its pods'", async (t) => {
  // GET /api/runs/:id, shortened: the run's figures, then a list that repeats their names.
  const answer = JSON.stringify({
    id: 3,
    sent: 4000,
    failed: 2,
    status: 'completed',
    failures: [{ email: 'a@x.test', error: 'a "sent": 1 in a reason' }],
    pods: [
      { pod: 'worker-a', sent: 3118, failed: 2 },
      { pod: 'worker-b', sent: 882, failed: 0 },
    ],
  });
  const read = (name: string) =>
    spawnSync('bash', ['-euo', 'pipefail', '-c', `source scripts/lib/api.sh; value="$(field ${name})"; echo "[$value]"`], {
      cwd: root,
      input: answer,
      encoding: 'utf8',
    });
  for (const [name, value] of [
    ['sent', '4000'],
    ['failed', '2'],
    ['status', 'completed'],
    ['pod', 'worker-a'],
    ['missing', ''],
  ]) {
    const result = read(name!);
    t.equal(result.status, 0, `field ${name} succeeds under set -e and pipefail`);
    t.equal(result.stdout.trim(), `[${value}]`, `field ${name}`);
  }
});
