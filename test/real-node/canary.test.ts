import t from 'tap';
import { getJson, waitFor } from '../helpers/cluster.ts';
import { prepareWalk, settlesTo, share, versionShares, walk, walkSteps } from '../helpers/guides.ts';
import { HASH, healthy, rollout, untilRollout } from '../helpers/rollouts.ts';

// docs/guides/canary.md, walked as a learner types it (scripts/scenario.sh
// --yes on the real node): the dev environment with the web as a five-pod
// canary Rollout behind Traefik, v2 released with deploy.sh, the split
// drawn by scripts/versions.sh through the Ingress, an abort, an undo, and
// v2 released again in full.
// Each step is the guide's own block; between
// steps the test reads the Rollout the commands acted on.

t.setTimeout(1_500_000);
const ns = 'mail-dev';
const env = await prepareWalk(t, [ns]);
t.teardown(() => walk(env, 'canary', ['--cleanup']));

t.test('v1 on five pods answers every call through the Ingress', async (t) => {
  const output = await walkSteps(t, env, 'canary', 1);
  t.same(versionShares(output), { v1: 200 }, 'scripts/versions.sh: 200 of 200 calls answered by v1');
  t.ok(healthy(await rollout(ns)), 'the Rollout is Healthy');
});

t.test('v2 released: deploy.sh returns at the first pause, a fifth of the calls reach v2', async (t) => {
  const output = await walkSteps(t, env, 'canary', 2);
  const r = await rollout(ns);
  t.equal(r.status?.currentStepIndex, 1, 'paused at step 1, setWeight 20');
  t.ok(
    r.status?.pauseConditions?.some((c) => c.reason === 'CanaryPauseStep'),
    'the pause waits for promotion',
  );
  const counts = versionShares(output);
  // One pod of five; 200 calls, so ±0.12 is over four standard deviations.
  t.ok(Math.abs(share(counts, 'v2') - 0.2) <= 0.12, `v2 answered ${(share(counts, 'v2') * 100).toFixed(0)}% (${JSON.stringify(counts)})`);
  t.equal((counts.v1 ?? 0) + (counts.v2 ?? 0), 200, 'every call answered by v1 or v2');
  const watched = await walkSteps(t, env, 'canary', 3);
  t.match(watched, /Status:\s+\S+ Paused/, 'the watch shows the Rollout Paused');
});

t.test('abort: every call back on v1, the Rollout Degraded', async (t) => {
  const stable = (await rollout(ns)).status?.stableRS;
  const output = await walkSteps(t, env, 'canary', 4);
  t.match(output, /Degraded - RolloutAborted/, 'status ends on the abort');
  await waitFor('the canary pod gone', async () => {
    const pods = await getJson<{ items: unknown[] }>(['pods', '-n', ns, '-l', `app.kubernetes.io/component=web,${HASH}!=${stable}`]);
    return pods.items.length === 0 ? true : undefined;
  });
  t.same(await settlesTo(env, { v1: 200 }), { v1: 200 }, 'scripts/versions.sh: 200 of 200 calls answered by v1');
  t.equal((await rollout(ns)).status?.stableRS, stable, 'the stable ReplicaSet never changed');
});

t.test('undo: v1 everywhere and Healthy, without steps', async (t) => {
  const stable = (await rollout(ns)).status?.stableRS;
  await walkSteps(t, env, 'canary', 5);
  const r = await untilRollout(ns, 'Healthy', healthy);
  t.equal(r.status?.stableRS, stable, 'the stable ReplicaSet is the one that ran v1');
  t.equal(r.status?.currentPodHash, stable, 'the pod template is v1 again');
  t.same(await settlesTo(env, { v1: 200 }), { v1: 200 }, 'every call answered by v1');
});

t.test('v2 again: Helm back in line, then promoted in full, v2 everywhere and Healthy', async (t) => {
  const output = await walkSteps(t, env, 'canary', 6);
  t.match(output, /Healthy/, 'status ends Healthy');
  const r = await untilRollout(ns, 'Healthy', healthy);
  t.equal(r.status?.stableRS, r.status?.currentPodHash, 'the stable ReplicaSet is the new template');
  t.same(await settlesTo(env, { v2: 200 }), { v2: 200 }, 'every call answered by v2');
});
