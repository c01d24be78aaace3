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
lacks: Node 24 under .tools/, the npm dependencies, Helm 4 and Helm 3 (built
with Go into .tools/), and Debian's redis-server, postgresql, shellcheck,
chromium and fonts-ipafont-gothic. Extra arguments go to tap, e.g. one file:
  scripts/test.sh service/test/delivery.test.ts
USAGE
  exit 0
fi

# shellcheck source=lib/toolchain.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/toolchain.sh"
cd "$MAIL_WORKER_ROOT"

ensure_packages curl:curl redis-server:redis-server initdb:postgresql shellcheck:shellcheck chromium:chromium /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf:fonts-ipafont-gothic
ensure_node
ensure_dependencies
ensure_helm

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
