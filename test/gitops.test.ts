import { existsSync, readFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { directoryParams, merge, renderStrings, renderTemplate } from './helpers/applicationset.ts';
import { helm4, render, ROOT } from './helpers/helm.ts';
import { type Manifest, validateManifest, validateManifests } from './helpers/kubernetes.ts';

// argocd/mail-worker.yaml, expanded over environments/ as Argo CD would,
// and every resulting Application rendered with real Helm and validated.

interface ApplicationSetSpec {
  generators: Array<{ git: { repoURL: string; revision: string; directories: Array<{ path: string }> } }>;
  template: Manifest & {
    spec: {
      project: string;
      source: { repoURL: string; path: string; helm: { valueFiles: string[]; releaseName: string } };
      destination: { namespace: string; server: string };
    };
  };
  templatePatch?: string;
  goTemplate?: boolean;
  goTemplateOptions?: string[];
}
type Application = Manifest & {
  spec: ApplicationSetSpec['template']['spec'] & {
    syncPolicy?: { automated?: { prune?: boolean; selfHeal?: boolean }; syncOptions?: string[] };
    ignoreDifferences?: unknown[];
  };
};

const list = parse(readFileSync(join(ROOT, 'argocd/mail-worker.yaml'), 'utf8')) as { kind: string; items: Manifest[] };
const project = list.items.find((i) => i.kind === 'AppProject') as Manifest & {
  spec: {
    sourceRepos: string[];
    destinations: Array<{ namespace: string; server: string }>;
    namespaceResourceWhitelist: Array<{ group: string; kind: string }>;
  };
};
const appSet = list.items.find((i) => i.kind === 'ApplicationSet') as Manifest & { spec: ApplicationSetSpec };

function expand(): Application[] {
  const generator = appSet.spec.generators[0]!.git;
  return generator.directories.flatMap(({ path }) =>
    directoryParams(ROOT, path).map((params) => {
      const application = {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Application',
        ...renderStrings(appSet.spec.template, params),
      } as Application;
      const patch = appSet.spec.templatePatch ? parse(renderTemplate(appSet.spec.templatePatch, params)) : undefined;
      return (patch ? merge(application, patch) : application) as Application;
    }),
  );
}

t.test('the AppProject and ApplicationSet are valid Argo CD objects', async (t) => {
  t.equal(list.kind, 'List');
  for (const item of list.items) t.same(await validateManifest(item), [], `${String(item.kind)} ${item.metadata?.name}`);
  t.equal(appSet.spec.goTemplate, true);
  t.same(appSet.spec.goTemplateOptions, ['missingkey=error']);
  t.equal(appSet.spec.template.spec.project, project.metadata?.name, 'the project is hard-coded to the AppProject');
  const repo = project.spec.sourceRepos[0];
  t.equal(appSet.spec.generators[0]?.git.repoURL, repo, 'one repository URL (the &repo anchor) everywhere');
  t.equal(appSet.spec.template.spec.source.repoURL, repo);
  t.equal(readFileSync(join(ROOT, 'argocd/mail-worker.yaml'), 'utf8').match(/https:\/\/\S+\.git/g)?.length, 1, 'the URL is written once');
});

t.test('the generator yields one valid Application per environment', async (t) => {
  const applications = expand();
  t.same(
    applications.map((a) => a.metadata?.name),
    ['mail-worker-dev', 'mail-worker-prod', 'mail-worker-staging'],
  );
  t.same(await validateManifests(applications), [], 'each Application is a valid Argo CD object');
  const names = applications.map((a) => a.metadata?.name);
  const namespaces = applications.map((a) => a.spec.destination.namespace);
  t.equal(new Set(names).size, names.length, 'names are unique');
  t.equal(new Set(namespaces).size, namespaces.length, 'namespaces are unique');

  const allowed = new Set(project.spec.namespaceResourceWhitelist.map((r) => `${r.group}/${r.kind}`));
  const helm = helm4();
  for (const app of applications) {
    const name = app.metadata?.name;
    t.ok(app.spec.syncPolicy?.syncOptions?.includes('CreateNamespace=true'), `${name}: creates its namespace`);
    t.ok(app.spec.syncPolicy?.syncOptions?.includes('RespectIgnoreDifferences=true'), `${name}: respects ignoreDifferences at sync`);
    t.match(app.spec.ignoreDifferences, [
      { kind: 'Deployment', jsonPointers: ['/spec/replicas'] },
      { kind: 'Rollout', jsonPointers: ['/spec/replicas'] },
      { kind: 'Secret', name: 'mail-worker-generated', jsonPointers: ['/data'] },
      { kind: 'Secret', name: 'mail-worker-unleash', jsonPointers: ['/data'] },
      { kind: 'HTTPRoute', jqPathExpressions: ['.spec.rules[].backendRefs[].weight'] },
    ]);
    t.notOk(
      (app.spec.ignoreDifferences as { kind: string; name?: string }[]).some((d) => d.kind === 'Secret' && !d.name),
      `${name}: no rule ignores every Secret (credentials given in values must sync)`,
    );
    if (name === 'mail-worker-prod') t.equal(app.spec.syncPolicy?.automated, undefined, 'prod waits for a person to sync');
    else t.same(app.spec.syncPolicy?.automated, { prune: true, selfHeal: true }, `${name}: automated sync with prune and self-heal`);
    t.ok(
      project.spec.destinations.some(
        (d) =>
          d.server === app.spec.destination.server &&
          new RegExp(`^${d.namespace.replace('*', '.*')}$`).test(app.spec.destination.namespace),
      ),
      `${name}: its destination is allowed by the project`,
    );

    const chart = join(ROOT, app.spec.source.path);
    const valueFiles = app.spec.source.helm.valueFiles.map((f) => normalize(join(chart, f)));
    for (const file of valueFiles) t.ok(existsSync(file), `${name}: value file ${file.replace(ROOT, '')} exists`);
    const manifests = render(helm!, {
      valuesFiles: valueFiles,
      namespace: app.spec.destination.namespace,
      release: app.spec.source.helm.releaseName,
    });
    t.same(await validateManifests(manifests), [], `${name}: every rendered object is valid`);
    const ignoredSecrets = (app.spec.ignoreDifferences as { kind: string; name?: string }[])
      .filter((d) => d.kind === 'Secret')
      .map((d) => d.name);
    for (const secret of manifests.filter((m) => m.kind === 'Secret').map((m) => String(m.metadata?.name))) {
      const generated = /-(generated|unleash)$/.test(secret);
      t.equal(ignoredSecrets.includes(secret), generated, `${name}: Secret ${secret} is ${generated ? '' : 'not '}ignored`);
    }
    const kinds = [
      ...new Set(manifests.map((m) => `${String(m.apiVersion).includes('/') ? String(m.apiVersion).split('/')[0] : ''}/${String(m.kind)}`)),
    ];
    t.same(
      kinds.filter((k) => !allowed.has(k)),
      [],
      `${name}: the project allows every kind it renders`,
    );
  }
});

t.test('missingkey=error: an unknown parameter stops the expansion', async (t) => {
  t.throws(() => renderTemplate('{{ .path.nonexistent }}', directoryParams(ROOT, 'environments/*')[0]!), /no entry for key "nonexistent"/);
});
