import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { Manifest } from './kubernetes.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CHART = `${ROOT}charts/mail-worker`;

/** The cluster version rendering and linting assume (kind's current default line). */
export const KUBE_VERSION = 'v1.34.0';

export interface Helm {
  name: 'Helm 4' | 'Helm 3';
  /** h4 or h3, for names such as a test's namespace. */
  short: 'h4' | 'h3';
  bin: string;
}

const HELM_BINS = { 'Helm 4': 'HELM4_BIN', 'Helm 3': 'HELM3_BIN' } as const;

/** One pinned Helm build; hack/test.sh builds both and sets HELM4_BIN and HELM3_BIN. */
function pinnedHelm(name: Helm['name']): Helm {
  const bin = process.env[HELM_BINS[name]];
  if (!bin || !existsSync(bin)) {
    throw new Error(`${name} not found (${HELM_BINS[name]}=${bin ?? ''}): run the suite through hack/test.sh, which builds it with Go`);
  }
  return { name, short: name === 'Helm 4' ? 'h4' : 'h3', bin };
}

/**
 * Helm 4 (what Argo CD 3.5+ bundles), for installs on the test cluster.
 * Helm 3 installs the same way once the flags differ (helm_release_flags), so
 * the cluster runs it only where a learner on Helm 3 could meet something
 * else: test/cluster/helm3.test.ts.
 */
export const helm4 = (): Helm => pinnedHelm('Helm 4');
export const helm3 = (): Helm => pinnedHelm('Helm 3');
/** Both, for rendering and linting, where their template engines can differ. */
export const helms = (): Helm[] => [helm4(), helm3()];

export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function helm(h: Helm, args: string[]): Result {
  const result = spawnSync(h.bin, args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export interface RenderOptions {
  valuesFiles?: string[];
  set?: Record<string, string | number | boolean>;
  namespace?: string;
  release?: string;
}

function renderArgs(options: RenderOptions): string[] {
  return [
    'template',
    options.release ?? 'demo',
    CHART,
    '--namespace',
    options.namespace ?? 'mail',
    '--kube-version',
    KUBE_VERSION,
    ...(options.valuesFiles ?? []).flatMap((f) => ['-f', f]),
    ...Object.entries(options.set ?? {}).flatMap(([k, v]) => [typeof v === 'string' ? '--set-string' : '--set', `${k}=${v}`]),
  ];
}

/** Renders the chart and parses every object; throws with Helm's message when rendering fails. */
export function render(h: Helm, options: RenderOptions = {}): Manifest[] {
  const result = helm(h, renderArgs(options));
  if (result.status !== 0) throw new Error(`${h.name} template failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

/** Renders expecting a refusal; answers Helm's error text. */
export function renderError(h: Helm, options: RenderOptions): string {
  const result = helm(h, renderArgs(options));
  if (result.status === 0) throw new Error(`${h.name} rendered values that should have been refused: ${JSON.stringify(options)}`);
  return result.stderr;
}
