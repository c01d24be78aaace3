// What both benchmarks share: the service as the image runs it, progress
// output, reading a process's memory and CPU from /proc, and following a run.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { spawnService } from '../../test/helpers/process.ts';
import { chartMemoryLimit, nodeOptionsFor } from './node-options.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The production artifact, as the image runs it (hack/bench.sh builds it first). */
export const MAIN = join(ROOT, 'service/dist/main.js');

/** Web and worker run with the NODE_OPTIONS the chart gives them. */
export const chartNodeOptions = (component: 'web' | 'worker') =>
  nodeOptionsFor(chartMemoryLimit(join(ROOT, 'charts/mail-worker/values.yaml'), component));

export const step = (text: string) => process.stderr.write(`\n==> ${text}\n`);

/** A stand-in for tap's Test: the helpers only need teardown. */
export const teardowns: Array<() => unknown> = [];
export const t = { teardown: (fn: () => unknown) => teardowns.push(fn) } as unknown as Parameters<typeof spawnService>[0];

/** Runs main, then every teardown (last registered first), whatever happened. */
export function runBenchmark(main: () => Promise<void>): void {
  main()
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    })
    .finally(async () => {
      for (const teardown of teardowns.reverse()) await Promise.resolve(teardown()).catch(() => {});
      process.exit();
    });
}

/** Resident memory of a process (VmRSS) and its peak since start (VmHWM), in MB. */
export function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** Fields of /proc/PID/stat after the command name (which may hold spaces). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // the process has ended
  }
}

/**
 * User and system CPU seconds a process has used, with those of its children
 * that have ended (Linux counts in ticks of 1/100 s). Without the children,
 * PostgreSQL's autovacuum workers and backends that end between two readings
 * take their CPU with them: its CPU per mail came out too low, and once below
 * zero.
 */
export function cpuSeconds(pid: number): number {
  const fields = statFields(pid);
  // utime, stime, cutime, cstime: fields 14 to 17 of /proc/PID/stat.
  return fields ? fields.slice(11, 15).reduce((sum, ticks) => sum + Number(ticks), 0) / 100 : 0;
}

/** The process and everything it started (PostgreSQL's backends, for one). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const parent = Number(statFields(pid)?.[1]);
    children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i] as number) ?? []));
  return tree;
}

/** Busy and total CPU seconds of the whole machine, all cores (from /proc/stat). */
export function machineCpu(): { busy: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] as string).split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0) / 100;
  const idle = ((fields[3] ?? 0) + (fields[4] ?? 0)) / 100; // idle and iowait
  return { busy: total - idle, total };
}

/** The processor's model, for the figures' caption. */
export function cpuModel(): string {
  return /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown';
}

/**
 * This machine's speed on one core, to read figures taken on another: a
 * fixed loop of JavaScript (a job's payload to JSON and back, 200,000 times),
 * in thousands per second. A slower machine shows here, a slower program does not.
 */
export function oneCoreSpeed(): number {
  const job = { runId: 1, recipientId: 0, name: 'Bench Recipient', email: 'bench@bench.test', failureRate: 0.3, relayLatencyMs: 0 };
  const rounds = 200_000;
  const started = performance.now();
  let sum = 0;
  for (let i = 0; i < rounds; i++) sum += (JSON.parse(JSON.stringify({ ...job, recipientId: i })) as typeof job).recipientId;
  if (sum !== (rounds * (rounds - 1)) / 2) throw new Error('the speed loop miscounted');
  return rounds / (performance.now() - started);
}

/** The median of some runs' figures, and their lowest and highest. */
export function spread(values: number[]): { median: number; low: number; high: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median =
    sorted.length % 2 ? (sorted[Math.floor(middle)] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { median, low: sorted[0] as number, high: sorted[sorted.length - 1] as number };
}

export async function post(url: string, body: unknown) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  return response.json() as Promise<{ id: number }>;
}

/**
 * Waits for the run to finish, showing its progress: in place on a terminal,
 * a line every two seconds in a log. It polls as the dashboard does, once a
 * second, so the figures carry the load of a learner's open page and not the
 * benchmark's own; only until the first outcome every 50 ms, to time it.
 * Answers when (on performance.now()'s clock) it first saw an outcome, and
 * when the service recorded the run's finish.
 */
export async function finished(base: string, id: number, label = `run ${id}`): Promise<{ firstOutcomeAt: number; finishedAt: number }> {
  let lastLine = 0;
  let firstOutcomeAt: number | undefined;
  for (;;) {
    const run = (await (await fetch(`${base}/api/runs/${id}`)).json()) as {
      finishedAt: string | null;
      sent: number;
      failed: number;
      total: number;
    };
    firstOutcomeAt ??= run.sent + run.failed > 0 ? performance.now() : undefined;
    const progress = `  ${label}: ${run.sent + run.failed}/${run.total}`;
    if (process.stderr.isTTY) process.stderr.write(`\r${progress} `);
    else if (run.finishedAt || performance.now() - lastLine >= 2000) {
      process.stderr.write(`${progress}\n`);
      lastLine = performance.now();
    }
    if (run.finishedAt) {
      if (process.stderr.isTTY) process.stderr.write('\n');
      // The service's clock is this machine's: its time of day, moved to performance.now()'s.
      const finishedAt = Date.parse(run.finishedAt) - performance.timeOrigin;
      return { firstOutcomeAt: firstOutcomeAt ?? finishedAt, finishedAt };
    }
    await new Promise((resolve) => setTimeout(resolve, firstOutcomeAt === undefined ? 50 : 1000));
  }
}
