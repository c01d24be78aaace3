import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getJson, kubectl } from '../helpers/cluster.ts';
import { ROOT } from '../helpers/helm.ts';
import { serviceUrl } from '../helpers/real-node.ts';
import { prepareWalk, walk, walkSteps } from '../helpers/guides.ts';
import { healthy, rollout } from '../helpers/rollouts.ts';

// docs/guides/analysis.md, walked as a learner types it (scripts/scenario.sh
// --yes on the real node): staging judged by the chart's AnalysisTemplate,
// with the guide's own values (45 s pauses, a measurement every 20 s). The
// test cluster's Prometheus stands in for kube-prometheus-stack at its
// address and scrapes what the chart's PodMonitors select; the load is
// staging's own load generator (loadGenerator.*), a pod on the real node
// asking the web's Service. A version answering half its
// calls with 500s is aborted; the same version without the fault passes,
// measured, not let through for lack of data.

t.setTimeout(1_800_000);
const ns = 'mail-staging';
const env = await prepareWalk(t, [ns]);
t.teardown(() => walk(env, 'analysis', ['--cleanup']));

interface AnalysisRun {
  metadata: { creationTimestamp: string };
  status?: { phase?: string; metricResults?: { name: string; phase: string; measurements?: { value?: string; finishedAt?: string }[] }[] };
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

/**
 * The chart's Grafana panel TITLE's query, for this namespace, evaluated on
 * the test cluster's Prometheus at AT (RFC 3339): its value per version.
 */
async function byVersion(title: string, at: string | undefined): Promise<Record<string, number>> {
  const dashboard = JSON.parse(readFileSync(join(ROOT, 'charts/mail-worker/files/grafana-dashboard.json'), 'utf8')) as {
    panels: { title: string; targets: { expr: string }[] }[];
  };
  const expr = dashboard.panels.find((p) => p.title === title)?.targets[0]?.expr.replaceAll('$namespace', ns);
  if (!expr) throw new Error(`the dashboard has no panel "${title}"`);
  const prometheus = await serviceUrl('monitoring', 'prometheus-operated', 'web');
  const query = new URLSearchParams({ query: expr, ...(at ? { time: String(Date.parse(at) / 1000) } : {}) });
  const answer = (await (await fetch(`${prometheus}/api/v1/query?${query}`)).json()) as {
    data: { result: { metric: { version: string }; value: [number, string] }[] };
  };
  return Object.fromEntries(answer.data.result.map((r) => [r.metric.version, Number(r.value[1])]));
}

t.test('staging at v1', async (t) => {
  await walkSteps(t, env, 'analysis', 1);
  t.ok(healthy(await rollout(ns)), 'the Rollout is Healthy');
});

t.test('a version answering half its calls with 500s is aborted by the analysis', async (t) => {
  const stable = (await rollout(ns)).status?.stableRS;
  const output = await walkSteps(t, env, 'analysis', 2, 3);
  t.match(output, /Degraded/, 'the guide shows the Rollout Degraded');
  const load = await kubectl(['-n', ns, 'logs', 'deploy/mail-worker-load']);
  t.match(load, /"msg":"\d+s: [^"]*500×\d+/, "the load generator's lines count the canary's 500s");
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

  // What the guide asks a learner to watch in Grafana: the chart's dashboard's
  // by-version panels, their own queries, on the Prometheus the analysis read,
  // at the moment of its last measurement.
  const at = analysis?.status?.metricResults?.find((m) => m.name === 'success-rate')?.measurements?.at(-1)?.finishedAt;
  const errorShare = await byVersion('HTTP error share by version', at);
  const versions = Object.keys(errorShare);
  t.equal(versions.length, 2, `the panel shows both versions: ${JSON.stringify(errorShare)}`);
  const [stableVersion, canaryVersion] = versions.sort((a, b) => (errorShare[a] ?? 0) - (errorShare[b] ?? 0));
  t.ok((errorShare[stableVersion!] ?? 1) < 0.05, `the stable version's error share: ${errorShare[stableVersion!]}`);
  t.ok((errorShare[canaryVersion!] ?? 0) > 0.2, `the canary's error share, as the analysis saw it: ${errorShare[canaryVersion!]}`);
  t.same(
    Object.keys(await byVersion('Requests per second by version', at)).sort(),
    versions.sort(),
    'and its requests per second, per version',
  );
});

t.test('the same version without the fault passes the analysis, measured', async (t) => {
  await walkSteps(t, env, 'analysis', 4);
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
