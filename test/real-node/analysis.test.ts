import { join } from 'node:path';
import t from 'tap';
import { describeNamespace, getJson, podsNotReady, valuesFile, waitFor } from '../helpers/cluster.ts';
import { ROOT, helm4 } from '../helpers/helm.ts';
import { query, startPrometheus } from '../helpers/prometheus.ts';
import {
  installOnRealNode,
  keepRunningInCluster,
  realImageValues,
  realImages,
  realNamespace,
  upgradeOnRealNode,
} from '../helpers/real-node.ts';
import { healthy, rollout, untilRollout } from '../helpers/rollouts.ts';

// docs/guides/analysis.md on real pods: the staging environment (a canary
// judged by the chart's AnalysisTemplate), a Prometheus scraping the web
// pods, and traffic from inside the cluster. A new version with
// faults.errorRate 0.5 really answers half its calls with 500s, Prometheus
// really counts them, and the Rollouts controller aborts; the same version
// without faults passes and is promoted. The guide's 60 s pauses and 30 s
// measurements are shortened to keep the suite's budget; the queries,
// thresholds and failure limit are the chart's.

t.setTimeout(1_200_000);
const helm = helm4();
const ns = await realNamespace(t, 'real-analysis');
const images = realImages();
const prometheus = await startPrometheus(t, ns);
const quicker = valuesFile({
  web: { replicas: 3 },
  rollout: {
    // Long enough at 34% for the analysis's measurements to see the canary's
    // first minute of answers (the queries rate over [1m]).
    canary: { steps: [{ setWeight: 34 }, { pause: { duration: '90s' } }, { setWeight: 67 }, { pause: { duration: '20s' } }] },
    analysis: { prometheusAddress: prometheus.url, interval: '10s', count: 5 },
  },
});
const LOAD_RATE = 'sum(rate(http_requests_total{route="/api/runs"}[30s]))';
const describe = async () =>
  `${await describeNamespace(ns)}\nnewest AnalysisRun: ${JSON.stringify((await latestAnalysis())?.status ?? null)}`;

interface AnalysisRun {
  metadata: { creationTimestamp: string };
  status?: { phase?: string; metricResults?: { name: string; phase: string; measurements?: { value?: string }[] }[] };
}
/** The newest AnalysisRun: its phase and each metric's measurements. */
async function latestAnalysis(): Promise<AnalysisRun | undefined> {
  const runs = await getJson<{ items: AnalysisRun[] }>(['analysisruns', '-n', ns]);
  return runs.items.sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp)).pop();
}

async function release(tag: string, errorRate: number): Promise<void> {
  await upgradeOnRealNode(helm, { name: 'mail-worker', namespace: ns }, [
    '--reuse-values',
    '--set-string',
    `image.tag=${tag}`,
    '--set-json',
    `faults.errorRate=${errorRate}`,
  ]);
}

t.test('staging on real pods, scraped by Prometheus, with traffic from inside', async (t) => {
  await installOnRealNode(
    helm,
    { name: 'mail-worker', namespace: ns },
    [join(ROOT, 'environments/staging/values.yaml'), quicker],
    realImageValues('app'),
  );
  await untilRollout(ns, 'the first version Healthy', healthy, 300_000);
  // Unleash's first start keeps both cores busy for a while; load started
  // meanwhile would crawl.
  await waitFor('every pod Ready', async () => ((await podsNotReady(ns)).length === 0 ? true : undefined), 180_000, describe);
  // What scripts/load.sh does from outside: API calls, spread over the web
  // pods (each a new connection), never probes.
  await keepRunningInCluster(
    ns,
    'load',
    `import { get } from 'node:http';
    const call = () => new Promise((resolve) =>
      get('http://mail-worker-web/api/runs', { agent: false, timeout: 5000 }, (r) => r.resume().on('end', resolve))
        .on('timeout', function () { this.destroy(); })
        .on('error', resolve));
    const caller = async () => {
      for (;;) {
        await call();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    await Promise.all([caller(), caller(), caller()]);`,
  );
  // Enough answers per second that each measurement of the canary (a third
  // of the pods, judged over a minute) rests on hundreds of them.
  const answered = await waitFor(
    'Prometheus to see the load',
    async () => ((rate) => (rate !== undefined && rate >= 5 ? rate : undefined))((await query(prometheus.url, LOAD_RATE))[0]),
    120_000,
    async () => `load: ${(await query(prometheus.url, LOAD_RATE))[0]}/s\n${await describe()}`,
  );
  t.ok(answered >= 5, `Prometheus sees the web pods answer the load (${answered.toFixed(1)}/s)`);
});

t.test('a version answering half its calls with 500s is aborted by the analysis', async (t) => {
  const stable = (await untilRollout(ns, 'stable', healthy)).status?.stableRS;
  await release(images['app-next'].tag, 0.5);
  const aborted = await waitFor(
    'the analysis to abort the canary',
    async () => ((r) => (r.status?.abort === true ? r : undefined))(await rollout(ns)),
    300_000,
    describe,
  );
  t.match(aborted.status?.message, /success-rate/, `the Rollout says why: ${aborted.status?.message}`);
  const analysis = await latestAnalysis();
  t.equal(analysis?.status?.phase, 'Failed', 'the AnalysisRun failed');
  const rates = successRates(analysis);
  t.ok(
    rates.some((r) => r < 0.95),
    `the canary's measured success rates: ${rates.map((r) => r.toFixed(2)).join(', ')}`,
  );
  const back = await untilRollout(
    ns,
    'all traffic back on the stable version',
    (r) => r.status?.stableRS === stable && r.status?.phase === 'Degraded',
  );
  t.equal(back.status?.stableRS, stable, 'the stable ReplicaSet never changed');
});

t.test('the same version without faults passes the analysis and is promoted', async (t) => {
  await release(images['app-next'].tag, 0);
  const done = await untilRollout(
    ns,
    'the good version promoted',
    (r) => healthy(r) && r.status?.stableRS === r.status?.currentPodHash && !r.status?.abort,
    300_000,
  );
  t.ok(done.status?.stableRS, 'the new version is stable');
  const analysis = await latestAnalysis();
  const rates = successRates(analysis);
  t.ok(
    rates.some((r) => r >= 0.95),
    `the new version was measured, not let through for lack of data: ${rates.map((r) => r.toFixed(2)).join(', ')}`,
  );
  t.equal(
    analysis?.status?.phase,
    'Successful',
    `the AnalysisRun passed (${JSON.stringify(analysis?.status?.metricResults?.map((m) => [m.name, m.phase]))})`,
  );
});

/** The success-rate measurements of an AnalysisRun; each value is the query's result as text, e.g. "[0.49]". */
function successRates(analysis: AnalysisRun | undefined): number[] {
  const metric = analysis?.status?.metricResults?.find((m) => m.name === 'success-rate');
  return (metric?.measurements ?? []).map((m) => Number(/NaN|[-\d.e]+/.exec(m.value ?? '')?.[0]));
}
