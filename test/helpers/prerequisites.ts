import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { join } from 'node:path';
import { apply } from './cluster.ts';
import { ROOT } from './helm.ts';

// What a user creates before installing values that refer to it: the
// Secrets named by existingSecret values, with the keys their secretKeys
// name (the chart's defaults where the values name none), and the PriorityClasses named by
// priorityClassName values. Tests create them as a user would; the test
// cluster's node agent then holds any pod whose key is missing, as a
// kubelet does, and the API server refuses a pod of an unknown priority class.

/** The chart's own values: each existingSecret's secretKeys, with the key names a Secret has by default. */
const CHART_VALUES: unknown = parse(readFileSync(join(ROOT, 'charts/mail-worker/values.yaml'), 'utf8'));
const at = (node: unknown, path: string[]): unknown =>
  path.reduce<unknown>((n, key) => (n && typeof n === 'object' ? (n as Record<string, unknown>)[key] : undefined), node);

/** existingSecret names in a values file, with the keys each must hold (its secretKeys over the chart's defaults). */
export function existingSecrets(valuesFile: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const walk = (node: unknown, path: string[]) => {
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'existingSecret' && typeof value === 'string' && value) {
        const defaults = at(CHART_VALUES, [...path, 'secretKeys']);
        if (!defaults) throw new Error(`${valuesFile}: existingSecret at ${path.join('.')} has no secretKeys in the chart's values`);
        const given = (node as { secretKeys?: object }).secretKeys ?? {};
        const keys = Object.values({ ...defaults, ...given }).filter((k): k is string => typeof k === 'string' && k !== '');
        found.set(value, [...(found.get(value) ?? []), ...keys]);
      } else walk(value, [...path, key]);
    }
  };
  walk(parse(readFileSync(valuesFile, 'utf8')), []);
  return found;
}

/** priorityClassName values anywhere in a values file. */
function priorityClasses(valuesFile: string): Set<string> {
  const found = new Set<string>();
  const walk = (node: unknown) => {
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'priorityClassName' && typeof value === 'string' && value) found.add(value);
      else walk(value);
    }
  };
  walk(parse(readFileSync(valuesFile, 'utf8')));
  return found;
}

/** Creates every Secret (placeholder values of the right shape) and PriorityClass the values files name. */
export async function createPrerequisites(namespace: string, valuesFiles: string[]): Promise<void> {
  for (const file of valuesFiles) {
    for (const [name, keys] of existingSecrets(file)) {
      const data = Object.fromEntries(keys.map((k) => [k, placeholder(k)]));
      await apply(JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: data }), namespace);
    }
    for (const name of priorityClasses(file)) {
      await apply(JSON.stringify({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name }, value: 1000 }));
    }
  }
}

function placeholder(key: string): string {
  switch (key) {
    case 'DATABASE_URL':
      return 'postgres://mailworker:secret@db.example.test:5432/mailworker';
    case 'REDIS_URL':
      return 'redis://redis.example.test:6379/0';
    case 'UNLEASH_API_TOKEN':
      return 'default:development.test-client-token';
    case 'UNLEASH_ADMIN_TOKEN':
      return '*:*.test-admin-token';
    default:
      return `test-${key.toLowerCase()}`;
  }
}
