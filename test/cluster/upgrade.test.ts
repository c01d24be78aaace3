import t from 'tap';
import { helmInstall, helmRun, kubectl, namespace, releaseFlags, secretData } from '../helpers/cluster.ts';
import { CHART, helm4 } from '../helpers/helm.ts';
import { upgradeWalk } from '../helpers/upgrades.ts';

t.test('Helm 4: upgrades keep every generated secret; rollback works', (t) => upgradeWalk(t, helm4()));

t.test('an upgrade refuses to replace a generated password whose key went missing', async (t) => {
  const h = helm4();
  const ns = await namespace(t, 'lost-key');
  const release = { name: 'mail-worker', namespace: ns };
  await helmInstall(h, release);
  await kubectl([
    'patch',
    'secret',
    'mail-worker-generated',
    '-n',
    ns,
    '--type=json',
    '-p',
    '[{"op":"remove","path":"/data/POSTGRES_PASSWORD"}]',
  ]);
  const refused = await helmRun(h, ['upgrade', release.name, CHART, '-n', ns, ...releaseFlags(h)]).then(
    () => '',
    (e: Error) => e.message,
  );
  t.match(
    refused,
    /Secret .*mail-worker-generated exists but has no key POSTGRES_PASSWORD/,
    'the upgrade stops and names the Secret and the key',
  );
  const left = await secretData(ns);
  t.notOk('POSTGRES_PASSWORD' in left['mail-worker-generated']!, 'and writes no new password');
});
