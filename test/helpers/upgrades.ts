import type { Test } from 'tap';
import { describeNamespace, helmInstall, helmRun, namespace, podsNotReady, releaseFlags, secretData, waitFor } from './cluster.ts';
import { CHART, type Helm } from './helm.ts';

// Upgrades that flip the chart's big toggles, then a rollback, on the real
// API server with the Argo Rollouts controller acting on the Rollouts. This
// is where the chart's `lookup` really runs: every password and token it
// generated must come back byte for byte after each step, or the databases
// and Unleash (which keep the first ones) lock the app out.

const steps: { what: string; set: Record<string, string | boolean> }[] = [
  { what: 'web as a canary Rollout', set: { 'rollout.enabled': true } },
  { what: 'canary → blue-green', set: { 'rollout.strategy': 'blueGreen' } },
  { what: 'blue-green → canary', set: { 'rollout.strategy': 'canary' } },
  { what: 'worker on an HPA', set: { 'worker.autoscaling.mode': 'hpa' } },
  { what: 'worker on KEDA', set: { 'worker.autoscaling.mode': 'keda' } },
  { what: 'worker autoscaling off', set: { 'worker.autoscaling.mode': 'none' } },
  { what: 'Unleash on', set: { 'unleash.enabled': true } },
  { what: 'a new image tag', set: { 'image.tag': '0.1.1' } },
  { what: 'web back to a Deployment', set: { 'rollout.enabled': false } },
];

const pick = (data: Record<string, string>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, data[k]]));

/** Installs the defaults, walks the steps, then rolls back one revision. */
export async function upgradeWalk(t: Test, h: Helm): Promise<void> {
  const ns = await namespace(t, `upgrade-${h.short}`);
  const release = { name: 'mail-worker', namespace: ns };
  await helmInstall(h, release);
  const kept: Record<string, Record<string, string>> = await secretData(ns);
  const values: Record<string, string | boolean> = {};

  const check = async (what: string) => {
    const now = await secretData(ns);
    // A part switched off takes its Secret with it; every other value stays.
    const still = Object.fromEntries(Object.entries(kept).filter(([name]) => now[name]));
    const current = Object.fromEntries(Object.keys(still).map((name) => [name, pick(now[name]!, Object.keys(still[name]!))]));
    t.same(current, still, `${what}: every generated password and token unchanged (${Object.keys(still).join(', ')})`);
    // Secrets that appeared now (Unleash's) must survive the steps after.
    for (const [name, data] of Object.entries(now)) kept[name] = { ...data, ...kept[name] };
    const notReady = await waitFor(
      `${what}: pods Ready`,
      async () => ((await podsNotReady(ns)).length === 0 ? [] : undefined),
      60_000,
      () => describeNamespace(ns),
    ).catch((e: Error) => [e.message]);
    t.same(notReady, [], `${what}: every pod Ready`);
  };

  for (const step of steps) {
    Object.assign(values, step.set);
    const set = Object.entries(values).flatMap(([k, v]) => [typeof v === 'string' ? '--set-string' : '--set', `${k}=${v}`]);
    try {
      await helmRun(h, ['upgrade', release.name, CHART, '-n', ns, ...releaseFlags(h), ...set]);
    } catch (error) {
      t.fail(`upgrade: ${step.what}: ${(error as Error).message}`);
      return;
    }
    await check(`upgrade: ${step.what}`);
  }

  // Back to the revision before the last upgrade: the canary Rollout again,
  // with the Argo Rollouts controller's writes on its Services.
  const history = JSON.parse(await helmRun(h, ['history', release.name, '-n', ns, '-o', 'json'])) as { revision: number }[];
  const previous = history[history.length - 2]!.revision;
  try {
    await helmRun(h, ['rollback', release.name, String(previous), '-n', ns, ...releaseFlags(h)]);
  } catch (error) {
    t.fail(`rollback to ${previous}: ${(error as Error).message}`);
    return;
  }
  await check(`rollback to revision ${previous}`);
}
