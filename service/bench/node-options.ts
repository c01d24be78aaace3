import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/**
 * The NODE_OPTIONS the chart gives a container with this memory limit
 * (mail-worker.nodeOptions in charts/mail-worker/templates/_helpers.tpl), so
 * the benchmark runs web and worker as they run in a cluster. The chart test
 * checks that both agree.
 */
export function nodeOptionsFor(memoryLimit: string): string {
  const mi = memoryLimit.endsWith('Gi') ? Number(memoryLimit.slice(0, -2)) * 1024 : Number(memoryLimit.replace(/Mi$/, ''));
  const semiSpace = Math.max(1, Math.min(16, Math.floor(mi / 64)));
  return `--max-old-space-size=${Math.floor((mi * 3) / 4)} --max-semi-space-size=${semiSpace}`;
}

/** The memory limit of a component in the chart's default values. */
export function chartMemoryLimit(valuesFile: string, component: 'web' | 'worker'): string {
  const values = parse(readFileSync(valuesFile, 'utf8')) as Record<string, { resources: { limits: { memory: string } } }>;
  const limit = values[component]?.resources.limits.memory;
  if (limit === undefined) throw new Error(`${valuesFile}: no ${component}.resources.limits.memory`);
  return limit;
}
