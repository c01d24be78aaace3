import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import t from 'tap';
import { launchBrowser, pictureWhen } from '../helpers/browser.ts';
import { cluster, getJson, kubectl, run, secretData } from '../helpers/cluster.ts';
import { prepareWalk, walk, walkSteps } from '../helpers/guides.ts';
import { ROOT } from '../helpers/helm.ts';

// docs/guides/argocd.md walked as a learner types it, in a clone of the
// repository whose origin is the test cluster's git daemon: the learner's
// fork, which Argo CD reads and the guide pushes to. The real ApplicationSet
// controller generates the Applications, the real application controller and
// repo server render the chart with Helm and sync it in sync-wave order,
// hooks included, and the real argocd CLI talks to argocd-server in its pod
// through `kubectl port-forward`. dev's and prod's pods run on the real node
// (their namespaces are made beforehand with its node selector, as every
// walk's are), so Healthy means they really started and reached their
// databases and Redis with the passwords the Secrets hold. staging's run on
// the simulated nodes: the three together ask more CPU than the node's 2
// cores, and the canary guides walk staging's strategy on the real node.

interface Application {
  metadata: { name: string };
  spec: {
    destination: { namespace: string };
    source: { helm?: { valueFiles?: string[] }; repoURL: string };
    syncPolicy?: { automated?: object };
  };
  status?: {
    sync?: { status?: string; revision?: string };
    health?: { status?: string };
    history?: { id: number; revision: string }[];
    operationState?: {
      phase?: string;
      operation?: { initiatedBy?: { username?: string; automated?: boolean } };
      syncResult?: { revision?: string; resources?: { kind: string; name: string; hookPhase?: string }[] };
    };
  };
}

const ENVIRONMENTS = ['mail-dev', 'mail-staging', 'mail-prod'];

/**
 * Deletes the ApplicationSet, its Applications and their namespaces, and
 * waits until they are gone: an earlier walk's leftovers before the walk, and
 * whatever a failed walk left after it.
 */
async function removeEnvironments(): Promise<void> {
  const argocd = (...args: string[]) => kubectl(['-n', 'argocd', ...args]);
  await argocd('delete', 'applicationsets.argoproj.io/mail-worker', 'appprojects.argoproj.io/mail-worker', '--ignore-not-found');
  await argocd('delete', 'applications.argoproj.io', '-l', 'app.kubernetes.io/part-of=mail-worker', '--ignore-not-found');
  // Hooks keep Argo CD's finalizer until a sync that no longer runs releases them.
  for (const ns of ENVIRONMENTS) {
    const jobs = await getJson<{ items: { metadata: { name: string } }[] }>(['jobs', '-n', ns]).catch(() => ({ items: [] }));
    for (const job of jobs.items) {
      await kubectl(['patch', 'job', job.metadata.name, '-n', ns, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    }
  }
  await kubectl(['delete', 'namespace', ...ENVIRONMENTS, '--ignore-not-found']);
}

const app = (name: string) => getJson<Application>(['applications.argoproj.io', name, '-n', 'argocd']);
const apps = async () =>
  (await getJson<{ items: Application[] }>(['applications.argoproj.io', '-n', 'argocd', '-l', 'app.kubernetes.io/part-of=mail-worker']))
    .items;

/** The WORKER_CONCURRENCY the worker Deployment of NAMESPACE gives its pods. */
async function workerConcurrency(namespace: string): Promise<string | undefined> {
  const deployment = await getJson<{ spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } } }>([
    'deployment',
    'mail-worker-worker',
    '-n',
    namespace,
  ]);
  return deployment.spec.template.spec.containers[0]?.env?.find((e) => e.name === 'WORKER_CONCURRENCY')?.value;
}

/**
 * "N active, live workers: W" on the dashboard at URL, once half of the
 * run's 300 mails have gone (so the picture shows them going), others still
 * wait and the active ones reached 10 (the concurrency the guide pushes;
 * with the old 20 or a second worker it shows more). Loads the page
 * once the guide's port-forward answers (a load begun before could abort its
 * stylesheet and script).
 */
async function activeWhileSending(page: Page, url: string): Promise<string | undefined> {
  if ((await page.locator('#system').count()) === 0) {
    const answers = await fetch(new URL('/readyz', url)).then(
      (response) => response.ok,
      () => false,
    );
    if (answers) await page.goto(url);
    return undefined;
  }
  const cell = (state: string) => page.locator(`#system tr[data-queue="mail-default"] td[data-state="${state}"]`).innerText();
  const [waiting, active, workers] = await Promise.all([
    cell('waiting'),
    cell('active'),
    page.locator('#system table.live-workers tbody tr').count(),
  ]);
  return Number(waiting) > 0 && Number(waiting) <= 150 && Number(active) >= 10 ? `${active} active, live workers: ${workers}` : undefined;
}

t.test('docs/guides/argocd.md: sync, a pushed change, the CLI and a rollback', async (t) => {
  const c = cluster();
  const published = await run(`${ROOT}hack/cluster-local.sh`, ['publish', '--dir', c.dir]);
  t.equal(published.status, 0, `working tree published to ${c.gitUrl}: ${published.stderr}`);
  await removeEnvironments();
  t.teardown(removeEnvironments);

  const fork = mkdtempSync(join(tmpdir(), 'argocd-fork-'));
  t.teardown(() => rmSync(fork, { recursive: true, force: true }));
  const cloned = await run('git', ['clone', '-q', c.gitUrl, fork]);
  t.equal(cloned.status, 0, `the fork cloned: ${cloned.stderr}`);
  const env = {
    ...(await prepareWalk(t, ['mail-dev', 'mail-prod'])),
    GIT_AUTHOR_NAME: 'Learner',
    GIT_AUTHOR_EMAIL: 'learner@localhost',
    GIT_COMMITTER_NAME: 'Learner',
    GIT_COMMITTER_EMAIL: 'learner@localhost',
    // The CLI's login, in the walk's own folder.
    ARGOCD_CONFIG_DIR: join(fork, '.argocd'),
  };
  const pushed = async () => (await run('git', ['ls-remote', c.gitUrl, 'refs/heads/main'])).stdout.split('\t')[0];

  // 1-3: the fork, the add-ons and images, prod's Secret, the ApplicationSet.
  await walkSteps(t, env, 'argocd', 1, 3, fork);
  t.match(
    readFileSync(join(fork, 'argocd/mail-worker.yaml'), 'utf8'),
    `&repo ${c.gitUrl}`,
    'argocd-repo.sh set the fork (origin) as the repository',
  );
  const first = await pushed();
  const log = await run('git', ['-C', fork, 'log', '-1', '--format=%H %s']);
  t.equal(log.stdout.trim(), `${first} Point Argo CD at my fork`, 'the commit reached the fork');

  const generated = await apps();
  t.same(
    generated.map((a) => a.metadata.name).sort(),
    ['mail-worker-dev', 'mail-worker-prod', 'mail-worker-staging'],
    'exactly dev, staging and prod',
  );
  for (const a of generated) {
    const name = a.metadata.name.replace('mail-worker-', '');
    t.equal(a.spec.destination.namespace, `mail-${name}`, `${name}: namespace mail-${name}`);
    t.same(a.spec.source.helm?.valueFiles, [`../../environments/${name}/values.yaml`], `${name}: its own values file`);
    t.equal(a.spec.source.repoURL, c.gitUrl, `${name}: reads the fork`);
  }
  for (const name of ['mail-worker-dev', 'mail-worker-staging']) {
    const a = await app(name);
    t.match(
      [a.status?.sync?.status, a.status?.health?.status, a.status?.operationState?.phase, a.status?.sync?.revision],
      ['Synced', 'Healthy', 'Succeeded', first],
      `${name}: deploy.sh came back once it was Synced and Healthy, at the pushed commit`,
    );
  }
  const dev = await app('mail-worker-dev');
  const migrate = dev.status?.operationState?.syncResult?.resources?.find((r) => r.kind === 'Job' && r.name.endsWith('-migrate'));
  t.equal(migrate?.hookPhase, 'Succeeded', 'dev: the migrate hook ran and succeeded');
  const staging = await app('mail-worker-staging');
  const flags = staging.status?.operationState?.syncResult?.resources?.find((r) => r.kind === 'Job' && r.name.endsWith('-unleash-flags'));
  t.equal(flags?.hookPhase, 'Succeeded', 'staging: the PostSync hook set its Unleash flags');
  const prod = await app('mail-worker-prod');
  t.notOk(prod.spec.syncPolicy?.automated, 'prod: no automated sync');
  t.equal(prod.status?.sync?.status, 'OutOfSync', 'prod waits for someone to sync it');
  t.notOk(prod.status?.operationState, 'prod: no sync was started');
  const secretsBefore = await secretData('mail-dev');
  const kept = ['mail-worker-generated', 'mail-worker-unleash'];
  t.same(
    kept.filter((name) => secretsBefore[name]),
    kept,
    'dev has both generated Secrets',
  );

  // 4-10: the port-forward, the CLI's login, prod's sync, the pushed change,
  // its diff and sync, a run on dev's dashboard through a second
  // port-forward, the rollback. The picture's page opens now and waits for
  // that port-forward and run.
  const dashboard = 'http://localhost:8081/';
  const activeInDev = launchBrowser(t)
    .then((browser) =>
      pictureWhen(browser, dashboard, 'argocd-dev-concurrency.png', (page) => activeWhileSending(page, dashboard), {
        selector: '#system',
        timeoutMs: 300_000,
      }),
    )
    .catch((error: unknown) => String(error));
  const output = await walkSteps(t, env, 'argocd', 4, 10, fork);
  t.match(output, /run #\d+ completed\S*: sent 300, failed 0/, "load.sh's run in dev sent its 300 mails");
  t.equal(
    await activeInDev,
    '10 active, live workers: 1',
    "dev's live panel: 10 mails at once on its one worker (docs/screenshots/argocd-dev-concurrency.png)",
  );
  const second = await pushed();
  t.not(second, first, 'the change was pushed');
  t.match(
    output,
    /argocd\/mail-worker-prod\s+\S+\s+mail-prod\s+mail-worker\s+Synced\s+Healthy/,
    'argocd app list: prod Synced and Healthy',
  );
  t.match(output, /<\s+value: "50"\n---\n>\s+value: "10"/, 'argocd app diff: prod would go from 50 to 10 mails at once');

  const devAfter = await app('mail-worker-dev');
  t.equal(devAfter.status?.operationState?.syncResult?.revision, second, 'dev synced the pushed commit by itself');
  t.equal(devAfter.status?.operationState?.operation?.initiatedBy?.automated, true, 'dev: an automated sync');
  t.equal(await workerConcurrency('mail-dev'), '10', 'dev: the worker takes 10 at once');
  const secretsAfter = await secretData('mail-dev');
  for (const name of kept)
    t.same(secretsAfter[name], secretsBefore[name], `${name}: every value byte for byte the same after the second sync`);

  const prodAfter = await app('mail-worker-prod');
  t.same(
    prodAfter.status?.history?.map((h) => h.revision),
    [first, second, first],
    'prod history: the first sync, the pushed change, the rollback to the first',
  );
  t.equal(prodAfter.status?.operationState?.operation?.initiatedBy?.username, 'admin', 'prod: synced by the CLI, logged in as admin');
  t.equal(await workerConcurrency('mail-prod'), '50', 'prod: back to 50 at once after the rollback');

  // Cleanup: the Applications, the project and the namespaces go.
  const cleanup = await walk(env, 'argocd', ['--cleanup'], fork);
  t.equal(cleanup.status, 0, 'the Cleanup steps ran', { terminal: cleanup.output.slice(-3000) });
  t.same(await apps(), [], 'no Application left');
  const namespaces = await getJson<{ items: { metadata: { name: string } }[] }>(['namespaces']);
  t.same(
    namespaces.items.map((n) => n.metadata.name).filter((n) => ENVIRONMENTS.includes(n)),
    [],
    'the environments are gone',
  );
});
