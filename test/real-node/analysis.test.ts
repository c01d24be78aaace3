import t from 'tap';
import { getJson } from '../helpers/cluster.ts';
import { prepareWalk, walk, walkSteps } from '../helpers/guides.ts';
import { healthy, rollout } from '../helpers/rollouts.ts';

// docs/guides/analysis.md, walked as a learner types it (scripts/scenario.sh
// --yes on the real node): staging judged by the chart's AnalysisTemplate,
// with the guide's own values (60 s pauses, a measurement every 30 s). The
// test cluster's Prometheus stands in for kube-prometheus-stack at its
// address and scrapes what the chart's PodMonitors select; the load is the
// guide's scripts/load.sh through Traefik. A version answering half its
// calls with 500s is aborted; the same version without the fault passes,
// measured, not let through for lack of data.

t.setTimeout(1_800_000);
const ns = 'mail-staging';
const env = await prepareWalk(t, [ns]);
t.teardown(() => walk(env, 'analysis', ['--cleanup']));

interface AnalysisRun {
  metadata: { creationTimestamp: string };
  status?: { phase?: string; metricResults?: { name: string; phase: string; measurements?: { value?: string }[] }[] };
}
/** The newest AnalysisRun: its phase and each metric's measurements. */
async function latestAnalysis(): Promise<AnalysisRun | undefined> {
  const runs = await getJson<{ items: AnalysisRun[] }>(['analysisruns', '-n', ns]);
  return runs.items.sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp)).pop();
}
/** The success-rate measurements of an AnalysisRun; each value is the query's result as text, e.g. "[0.49]". */
function successRates(analysis: AnalysisRun | undefined): number[] {
  const metric = analysis?.status?.metricResults?.find((m) => m.name === 'success-rate');
  return (metric?.measurements ?? []).map((m) => Number(/NaN|[-\d.e]+/.exec(m.value ?? '')?.[0]));
}

t.test('staging at v1', async (t) => {
  await walkSteps(t, env, 'analysis', 1);
  t.ok(healthy(await rollout(ns)), 'the Rollout is Healthy');
});

t.test('a version answering half its calls with 500s is aborted by the analysis', async (t) => {
  const stable = (await rollout(ns)).status?.stableRS;
  const output = await walkSteps(t, env, 'analysis', 2, 3);
  t.match(output, /Degraded/, 'the guide shows the Rollout Degraded');
  const r = await rollout(ns);
  t.equal(r.status?.abort, true, 'the controller aborted the release');
  t.match(r.status?.message, /success-rate/, `the Rollout says why: ${r.status?.message}`);
  t.equal(r.status?.stableRS, stable, 'the stable ReplicaSet never changed');
  const analysis = await latestAnalysis();
  t.equal(analysis?.status?.phase, 'Failed', 'the AnalysisRun failed');
  const rates = successRates(analysis);
  t.ok(
    rates.some((rate) => rate < 0.95),
    `the canary's measured success rates: ${rates.map((rate) => rate.toFixed(2)).join(', ')}`,
  );
});

t.test('the same version without the fault passes the analysis, measured', async (t) => {
  await walkSteps(t, env, 'analysis', 4, 5);
  const r = await rollout(ns);
  t.ok(healthy(r) && r.status?.stableRS === r.status?.currentPodHash && !r.status?.abort, 'the fixed version is stable');
  const analysis = await latestAnalysis();
  const rates = successRates(analysis);
  // The first measurement may come before the canary's first scrape: no
  // data, Inconclusive, which the chart tolerates once (inconclusiveLimit).
  const measured = rates.filter((rate) => Number.isFinite(rate));
  t.ok(rates.length - measured.length <= 1, `at most one measurement without data: ${rates.join(', ')}`);
  t.ok(
    measured.length >= 3 && measured.every((rate) => rate >= 0.95),
    `judged on data, each success rate at least 0.95: ${measured.map((rate) => rate.toFixed(2)).join(', ')}`,
  );
  t.equal(
    analysis?.status?.phase,
    'Successful',
    `the AnalysisRun passed (${JSON.stringify(analysis?.status?.metricResults?.map((m) => [m.name, m.phase]))})`,
  );
});
