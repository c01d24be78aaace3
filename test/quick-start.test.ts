import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ROOT } from './helpers/helm.ts';
import { freePort, listening, waitFor } from './helpers/ports.ts';
import { runToEnd } from './helpers/process.ts';

// The README's quick start as a learner types it: `./scripts/dev.sh` in a
// clean copy of the repository, then the "check it worked" command, whose
// answer must be the one the README prints. Only the ports move off their
// defaults (3000, 6379, 1025), which the machine may be using; nothing
// answers at the Redis port, so dev.sh starts its own redis-server there,
// as it does for a learner, and stops it on Ctrl-C. node_modules is linked
// in rather than installed again (the copy's package-lock.json is the same).

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start') + 1));
const check = /```sh\n(curl [^\n]+)\n# ([^\n]+)\n```/.exec(quickStart);

const copy = mkdtempSync(join(tmpdir(), 'mw-quick-start-'));
execFileSync('bash', ['-c', `git -C "${ROOT}" ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents {} "${copy}"`]);
symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));

/** The command lines of the processes working in `dir` (their current directory under it). */
function runningIn(dir: string): string[] {
  return readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid))
    .flatMap((pid) => {
      try {
        if (!readlinkSync(`/proc/${pid}/cwd`).startsWith(dir)) return [];
        return [readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()];
      } catch {
        return []; // ended meanwhile
      }
    });
}

async function nothingRunsIn(dir: string): Promise<void> {
  await waitFor(`nothing started in ${dir} to run on`, () => runningIn(dir).length === 0, 10_000, {
    describe: async () => `still running: ${runningIn(dir).join('; ')}`,
  });
}

t.test("the README's quick start: ./scripts/dev.sh, then its check", async (t) => {
  t.ok(quickStart.includes('./scripts/dev.sh'), 'the quick start runs ./scripts/dev.sh');
  if (!check) throw new Error('the quick start has no ```sh block with a curl command and its expected output');
  const [, command, expected] = check;

  const [port, redisPort, smtpPort] = [await freePort(), await freePort(), await freePort()];
  const dev = spawn(join(copy, 'scripts/dev.sh'), [], {
    cwd: copy,
    env: { ...process.env, PORT: String(port), REDIS_URL: `redis://localhost:${redisPort}/0`, SMTP_PORT: String(smtpPort) },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, as a terminal gives the command it runs: Ctrl-C
    // reaches the group, so node and bash each see it.
    detached: true,
  });
  let output = '';
  dev.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  dev.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => dev.once('exit', (code) => resolve(code)));
  const group = (signal: NodeJS.Signals) => process.kill(-dev.pid!, signal);
  t.teardown(() => {
    if (dev.exitCode === null) group('SIGKILL');
  });

  // The README's command, with the port the stack listens on.
  const learnerCheck = command!.replace('localhost:3000', `localhost:${port}`);
  const answer = await waitFor(
    'the stack to answer the README check',
    () => {
      const out = execFileSync('bash', ['-c', `${learnerCheck} || true`], { encoding: 'utf8' }).trim();
      return out.includes('"ready"') ? out : undefined;
    },
    120_000,
    { intervalMs: 250, describe: async () => output.slice(-2000) },
  );
  t.equal(answer, expected, `\`${command}\` answers what the README says`);
  t.match(output, /starting redis-server on port \d+/, 'dev.sh started its own Redis, nothing answering at REDIS_URL');
  t.ok(existsSync(join(copy, 'data/mail-worker.sqlite')), 'the SQLite database is under ./data/');

  const redisPid = readFileSync(join(copy, 'data/redis/redis.pid'), 'utf8').trim();
  group('SIGINT'); // Ctrl-C
  const status = await exited;
  t.ok(status === 0 || status === 130, `Ctrl-C stops it (exit ${status})`);
  await waitFor('the Redis dev.sh started to stop', () => (existsSync(`/proc/${redisPid}`) ? undefined : true));
  t.pass('and the Redis it started with it');
  await nothingRunsIn(copy);
  t.pass('nothing it started runs on');
});

// docs/guides/queues.md's local steps, walked by scripts/scenario.sh --yes in
// the same copy: dev.sh with its rate limit in the background, then
// scripts/load.sh, which waits for the stack and queues 2,000 mails.
t.test("the queues guide's local steps: dev.sh in the background, then load.sh", async (t) => {
  const [port, redisPort, smtpPort] = [await freePort(), await freePort(), await freePort()];
  const walked = await runToEnd(join(copy, 'scripts/scenario.sh'), ['queues', '--yes', '--from', '1', '--to', '2'], {
    cwd: copy,
    env: { ...process.env, PORT: String(port), REDIS_URL: `redis://localhost:${redisPort}/0`, SMTP_PORT: String(smtpPort) },
  });
  const terminal = walked.stdout + walked.stderr;
  t.equal(walked.status, 0, 'steps 1 and 2 ran to their end', { terminal });
  t.match(terminal, /importing 2000 recipients \(have 0, need 2000\)/, 'load.sh imported the recipients the run needs');
  t.match(terminal, /run 1\/1: #1, 2000 mails through mail-default/, 'and queued the 2,000 mails, as the guide expects');
  // load.sh reached a Redis at redisPort, the one dev.sh started (nothing
  // else listens there); Redis removes its pid file as it stops, so the port
  // is what tells.
  await waitFor("the Redis of the walk's dev.sh to stop", async () => !(await listening(redisPort)));
  t.pass("the walk's end stopped dev.sh and the Redis it started");
  await nothingRunsIn(copy);
  t.pass('nothing it started runs on');
});
