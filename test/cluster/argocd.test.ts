import { readFileSync } from 'node:fs';
import t from 'tap';
import { apply, cluster, describeNamespace, getJson, kubectl, run, secretData, waitFor } from '../helpers/cluster.ts';
import { ROOT } from '../helpers/helm.ts';

// argocd/mail-worker.yaml applied as is, but for its repository URL, which
// points at the test cluster's own git daemon serving this working tree. The
// real ApplicationSet controller generates the Applications, the real
// application controller and repo server render the chart with Helm and sync
// it in sync-wave order, hooks included.

interface Application {
  metadata: { name: string };
  spec: { destination: { namespace: string }; source: { helm?: { valueFiles?: string[] }; repoURL: string } };
  status?: {
    sync?: { status?: string };
    health?: { status?: string };
    operationState?: {
      phase?: string;
      startedAt?: string;
      message?: string;
      syncResult?: { resources?: { kind: string; name: string; hookPhase?: string; status?: string }[] };
    };
    conditions?: { type: string; message: string }[];
  };
}

/** Deletes the ApplicationSet, its Applications and their namespaces, and waits until they are gone. */
async function removeEnvironments(): Promise<void> {
  const argocd = (...args: string[]) => kubectl(['-n', 'argocd', ...args]);
  await argocd('delete', 'applicationsets.argoproj.io/mail-worker', 'appprojects.argoproj.io/mail-worker', '--ignore-not-found');
  // Their resources finalizer waits for a cascade that a stuck sync never
  // finishes; deleting the namespaces takes the resources with them anyway.
  const left = await getJson<{ items: Application[] }>([
    '-n',
    'argocd',
    'applications.argoproj.io',
    '-l',
    'app.kubernetes.io/part-of=mail-worker',
  ]);
  for (const a of left.items)
    await argocd('patch', 'applications.argoproj.io', a.metadata.name, '--type=merge', '-p', '{"metadata":{"finalizers":null}}');
  await argocd('delete', 'applications.argoproj.io', '-l', 'app.kubernetes.io/part-of=mail-worker', '--ignore-not-found');
  // Hooks keep Argo CD's finalizer until the (now deleted) controller's sync releases them.
  for (const ns of ['mail-dev', 'mail-staging', 'mail-prod']) {
    const jobs = await getJson<{ items: { metadata: { name: string } }[] }>(['jobs', '-n', ns]).catch(() => ({ items: [] }));
    for (const job of jobs.items) {
      await kubectl(['patch', 'job', job.metadata.name, '-n', ns, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    }
  }
  await kubectl(['delete', 'namespace', 'mail-dev', 'mail-staging', 'mail-prod', '--ignore-not-found']);
}

const app = (name: string) => getJson<Application>(['applications.argoproj.io', name, '-n', 'argocd']);

t.test('the ApplicationSet creates one Application per environment; dev syncs, prod waits', async (t) => {
  const c = cluster();
  const published = await run(`${ROOT}hack/cluster-local.sh`, ['publish', '--dir', c.dir]);
  t.equal(published.status, 0, `working tree published to ${c.gitUrl}: ${published.stderr}`);

  // A person's earlier run on the same cluster may have left its Applications
  // behind, with a sync of an older tree still running: start clean.
  await removeEnvironments();
  const manifest = readFileSync(`${ROOT}argocd/mail-worker.yaml`, 'utf8');
  const local = manifest.replace(/(&repo )\S+/, `$1${c.gitUrl}`);
  t.not(local, manifest, 'the repository URL is set in one place (&repo)');
  await apply(local);
  t.teardown(removeEnvironments);

  const apps = await waitFor('three Applications', async () => {
    const list = await getJson<{ items: Application[] }>([
      'applications.argoproj.io',
      '-n',
      'argocd',
      '-l',
      'app.kubernetes.io/part-of=mail-worker',
    ]);
    return list.items.length >= 3 ? list.items : undefined;
  });
  t.same(
    apps.map((a) => a.metadata.name).sort(),
    ['mail-worker-dev', 'mail-worker-prod', 'mail-worker-staging'],
    'exactly dev, staging and prod',
  );
  for (const a of apps) {
    const env = a.metadata.name.replace('mail-worker-', '');
    t.equal(a.spec.destination.namespace, `mail-${env}`, `${env}: namespace mail-${env}`);
    t.same(a.spec.source.helm?.valueFiles, [`../../environments/${env}/values.yaml`], `${env}: its own values file`);
    t.equal(a.spec.source.repoURL, c.gitUrl, `${env}: reads the local repository`);
  }

  const dev = await waitFor(
    'dev Synced and Healthy',
    async () => {
      const a = await app('mail-worker-dev');
      return a.status?.sync?.status === 'Synced' && a.status.health?.status === 'Healthy' && a.status.operationState?.phase === 'Succeeded'
        ? a
        : undefined;
    },
    300_000,
    async () => `${JSON.stringify((await app('mail-worker-dev')).status, null, 1)}\n${await describeNamespace('mail-dev')}`,
  );
  const migrate = dev.status?.operationState?.syncResult?.resources?.find((r) => r.kind === 'Job' && r.name.endsWith('-migrate'));
  t.equal(migrate?.hookPhase, 'Succeeded', 'the migrate hook ran and succeeded');

  // Every later sync (a pushed values change, `argocd app sync`, a self-heal)
  // renders the chart again without lookup, so with new random passwords and
  // tokens: the Secrets the chart generated must keep the ones PostgreSQL
  // and Unleash already hold (the ApplicationSet ignores their /data, with
  // RespectIgnoreDifferences). A sync started the way the CLI starts one.
  const generated = ['mail-worker-generated', 'mail-worker-unleash'];
  const before = await secretData('mail-dev');
  t.same(
    generated.filter((name) => before[name]),
    generated,
    'dev has both generated Secrets',
  );
  await kubectl([
    '-n',
    'argocd',
    'patch',
    'applications.argoproj.io',
    'mail-worker-dev',
    '--type=merge',
    '-p',
    JSON.stringify({ operation: { initiatedBy: { username: 'test' }, sync: { syncStrategy: { hook: {} } } } }),
  ]);
  await waitFor(
    'dev synced a second time',
    async () => {
      const a = await app('mail-worker-dev');
      const state = a.status?.operationState;
      return state?.startedAt !== dev.status?.operationState?.startedAt && state?.phase === 'Succeeded' ? a : undefined;
    },
    300_000,
    async () => `${JSON.stringify((await app('mail-worker-dev')).status?.operationState, null, 1)}`,
  );
  const after = await secretData('mail-dev');
  for (const name of generated) t.same(after[name], before[name], `${name}: every value byte for byte the same after a second sync`);

  const prod = await waitFor('prod compared', async () => {
    const a = await app('mail-worker-prod');
    return a.status?.sync?.status && a.status.sync.status !== 'Unknown' ? a : undefined;
  });
  t.equal(prod.status?.sync?.status, 'OutOfSync', 'prod waits for someone to press Sync');
  t.notOk(prod.status?.operationState, 'no sync was started for prod');
});
