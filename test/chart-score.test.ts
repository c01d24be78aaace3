import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import type { Manifest } from './helpers/kubernetes.ts';
import { CHART, helm4, render, ROOT } from './helpers/helm.ts';
import { runToEnd } from './helpers/process.ts';

// kube-score (built from the Go module proxy by hack/test.sh, KUBE_SCORE_BIN)
// scores what each environment and each CI values file renders. Nothing may
// be critical, apart from the checks set aside here, each for a reason a
// learner's local cluster gives.
const SET_ASIDE: Record<string, string> = {
  // Images are loaded into kind by scripts/image.sh, never pulled: Always
  // would make every pod of a local tag fail to start.
  'container-image-pull-policy': 'local images are loaded into the node, not pulled',
  // kind's nodes (and the test node) have no disk limits worth stating; a
  // limit the kubelet evicts on would only add a surprise to the guides.
  'container-ephemeral-storage-request-and-limit': 'a local cluster has no disk to divide',
  // The app runs as the image's 1001, Redis as 999 and PostgreSQL as 70, the
  // users their images own their folders with; above 10000 needs images
  // of our own for every part.
  'container-security-context-user-group-id': 'the images own their data folders as these users',
  // dev and staging are learning environments without a NetworkPolicy
  // (networkPolicy.enabled is on in prod, and scored there).
  'pod-networkpolicy': 'off in dev and staging on purpose; prod has it',
  // A StatefulSet's serviceName cannot change: pointing it at a new headless
  // Service would make every upgrade from an earlier chart fail.
  'statefulset-has-servicename': 'serviceName is immutable; existing releases must upgrade',
  // The web's PDB is rendered only where it can allow an eviction (more
  // than one replica), so a drain never blocks on dev's single pod.
  'deployment-has-poddisruptionbudget': 'no PDB at one replica, so node drains never block',
  // kube-score does not know Argo Rollouts: the Services and the
  // NetworkPolicy select the Rollout's pods, and the HPA scales the Rollout.
  'service-targets-pod': "selects a Rollout's pods, which kube-score does not read",
  'networkpolicy-targets-pod': "selects a Rollout's pods, which kube-score does not read",
  'horizontalpodautoscaler-has-target': 'scales a Rollout, which kube-score does not read',
};

const SOURCES: Array<[string, string[]]> = [
  ...['dev', 'staging', 'prod'].map((env): [string, string[]] => [`environments/${env}`, [`${ROOT}environments/${env}/values.yaml`]]),
  ...['unleash-hardened', 'autoscaling-keda', 'canary-analysis', 'bluegreen', 'extensions'].map((name): [string, string[]] => [
    `ci/${name}`,
    [`${CHART}/ci/${name}.yaml`],
  ]),
];

/** kube-score reads YAML 1.1, where a bare yes is a boolean: written as 1.1, such strings are quoted. */
function kubeScore(manifests: Manifest[]) {
  const bin = process.env.KUBE_SCORE_BIN;
  if (!bin || !existsSync(bin)) {
    throw new Error(`kube-score not found (KUBE_SCORE_BIN=${bin ?? ''}): run the suite through hack/test.sh, which builds it with Go`);
  }
  const file = join(mkdtempSync(join(tmpdir(), 'chart-score-')), 'rendered.yaml');
  writeFileSync(file, manifests.map((m) => stringify(m, { version: '1.1' })).join('---\n'));
  return runToEnd(bin, ['score', file, '--output-format', 'ci', ...Object.keys(SET_ASIDE).flatMap((check) => ['--ignore-test', check])]);
}

const critical = (output: string) => output.split('\n').filter((line) => line.startsWith('[CRITICAL]'));

for (const [name, valuesFiles] of SOURCES) {
  t.test(`kube-score finds nothing critical in ${name}`, async (t) => {
    const scored = await kubeScore(render(helm4(), { valuesFiles }));
    t.match(scored.stdout, /^\[OK\] /m, 'kube-score read and scored the objects', { stderr: scored.stderr });
    t.same(critical(scored.stdout), [], 'no critical finding');
    t.comment(`${scored.stdout.split('\n').filter((line) => line.startsWith('[WARNING]')).length} warnings`);
  });
}

t.test('and it would say so: a container without limits is critical', async (t) => {
  const manifests = render(helm4(), { valuesFiles: [`${ROOT}environments/dev/values.yaml`] });
  const worker = manifests.find((m) => m.kind === 'Deployment' && m.metadata?.name?.endsWith('-worker')) as unknown as {
    spec: { template: { spec: { containers: Array<{ resources: Record<string, unknown> }> } } };
  };
  delete worker.spec.template.spec.containers[0]!.resources.limits;
  t.match(critical((await kubeScore(manifests)).stdout), [/worker.*CPU limit is not set/], 'the missing limit is critical');
});
