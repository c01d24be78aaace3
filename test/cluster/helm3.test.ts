import t from 'tap';
import { helm3 } from '../helpers/helm.ts';
import { upgradeWalk } from '../helpers/upgrades.ts';

// Helm 3, which most laptops and Argo CD before 3.5 still run, installs and
// upgrades with flags of its own (helm_release_flags in scripts/lib/common.sh:
// --wait, no server-side apply to switch off). Everything else it does the
// way Helm 4 does, so the rest of test/cluster/ runs on Helm 4 alone, and
// test/chart.test.ts renders and lints every value set with both. This walk
// is where a Helm 3 user could still meet something else: an install, the
// chart's big toggles flipped one upgrade at a time with the Argo Rollouts
// controller writing into the Services in between, the generated secrets
// kept by `lookup`, and a rollback.

t.test('Helm 3: upgrades keep every generated secret; rollback works', (t) => upgradeWalk(t, helm3()));
