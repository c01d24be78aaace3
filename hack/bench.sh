#!/usr/bin/env bash
# npm run bench: the benchmarks, on this machine, with the project's Node 24.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: hack/bench.sh [--topology local|deployed] [--runs N] [--profile] [--against REV]
       (or: npm run bench -- --topology deployed)

Builds service/dist and runs a benchmark against it, web and worker with the
NODE_OPTIONS the chart gives them. Prints progress, then a table.

  --topology local     (default) service/bench/run.ts: SQLite, real Redis and an
                       SMTP server in the benchmark. CSV import of 100,000 rows,
                       enqueue of 10,000 jobs (addBulk against one add per job),
                       BullMQ's no-op ceiling, 10,000 mails through one worker,
                       the dashboard and JSON API under autocannon, the worker's
                       peak memory, the live panel's cost at 0, 1 and 20 open
                       pages. About three minutes; bench/results/latest.json.
  --topology deployed  service/bench/deployed.ts: what the chart runs. PostgreSQL
                       (default durability), Redis (append-only), Mailpit (built
                       from the Go module proxy, with the chart's settings), one
                       web and 1, 2 and 4 worker processes: the machine's speed
                       and Mailpit's ceiling, 10,000 mails per worker count,
                       the same against a relay answering each DATA after
                       100 ms, a learner's 1,000-mail run there, CPU per mail of
                       every part, what each uses at rest, PostgreSQL's lock
                       waits and peak RSS.
                       bench/results/deployed.json and deployed.svg.
  --runs N             (deployed) the whole sequence N times, about four minutes
                       each on a 2-core machine (default 3); the tables give
                       the median and the range.
  --profile            (deployed) each worker writes a V8 CPU profile under
                       bench/results/profiles/, summarized by package at the end.
  --against REV        (deployed) also builds git revision REV's service (with
                       this checkout's node_modules) and measures it beside
                       this one: every step once with each, in turns, so
                       before and after share the machine's moment; a table of
                       both and their ratios at the end. Twice as long.
See docs/performance.md.
USAGE
}

topology=local
profile=false
runs=3
against=
while (($# > 0)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --topology) topology="${2:?--topology needs local or deployed}"; shift 2 ;;
    --profile) profile=true; shift ;;
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    --against) against="${2:?--against needs a git revision}"; shift 2 ;;
    *) usage >&2; exit 2 ;;
  esac
done

# shellcheck source=lib/toolchain.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/toolchain.sh"
cd "$MAIL_WORKER_ROOT"
case "$topology" in
  local) ensure_packages redis-server:redis-server ;;
  deployed) ensure_packages redis-server:redis-server initdb:postgresql ;;
  *) usage >&2; exit 2 ;;
esac
ensure_node
ensure_dependencies
[[ "$topology" == deployed ]] && ensure_mailpit
log "building the production artifact (service/dist), which the benchmark runs"
npm run --silent build
if [[ -n "$against" ]]; then
  [[ "$topology" == deployed ]] || { echo "--against measures the deployed topology: add --topology deployed" >&2; exit 2; }
  revision="$(git rev-parse --short "$against^{commit}")"
  against_dir="$(mktemp -d)"
  trap 'git worktree remove --force "$against_dir"' EXIT
  log "building $against ($revision) beside it, in a worktree"
  git worktree add --quiet --detach "$against_dir" "$revision"
  ln -s "$MAIL_WORKER_ROOT/node_modules" "$against_dir/node_modules"
  (cd "$against_dir" && npm run --silent build)
  export BENCH_AGAINST_MAIN="$against_dir/service/dist/main.js" BENCH_AGAINST_REVISION="$revision"
fi
if [[ "$topology" == local ]]; then
  node service/bench/run.ts
elif $profile; then
  profiles="$MAIL_WORKER_ROOT/bench/results/profiles"
  rm -rf "$profiles"
  BENCH_PROFILE_DIR="$profiles" node service/bench/deployed.ts --runs "$runs"
  for dir in "$profiles"/*/; do
    log "where the workers' CPU went: $(basename "$dir")"
    node service/bench/profile-summary.ts "$dir"*.cpuprofile
  done
else
  node service/bench/deployed.ts --runs "$runs"
fi
