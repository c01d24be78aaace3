import t, { type Test } from 'tap';
import { prepareWalk, settlesTo, versionShares, walk, walkSteps } from '../helpers/guides.ts';
import { healthy, rollout } from '../helpers/rollouts.ts';
import { launchBrowser, pageForPicture } from '../helpers/browser.ts';

// docs/guides/blue-green.md, walked as a learner types it (scripts/scenario.sh
// --yes on the real node): v1 active behind Traefik, v2 released beside it
// and seen only through the preview's port-forward, promoted at once, then
// rolled back with Helm within scaleDownDelaySeconds.

t.setTimeout(1_500_000);
const ns = 'mail-dev';
const env = await prepareWalk(t, [ns]);
t.teardown(() => walk(env, 'blue-green', ['--cleanup']));

t.test('v1 active: every call through the Ingress answered by v1', async (t) => {
  const output = await walkSteps(t, env, 'blue-green', 1);
  t.same(versionShares(output), { v1: 200 });
  t.ok(healthy(await rollout(ns)), 'the Rollout is Healthy');
});

t.test('v2 released beside it: the Ingress still gets v1, the preview only v2', async (t) => {
  const output = await walkSteps(t, env, 'blue-green', 2);
  t.match(output, /Status:\s+\S+ Paused[\s\S]*BlueGreenPause/, 'the Rollout waits for promotion');
  t.same(versionShares(output), { v1: 200 }, 'nobody outside the preview sees v2');
  const preview = await walkSteps(t, env, 'blue-green', 3, 4);
  t.same(versionShares(preview), { v2: 20 }, 'the preview port-forward reaches v2');
  const r = await rollout(ns);
  t.not(r.status?.blueGreen?.previewSelector, r.status?.blueGreen?.activeSelector, 'preview and active select different pods');
});

/**
 * The drawing made right after a switch: Traefik learns of the new endpoints
 * a moment after the Service (its providers' throttle, 2 s, longer on a busy
 * machine), so a few calls may still reach the old version, as in the
 * learner's terminal; none may fail.
 */
function answeredThroughout(t: Test, drawn: Record<string, number>) {
  t.comment(`the guide's drawing right after the switch: ${JSON.stringify(drawn)}`);
  t.same(
    Object.keys(drawn).filter((v) => v !== 'v1' && v !== 'v2'),
    [],
    'every call answered by v1 or v2',
  );
  t.equal(
    Object.values(drawn).reduce((a, b) => a + b, 0),
    200,
    'all 200 calls drawn',
  );
}

t.test('promote: every call answered by v2 at once', async (t) => {
  // The page the guide asks a learner to watch, through the Ingress,
  // pictured mid-flip: v1's squares, then v2's.
  const browser = await launchBrowser(t);
  const versions = await pageForPicture(browser, 'http://mail-worker.localhost/versions');
  const share = async (version: string) =>
    parseInt(
      (await versions.page
        .locator(`tr[data-version="${version}"] td:nth-child(2)`)
        .textContent({ timeout: 500 })
        .catch(() => '')) ?? '',
      10,
    );
  await versions.until('v1 answering before the promotion', async () => (await share('v1')) > 0 || undefined, 60_000);
  const flip = versions.take(
    'blue-green-flip.png',
    async () => {
      const [v1, v2] = [await share('v1'), await share('v2')];
      return v1 > 0 && v2 >= 40 ? `v1 ${v1}%, v2 ${v2}%` : undefined;
    },
    { selector: '.panel', timeoutMs: 180_000 },
  );
  const output = await walkSteps(t, env, 'blue-green', 5);
  t.comment(`/versions mid-flip (docs/screenshots/blue-green-flip.png): ${await flip}`);
  answeredThroughout(t, versionShares(output));
  t.same(await settlesTo(env, { v2: 200 }), { v2: 200 }, 'then v2 answers every call');
  const r = await rollout(ns);
  t.equal(r.status?.blueGreen?.activeSelector, r.status?.currentPodHash, 'the active Service selects the v2 pods');
});

t.test('rollback within the scale-down delay: back on v1 at once', async (t) => {
  const output = await walkSteps(t, env, 'blue-green', 6);
  answeredThroughout(t, versionShares(output));
  t.same(await settlesTo(env, { v1: 200 }), { v1: 200 }, 'then v1 answers every call');
  t.ok(healthy(await rollout(ns)), 'the Rollout is Healthy on v1');
});
