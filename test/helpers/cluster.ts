import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { waitFor as poll } from './ports.ts';
import { parseAllDocuments } from 'yaml';
import type { Helm } from './helm.ts';
import { CHART, ROOT } from './helm.ts';
import type { Manifest } from './kubernetes.ts';

// The test cluster of hack/cluster-local.sh: hack/test.sh starts it
// before the suite and stops it after, and exports where it is. Every test
// works in namespaces of its own, so test files share one cluster safely.

export interface Cluster {
  kubeconfig: string;
  kubectl: string;
  dir: string;
  gitUrl: string;
}

export function cluster(): Cluster {
  const { KUBECONFIG, KUBECTL_BIN, MAIL_WORKER_CLUSTER_DIR, MAIL_WORKER_CLUSTER_GIT_URL } = process.env;
  if (!KUBECONFIG || !KUBECTL_BIN || !MAIL_WORKER_CLUSTER_DIR || !MAIL_WORKER_CLUSTER_GIT_URL) {
    throw new Error(
      'no test cluster: run the suite through hack/test.sh, which starts one, or start it yourself with ' +
        '`hack/cluster-local.sh up` and `eval "$(hack/cluster-local.sh env)"`',
    );
  }
  return { kubeconfig: KUBECONFIG, kubectl: KUBECTL_BIN, dir: MAIL_WORKER_CLUSTER_DIR, gitUrl: MAIL_WORKER_CLUSTER_GIT_URL };
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program without blocking the event loop (a test may serve HTTP meanwhile). */
export function run(
  bin: string,
  args: string[],
  options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: ROOT, env: { ...process.env, ...options.env }, timeout: options.timeoutMs ?? 120_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    // A program that exits before reading its input closes the pipe: its
    // exit status and stderr say why, not an uncaught EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** kubectl against the test cluster; throws with kubectl's message when it fails. */
export async function kubectl(args: string[], input?: string): Promise<string> {
  const c = cluster();
  const result = await run(c.kubectl, ['--kubeconfig', c.kubeconfig, ...args], { input });
  if (result.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr.trim()}`);
  return result.stdout;
}

export async function getJson<T = Manifest>(args: string[]): Promise<T> {
  return JSON.parse(await kubectl(['get', '-o', 'json', ...args])) as T;
}

/** Applies objects given as YAML text (server-side, as Helm 4 and Argo CD do). */
export async function apply(yaml: string, namespace?: string): Promise<void> {
  await kubectl(
    ['apply', '--server-side', '--field-manager', 'mail-worker-tests', ...(namespace ? ['-n', namespace] : []), '-f', '-'],
    yaml,
  );
}

/**
 * waitFor at an API server's pace (once a second, two minutes by default),
 * with the state `describe` finds added to a time-out.
 */
export function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 120_000,
  describe?: () => Promise<string>,
): Promise<T> {
  return poll(what, check, timeoutMs, { intervalMs: 1000, describe });
}

/** A values file holding VALUES (typed, unlike --set-string), in a temporary folder. */
export function valuesFile(values: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'values-')), 'values.yaml');
  writeFileSync(file, JSON.stringify(values)); // JSON is YAML
  return file;
}

/** A fresh namespace for one test, deleted (without waiting) when it ends. */
export async function namespace(t: Test, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`.slice(0, 63);
  await kubectl(['create', 'namespace', name]);
  t.teardown(() => kubectl(['delete', 'namespace', name, '--wait=false']).then(() => undefined));
  return name;
}

/** helm against the test cluster; throws with Helm's message when it fails. */
export async function helmRun(h: Helm, args: string[], timeoutMs = 600_000): Promise<string> {
  const c = cluster();
  const result = await run(h.bin, ['--kubeconfig', c.kubeconfig, ...args], { timeoutMs });
  if (result.status !== 0) throw new Error(`${h.name} ${args.join(' ')}: ${(result.stderr || result.stdout).trim()}`);
  return result.stdout;
}

export interface Release {
  name: string;
  namespace: string;
}

/**
 * The flags scripts/deploy.sh gives every install and upgrade
 * (helm_release_flags in scripts/lib/common.sh, which says why): on Helm
 * 4, client-side apply and the legacy wait.
 */
export function releaseFlags(h: Helm): string[] {
  return h.name === 'Helm 4' ? ['--server-side=false', '--wait=legacy', '--timeout=5m'] : ['--wait', '--timeout=5m'];
}

export async function helmInstall(
  h: Helm,
  release: Release,
  valuesFiles: string[] = [],
  set: Record<string, string> = {},
): Promise<string> {
  return helmRun(h, [
    'install',
    release.name,
    CHART,
    '--namespace',
    release.namespace,
    ...releaseFlags(h),
    ...valuesFiles.flatMap((f) => ['-f', f]),
    ...Object.entries(set).flatMap(([k, v]) => ['--set-string', `${k}=${v}`]),
  ]);
}

/** `helm upgrade` of a release of the chart with the suite's flags, then ARGS (values, --reuse-values, …). */
export function helmUpgrade(h: Helm, release: Release, args: string[]): Promise<string> {
  return helmRun(h, ['upgrade', release.name, CHART, '--namespace', release.namespace, ...releaseFlags(h), ...args]);
}

/** The objects of a release's current revision, as Helm stored them (hooks included). */
export async function releaseObjects(h: Helm, release: Release): Promise<Manifest[]> {
  const [manifest, hooks] = await Promise.all([
    helmRun(h, ['get', 'manifest', release.name, '-n', release.namespace]),
    helmRun(h, ['get', 'hooks', release.name, '-n', release.namespace]),
  ]);
  return [manifest, hooks].flatMap((text) =>
    parseAllDocuments(text)
      .map((d) => d.toJS() as Manifest | null)
      .filter((m): m is Manifest => m !== null),
  );
}

/** Every Secret's data in a namespace, name → key → value (bytes as base64, compared as is). */
export async function secretData(ns: string): Promise<Record<string, Record<string, string>>> {
  const list = await getJson<{ items: { metadata: { name: string }; type: string; data?: Record<string, string> }[] }>([
    'secrets',
    '-n',
    ns,
  ]);
  return Object.fromEntries(list.items.filter((s) => s.type !== 'helm.sh/release.v1').map((s) => [s.metadata.name, s.data ?? {}]));
}

interface PodList {
  items: {
    metadata: { name: string; ownerReferences?: { kind: string }[] };
    status?: {
      phase?: string;
      conditions?: { type: string; status: string }[];
      containerStatuses?: { state?: { waiting?: { reason?: string; message?: string } } }[];
    };
  }[];
}

/** Pods that are neither Ready nor a finished Job's, each with what holds it. */
export async function podsNotReady(ns: string): Promise<string[]> {
  const pods = await getJson<PodList>(['pods', '-n', ns]);
  return pods.items
    .filter((p) => p.status?.phase !== 'Succeeded' && !p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
    .map((p) => {
      const waiting = p.status?.containerStatuses?.find((s) => s.state?.waiting)?.state?.waiting;
      return `${p.metadata.name} (${p.status?.phase}${waiting ? `, ${waiting.reason}: ${waiting.message}` : ''})`;
    });
}

/** `kubectl get all`-style summary for failure messages. */
export async function describeNamespace(ns: string): Promise<string> {
  return kubectl(['get', 'pods,jobs,rollouts,pvc', '-n', ns]).catch((e: Error) => e.message);
}
