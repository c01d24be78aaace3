import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import type { Test } from 'tap';
import { ROOT } from './helm.ts';
import { waitFor } from './cluster.ts';
import { sharedDockerEngine } from './docker-engine.ts';
import { runToEnd } from './process.ts';
import { realNamespace } from './real-node.ts';

// A guide walked as a learner types it: scripts/scenario.sh --yes runs the
// guide's own ```sh blocks, with the scripts they call, on the test cluster
// (hack/cluster-local.sh up --real), which stands in for the kind cluster of
// scripts/cluster-up.sh: its env puts kubectl, helm, the `kubectl argo
// rollouts` plugin and the argocd CLI on PATH; Traefik answers
// http://mail-worker.localhost/; scripts/image.sh loads into the real node;
// scripts/install-addons.sh checks the add-ons the cluster runs itself.

/**
 * Prepares the walk: the guide's namespace sends its pods to the real node
 * (a one-node kind cluster needs no such thing), and the harness's shared
 * Docker Engine builds what scripts/image.sh builds.
 */
export async function prepareWalk(t: Test, namespaces: string[]): Promise<NodeJS.ProcessEnv> {
  for (const name of namespaces) await realNamespace(t, name, { exact: true });
  return { ...process.env, DOCKER_HOST: sharedDockerEngine(t), WATCH_SECONDS: '8' };
}

export interface Walk {
  status: number | null;
  /** What the learner's terminal shows: the steps, the commands' output and the scripts' messages, in order. */
  output: string;
}

/**
 * A terminal's text as it shows: a line rewritten in place with \r (load.sh's
 * progress) shows its last version. (A raw \r in a TAP comment also breaks
 * the TAP stream.)
 */
function asShown(text: string): string {
  return text
    .split('\n')
    .map((line) => line.replace(/\r+$/, '').split('\r').at(-1))
    .join('\n');
}

/**
 * Runs scripts/scenario.sh GUIDE --yes ARGS (e.g. --from 2 --to 3) in the
 * repository at ROOT (or a learner's clone of it) and returns its terminal.
 */
export function walk(env: NodeJS.ProcessEnv, guide: string, args: string[], root = ROOT): Promise<Walk> {
  return new Promise((resolve) => {
    const child = spawn(join(root, 'scripts/scenario.sh'), [guide, '--yes', ...args], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (status) => resolve({ status, output: asShown(output) }));
  });
}

/** Walks steps FROM to TO and fails the test, showing the terminal, when a step fails. */
export async function walkSteps(t: Test, env: NodeJS.ProcessEnv, guide: string, from: number, to = from, root = ROOT): Promise<string> {
  const started = Date.now();
  const result = await walk(env, guide, ['--from', String(from), '--to', String(to)], root);
  const seconds = Math.round((Date.now() - started) / 1000);
  t.equal(result.status, 0, `docs/guides/${guide}.md, steps ${from} to ${to}, ran to their end (${seconds} s)`, {
    terminal: result.output.slice(-6000),
  });
  t.comment(stripVTControlCharacters(result.output).trimEnd().split('\n').slice(-25).join('\n'));
  return result.output;
}

/** The last scripts/versions.sh drawing in a terminal: calls answered per version. */
export function versionShares(output: string): Record<string, number> {
  const lines = output.split('\n');
  const drawing: Record<string, number> = {};
  // Its lines are consecutive; take the last group.
  for (let i = lines.length - 1; i >= 0; i--) {
    const match = /^(\S+)\s+#*\s+(\d+)\s+\d+%$/.exec(lines[i]!);
    if (match) drawing[match[1]!] = Number(match[2]);
    else if (Object.keys(drawing).length > 0) break;
  }
  return drawing;
}

/** Runs scripts/versions.sh now, as a learner would between steps, and reads its drawing. */
export async function versionsNow(env: NodeJS.ProcessEnv): Promise<Record<string, number>> {
  const result = await runToEnd(join(ROOT, 'scripts/versions.sh'), [], { env });
  if (result.status !== 0) throw new Error(`scripts/versions.sh failed: ${result.stderr}`);
  return versionShares(result.stdout);
}

/**
 * Until scripts/versions.sh draws EXPECTED: after a switch, Traefik applies
 * the new endpoints within its providers' throttle (2 s), so a drawing made
 * at once may still show a few calls of the old version, as a learner's would.
 */
export function settlesTo(env: NodeJS.ProcessEnv, expected: Record<string, number>): Promise<Record<string, number>> {
  const wanted = JSON.stringify(expected);
  return waitFor(`scripts/versions.sh to draw ${wanted}`, async () => {
    const drawn = await versionsNow(env);
    return JSON.stringify(drawn) === wanted ? drawn : undefined;
  });
}

/** The share of calls VERSION answered in a drawing. */
export const share = (drawn: Record<string, number>, version: string) =>
  (drawn[version] ?? 0) / Object.values(drawn).reduce((a, b) => a + b, 0);
