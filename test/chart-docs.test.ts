import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { runToEnd } from './helpers/process.ts';
import { CHART, ROOT } from './helpers/helm.ts';

// values.yaml is the one source of the chart's values: hack/chart-docs.sh
// generates values.schema.json and the README's values table from it with
// helm-docs and helm-values-schema-json (built from the Go module proxy).

const check = (root: string) => runToEnd('bash', [join(root, 'hack/chart-docs.sh'), '--check']);

t.test('the checked-in schema and values table are what values.yaml gives', async (t) => {
  const result = await check(ROOT);
  t.equal(result.status, 0, 'hack/chart-docs.sh --check passes', { output: result.stdout + result.stderr });
});

t.test('the check fails, showing the difference, when values.yaml changes alone', async (t) => {
  // A copy of what the script reads, with one description and one limit changed.
  const root = mkdtempSync(join(tmpdir(), 'chart-docs-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  for (const path of ['scripts', 'hack', 'charts', 'package.json', '.prettierrc.json', '.nvmrc'])
    cpSync(join(ROOT, path), join(root, path), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  const values = join(root, 'charts/mail-worker/values.yaml');
  writeFileSync(
    values,
    readFileSync(values, 'utf8')
      .replace('# -- Jobs at once per queue per pod (WORKER_CONCURRENCY).', '# -- Jobs at once per pod.')
      .replace('concurrency: 20 # @schema minimum: 1; maximum: 1000', 'concurrency: 20 # @schema minimum: 1; maximum: 50'),
  );

  const result = await check(root);
  t.not(result.status, 0, 'the check fails');
  t.match(result.stderr, /out of date: values\.schema\.json README\.md/, 'naming both files');
  t.match(result.stdout, /^\+.*Jobs at once per pod\./m, 'the README diff shows the new description');
  t.match(result.stdout, /^\+\s+"maximum": 50/m, 'the schema diff shows the new limit');
});

t.test('every value is in the generated table', async (t) => {
  const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
  for (const key of ['worker.autoscaling.keda.listLength', 'rollout.analysis.successRate', 'web.extraEnv', 'postgresql.external.url'])
    t.match(readme, new RegExp(`^\\| ${key.replaceAll('.', '\\.')} +\\|`, 'm'), key);
});
