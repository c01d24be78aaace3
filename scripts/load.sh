#!/usr/bin/env bash
# Generates load through the JSON API: makes sure enough recipients exist,
# then starts send runs and follows each to its end, printing progress.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/load.sh [--url URL] [--count N] [--failure-rate R] [--repeat K] [--interval S] [--no-wait]

  --url URL           the web (default: http://localhost:3000)
  --count N           mails per run (default: 1000); recipients are imported when fewer exist
  --failure-rate R    simulated failure rate from 0 to 1 (default: 0)
  --repeat K          runs to start (default: 1)
  --interval S        seconds between runs (default: 0)
  --no-wait           start the runs without following them to their end
Example, to make KEDA scale the workers:
  scripts/load.sh --url http://mail-worker.localtest.me --count 10000 --repeat 3
USAGE
}

url=http://localhost:3000
count=1000
rate=0
repeat=1
interval=0
wait=true
while (($# > 0)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --url) url="${2:?--url needs a value}"; shift 2 ;;
    --count) count="${2:?--count needs a value}"; shift 2 ;;
    --failure-rate) rate="${2:?--failure-rate needs a value}"; shift 2 ;;
    --repeat) repeat="${2:?--repeat needs a value}"; shift 2 ;;
    --interval) interval="${2:?--interval needs a value}"; shift 2 ;;
    --no-wait) wait=false; shift ;;
    *) usage >&2; exit 2 ;;
  esac
done

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
need curl "install curl (Debian: apt-get install curl)"
[[ "$count" =~ ^[1-9][0-9]*$ ]] || die "--count must be a whole number above 0, not $count"
[[ "$repeat" =~ ^[1-9][0-9]*$ ]] || die "--repeat must be a whole number above 0, not $repeat"
[[ "$rate" =~ ^(0(\.[0-9]+)?|1(\.0+)?)$ ]] || die "--failure-rate must be a number from 0 to 1, not $rate"
[[ "$interval" =~ ^[0-9]+$ ]] || die "--interval must be whole seconds, not $interval"

api() { curl -sS --fail-with-body --max-time 60 -H 'accept: application/json' "$@"; }
field() { sed -nE "s/.*\"$1\":(\"[^\"]*\"|[^,}]*).*/\1/p" | tr -d '"' | head -1; }

api "$url/readyz" >/dev/null || die "$url does not answer /readyz: is the stack running (scripts/dev.sh, or a port-forward)?"

stored="$(api "$url/api/recipients?limit=1" | field total)"
if ((stored < count)); then
  to_import=$((count - stored))
  log "importing $to_import recipients (have $stored, need $count)"
  csv="$(mktemp)"
  trap 'rm -f "$csv"' EXIT
  { echo 'name,email'; for ((i = 0; i < to_import; i++)); do echo "Load $RANDOM$i,load-$(date +%s)-$i@load.test"; done; } >"$csv"
  api -X POST -H 'content-type: text/csv' --data-binary "@$csv" "$url/api/recipients/import" | field imported | xargs -I{} echo "imported {}" >&2
fi

for ((run = 1; run <= repeat; run++)); do
  answer="$(api -X POST -H 'content-type: application/json' -d "{\"count\":$count,\"failureRate\":$rate}" "$url/api/runs")" ||
    die "the run was refused: $answer"
  id="$(field id <<<"$answer")"
  log "run $run/$repeat: #$id, $count mails through $(field queue <<<"$answer")"
  if [[ "$wait" == true ]]; then
    while :; do
      state="$(api "$url/api/runs/$id")"
      sent="$(field sent <<<"$state")"
      failed="$(field failed <<<"$state")"
      status="$(field status <<<"$state")"
      printf '\r  #%s %s: sent %s, failed %s of %s ' "$id" "$status" "$sent" "$failed" "$count" >&2
      [[ "$status" == completed* ]] && break
      sleep 1
    done
    printf '\n' >&2
    echo "run #$id $status: sent $sent, failed $failed"
  fi
  if ((run < repeat)); then sleep "$interval"; fi
done
