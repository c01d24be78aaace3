#!/usr/bin/env bash
# npm run bench: the benchmark against real Redis, SMTP and SQLite on this
# machine, with the project's Node 24; figures go to bench/results/latest.json.
set -euo pipefail
if [[ "${1:-}" == --help || "${1:-}" == -h ]]; then
  cat <<'USAGE'
usage: scripts/bench.sh   (or: npm run bench)

Builds service/dist and runs service/bench/run.ts against it, web and worker
with the NODE_OPTIONS the chart gives them: CSV import of 100,000 rows, enqueue of 10,000
jobs (addBulk against one add per job, five rounds), BullMQ's no-op ceiling, delivery of
10,000 mails through one worker process, the dashboard and JSON API under
autocannon, and the worker's peak memory. Prints a table and writes
bench/results/latest.json. Takes about two minutes; see docs/performance.md.
USAGE
  exit 0
fi
# shellcheck source=lib/toolchain.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/toolchain.sh"
cd "$MAIL_WORKER_ROOT"
ensure_packages redis-server:redis-server
ensure_node
ensure_dependencies
log "building the production artifact (service/dist), which the benchmark runs"
npm run --silent build
node service/bench/run.ts
