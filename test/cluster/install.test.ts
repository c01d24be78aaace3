import { readdirSync } from 'node:fs';
import t from 'tap';
import { describeNamespace, helmInstall, helmRun, kubectl, namespace, podsNotReady, releaseObjects, waitFor } from '../helpers/cluster.ts';
import { createPrerequisites } from '../helpers/prerequisites.ts';
import { CHART, helm4, ROOT } from '../helpers/helm.ts';
import type { Manifest } from '../helpers/kubernetes.ts';

// `helm install --wait` of every value set the project ships, on the real API
// server and controllers of the test cluster: defaults, every ci/ file, every
// environment. Hooks run, the API server validates every object against its
// schema and CRD, and the node agent keeps a pod out of Ready while anything
// it reads is missing, as a kubelet does. Simulated nodes run no containers:
// Ready here means "a kubelet would start it", not "it serves".

const valueSets: { label: string; files: string[] }[] = [
  { label: 'defaults', files: [] },
  ...readdirSync(`${CHART}/ci`)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => ({ label: `ci/${f}`, files: [`${CHART}/ci/${f}`] })),
  ...readdirSync(`${ROOT}environments`).map((env) => ({ label: `environments/${env}`, files: [`${ROOT}environments/${env}/values.yaml`] })),
];

/** `kubectl get` name of an object: kind.version.group/name, so CRD kinds resolve unambiguously. */
function resourceName(m: Manifest): string {
  const [group, version] = String(m.apiVersion).includes('/') ? String(m.apiVersion).split('/') : ['', String(m.apiVersion)];
  return `${String(m.kind)}${group ? `.${version}.${group}` : ''}/${String(m.metadata?.name)}`;
}

/** Runs tasks a few at a time: enough to overlap Helm's waits, few enough for two cores. */
async function inBatches<T>(items: T[], size: number, task: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: size }, async () => {
      for (let item = queue.shift(); item; item = queue.shift()) await task(item);
    }),
  );
}

const h = helm4();
t.test(`${h.name}: install --wait of every value set`, async (t) => {
  await inBatches(valueSets, 3, async ({ label, files }) => {
    const ns = await namespace(t, `install-${h.short}-${label.replace(/[^a-z0-9]+/g, '-')}`);
    const release = { name: 'mail-worker', namespace: ns };
    await createPrerequisites(ns, files);
    try {
      await helmInstall(h, release, files);
    } catch (error) {
      t.fail(`${label}: ${(error as Error).message}\n${await describeNamespace(ns)}`);
      return;
    }
    t.pass(`${label}: installed`);

    const objects = (await releaseObjects(h, release)).filter((m) => !m.metadata?.annotations?.['helm.sh/hook']);
    const names = objects.map(resourceName);
    const found = await kubectl(['get', '-n', ns, '-o', 'name', ...names]).catch((e: Error) => e.message);
    t.equal(
      found.trim().split('\n').length,
      names.length,
      `${label}: all ${names.length} objects exist (${found.trim().split('\n').length} found)`,
    );

    // helm test: the API server accepts its hook Job and the Job runs to
    // completion. On simulated nodes that is all it proves: the script
    // (files/smoke-test.mjs) runs for real, and is shown failing, in
    // test/image.test.ts, and as the release's test on the real node in
    // test/real-node/stack.test.ts.
    const tested = await helmRun(h, ['test', release.name, '-n', ns, '--timeout', '2m']).then(
      () => '',
      (e: Error) => e.message,
    );
    t.equal(tested, '', `${label}: helm test's Job is accepted and completes (on kwok: without running its script)`);

    // A canary routed through the Gateway API plugin gets no web pods here:
    // the Rollouts controller downloads that plugin at start-up, which this
    // machine cannot (docs/test-cluster.md). Its objects are still checked
    // above, and every other pod below.
    const notReady = await waitFor(
      `${label}: every pod Ready`,
      async () => {
        const pending = await podsNotReady(ns);
        return pending.length === 0 ? pending : undefined;
      },
      60_000,
      () => describeNamespace(ns),
    ).catch((e: Error) => [e.message]);
    t.same(notReady, [], `${label}: every pod is Ready (or a finished Job's)`);
  });
});
