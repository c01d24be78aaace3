import t from 'tap';
import { describeNamespace, getJson, helmRun, kubectl, releaseFlags, waitFor } from '../helpers/cluster.ts';
import { CHART, helm4 } from '../helpers/helm.ts';
import { realImages, realNamespace, serviceUrl } from '../helpers/real-node.ts';

// KEDA reading a Redis that wants a password, through the chart's
// TriggerAuthentication: the release uses an external Redis whose URL
// carries the password (percent-encoded, with the characters that need it),
// the chart decodes it into the Secret KEDA reads, and the real KEDA
// operator scales the workers from their minimum to their maximum on a
// backlog and back. (The KEDA guide's walk, in stack.test.ts, uses the
// in-chart Redis, which has no password.)

t.setTimeout(600_000);
const ns = await realNamespace(t, 'keda-auth');
const images = realImages();
const password = 'p@ss:w/rd%1';
const release = 'mail-worker';
const worker = `deployment/${release}-worker`;

interface Deployment {
  spec: { replicas: number };
  status: { readyReplicas?: number };
}
interface ScaledObject {
  status?: { conditions?: { type: string; status: string; message?: string }[] };
}

t.test('a backlog scales the workers from 1 to 3 and back, with KEDA authenticated to a password-protected Redis', async (t) => {
  // The external Redis: the suite's stand-in, asking for the password.
  await kubectl(
    ['apply', '-n', ns, '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'redis', labels: { app: 'redis' } },
          spec: {
            automountServiceAccountToken: false,
            containers: [
              {
                name: 'redis',
                image: `${images.redis.repository}:${images.redis.tag}`,
                imagePullPolicy: 'Never',
                args: ['--requirepass', password],
                readinessProbe: { exec: { command: ['redis-cli', '--no-auth-warning', '-a', password, 'ping'] }, periodSeconds: 1 },
              },
            ],
          },
        },
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'redis' },
          spec: { selector: { app: 'redis' }, ports: [{ port: 6379 }] },
        },
      ],
    }),
  );
  await kubectl(['wait', '-n', ns, '--for=condition=Ready', 'pod/redis', '--timeout=120s']);

  const h = helm4();
  await helmRun(h, [
    'install',
    release,
    CHART,
    '-n',
    ns,
    ...releaseFlags(h),
    '--set-string',
    `image.repository=${images.app.repository},image.tag=${images.app.tag}`,
    '--set-string',
    `redis.external.url=redis://:${encodeURIComponent(password)}@redis.${ns}.svc:6379/0`,
    '--set',
    'redis.enabled=false,worker.autoscaling.mode=keda,worker.autoscaling.minReplicas=1,worker.autoscaling.maxReplicas=3',
    '--set',
    'worker.autoscaling.keda.listLength=100,worker.autoscaling.behavior.scaleDown.stabilizationWindowSeconds=15',
    // It runs beside the guides' walks and measures no speed: its web and
    // workers ask for little CPU, so the 2-core node can still schedule a
    // walk's pods meanwhile (at the chart's requests, nearly a core, they
    // once kept the canary walk's worker Pending for 97 s).
    '--set',
    'web.resources.requests.cpu=25m,worker.resources.requests.cpu=25m',
  ]);
  const scaledObject = await waitFor(
    'the ScaledObject Ready',
    async () => {
      const so = await getJson<ScaledObject>(['scaledobject', `${release}-worker`, '-n', ns]);
      return so.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? so : undefined;
    },
    120_000,
    () => describeNamespace(ns),
  );
  t.ok(scaledObject, 'KEDA accepted the ScaledObject and its TriggerAuthentication');

  // A backlog the one worker cannot clear soon: 1,000 mails at a second each, 20 at a time.
  const web = await serviceUrl(ns, `${release}-web`, 'http');
  const post = async (path: string, type: string, body: string) => {
    const response = await fetch(`${web}${path}`, { method: 'POST', headers: { 'content-type': type }, body });
    if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`);
    return response.json() as Promise<Record<string, unknown>>;
  };
  const csv = ['name,email', ...Array.from({ length: 1000 }, (_, i) => `Backlog ${i},b${i}@keda.test`)].join('\n');
  t.match(await post('/api/recipients/import', 'text/csv', csv), { imported: 1000 });

  const started = Date.now();
  const timeline: string[] = [];
  const sample = async () => {
    const [deployment, { queues }] = await Promise.all([
      getJson<Deployment>([worker, '-n', ns]),
      fetch(`${web}/queues/api/queues`).then((r) => r.json() as Promise<{ queues: { name: string; counts: { waiting: number } }[] }>),
    ]);
    const waiting = queues.find((q) => q.name === 'mail-default')?.counts.waiting ?? 0;
    timeline.push(
      `${Math.round((Date.now() - started) / 1000)}s: ${waiting} waiting, ${deployment.spec.replicas} wanted, ${deployment.status.readyReplicas ?? 0} Ready`,
    );
    return deployment;
  };
  // On a timeout: what was sampled, and what KEDA's HPA saw.
  const describe = async () =>
    `${timeline.slice(-6).join('\n')}\n${await kubectl(['get', 'hpa,scaledobject', '-n', ns, '-o', 'wide']).catch((e: Error) => e.message)}\n${await describeNamespace(ns)}`;
  await post('/api/runs', 'application/json', JSON.stringify({ count: 1000, relayLatencyMs: 1000 }));
  await waitFor(
    'KEDA to scale the workers to 3',
    async () => ((await sample()).status.readyReplicas === 3 ? true : undefined),
    120_000,
    describe,
  );
  t.pass(`three workers Ready ${Math.round((Date.now() - started) / 1000)} s after the run was queued`);
  await waitFor(
    'the backlog to drain and KEDA to scale back to 1',
    async () => ((await sample()).spec.replicas === 1 ? true : undefined),
    300_000,
    describe,
  );
  t.pass(`back to one worker ${Math.round((Date.now() - started) / 1000)} s after the run was queued`);
  t.comment(timeline.filter((_, i) => i % 5 === 0 || i === timeline.length - 1).join('\n'));
});
