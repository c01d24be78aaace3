import { join } from 'node:path';
import t, { type Test } from 'tap';
import { describeNamespace, getJson, podsNotReady, valuesFile, waitFor } from '../helpers/cluster.ts';
import { ROOT, helm4 } from '../helpers/helm.ts';
import { installOnRealNode, realImageValues, realImages, realNamespace, runInCluster, upgradeOnRealNode } from '../helpers/real-node.ts';
import { HASH, WEB, healthy, promote, untilRollout } from '../helpers/rollouts.ts';

// docs/guides/canary.md on real pods: the dev environment with the web as a
// five-pod canary Rollout, then a new image tag. At each pause a load Job
// inside the cluster calls the web Service by its DNS name (CoreDNS, then
// kube-proxy's spread over the Ready pods), and the share of answers per
// version follows the share of pods per version. The guide's pauses last
// 30 s; here they wait for promotion, so each measurement is made while
// the split holds.

t.setTimeout(1_200_000);
const helm = helm4();
const ns = await realNamespace(t, 'real-canary');
const images = realImages();
const steps = [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }, { pause: {} }];
const guide = valuesFile({ rollout: { enabled: true }, web: { autoscaling: { enabled: false }, replicas: 5 } });

const describe = () => describeNamespace(ns);

/** Ready web pods per version (the image tag they run). */
async function readyPodsByVersion(): Promise<Record<string, number>> {
  const pods = await getJson<{
    items: { spec: { containers: { image: string }[] }; status: { conditions?: { type: string; status: string }[] } }[];
  }>(['pods', '-n', ns, '-l', 'app.kubernetes.io/component=web']);
  const counts: Record<string, number> = {};
  for (const pod of pods.items) {
    if (!pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
    const tag = pod.spec.containers[0]!.image.split(':').pop()!;
    counts[tag] = (counts[tag] ?? 0) + 1;
  }
  return counts;
}

let loads = 0;
/**
 * A Job in the cluster that calls http://mail-worker-web/api/version N
 * times (the app answers with Connection: close, so each call is a new
 * connection that kube-proxy places anew) and returns the count per version.
 */
async function loadFromInside(requests: number): Promise<Record<string, number>> {
  const output = await runInCluster(
    ns,
    `load-${++loads}`,
    // A connection refused or timed out (kube-proxy's rules lag a pod's
    // removal by a moment) got no answer from any version: call again.
    `const counts = {};
    const call = (tries = 3) => fetch('http://${WEB}/api/version').catch((e) => (tries > 1 ? call(tries - 1) : Promise.reject(e)));
    for (let i = 0; i < ${requests}; i++) {
      const { version } = await (await call()).json();
      counts[version] = (counts[version] ?? 0) + 1;
    }
    console.log(JSON.stringify(counts));`,
  );
  return JSON.parse(output.trim()) as Record<string, number>;
}

/** Measures the split and checks it against the Ready pods' split (binomial noise: 400 calls, ±0.12 is over 5 SDs). */
async function checkSplit(t: Test, label: string): Promise<void> {
  const pods = await readyPodsByVersion();
  const answers = await loadFromInside(400);
  const total = Object.values(pods).reduce((a, b) => a + b, 0);
  for (const version of new Set([...Object.keys(pods), ...Object.keys(answers)])) {
    const expected = (pods[version] ?? 0) / total;
    const measured = (answers[version] ?? 0) / 400;
    t.ok(
      Math.abs(measured - expected) <= 0.12,
      `${label}: version ${version} answered ${(measured * 100).toFixed(0)}% of the calls, ` +
        `its pods are ${(expected * 100).toFixed(0)}% of the Ready web pods`,
    );
  }
}

t.test('the stable version serves every call', async (t) => {
  await installOnRealNode(
    helm,
    { name: 'mail-worker', namespace: ns },
    [join(ROOT, 'environments/dev/values.yaml'), guide],
    realImageValues('app'),
  );
  await untilRollout(ns, 'the Rollout Healthy', healthy, 300_000);
  t.same(await podsNotReady(ns), [], 'every pod is Ready');
  t.same(await loadFromInside(100), { [images.app.tag]: 100 }, 'one version answers');
});

t.test('a new image tag walks the steps; the split follows the pods', async (t) => {
  await upgradeOnRealNode(helm, { name: 'mail-worker', namespace: ns }, [
    '--reuse-values',
    '--set-json',
    `rollout.canary.steps=${JSON.stringify(steps)}`,
    '--set-string',
    `image.tag=${images['app-next'].tag}`,
  ]);
  await untilRollout(ns, 'the canary paused at 20%', (r) => r.status?.currentStepIndex === 1 && !!r.status.pauseConditions?.length);
  await waitFor('the canary pod Ready', async () => ((await readyPodsByVersion())[images['app-next'].tag] ? true : undefined));
  await checkSplit(t, 'at 20%');

  await promote(ns);
  await untilRollout(ns, 'the canary paused at 50%', (r) => r.status?.currentStepIndex === 3 && !!r.status.pauseConditions?.length);
  await waitFor('the pods settled', async () => ((await podsNotReady(ns)).length === 0 ? true : undefined), 180_000, describe);
  await checkSplit(t, 'at 50%');

  await promote(ns);
  const done = await untilRollout(ns, 'the Rollout promoted', (r) => healthy(r) && r.status?.stableRS === r.status?.currentPodHash);
  t.ok(done.status?.stableRS, 'the new version is stable');
  await waitFor(
    'the old pods gone',
    async () => {
      const pods = await getJson<{ items: unknown[] }>([
        'pods',
        '-n',
        ns,
        '-l',
        `app.kubernetes.io/component=web,${HASH}!=${done.status?.stableRS}`,
      ]);
      return pods.items.length === 0 ? true : undefined;
    },
    180_000,
    describe,
  );
  t.same(await loadFromInside(100), { [images['app-next'].tag]: 100 }, 'only the new version answers');
  const services = await getJson<{ spec: { selector: Record<string, string> } }>(['service', `${WEB}-stable`, '-n', ns]);
  t.equal(services.spec.selector[HASH], done.status?.stableRS, 'the stable Service selects the new pods');
});
