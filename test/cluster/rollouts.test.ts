import t, { type Test } from 'tap';
import { getJson, helmInstall, helmUpgrade, namespace, valuesFile, waitFor } from '../helpers/cluster.ts';
import { startFakePrometheus } from '../helpers/fake-prometheus.ts';
import { type Helm, helm4 } from '../helpers/helm.ts';
import { HASH, WEB, type Rollout, abort, healthy, promote, untilRollout } from '../helpers/rollouts.ts';

// Argo Rollouts' real controller acting on the chart's Rollout: a new image
// tag walks the canary steps and pauses where the values say, promotion
// completes it, abort returns to the stable ReplicaSet, an analysis decides
// by its metrics, and blue-green switches preview and active Services. The
// tests read the Rollout's status and the Services' selectors.

interface ReplicaSet {
  metadata: { labels: Record<string, string> };
  spec: { replicas: number };
}

const selectorHash = async (ns: string, service: string) =>
  (await getJson<{ spec: { selector: Record<string, string> } }>(['service', service, '-n', ns])).spec.selector[HASH];
const replicasOf = async (ns: string, hash: string | undefined) => {
  const list = await getJson<{ items: ReplicaSet[] }>(['replicasets', '-n', ns, '-l', `${HASH}=${hash}`]);
  return list.items[0]?.spec.replicas;
};

async function upgrade(h: Helm, ns: string, files: string[], tag: string): Promise<void> {
  await helmUpgrade(h, { name: 'mail-worker', namespace: ns }, [...files.flatMap((f) => ['-f', f]), '--set-string', `image.tag=${tag}`]);
}

const pausedAt = (step: number) => (r: Rollout) => r.status?.phase === 'Paused' && r.status.currentStepIndex === step;

async function canary(t: Test, h: Helm): Promise<void> {
  const ns = await namespace(t, `canary-${h.short}`);
  const files = [
    valuesFile({
      web: { replicas: 5 },
      rollout: {
        enabled: true,
        strategy: 'canary',
        canary: { steps: [{ setWeight: 20 }, { pause: {} }, { setWeight: 60 }, { pause: { duration: '2s' } }] },
      },
    }),
  ];
  await helmInstall(h, { name: 'mail-worker', namespace: ns }, files);
  const first = await untilRollout(ns, 'the first revision Healthy', healthy);
  const stable = first.status?.stableRS;
  t.ok(stable, `first revision is stable (${stable})`);

  await upgrade(h, ns, files, '0.2.0');
  const paused = await untilRollout(ns, 'the canary paused at its pause step', pausedAt(1));
  const canaryHash = paused.status?.currentPodHash;
  t.not(canaryHash, stable, 'a new ReplicaSet is the canary');
  t.equal(paused.status?.pauseConditions?.[0]?.reason, 'CanaryPauseStep', 'paused by the step, not by hand');
  t.equal(await replicasOf(ns, canaryHash), 1, 'setWeight 20 of 5 replicas: one canary pod');
  t.equal(await selectorHash(ns, `${WEB}-canary`), canaryHash, 'the canary Service selects the canary');
  t.equal(await selectorHash(ns, `${WEB}-stable`), stable, 'the stable Service still selects the stable ReplicaSet');

  await promote(ns);
  const done = await untilRollout(ns, 'the promoted canary Healthy', (r) => healthy(r) && r.status?.stableRS === canaryHash);
  t.equal(done.status?.stableRS, canaryHash, 'promotion made the canary stable');
  t.equal(await selectorHash(ns, `${WEB}-stable`), canaryHash, 'the stable Service follows');

  await upgrade(h, ns, files, '0.3.0');
  const second = await untilRollout(ns, 'the next canary paused', pausedAt(1));
  await abort(ns);
  const aborted = await untilRollout(
    ns,
    'the aborted rollout back on stable',
    (r) => r.status?.abort === true && r.status.phase === 'Degraded',
  );
  t.equal(aborted.status?.stableRS, canaryHash, 'abort keeps the last promoted version stable');
  await waitFor('the aborted canary scaled to zero', async () =>
    (await replicasOf(ns, second.status?.currentPodHash)) === 0 ? true : undefined,
  );
  t.equal(await selectorHash(ns, `${WEB}-canary`), canaryHash, 'the canary Service points back at stable');
}

async function blueGreen(t: Test, h: Helm): Promise<void> {
  const ns = await namespace(t, `bluegreen-${h.short}`);
  const files = [
    valuesFile({ rollout: { enabled: true, strategy: 'blueGreen', blueGreen: { autoPromotionEnabled: false, scaleDownDelaySeconds: 5 } } }),
  ];
  await helmInstall(h, { name: 'mail-worker', namespace: ns }, files);
  const blue = (await untilRollout(ns, 'blue Healthy', healthy)).status?.stableRS;
  t.equal(await selectorHash(ns, WEB), blue, 'the active Service selects blue');

  await upgrade(h, ns, files, '0.2.0');
  const paused = await untilRollout(
    ns,
    'green waiting for promotion',
    (r) => r.status?.phase === 'Paused' && r.status.currentPodHash !== blue,
  );
  const green = paused.status?.currentPodHash;
  t.equal(paused.status?.pauseConditions?.[0]?.reason, 'BlueGreenPause', 'paused before promotion');
  t.equal(await selectorHash(ns, `${WEB}-preview`), green, 'the preview Service selects green');
  t.equal(await selectorHash(ns, WEB), blue, 'the active Service still selects blue');

  await promote(ns);
  await untilRollout(ns, 'green Healthy', (r) => healthy(r) && r.status?.stableRS === green);
  t.equal(await selectorHash(ns, WEB), green, 'promotion flips the active Service to green');
}

async function analysis(t: Test, h: Helm): Promise<void> {
  const prometheus = await startFakePrometheus({ successRate: 1, latencyP95: 0.05 });
  t.teardown(() => prometheus.close());
  const ns = await namespace(t, `analysis-${h.short}`);
  const files = [
    valuesFile({
      web: { replicas: 2 },
      rollout: {
        enabled: true,
        strategy: 'canary',
        canary: { steps: [{ setWeight: 50 }, { pause: { duration: '8s' } }, { setWeight: 100 }] },
        // The stand-in Prometheus answers at once: no scrape to wait for.
        analysis: { enabled: true, prometheusAddress: prometheus.url, initialDelay: '0s', interval: '2s', count: 3, failureLimit: 0 },
      },
    }),
  ];
  await helmInstall(h, { name: 'mail-worker', namespace: ns }, files);
  const first = (await untilRollout(ns, 'first revision Healthy', healthy)).status?.stableRS;

  await upgrade(h, ns, files, '0.2.0');
  const passed = await untilRollout(ns, 'a passing analysis lets the canary complete', (r) => healthy(r) && r.status?.stableRS !== first);
  const second = passed.status?.stableRS;
  const asked = prometheus.queries.filter((q) => q.includes(`rollouts_pod_template_hash="${second}"`));
  t.ok(asked.length > 0, "the analysis asked Prometheus about the new version's pods (by their template hash)");
  t.ok(
    asked.every((q) => q.includes('route!~"/healthz|/readyz|/metrics"')),
    'probes and scrapes are left out of what it judges',
  );

  // No series at all (no traffic reached the new version) is no verdict:
  // past inconclusiveLimit the run is Inconclusive and the Rollout pauses,
  // neither promoting nor aborting.
  prometheus.answers = { successRate: null, latencyP95: null };
  await upgrade(h, ns, files, '0.3.0');
  const quiet = await untilRollout(
    ns,
    'an analysis without data pauses the canary',
    (r) =>
      !!r.status?.pauseConditions?.some((c) => c.reason === 'InconclusiveAnalysisRun') ||
      r.status?.abort === true ||
      (healthy(r) && r.status?.stableRS !== second),
  );
  t.notOk(quiet.status?.abort, `an empty result does not abort (${quiet.status?.message ?? ''})`);
  t.equal(quiet.status?.stableRS, second, 'nor is the version nobody called promoted');
  t.ok(
    quiet.status?.pauseConditions?.some((c) => c.reason === 'InconclusiveAnalysisRun'),
    `the Rollout says why it waits: ${JSON.stringify(quiet.status?.pauseConditions)}`,
  );

  prometheus.answers = { successRate: 0.5, latencyP95: 0.05 };
  await upgrade(h, ns, files, '0.4.0');
  const aborted = await untilRollout(ns, 'a failing analysis aborts the canary', (r) => r.status?.abort === true);
  t.equal(aborted.status?.stableRS, second, 'the failed version never became stable');
  t.match(String(aborted.status?.message), /success-rate|analysis|Metric/i, `the Rollout says why: ${aborted.status?.message}`);
}

const h = helm4();
t.test(`${h.name}: canary walks its steps, promotes and aborts`, (t) => canary(t, h));
t.test(`${h.name}: blue-green previews, then promotes`, (t) => blueGreen(t, h));
t.test(`${h.name}: an analysis passes, pauses on no data, and aborts a failing canary`, (t) => analysis(t, h));
