#!/usr/bin/env bash
# The whole test suite: lint, type-check and every test, against real Redis,
# PostgreSQL, SQLite, SMTP, Unleash, Helm and Chromium that the tests start
# themselves on free loopback ports. Installs what is missing first.
set -euo pipefail

if [[ "${1:-}" == --help || "${1:-}" == -h ]]; then
  cat <<'USAGE'
usage: scripts/test.sh [tap arguments]

Runs `npm test` (ESLint, Prettier, tsc, then node-tap over service/test and
test/) with the project's Node 24, after installing what a fresh machine
lacks: Node 24 under .tools/, the npm dependencies, Debian's redis-server,
postgresql, shellcheck, chromium, fonts-ipafont-gothic, openssl, git,
docker.io, docker-compose and debootstrap (the image test runs its own Docker
Engine and, where Docker Hub is out of reach, a local base image), and,
built with Go into ~/.cache/mail-worker: Helm 4 and Helm 3, Mailpit, helm-docs
and helm-values-schema-json, Prometheus, and the test cluster
(scripts/cluster-local.sh) with its real node (kubelet, kube-proxy, CoreDNS;
Debian's containerd, runc and CNI plugins; the images it runs, built once
per change into the cache), which it starts in a temporary folder for the
suite and stops afterwards; and Schemathesis from PyPI into a virtual
environment there. Runs as root (the real node needs it). The tests'
temporary files go to one folder (TMPDIR), removed with the cluster when
the suite ends. The real node's
tests (test/real-node/) run after the rest, one file at a time. Extra
arguments go to tap instead, e.g. one file:
  scripts/test.sh service/test/delivery.test.ts
USAGE
  exit 0
fi

# shellcheck source=lib/toolchain.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/toolchain.sh"
cd "$MAIL_WORKER_ROOT"

ensure_packages curl:curl redis-server:redis-server initdb:postgresql shellcheck:shellcheck chromium:chromium \
  /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf:fonts-ipafont-gothic openssl:openssl git:git \
  dockerd:docker.io /usr/bin/docker:docker.io docker-compose:docker-compose debootstrap:debootstrap
ensure_node
ensure_dependencies
ensure_helm
ensure_mailpit
ensure_chart_tools
ensure_schemathesis
ensure_cluster_binaries
ensure_prometheus

# The test cluster the tests under test/cluster/ use, in a folder of its own,
# and the suite's temporary files (every test's servers and data), in
# another: both stopped (by PID) and removed however the suite ends, so a
# test that crashed leaves nothing behind either. --one-file-system keeps
# rm out of anything still mounted there.
cluster_dir="$(mktemp -d "${TMPDIR:-/tmp}/mail-worker-cluster.XXXXXX")"
suite_tmp="$(mktemp -d "${TMPDIR:-/tmp}/mail-worker-suite.XXXXXX")"
trap 'scripts/cluster-local.sh down --dir "$cluster_dir" >/dev/null 2>&1 || true; rm -rf --one-file-system "$suite_tmp" || true' EXIT
eval "$(scripts/cluster-local.sh up --real --dir "$cluster_dir")"
# Open to every user, as /tmp is: tests run PostgreSQL as its own user.
chmod 1777 "$suite_tmp"
export TMPDIR="$suite_tmp"

mkdir -p .tap
log "running the suite with Node $(node --version)"
status=0
if (($# > 0)); then
  npx tap "$@" 2>&1 | tee .tap/last-run.log || status=$?
else
  npm test 2>&1 | tee .tap/last-run.log || status=$?
fi

# For whoever reads only the end: what failed, under the file it is in, and
# one plain line "tests: N passed, N failed", summed over tap's runs (the
# suite, then the real node's tests).
awk '
  /^# Subtest: / { file = substr($0, 12) }
  /^ *not ok / { line = $0; sub(/^ */, "", line); sub(/ # time=.*/, "", line); failed[++n] = file ": " line }
  END { if (n) { print "failed:"; for (i = 1; i <= n && i <= 40; i++) print "  " failed[i] } }
' .tap/last-run.log || true
grep -E '^# \{ total: [0-9]+' .tap/last-run.log | awk '
  { for (i = 1; i <= NF; i++) { if ($i == "pass:") p += $(i + 1); if ($i == "fail:") f += $(i + 1) } }
  END { if (NR) printf "tests: %d passed, %d failed\n", p, f }' || true
exit "$status"
