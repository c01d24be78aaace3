#!/usr/bin/env bash
# The test suite: lint, type-check and every test, against real Redis,
# PostgreSQL, SQLite, SMTP, Unleash, Helm, Chromium and a Kubernetes control
# plane that the suite starts itself. Installs what is missing first.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: hack/test.sh [--fast] [--coverage] [--update-screenshots] [FILE...] [-- TAP_ARGS...]

  (nothing)   the whole suite, what CI runs (.ci/run): lint, tsc, every test
              under service/test and test/, in two lanes side by side: the
              guides' walks and the Argo CD test on the real node, one file
              at a time, and the rest two at a time. Needs root: it starts a
              real node (containerd, kubelet, kube-proxy, CoreDNS) that adds a
              bridge, routes and iptables rules, all removed at the end, and a
              Docker Engine of its own for the images.
  --fast      the contributors' tier, a few minutes warm: lint, tsc, the
              service tests, the chart's render and schema tests, GitOps,
              scripts and docs checks, and the Helm 4 matrix on the test
              cluster's simulated (kwok) nodes. No Docker, no containerd, no
              real node, no root once its Debian packages are there (it names
              any that are missing).
  --coverage  collect coverage (off by default: it slows every process)
  --update-screenshots
              the browser test writes docs/screenshots/ (by default it
              writes .tap/screenshots/, leaving the committed ones alone)
  FILE...     only these test files, with the whole suite's setup (with
              --fast, the fast tier's: no real node); after --, arguments
              for tap, e.g. -- --jobs 1 test/real-node/

What it installs when missing: Node 24 under .tools/ and the npm
dependencies; Debian's redis-server, postgresql, shellcheck, openssl, git,
curl, ccache (npm ci then compiles SQLite once per machine, not once per
clone) and, for the whole suite, chromium, fonts-ipafont-gothic, docker.io,
docker-compose and debootstrap; built with Go into ~/.cache/mail-worker:
Helm 4 and 3, Mailpit, helm-docs and helm-values-schema-json, the test
cluster (hack/cluster-local.sh) and, for the whole suite, Prometheus, the
real node's programs and the images it runs; Schemathesis from PyPI into a
virtual environment there. The cluster and the tests' temporary files live
in folders that are removed however the suite ends.

At the end: the failed tests under their file, each file's time (also in
.tap/times.txt) and one line "tests: N passed, N failed".
USAGE
}

tier=full
files=()
while (($# > 0)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --fast) tier=fast; shift ;;
    --coverage) export TAP_DISABLE_COVERAGE=0; shift ;;
    --update-screenshots) export UPDATE_SCREENSHOTS=1; shift ;;
    --) shift; files+=("$@"); break ;;
    -*) usage >&2; exit 2 ;;
    *) files+=("$1"); shift ;;
  esac
done

# shellcheck source=lib/toolchain.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/toolchain.sh"
cd "$MAIL_WORKER_ROOT"
started=$SECONDS
phases=()
phase() { phases+=("$(printf '%6ds  %s' $((SECONDS - ${1})) "$2")"); }

packages=(curl:curl redis-server:redis-server initdb:postgresql shellcheck:shellcheck openssl:openssl git:git ccache:ccache)
[[ "$tier" == fast ]] || packages+=(chromium:chromium /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf:fonts-ipafont-gothic
  dockerd:docker.io /usr/bin/docker:docker.io docker-compose:docker-compose debootstrap:debootstrap)
# On a cold machine the Go builds are half of the wait. The real node's go
# beside the rest, so one's module downloads and links overlap the other's
# compiling (1,948 s for all of them where one after another took 2,005),
# and the Debian packages' downloads overlap them too.
[[ "$tier" == fast ]] || { ensure_real_node_binaries & real_node_build=$!; }
ensure_packages "${packages[@]}"
ensure_node
ensure_dependencies
ensure_schemathesis
ensure_helm
ensure_mailpit
ensure_chart_tools
ensure_cluster_binaries
if [[ "$tier" != fast ]]; then
  ensure_prometheus
  wait "$real_node_build" || die "building the real node's programs failed (its output is above)"
fi
phase "$started" "installs and builds (Debian packages, Node, npm, Go programs)"

# The test cluster (test/cluster/, and test/real-node/ with --real), in a
# folder of its own, and the suite's temporary files (every test's servers
# and data), in another: both stopped (by PID) and removed however the suite
# ends, so a test that crashed leaves nothing behind either.
# --one-file-system keeps rm out of anything still mounted there.
cluster_dir="$(mktemp -d "${TMPDIR:-/tmp}/mail-worker-cluster.XXXXXX")"
suite_tmp="$(mktemp -d "${TMPDIR:-/tmp}/mail-worker-suite.XXXXXX")"
# After a failure the cluster's logs (API server, controllers, kubelet,
# containerd, Traefik, KEDA...) stay in .tap/cluster-logs, to read why.
status=0
trap '((status == 0)) || { rm -rf .tap/cluster-logs && cp -r "$cluster_dir/logs" .tap/cluster-logs; } 2>/dev/null || true
  hack/cluster-local.sh down --dir "$cluster_dir" >/dev/null 2>&1 || true; [[ -z "${MAIL_WORKER_ENGINE_HELD:-}" ]] || hack/docker-engine.sh down --shared >/dev/null 2>&1 || true; rm -rf --one-file-system "$suite_tmp" || true' EXIT
mark=$SECONDS
# An assignment, not eval "$(...)" alone: a cluster that failed to start
# must stop the suite here (eval of an empty string succeeds).
real=(--real)
[[ "$tier" == full ]] || real=()
cluster_env="$(hack/cluster-local.sh up "${real[@]}" --dir "$cluster_dir")"
eval "$cluster_env"
phase "$mark" "the test cluster up$([[ "$tier" == fast ]] || echo ', with its real node and images')"
# Open to every user, as /tmp is: as root, tests run PostgreSQL as its own user.
chmod 1777 "$suite_tmp"
export TMPDIR="$suite_tmp"

mkdir -p .tap
log "running the $tier tests with Node $(node --version)"
mark=$SECONDS
if ((${#files[@]} == 0)); then
  if ! { npm run lint && npm run typecheck; }; then
    log "lint or tsc failed: no tests run"
    exit 1
  fi
  phase "$mark" "lint and tsc"
fi
npx tap build >/dev/null

# Two lanes side by side. One at a time, in this order: the walks of the
# guides, which install into the learner's namespaces (mail-dev,
# mail-staging) and the Argo CD test, which syncs the ApplicationSet there.
# The first ones measure no latency and no speed, so they run while the
# other lane, everything else at tap's two files at a time (the real node's
# tests in namespaces of their own among them), keeps the cores busy; the
# analysis (a p95 latency) and the autoscaling walks (a speed-up) come last,
# once it has ended.
serial=()
[[ "$tier" == fast ]] || serial=(test/real-node/argocd.test.ts test/real-node/blue-green.test.ts
  test/real-node/canary.test.ts test/real-node/analysis.test.ts test/real-node/stack.test.ts)
beside=()
if ((${#files[@]} > 0)); then
  chosen=" ${files[*]} "
  picked=()
  for file in "${serial[@]}"; do [[ "$chosen" != *" $file "* ]] || picked+=("$file"); done
  serial=("${picked[@]}")
  for file in "${files[@]}"; do [[ " ${serial[*]} " == *" $file "* ]] || beside+=("$file"); done
elif [[ "$tier" == fast ]]; then
  beside=(--exclude 'test/real-node/**' --exclude test/image.test.ts --exclude test/browser.test.ts --exclude test/cluster/helm3.test.ts)
else
  for file in "${serial[@]}"; do beside+=(--exclude "$file"); done
fi
: >.tap/serial.log
: >.tap/beside.log
mark=$SECONDS
if ((${#serial[@]} > 0)); then
  # Held for both lanes: one test's end must not stop it under another's build.
  hack/docker-engine.sh up --shared >/dev/null
  export MAIL_WORKER_ENGINE_HELD=1
  if ((${#beside[@]} > 0)); then
    log "the tests beside the real node's run now; their output follows theirs (.tap/beside.log)"
    npx tap "${beside[@]}" >.tap/beside.log 2>&1 &
    beside_pid=$!
  fi
  for file in "${serial[@]}"; do
    npx tap --jobs 1 "$file" 2>&1 | tee -a .tap/serial.log || status=1
  done
  if [[ -n "${beside_pid:-}" ]]; then
    wait "$beside_pid" || status=1
    cat .tap/beside.log
  fi
elif ((${#beside[@]} > 0)); then
  npx tap "${beside[@]}" 2>&1 | tee .tap/beside.log || status=1
fi
cat .tap/beside.log .tap/serial.log >.tap/last-run.log
phase "$mark" "the tests$( ((${#serial[@]} == 0)) || echo ', in two lanes side by side')"

# For whoever reads only the end: what failed, under the file it is in; each
# file's time, slowest first (a slow test shows up in the log of the change
# that made it slow); where the rest of the time went; and one plain line
# "tests: N passed, N failed", summed over tap's runs.
awk '
  /^# Subtest: / { file = substr($0, 12) }
  /^ *not ok / { line = $0; sub(/^ */, "", line); sub(/ # time=.*/, "", line); failed[++n] = file ": " line }
  END { if (n) { print "failed:"; for (i = 1; i <= n && i <= 40; i++) print "  " failed[i] } }
' .tap/last-run.log || true
# tap ends each file with "ok N - FILE # time=T" at the top level.
file_times="$(sed -nE 's/^(not )?ok [0-9]+ - ([^ ]+\.test\.ts) # time=([0-9.]+)(m?s).*/\3 \4 \2/p' .tap/last-run.log |
  awk '{ s = ($2 == "ms") ? $1 / 1000 : $1; printf "%7.1fs  %s\n", s, $3 }' | sort -rn)" || true
{
  echo "time per test file (the real node's lane one at a time, beside it the rest two at a time):"
  printf '%s\n' "$file_times"
  echo "time per phase:"
  printf '%s\n' "${phases[@]}"
  printf '%6ds  in all (%s tier)\n' $((SECONDS - started)) "$tier"
} >.tap/times.txt
cat .tap/times.txt >&2
grep -E '^# \{ total: [0-9]+' .tap/last-run.log | awk '
  { for (i = 1; i <= NF; i++) { if ($i == "pass:") p += $(i + 1); if ($i == "fail:") f += $(i + 1) } }
  END { if (NR) printf "tests: %d passed, %d failed\n", p, f }' || true
exit "$status"
