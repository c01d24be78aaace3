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
and helm-values-schema-json, and the test cluster (scripts/cluster-local.sh),
which it starts in a temporary folder for the suite and stops afterwards; and
Schemathesis from PyPI into a virtual environment there. Extra arguments go to tap, e.g. one file:
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

# The test cluster the tests under test/cluster/ use, in a folder of its own,
# stopped (by PID) and removed however the suite ends.
cluster_dir="$(mktemp -d "${TMPDIR:-/tmp}/mail-worker-cluster.XXXXXX")"
trap 'scripts/cluster-local.sh down --dir "$cluster_dir" >/dev/null 2>&1 || true' EXIT
eval "$(scripts/cluster-local.sh up --dir "$cluster_dir")"

mkdir -p .tap
log "running the suite with Node $(node --version)"
status=0
if (($# > 0)); then
  npx tap "$@" 2>&1 | tee .tap/last-run.log || status=$?
else
  npm test 2>&1 | tee .tap/last-run.log || status=$?
fi

# One plain closing line for whoever reads only the end: "tests: N passed, N failed".
summary="$(grep -E '^# \{ total: [0-9]+' .tap/last-run.log | tail -1 || true)"
if [[ -n "$summary" ]]; then
  passed="$(sed -nE 's/.*pass: ([0-9]+).*/\1/p' <<<"$summary")"
  failed="$(sed -nE 's/.*fail: ([0-9]+).*/\1/p' <<<"$summary")"
  echo "tests: ${passed:-0} passed, ${failed:-0} failed"
fi
exit "$status"
