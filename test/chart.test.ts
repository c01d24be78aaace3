import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parse as parseConnectionString } from 'pg-connection-string';
import { join } from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { chartMemoryLimit, nodeOptionsFor } from '../service/bench/node-options.ts';
import { QUEUE_NAMES } from '../service/src/queue/queues.ts';
import { CHART, helm, helm4, helms, KUBE_VERSION, render, renderError, ROOT } from './helpers/helm.ts';
import { type Manifest, validateManifest, validateManifests } from './helpers/kubernetes.ts';
import { exportedMetricNames } from './helpers/metrics.ts';

// The chart, rendered by real Helm 4 and Helm 3 and every object checked
// against the Kubernetes and CRD schemas with unknown fields refused.

const ciValues = readdirSync(`${CHART}/ci`)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => `${CHART}/ci/${f}`);
const environmentValues = (() => {
  try {
    return readdirSync(`${ROOT}environments`).map((env) => `${ROOT}environments/${env}/values.yaml`);
  } catch {
    return [];
  }
})();
const valueSets = [[], ...ciValues.map((f) => [f]), ...environmentValues.map((f) => [f])];
const label = (files: string[]) => (files.length ? files.map((f) => f.replace(ROOT, '')).join(', ') : 'defaults');

type Container = {
  name: string;
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  [k: string]: unknown;
};
type PodSpec = {
  containers: Container[];
  securityContext?: Record<string, unknown>;
  automountServiceAccountToken?: boolean;
  volumes?: unknown[];
};

const find = (ms: Manifest[], kind: string, nameEnd: string) =>
  ms.find((m) => m.kind === kind && String(m.metadata?.name).endsWith(nameEnd));
const podSpec = (m: Manifest | undefined) => (m?.spec as { template: { spec: PodSpec } } | undefined)?.template.spec;
const env = (m: Manifest | undefined, name: string) => podSpec(m)?.containers[0]?.env?.find((e) => e.name === name);
/** A Secret's values as the pods read them: its data decoded, and its stringData. */
const secretValues = (m: Manifest | undefined): Record<string, string> => {
  const secret = m as { data?: Record<string, string>; stringData?: Record<string, string> } | undefined;
  const decoded = Object.entries(secret?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]);
  return { ...Object.fromEntries(decoded), ...secret?.stringData };
};
const data = (ms: Manifest[], kind: 'ConfigMap' | 'Secret', nameEnd: string): Record<string, string> =>
  kind === 'Secret' ? secretValues(find(ms, kind, nameEnd)) : ((find(ms, kind, nameEnd)?.data ?? {}) as Record<string, string>);

for (const h of helms()) {
  t.test(`${h.name}: lint --strict and schema-valid objects for every value set`, async (t) => {
    for (const files of valueSets) {
      const lint = helm(h, ['lint', '--strict', '--kube-version', KUBE_VERSION, CHART, ...files.flatMap((f) => ['-f', f])]);
      t.equal(lint.status, 0, `lint ${label(files)}: ${lint.stdout}${lint.stderr}`);
      const manifests = render(h, { valuesFiles: files });
      t.ok(manifests.length >= 10, `${label(files)} renders ${manifests.length} objects`);
      t.same(await validateManifests(manifests), [], `${label(files)}: every object is valid`);
      const names = manifests.map((m) => `${String(m.kind)}/${m.metadata?.name}`);
      t.same(
        names.filter((n, i) => names.indexOf(n) !== i),
        [],
        `${label(files)}: names are unique`,
      );
    }
  });
}

const h4 = helm4();

t.test('the validator refuses typos, wrong types and unknown kinds', async (t) => {
  const deployment = find(render(h4), 'Deployment', '-web') as Manifest;
  const typo = structuredClone(deployment) as Manifest & { spec: Record<string, unknown> };
  typo.spec.replcas = 2;
  t.match(await validateManifest(typo), [/unknown field spec\.replcas/]);
  const nested = structuredClone(deployment);
  (podSpec(nested)?.containers[0] as Record<string, unknown>).imagePullPolcy = 'Always';
  t.match(await validateManifest(nested), [/unknown field spec\.template\.spec\.containers\[0\]\.imagePullPolcy/]);
  const wrongType = structuredClone(deployment) as Manifest & { spec: Record<string, unknown> };
  wrongType.spec.replicas = 'two';
  t.match((await validateManifest(wrongType)).join('\n'), /replicas/);
  t.match(await validateManifest({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }), [/no schema known/]);
});

t.test("an HPA's behavior is passed through as given, and left out when empty", async (t) => {
  const behavior = { scaleDown: { stabilizationWindowSeconds: 30 } };
  const hpas = (set: Record<string, number>) =>
    render(h4, { set: { 'web.autoscaling.enabled': true, 'worker.autoscaling.mode': 'hpa', ...set } }).filter(
      (m) => m.kind === 'HorizontalPodAutoscaler',
    ) as { spec: { behavior?: unknown } }[];
  t.same(
    hpas({}).map((h) => h.spec.behavior),
    [undefined, undefined],
  );
  const set = {
    'web.autoscaling.behavior.scaleDown.stabilizationWindowSeconds': 30,
    'worker.autoscaling.behavior.scaleDown.stabilizationWindowSeconds': 30,
  };
  t.same(
    hpas(set).map((h) => h.spec.behavior),
    [behavior, behavior],
  );
  // In mode keda, KEDA makes the worker's HPA from the ScaledObject.
  const scaledObject = (set: Record<string, number>) =>
    find(render(h4, { set: { 'worker.autoscaling.mode': 'keda', ...set } }), 'ScaledObject', '-worker') as {
      spec: { advanced?: { restoreToOriginalReplicaCount?: boolean; horizontalPodAutoscalerConfig?: { behavior: unknown } } };
    };
  t.same(
    scaledObject({}).spec.advanced,
    { restoreToOriginalReplicaCount: true },
    'KEDA: no HPA behavior when behavior is empty; the workers back to their count when the ScaledObject goes',
  );
  t.same(
    scaledObject({ 'worker.autoscaling.behavior.scaleDown.stabilizationWindowSeconds': 30 }).spec.advanced,
    { restoreToOriginalReplicaCount: true, horizontalPodAutoscalerConfig: { behavior } },
    'KEDA: the behavior of the HPA KEDA makes',
  );
});

t.test('no replicas under an autoscaler; HPA and KEDA never both own one workload', async (t) => {
  for (const mode of ['none', 'hpa', 'keda'] as const) {
    for (const webHpa of [false, true]) {
      for (const rollout of [false, true]) {
        const ms = render(h4, { set: { 'worker.autoscaling.mode': mode, 'web.autoscaling.enabled': webHpa, 'rollout.enabled': rollout } });
        const what = `worker ${mode}, web HPA ${webHpa}, rollout ${rollout}`;
        const worker = find(ms, 'Deployment', '-worker') as { spec: { replicas?: number } };
        const web = find(ms, rollout ? 'Rollout' : 'Deployment', '-web') as { spec: { replicas?: number } };
        t.equal('replicas' in worker.spec, mode === 'none', `${what}: worker replicas rendered only without an autoscaler`);
        t.equal('replicas' in web.spec, !webHpa, `${what}: web replicas rendered only without an HPA`);
        const owners = (target: string) =>
          ms.filter(
            (m) =>
              ['HorizontalPodAutoscaler', 'ScaledObject'].includes(String(m.kind)) &&
              (m.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name.endsWith(target),
          );
        t.equal(owners('-worker').length, mode === 'none' ? 0 : 1, `${what}: one owner of the worker's replicas`);
        const webHpaObject = owners('-web')[0] as { spec: { scaleTargetRef: { kind: string; apiVersion: string } } } | undefined;
        if (webHpa)
          t.match(
            webHpaObject?.spec.scaleTargetRef,
            { kind: rollout ? 'Rollout' : 'Deployment', apiVersion: rollout ? 'argoproj.io/v1alpha1' : 'apps/v1' },
            `${what}: the HPA targets the web's kind`,
          );
        else t.equal(webHpaObject, undefined);
      }
    }
  }
});

t.test('web.service.annotations go on the main Service only, not on those a Rollout switches', async (t) => {
  const ms = render(h4, { valuesFiles: [`${CHART}/ci/bluegreen.yaml`] });
  const annotations = (name: string) => find(ms, 'Service', name)?.metadata?.annotations;
  t.same(annotations('-web'), { 'example.com/load-balancer-scheme': 'internal' });
  t.equal(annotations('-web-preview'), undefined);
  t.equal(find(render(h4), 'Service', '-web')?.metadata?.annotations, undefined, 'none by default');
});

t.test('each strategy renders exactly its Services', async (t) => {
  const services = (set: Record<string, string | boolean>) =>
    render(h4, { set })
      .filter((m) => m.kind === 'Service' && String(m.metadata?.name).includes('-web'))
      .map((m) => String(m.metadata?.name).replace('demo-mail-worker-', ''))
      .sort();
  t.same(services({}), ['web']);
  t.same(services({ 'rollout.enabled': true, 'rollout.strategy': 'canary' }), ['web', 'web-canary', 'web-stable']);
  t.same(services({ 'rollout.enabled': true, 'rollout.strategy': 'blueGreen' }), ['web', 'web-preview']);
  const canary = find(render(h4, { set: { 'rollout.enabled': true } }), 'Rollout', '-web') as {
    spec: { strategy: Record<string, { stableService?: string; canaryService?: string }> };
  };
  t.match(canary.spec.strategy.canary, { stableService: 'demo-mail-worker-web-stable', canaryService: 'demo-mail-worker-web-canary' });
  t.equal(find(render(h4, { set: { 'rollout.enabled': true } }), 'Deployment', '-web'), undefined, 'a Rollout replaces the web Deployment');
});

t.test('Mailpit, Unleash, Redis and PostgreSQL on or off wire the app accordingly', async (t) => {
  const on = render(h4, { set: { 'unleash.enabled': true } });
  const config = data(on, 'ConfigMap', 'demo-mail-worker');
  t.equal(config.SMTP_HOST, 'demo-mail-worker-mailpit');
  t.ok(find(on, 'Service', '-mailpit'), 'the Mailpit Service it points at exists');
  t.equal(config.UNLEASH_URL, 'http://demo-mail-worker-unleash:4242/api');
  t.same(env(find(on, 'Deployment', '-worker'), 'UNLEASH_API_TOKEN')?.valueFrom?.secretKeyRef, {
    name: 'demo-mail-worker-unleash',
    key: 'UNLEASH_API_TOKEN',
  });
  t.equal(data(on, 'Secret', '-credentials').REDIS_URL, 'redis://demo-mail-worker-redis:6379/0');
  t.match(
    data(on, 'Secret', '-generated').DATABASE_URL,
    /^postgres:\/\/mailworker:[A-Za-z0-9]{32}@demo-mail-worker-postgresql:5432\/mailworker$/,
  );
  t.ok(find(on, 'StatefulSet', '-redis') && find(on, 'StatefulSet', '-postgresql') && find(on, 'StatefulSet', '-unleash-db'));
  const flagsJob = find(on, 'Job', '-unleash-flags');
  t.same(podSpec(flagsJob)?.containers[0]?.args, ['setup-flags'], 'a Job creates the flags');
  t.same(env(flagsJob, 'UNLEASH_ADMIN_TOKEN')?.valueFrom?.secretKeyRef, { name: 'demo-mail-worker-unleash', key: 'UNLEASH_ADMIN_TOKEN' });
  const keys = { adminToken: 'admin', apiToken: 'client', databasePassword: 'db' };
  const mine = render(h4, {
    set: {
      'unleash.enabled': true,
      'unleash.existingSecret': 'u',
      ...Object.fromEntries(Object.entries(keys).map(([k, v]) => [`unleash.secretKeys.${k}`, v])),
    },
  });
  const keyOf = (m: Manifest | undefined, name: string) => env(m, name)?.valueFrom?.secretKeyRef;
  t.same(
    keyOf(find(mine, 'Job', '-unleash-flags'), 'UNLEASH_ADMIN_TOKEN'),
    { name: 'u', key: 'admin' },
    'unleash.secretKeys: the flags Job',
  );
  t.same(keyOf(find(mine, 'Deployment', '-unleash'), 'INIT_CLIENT_API_TOKENS'), { name: 'u', key: 'client' }, 'Unleash');
  t.same(keyOf(find(mine, 'Deployment', '-unleash'), 'DATABASE_PASSWORD'), { name: 'u', key: 'db' });
  t.same(keyOf(find(mine, 'StatefulSet', '-unleash-db'), 'POSTGRES_PASSWORD'), { name: 'u', key: 'db' }, "Unleash's database");
  t.same(keyOf(find(mine, 'Deployment', '-worker'), 'UNLEASH_API_TOKEN'), { name: 'u', key: 'client' }, 'the app');

  const off = render(h4, { valuesFiles: [`${CHART}/ci/external-services.yaml`] });
  const offConfig = data(off, 'ConfigMap', 'demo-mail-worker');
  t.equal(offConfig.SMTP_HOST, 'smtp.example.com');
  t.equal(offConfig.UNLEASH_URL, 'https://unleash.example.com/api');
  for (const part of ['-mailpit', '-redis', '-postgresql', '-unleash'])
    t.notOk(find(off, 'StatefulSet', part) ?? find(off, 'Deployment', part), `${part} not deployed`);
  const worker = find(off, 'Deployment', '-worker');
  // Keys as the values' secretKeys name them, the chart's names where they name none.
  t.same(env(worker, 'DATABASE_URL')?.valueFrom?.secretKeyRef, { name: 'mail-worker-database', key: 'uri' });
  t.same(env(find(off, 'Job', '-migrate'), 'DATABASE_URL')?.valueFrom?.secretKeyRef, { name: 'mail-worker-database', key: 'uri' });
  t.same(env(worker, 'REDIS_URL')?.valueFrom?.secretKeyRef, { name: 'mail-worker-redis', key: 'url' });
  t.same(env(worker, 'ADMIN_USER')?.valueFrom?.secretKeyRef, { name: 'mail-worker-admin', key: 'username' });
  t.same(env(worker, 'ADMIN_PASSWORD')?.valueFrom?.secretKeyRef, { name: 'mail-worker-admin', key: 'password' });
  t.same(env(worker, 'SMTP_PASSWORD')?.valueFrom?.secretKeyRef, { name: 'mail-worker-smtp', key: 'SMTP_PASSWORD' });
  t.same(env(worker, 'UNLEASH_API_TOKEN')?.valueFrom?.secretKeyRef, { name: 'mail-worker-unleash', key: 'UNLEASH_API_TOKEN' });
  t.notOk('REDIS_URL' in data(off, 'Secret', '-credentials'), "the chart's Secret leaves out what the user's holds");
  const noUnleash = data(render(h4), 'ConfigMap', 'demo-mail-worker');
  t.notOk('UNLEASH_URL' in noUnleash, 'flags off: no Unleash address');
});

t.test('the version shown is in the pod template, so each ReplicaSet keeps its own', async (t) => {
  // A shared ConfigMap holds the last release's value: a v1 pod started after
  // an abort or undo would call itself v2 (the canary walk found it).
  const ms = render(h4, { set: { 'image.tag': 'v2', 'rollout.enabled': true } });
  t.notOk('APP_VERSION' in data(ms, 'ConfigMap', 'demo-mail-worker'), 'not in the ConfigMap');
  t.equal(env(find(ms, 'Rollout', '-web'), 'APP_VERSION')?.value, 'v2', 'web Rollout');
  t.equal(env(find(ms, 'Deployment', '-worker'), 'APP_VERSION')?.value, 'v2', 'worker Deployment');
});

t.test("Node's heap is sized from the container's memory limit", async (t) => {
  const ms = render(h4, { set: { 'worker.resources.limits.memory': '1Gi' } });
  t.equal(env(find(ms, 'Deployment', '-worker'), 'NODE_OPTIONS')?.value, '--max-old-space-size=768 --max-semi-space-size=16');
  t.equal(
    env(find(ms, 'Deployment', '-web'), 'NODE_OPTIONS')?.value,
    '--max-old-space-size=192 --max-semi-space-size=4',
    'web: 3/4 of its 256Mi, semi-spaces of 1/64',
  );
  const small = render(h4, { set: { 'worker.resources.limits.memory': '48Mi' } });
  t.equal(env(find(small, 'Deployment', '-worker'), 'NODE_OPTIONS')?.value, '--max-old-space-size=36 --max-semi-space-size=1');
  // The benchmark runs the service with its own copy of this rule.
  const defaults = render(h4);
  for (const component of ['web', 'worker'] as const) {
    t.equal(
      env(find(defaults, 'Deployment', `-${component}`), 'NODE_OPTIONS')?.value,
      nodeOptionsFor(chartMemoryLimit(join(CHART, 'values.yaml'), component)),
      `the benchmark's ${component} options match the chart's`,
    );
  }
});

t.test('credentials only in Secrets', async (t) => {
  const sentinels = {
    'admin.user': 'admin',
    'admin.password': 'sentinel-admin-pw',
    'postgresql.password': 'sentinel-db-pw',
    'unleash.enabled': true,
    'unleash.databasePassword': 'sentinel-unleash-pw',
  };
  const ms = render(h4, { set: sentinels });
  const secrets = ms.filter((m) => m.kind === 'Secret');
  const others = ms.filter((m) => m.kind !== 'Secret');
  for (const value of ['sentinel-admin-pw', 'sentinel-db-pw', 'sentinel-unleash-pw']) {
    t.ok(
      secrets.some((s) => Object.values(secretValues(s)).some((v) => v.includes(value))),
      `${value} is in a Secret`,
    );
    t.notOk(
      others.some((o) => JSON.stringify(o).includes(value)),
      `${value} appears nowhere else`,
    );
  }
  const smtp = render(h4, {
    set: { 'mailcatcher.enabled': false, 'smtp.host': 'smtp.test', 'smtp.user': 'u', 'smtp.password': 'sentinel-smtp-pw' },
  });
  t.notOk(
    smtp.filter((m) => m.kind !== 'Secret').some((o) => JSON.stringify(o).includes('sentinel-smtp-pw')),
    'the SMTP password only in a Secret',
  );
});

t.test('every pod and container carries the security defaults, resources and probes', async (t) => {
  const ms = render(h4, {
    valuesFiles: [`${CHART}/ci/unleash-hardened.yaml`],
    set: { 'rollout.enabled': true, 'loadGenerator.enabled': true },
  });
  const workloads = ms.filter((m) => ['Deployment', 'StatefulSet', 'Rollout', 'Job'].includes(String(m.kind)));
  t.ok(workloads.length >= 8);
  for (const w of workloads) {
    const name = `${String(w.kind)} ${w.metadata?.name}`;
    const spec = podSpec(w) as PodSpec;
    t.match(spec.securityContext, { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }, `${name}: pod security context`);
    t.equal(spec.automountServiceAccountToken, false, `${name}: no service-account token`);
    for (const c of spec.containers) {
      t.match(
        c.securityContext,
        { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        `${name}/${c.name}: container security context`,
      );
      t.match(
        c.resources,
        { requests: { cpu: String, memory: String }, limits: { cpu: /./, memory: String } },
        `${name}/${c.name}: requests and limits`,
      );
      if (w.kind !== 'Job') t.ok(c.livenessProbe && c.readinessProbe, `${name}/${c.name}: liveness and readiness probes`);
    }
  }
});

t.test("the third-party pods have their own security contexts; the app's do not reach them", async (t) => {
  const ms = render(h4, {
    valuesFiles: [`${CHART}/ci/unleash-hardened.yaml`],
    set: { 'securityContext.runAsUser': 4242, 'podSecurityContext.runAsUser': 4243, 'redis.containerSecurityContext.runAsUser': 999 },
  });
  const pods = Object.fromEntries(
    ms
      .filter((m) => ['Deployment', 'StatefulSet'].includes(String(m.kind)))
      .map((w) => [String(w.metadata?.labels?.['app.kubernetes.io/component']), podSpec(w) as PodSpec]),
  );
  t.same(Object.keys(pods).sort(), ['mailpit', 'postgresql', 'redis', 'unleash', 'unleash-db', 'web', 'worker']);
  for (const app of ['web', 'worker']) {
    t.equal(pods[app]!.securityContext?.runAsUser, 4243, `${app}: the app's pod context`);
    t.equal(
      (pods[app]!.containers[0]!.securityContext as { runAsUser?: number } | undefined)?.runAsUser,
      4242,
      `${app}: the app's container context`,
    );
  }
  const uids = { mailpit: 1001, postgresql: 70, redis: 999, unleash: 1001, 'unleash-db': 70 };
  for (const [part, uid] of Object.entries(uids)) {
    t.equal(pods[part]!.securityContext?.runAsUser, uid, `${part}: its own pod context (uid ${uid})`);
    t.equal(
      (pods[part]!.containers[0]!.securityContext as { runAsUser?: number } | undefined)?.runAsUser,
      part === 'redis' ? 999 : undefined,
      `${part}: its own container context`,
    );
  }
});

t.test('the schema refuses what cannot work', async (t) => {
  t.match(renderError(h4, { set: { 'rollout.strategy': 'linear' } }), /rollout\/strategy.*canary.*blueGreen/);
  t.match(renderError(h4, { set: { 'worker.autoscaling.mode': 'cpu' } }), /worker\/autoscaling\/mode.*none.*hpa.*keda/);
  t.match(renderError(h4, { set: { 'web.replicas': 'two' } }), /web\/replicas.*want integer/);
  t.match(renderError(h4, { set: { 'web.replcas': 3 } }), /replcas/);
  t.match(renderError(h4, { set: { 'faults.errorRate': 2 } }), /faults\/errorRate/);
  t.match(renderError(h4, { set: { 'loadGenerator.requestsPerSecond': 5000 } }), /loadGenerator\/requestsPerSecond/);
  t.match(renderError(h4, { set: { 'loadGenerator.paths': '/' } }), /loadGenerator\/paths.*want array/);
  // ingress-nginx was retired in March 2026; the Gateway API is the way to exact weights.
  t.match(renderError(h4, { set: { 'rollout.canary.trafficRouting.provider': 'nginx' } }), /trafficRouting\/provider.*gatewayAPI/);
});

t.test('combinations that cannot work fail rendering with a message', async (t) => {
  t.match(
    renderError(h4, { set: { 'rollout.enabled': true, 'rollout.canary.trafficRouting.enabled': true } }),
    /provider gatewayAPI needs httpRoute\.enabled/,
  );
  t.match(renderError(h4, { set: { 'postgresql.enabled': false } }), /set postgresql\.external\.url/);
  t.match(renderError(h4, { set: { 'redis.enabled': false } }), /set redis\.external\.url/);
  t.match(renderError(h4, { set: { 'mailcatcher.enabled': false } }), /set smtp\.host/);
  t.match(renderError(h4, { set: { 'rollout.analysis.enabled': true } }), /needs rollout\.enabled/);
  t.match(renderError(h4, { set: { 'unleash.external.url': 'https://u.test/api' } }), /needs unleash\.external\.existingSecret/);
});

t.test('the load generator: one pod of the app image asking the web Service, and no other peer', async (t) => {
  const off = render(h4, {});
  t.notOk(find(off, 'Deployment', '-load'), 'off by default');
  const ms = render(h4, {
    set: {
      'loadGenerator.enabled': true,
      'loadGenerator.requestsPerSecond': 20,
      'loadGenerator.runs.count': 1000,
      'networkPolicy.enabled': true,
      'loadGenerator.paths[0]': '/api/version',
    },
  });
  const load = find(ms, 'Deployment', '-load');
  const container = (m: Manifest | undefined) => podSpec(m)?.containers[0] as { args?: string[]; image?: string } | undefined;
  t.same(container(load)?.args, ['load'], '`mail-worker load`');
  t.equal(container(load)?.image, container(find(ms, 'Deployment', '-web'))?.image, "the web's image");
  const web = find(ms, 'Service', '-web') as { metadata: { name: string }; spec: { ports: { port: number }[] } };
  t.equal(env(load, 'LOAD_TARGET_URL')?.value, `http://${web.metadata.name}:${web.spec.ports[0]?.port}`, "the web's main Service");
  t.same(
    ['LOAD_REQUESTS_PER_SECOND', 'LOAD_PATHS', 'LOAD_RUN_COUNT', 'LOAD_RUN_EVERY_SECONDS'].map((name) => env(load, name)?.value),
    ['20', '/api/version', '1000', '60'],
    'its settings from values.yaml',
  );
  t.notOk(env(load, 'DATABASE_URL') || env(load, 'REDIS_URL'), 'no credentials: it talks to the web only');
  const policy = find(ms, 'NetworkPolicy', '-load') as { spec: { egress: { ports: { port: number }[]; to?: unknown[] }[] } } | undefined;
  t.same(
    policy?.spec.egress.flatMap((rule) => rule.ports.map((p) => p.port)),
    [53, 53, 3000],
    'its NetworkPolicy lets it reach DNS and the web pods alone',
  );
});

t.test('the Grafana dashboard queries only metrics the service really exports', async (t) => {
  const exported = await exportedMetricNames(t);
  const dashboard = JSON.parse(readFileSync(join(CHART, 'files/grafana-dashboard.json'), 'utf8')) as {
    panels: { title: string; targets: { expr: string }[] }[];
  };
  for (const panel of dashboard.panels) {
    const queried = panel.targets.flatMap((target) => [...target.expr.matchAll(/([a-z_:][a-z0-9_:]*)\{/g)].map((m) => m[1] as string));
    t.ok(
      queried.length > 0 && queried.every((name) => exported.has(name) || name === 'up'),
      `${panel.title}: ${[...new Set(queried)].join(', ')}`,
    );
  }
  t.ok(
    dashboard.panels.some((p) => p.title.endsWith('by version') && p.targets[0]?.expr.includes('mail_worker_build_info')),
    'the by-version panels join on mail_worker_build_info',
  );
});

t.test('the AnalysisTemplate queries only metrics the service really exports', async (t) => {
  const exported = await exportedMetricNames(t);
  const ms = render(h4, { valuesFiles: [`${CHART}/ci/canary-analysis.yaml`] });
  const template = find(ms, 'AnalysisTemplate', '-health') as { spec: { metrics: Array<{ provider: { prometheus: { query: string } } }> } };
  const queried = new Set(
    template.spec.metrics.flatMap((m) => [...m.provider.prometheus.query.matchAll(/([a-z_:][a-z0-9_:]*)\{/g)].map((x) => x[1] as string)),
  );
  t.ok(queried.size >= 2, `queries ${[...queried].join(', ')}`);
  for (const name of queried) t.ok(exported.has(name), `${name} is exported by the service`);
  for (const metric of template.spec.metrics) {
    t.match(
      metric.provider.prometheus.query,
      /rollouts_pod_template_hash="\{\{args\.pod-hash\}\}"/,
      "Argo Rollouts' placeholder survives Helm",
    );
    t.match(metric.provider.prometheus.query, /route!~"\/healthz\|\/readyz\|\/metrics"/, 'probes and scrapes are not judged');
  }
  const rollout = find(ms, 'Rollout', '-web') as { spec: { strategy: { canary: { analysis: { args: unknown[] } } } } };
  t.same(
    rollout.spec.strategy.canary.analysis.args,
    [{ name: 'pod-hash', valueFrom: { podTemplateHashValue: 'Latest' } }],
    'the new version is judged',
  );
  // Prometheus scrapes every web pod itself (a blue-green preview too), with the pod's revision.
  const monitors = ms.filter((m) => m.kind === 'PodMonitor');
  t.same(
    monitors.map((m) => m.metadata?.name),
    ['demo-mail-worker-web', 'demo-mail-worker-worker'],
    'a PodMonitor for the web and one for the worker',
  );
  const webMonitor = monitors[0] as unknown as {
    spec: { selector: { matchLabels: Record<string, string> }; podTargetLabels: string[] };
  };
  t.same(webMonitor.spec.podTargetLabels, ['rollouts-pod-template-hash']);
  t.same(
    webMonitor.spec.selector.matchLabels,
    { 'app.kubernetes.io/name': 'mail-worker', 'app.kubernetes.io/instance': 'demo', 'app.kubernetes.io/component': 'web' },
    'it selects the web pods of every revision, by the labels the Rollout keeps on all of them',
  );
});

t.test('an analysis without data is Inconclusive, never a pass', async (t) => {
  const ms = render(h4, { valuesFiles: [`${CHART}/ci/canary-analysis.yaml`] });
  const template = find(ms, 'AnalysisTemplate', '-health') as {
    spec: { metrics: Array<{ successCondition: string; failureCondition: string; inconclusiveLimit: number }> };
  };
  // Argo Rollouts evaluates these with expr over the vector's values: a
  // measurement that matches neither condition is Inconclusive, and an
  // empty result must be checked before result[0] is read.
  for (const metric of template.spec.metrics) {
    t.match(metric.successCondition, /^len\(result\) > 0 && !isNaN\(result\[0\]\) && result\[0\] [<>]= [0-9.]+$/);
    t.match(metric.failureCondition, /^len\(result\) > 0 && !isNaN\(result\[0\]\) && result\[0\] [<>] [0-9.]+$/);
    t.equal(metric.inconclusiveLimit, 1);
  }
});

t.test('database passwords with URL characters are escaped in DATABASE_URL', async (t) => {
  const password = 'p@ss:/#w%rd +?&=';
  const username = 'mail user';
  const url = data(
    render(h4, { set: { 'postgresql.password': password, 'postgresql.username': username } }),
    'Secret',
    '-generated',
  ).DATABASE_URL!;
  const parsed = parseConnectionString(url);
  t.equal(parsed.password, password, 'pg reads back the same password');
  t.equal(parsed.user, username, 'and the same user');
  t.equal(parsed.host, 'demo-mail-worker-postgresql');
  t.equal(parsed.database, 'mailworker');
});

t.test('KEDA reads an external Redis with its credentials, database and TLS', async (t) => {
  // Percent-encoded as a URL needs it: user "app", password "p@ss:w\"rd".
  const url = 'rediss://app:p%40ss%3Aw%22rd@redis.example:6380/2';
  const ms = render(h4, { set: { 'redis.enabled': false, 'worker.autoscaling.mode': 'keda', 'redis.external.url': url } });
  const scaled = find(ms, 'ScaledObject', '-worker') as {
    spec: { triggers: Array<{ metadata: Record<string, string>; authenticationRef?: { name: string } }> };
  };
  for (const trigger of scaled.spec.triggers) {
    t.match(trigger.metadata, { address: 'redis.example:6380', databaseIndex: '2', enableTLS: 'true' });
    t.same(trigger.authenticationRef, { name: 'demo-mail-worker-worker-redis' });
  }
  const auth = find(ms, 'TriggerAuthentication', '-worker-redis') as {
    spec: { secretTargetRef: Array<{ parameter: string; name: string; key: string }> };
  };
  const secret = data(ms, 'Secret', '-credentials');
  const values = Object.fromEntries(
    auth.spec.secretTargetRef.map((r) => [r.parameter, r.name === 'demo-mail-worker-credentials' ? secret[r.key] : undefined]),
  );
  t.same(values, { password: 'p@ss:w"rd', username: 'app' }, 'the TriggerAuthentication gives KEDA the decoded credentials');
  t.same(await validateManifests(ms), [], 'every object is valid');
  t.match(
    renderError(h4, {
      set: { 'redis.enabled': false, 'worker.autoscaling.mode': 'keda', 'redis.external.url': 'redis://:%C3%A9@redis.example' },
    }),
    /KEDA needs the Redis password without percent-encoded non-ASCII/,
  );

  // The URL in a Secret of the user's: KEDA reads the address from url, the password from its key.
  const external = render(h4, { valuesFiles: [`${CHART}/ci/external-services.yaml`] });
  for (const trigger of (find(external, 'ScaledObject', '-worker') as typeof scaled).spec.triggers) {
    t.match(
      trigger.metadata,
      { address: 'redis.data.svc:6380', databaseIndex: '2', enableTLS: 'true' },
      'existingSecret: the address from url',
    );
  }
  t.same(
    (find(external, 'TriggerAuthentication', '-worker-redis') as typeof auth).spec.secretTargetRef,
    [{ parameter: 'password', name: 'mail-worker-redis', key: 'password' }],
    "existingSecret: KEDA's password from the key secretKeys.password names",
  );
  const withSecret = { 'redis.enabled': false, 'worker.autoscaling.mode': 'keda', 'redis.external.existingSecret': 'r' };
  t.match(renderError(h4, { set: withSecret }), /KEDA cannot read the URL in a Secret; also set redis\.external\.url/);
  t.match(renderError(h4, { set: { ...withSecret, 'redis.external.url': 'redis://:pw@redis.example' } }), /keep them in the Secret only/);
  const inChart = find(render(h4, { set: { 'worker.autoscaling.mode': 'keda' } }), 'ScaledObject', '-worker') as typeof scaled;
  t.notOk(inChart.spec.triggers[0]?.authenticationRef, 'the in-chart Redis needs no credentials');
});

t.test(
  'no disruption budget blocks a node drain: the worker allows one pod down, the web has one only where it has pods to spare',
  async (t) => {
    const ms = render(h4, { valuesFiles: [`${ROOT}environments/prod/values.yaml`] });
    const budget = (component: string) => find(ms, 'PodDisruptionBudget', `-${component}`) as { spec: Record<string, unknown> };
    t.same(budget('worker').spec.maxUnavailable, 1, 'the worker allows one pod down');
    t.notOk('minAvailable' in budget('worker').spec);
    t.equal(budget('web').spec.minAvailable, 1, 'prod: the web keeps one of its two pods');

    const webBudget = (set: Record<string, string | number | boolean>) =>
      render(h4, { set: { 'podDisruptionBudget.enabled': true, ...set } }).some(
        (m) => m.kind === 'PodDisruptionBudget' && String(m.metadata?.name).endsWith('-web'),
      );
    const cases: [Record<string, string | number | boolean>, boolean][] = [
      [{ 'web.replicas': 1 }, false],
      [{ 'web.replicas': 2 }, true],
      [{ 'web.replicas': 2, 'podDisruptionBudget.minAvailable': 2 }, false],
      [{ 'web.autoscaling.enabled': true, 'web.autoscaling.minReplicas': 1, 'web.replicas': 5 }, false],
      [{ 'web.autoscaling.enabled': true, 'web.autoscaling.minReplicas': 3, 'podDisruptionBudget.minAvailable': '50%' }, true],
      [{ 'web.replicas': 3, 'podDisruptionBudget.minAvailable': '67%' }, false],
      [{ 'web.replicas': 3, 'podDisruptionBudget.minAvailable': '100%' }, false],
    ];
    for (const [set, rendered] of cases)
      t.equal(webBudget(set), rendered, `${JSON.stringify(set)}: web budget ${rendered ? 'rendered' : 'left out'}`);
    t.ok(
      render(h4, { valuesFiles: [`${ROOT}environments/dev/values.yaml`], set: { 'podDisruptionBudget.enabled': true } }).some(
        (m) => m.kind === 'PodDisruptionBudget' && String(m.metadata?.name).endsWith('-worker'),
      ),
      "dev with budgets on: the worker's is there",
    );
  },
);

t.test("a database's liveness is not its readiness: only a server gone for a minute is restarted", async (t) => {
  const ms = render(h4, { set: { 'unleash.enabled': true } });
  const sets = ms.filter((m) => m.kind === 'StatefulSet');
  t.same(sets.map((m) => m.metadata?.name).sort(), [
    'demo-mail-worker-postgresql',
    'demo-mail-worker-redis',
    'demo-mail-worker-unleash-db',
  ]);
  for (const set of sets) {
    const container = podSpec(set)!.containers[0] as unknown as {
      livenessProbe: Record<string, unknown>;
      readinessProbe: Record<string, unknown>;
    };
    const { livenessProbe: live, readinessProbe: ready } = container;
    t.notSame(live, ready, `${set.metadata?.name}: its own liveness probe`);
    t.ok('tcpSocket' in live, `${set.metadata?.name}: liveness asks only for an accepted connection`);
    const window = Number(live.periodSeconds) * Number(live.failureThreshold);
    t.ok(window >= 60, `${set.metadata?.name}: restarted after ${window} s without one, not sooner`);
  }
});

t.test('Argo CD sync waves: everything a pod reads comes in an earlier wave than the pod', async (t) => {
  for (const files of valueSets) {
    const ms = render(h4, { valuesFiles: files });
    const wave = (m: Manifest) => Number(m.metadata?.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);
    const byName = new Map(ms.map((m) => [`${String(m.kind)}/${String(m.metadata?.name)}`, m]));
    for (const m of ms) {
      if (!['Deployment', 'StatefulSet', 'Job', 'Rollout'].includes(String(m.kind))) continue;
      const spec = podSpec(m)!;
      const reads = [
        ...JSON.stringify(spec).matchAll(/"(secretKeyRef|configMapKeyRef|secretRef|configMapRef)":\{[^}]*"name":"([^"]+)"/g),
      ].map(([, ref, name]) => `${ref!.startsWith('secret') ? 'Secret' : 'ConfigMap'}/${name}`);
      const sa = (spec as { serviceAccountName?: string }).serviceAccountName;
      if (sa) reads.push(`ServiceAccount/${sa}`);
      for (const read of reads) {
        const dependency = byName.get(read);
        if (!dependency) continue; // a Secret the user creates before the chart
        t.ok(
          wave(dependency) < wave(m),
          `${label(files)}: ${read} (wave ${wave(dependency)}) before ${m.kind}/${m.metadata?.name} (wave ${wave(m)})`,
        );
      }
    }
  }
});

t.test("KEDA's trigger keys are the service's queue names", async (t) => {
  const ms = render(h4, { set: { 'worker.autoscaling.mode': 'keda' } });
  const scaled = find(ms, 'ScaledObject', '-worker') as {
    spec: { triggers: Array<{ type: string; metadata: { listName: string; address: string } }> };
  };
  t.same(scaled.spec.triggers.map((tr) => tr.metadata.listName).sort(), QUEUE_NAMES.map((q) => `bull:${q}:wait`).sort());
  t.ok(scaled.spec.triggers.every((tr) => tr.type === 'redis' && tr.metadata.address === 'demo-mail-worker-redis.mail.svc:6379'));
});

t.test('one pod template: every extension point reaches the web, worker and migrate pods', async (t) => {
  const extensions = `${CHART}/ci/extensions.yaml`;
  const ms = render(h4, { valuesFiles: [extensions] });
  const plain = render(h4);
  type Pod = {
    metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
    spec: PodSpec & Record<string, unknown> & { containers: Array<Container & { envFrom?: unknown[]; volumeMounts?: unknown[] }> };
  };
  const pod = (m: Manifest | undefined) => (m?.spec as { template: Pod }).template;
  for (const [kind, name] of [
    ['Deployment', '-web'],
    ['Deployment', '-worker'],
    ['Job', '-migrate'],
  ] as const) {
    const p = pod(find(ms, kind, name));
    const c = p.spec.containers[0]!;
    const what = `${kind} ${name}`;
    t.equal(p.metadata.annotations?.['example.com/owner'], 'mail-team', `${what}: podAnnotations`);
    t.equal(p.metadata.labels['example.com/tier'], 'mail', `${what}: podLabels`);
    t.equal(p.metadata.labels['app.kubernetes.io/component'], name.slice(1), `${what}: the chart's labels stay`);
    t.same(c.env?.at(-1), { name: 'TZ', value: 'Asia/Tokyo' }, `${what}: extraEnv, last so it wins`);
    t.same(c.envFrom?.at(-1), { configMapRef: { name: 'mail-worker-extra-settings', optional: true } }, `${what}: extraEnvFrom`);
    t.ok(
      (p.spec.volumes as { name: string }[]).some((v) => v.name === 'scratch') &&
        (p.spec.volumes as { name: string }[]).some((v) => v.name === 'tmp'),
      `${what}: extraVolumes beside /tmp`,
    );
    t.same(c.volumeMounts?.at(-1), { name: 'scratch', mountPath: '/scratch' }, `${what}: extraVolumeMounts`);
    t.same(p.spec.nodeSelector, { 'kubernetes.io/os': 'linux' }, `${what}: nodeSelector`);
    t.match(p.spec.tolerations, [{ key: 'dedicated', effect: 'NoSchedule' }], `${what}: tolerations`);
    t.equal(p.spec.priorityClassName, 'mail-worker-example', `${what}: priorityClassName`);
    const before = pod(find(plain, kind, name));
    for (const key of ['securityContext', 'automountServiceAccountToken']) {
      t.same(p.spec[key], (before.spec as Record<string, unknown>)[key], `${what}: ${key} unchanged by extensions`);
    }
  }
  for (const name of ['-web', '-worker']) {
    const p = pod(find(ms, 'Deployment', name));
    t.ok(p.spec.affinity && p.spec.topologySpreadConstraints, `${name}: affinity and topologySpreadConstraints`);
    t.match(
      p.spec.containers[0],
      { readinessProbe: { periodSeconds: 2, httpGet: { path: '/readyz' } } },
      `${name}: readinessProbe override`,
    );
    t.match(p.spec.containers[0], { livenessProbe: { httpGet: { path: '/healthz' } } }, `${name}: the other probes keep the chart's`);
  }
  t.same(await validateManifests(ms), [], 'every object is valid');
  t.match(renderError(h4, { set: { 'web.extraEnv[0].value': 'x' } }), /extraEnv/, 'an extraEnv entry needs a name');
});

t.test("the README's figure for what the dev environment's pods request", async (t) => {
  const cpu = (v: string) => (v.endsWith('m') ? Number(v.slice(0, -1)) / 1000 : Number(v));
  const mib = (v: string) => {
    const [, amount, unit] = /^(\d+(?:\.\d+)?)(Mi|Gi)$/.exec(v) ?? [];
    if (!amount) throw new Error(`a memory quantity in Mi or Gi, not ${v}`);
    return Number(amount) * (unit === 'Gi' ? 1024 : 1);
  };
  const sum = { cpu: 0, memory: 0, limit: 0 };
  for (const m of render(h4, { valuesFiles: [`${ROOT}environments/dev/values.yaml`] })) {
    if (!['Deployment', 'StatefulSet', 'Rollout'].includes(String(m.kind))) continue;
    const spec = m.spec as { replicas?: number; template: { spec: PodSpec } };
    for (const c of spec.template.spec.containers) {
      const resources = (c as { resources?: { requests?: Record<string, string>; limits?: Record<string, string> } }).resources;
      sum.cpu += (spec.replicas ?? 1) * cpu(resources?.requests?.cpu ?? '0');
      sum.memory += (spec.replicas ?? 1) * mib(resources?.requests?.memory ?? '0Mi');
      sum.limit += (spec.replicas ?? 1) * mib(resources?.limits?.memory ?? '0Mi');
    }
  }
  const readme = readFileSync(`${ROOT}README.md`, 'utf8').replace(/\s+/g, ' ');
  const claim = `request ${Number(sum.cpu.toFixed(2))} CPU and ${sum.memory.toLocaleString('en')} MiB of memory (limits: ${sum.limit.toLocaleString('en')} MiB)`;
  t.ok(readme.includes(claim), `README says the dev pods ${claim}`);
});

t.test("every line of the chart README's toggle table renders, with Helm's own parsing of its flags", async (t) => {
  // A `--set` a user copies must mean what the row says: Helm keeps 0.5 a
  // string (only integers and booleans are typed), which the schema refuses.
  const readme = readFileSync(`${CHART}/README.md`, 'utf8');
  const rows = [...readme.matchAll(/`helm (?:install|upgrade) demo charts\/mail-worker([^`]*)`/g)].map(([, flags]) => flags!.trim());
  t.ok(rows.length >= 20, `${rows.length} rows`);
  for (const flags of rows) {
    const args = flags.split(/\s+/).filter((a) => a && a !== '--reuse-values');
    const result = helm(helm4(), ['template', 'demo', CHART, '--kube-version', KUBE_VERSION, ...args]);
    t.equal(result.status, 0, `helm template demo charts/mail-worker ${flags}: ${result.stderr.split('\n')[0]}`);
  }
});

t.test('extension points: commonLabels, extraObjects, an image digest, revisionHistoryLimit', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mw-values-'));
  const values = join(dir, 'values.yaml');
  const digest = `sha256:${'ab'.repeat(32)}`;
  writeFileSync(
    values,
    stringify({
      commonLabels: { team: 'mail', 'app.kubernetes.io/name': 'not-the-chart' },
      revisionHistoryLimit: 7,
      image: { repository: 'registry.example/mail-worker', tag: 'v9', digest },
      rollout: { enabled: true },
      extraObjects: [
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'extra-settings' }, data: { a: '1' } },
        'apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-admin\n  namespace: {{ .Release.Namespace }}\nstringData:\n  ADMIN_USER: admin\n',
      ],
    }),
  );
  const ms = render(h4, { valuesFiles: [values] });
  t.same(await validateManifests(ms), [], 'every object valid for the API server');

  const own = ms.filter((m) => !['extra-settings', 'demo-admin'].includes(String(m.metadata?.name)));
  t.same(
    own.filter((m) => m.metadata?.labels?.team !== 'mail').map((m) => `${m.kind}/${m.metadata?.name}`),
    [],
    'every object of the chart has the common label',
  );
  t.ok(
    own.every((m) => m.metadata?.labels?.['app.kubernetes.io/name'] === 'mail-worker'),
    "a common label never replaces one of the chart's own",
  );
  for (const m of own.filter((m) => (m.spec as { template?: unknown } | undefined)?.template)) {
    const spec = m.spec as {
      selector?: { matchLabels?: Record<string, string> };
      template: { metadata: { labels: Record<string, string> } };
    };
    t.equal(spec.template.metadata.labels.team, 'mail', `${m.kind}/${m.metadata?.name}: its pods have it`);
    t.notOk(spec.selector?.matchLabels?.team, `${m.kind}/${m.metadata?.name}: its selector does not`);
  }

  t.match(find(ms, 'ConfigMap', 'extra-settings'), { data: { a: '1' } }, 'an object given as YAML is released as is');
  t.match(find(ms, 'Secret', '-admin'), { metadata: { name: 'demo-admin', namespace: 'mail' } }, 'a string is rendered as a template');

  const images = [...JSON.stringify(ms).matchAll(/"image":"(registry\.example\/mail-worker[^"]*)"/g)].map((m) => m[1]);
  t.ok(images.length >= 3, `the web, the worker and the migrate Job run the app's image (${images.length} containers)`);
  t.same(new Set(images), new Set([`registry.example/mail-worker@${digest}`]), 'each pinned by digest, not by tag');
  const web = find(ms, 'Rollout', '-web') as { spec: { revisionHistoryLimit: number; template: unknown } };
  t.equal(web.spec.revisionHistoryLimit, 7);
  t.equal((find(ms, 'Deployment', '-worker') as { spec: { revisionHistoryLimit: number } }).spec.revisionHistoryLimit, 7);
  t.match(JSON.stringify(web.spec.template), /"name":"APP_VERSION","value":"v9"/, 'the tag still names the version the app reports');

  t.match(renderError(h4, { set: { 'image.digest': 'latest' } }), /digest/, 'a digest that is not sha256:… is refused');
});
