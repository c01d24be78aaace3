import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ROOT } from './helpers/helm.ts';
import { runToEnd } from './helpers/process.ts';

// scripts/scenario.sh itself, on a guide of its own: the kinds of steps the
// real guides use (test/real-node/ walks those), numbering, --from/--to,
// --cleanup, and a failing step stopping an unattended walk.

const dir = mkdtempSync(join(tmpdir(), 'mw-scenario-'));
const marks = join(dir, 'marks');
const guide = join(dir, 'demo.md');
writeFileSync(
  guide,
  `# Demo

## Commands

\`\`\`sh
echo one >> ${marks}
\`\`\`

### Keep it running

\`\`\`sh background
echo started >> ${marks}; exec sleep 600
\`\`\`

\`\`\`sh watch
echo watching >> ${marks}; while :; do sleep 1; done
\`\`\`

\`\`\`
not a step
\`\`\`

## Cleanup

\`\`\`sh
echo cleanup >> ${marks}
\`\`\`
`,
);
const scenario = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runToEnd(join(ROOT, 'scripts/scenario.sh'), args, { cwd: dir, env: { ...process.env, WATCH_SECONDS: '1', ...env } });
const read = () => readFileSync(marks, 'utf8').trim().split('\n');
const reset = () => writeFileSync(marks, '');

t.test('--dry-run numbers the steps and names their kind', async (t) => {
  const result = await scenario(['demo.md', '--dry-run']);
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, /\[1\/4\] Commands/);
  t.match(result.stdout, /\[2\/4\] Keep it running \(background\)/);
  t.match(result.stdout, /\[3\/4\] Keep it running \(watch\)/);
  t.match(result.stdout, /\[4\/4\] Cleanup/);
  t.notMatch(result.stdout, /not a step/, 'a plain fence is not a step');
});

t.test('--yes runs every step; a watch ends after WATCH_SECONDS; a background step is stopped at the end', async (t) => {
  reset();
  const started = Date.now();
  const result = await scenario(['demo.md', '--yes']);
  t.equal(result.status, 0, result.stderr);
  // The background step starts beside the watch: its mark may come first or second.
  const steps = read();
  t.same([steps[0], steps[3]], ['one', 'cleanup'], 'the steps ran in order');
  t.same(steps.slice(1, 3).sort(), ['started', 'watching'], 'the background step and the watch both ran');
  t.ok(Date.now() - started < 60_000, 'neither the watch nor the background step held the walk');
  const log = join(tmpdir(), 'mail-worker-scenario-demo');
  t.match(result.stderr, new RegExp(`its output: ${log}/step-2.log`), 'the background step says where its output goes');
  const sleepers = await runToEnd('pgrep', ['-f', 'exec sleep 600']);
  t.equal(sleepers.stdout.trim(), '', 'the background step no longer runs');
});

t.test('--from, --to and --cleanup pick steps', async (t) => {
  reset();
  t.equal((await scenario(['demo.md', '--yes', '--from', '4'])).status, 0);
  t.same(read(), ['cleanup']);
  reset();
  t.equal((await scenario(['demo.md', '--yes', '--to', '1'])).status, 0);
  t.same(read(), ['one']);
  reset();
  t.equal((await scenario(['demo.md', '--yes', '--cleanup'])).status, 0);
  t.same(read(), ['cleanup']);
  const beyond = await scenario(['demo.md', '--yes', '--from', '9']);
  t.equal(beyond.status, 1);
  t.match(beyond.stderr, /has 4 steps, not 9/);
});

t.test('an unattended walk stops at the first failing step, naming it', async (t) => {
  const broken = join(dir, 'broken.md');
  writeFileSync(broken, readFileSync(guide, 'utf8').replace(`echo one >> ${marks}`, 'no-such-command-here'));
  reset();
  const result = await scenario(['broken.md', '--yes']);
  t.equal(result.status, 1);
  t.match(result.stderr, /step 1 failed \(exit 127\)/);
  t.match(result.stderr, /--from 1/, 'it says how to go on');
  t.same(readFileSync(marks, 'utf8'), '', 'no later step ran');
});

t.test('a fence of another kind is refused', async (t) => {
  const odd = join(dir, 'odd.md');
  writeFileSync(odd, '## Commands\n\n```sh later\necho\n```\n');
  const result = await scenario(['odd.md', '--dry-run']);
  t.equal(result.status, 1);
  t.match(result.stderr, /not sh, sh background or sh watch/);
});
