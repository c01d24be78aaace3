#!/usr/bin/env bash
# Generates load through the JSON API. Send runs: makes sure enough
# recipients exist, then starts runs and follows each to its end, printing
# progress. Requests: a steady rate of page calls for a while, which goes on
# whatever the answers are (what a rollout analysis needs to judge a version).
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/load.sh [--url URL] [--count N] [--failure-rate R] [--relay-latency MS]
                       [--repeat K] [--interval S] [--no-wait] [--ready-timeout S]
       scripts/load.sh [--url URL] --requests-per-second N [--duration S] [--path PATH]

  --url URL           the web (default: http://localhost:$PORT, the port scripts/dev.sh
                      listens on, 3000 unless set)
  --ready-timeout S   seconds to wait for URL/readyz first, for a stack still
                      starting (default: 60)
  --count N           mails per run (default: 1000); recipients are imported when fewer exist
  --failure-rate R    simulated failure rate from 0 to 1 (default: 0)
  --relay-latency MS  milliseconds each mail waits, as on a slow SMTP relay, from 0
                      to 5000 (default: 0): sending then waits on I/O, so more
                      workers send faster
  --repeat K          runs to start (default: 1)
  --interval S        seconds between runs (default: 0)
  --no-wait           start the runs without following them to their end
  --requests-per-second N
                      instead of runs: N calls a second of GET PATH, each on a
                      new connection, counted by answer every 5 seconds; 5xx
                      answers and refused connections do not stop it
  --duration S        with --requests-per-second: stop after S seconds (default: 0, never)
  --path PATH         with --requests-per-second: what to call (default: /api/runs)
Example, to make KEDA scale the workers:
  scripts/load.sh --url http://mail-worker.localhost --count 10000 --repeat 3
USAGE
}

url="http://localhost:${PORT:-3000}"
count=1000
rate=0
latency=0
repeat=1
interval=0
wait=true
per_second=""
duration=0
path=/api/runs
ready_timeout=60
while (($# > 0)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --url) url="${2:?--url needs a value}"; shift 2 ;;
    --count) count="${2:?--count needs a value}"; shift 2 ;;
    --failure-rate) rate="${2:?--failure-rate needs a value}"; shift 2 ;;
    --relay-latency) latency="${2:?--relay-latency needs a value}"; shift 2 ;;
    --repeat) repeat="${2:?--repeat needs a value}"; shift 2 ;;
    --interval) interval="${2:?--interval needs a value}"; shift 2 ;;
    --no-wait) wait=false; shift ;;
    --requests-per-second) per_second="${2:?--requests-per-second needs a value}"; shift 2 ;;
    --duration) duration="${2:?--duration needs a value}"; shift 2 ;;
    --path) path="${2:?--path needs a value}"; shift 2 ;;
    --ready-timeout) ready_timeout="${2:?--ready-timeout needs a value}"; shift 2 ;;
    *) usage >&2; exit 2 ;;
  esac
done

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/api.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/api.sh"
need curl "install curl (Debian: apt-get install curl)"
[[ "$count" =~ ^[1-9][0-9]*$ ]] || die "--count must be a whole number above 0, not $count"
[[ "$repeat" =~ ^[1-9][0-9]*$ ]] || die "--repeat must be a whole number above 0, not $repeat"
[[ "$rate" =~ ^(0(\.[0-9]+)?|1(\.0+)?)$ ]] || die "--failure-rate must be a number from 0 to 1, not $rate"
if ! [[ "$latency" =~ ^(0|[1-9][0-9]{0,3})$ ]] || ((latency > 5000)); then
  die "--relay-latency must be whole milliseconds from 0 to 5000, not $latency"
fi
[[ "$interval" =~ ^[0-9]+$ ]] || die "--interval must be whole seconds, not $interval"

[[ -z "$per_second" || "$per_second" =~ ^[1-9][0-9]*$ ]] || die "--requests-per-second must be a whole number above 0, not $per_second"
[[ "$duration" =~ ^[0-9]+$ ]] || die "--duration must be whole seconds, not $duration"
[[ "$path" == /* ]] || die "--path must start with /, not $path"
[[ "$ready_timeout" =~ ^[0-9]+$ ]] || die "--ready-timeout must be whole seconds, not $ready_timeout"

wait_ready "$url" "$ready_timeout"

if [[ -n "$per_second" ]]; then
  # curl paces the calls itself (--rate); each 5-second batch is one curl,
  # and its answers are counted by status (000: no answer).
  if ((duration > 0)); then until="for ${duration}s"; else until="until Ctrl-C"; fi
  log "calling $url$path $per_second times a second, $until"
  batch=$((per_second * 5))
  started=$SECONDS
  while ((duration == 0 || SECONDS - started < duration)); do
    counts="$(curl -s -o /dev/null -w '%{http_code}\n' --rate "$per_second/s" --max-time 5 \
      -H 'connection: close' -H 'accept: application/json' "$url$path?load=[1-$batch]" |
      sort | uniq -c | awk '{ printf "%s %s×%s", (NR > 1 ? "," : ""), $2, $1 }')" || true
    echo "$((SECONDS - started))s:$counts"
  done
  exit 0
fi

stored="$(api "$url/api/recipients?limit=1" | field total)"
if ((stored < count)); then
  to_import=$((count - stored))
  log "importing $to_import recipients (have $stored, need $count)"
  csv="$(mktemp)"
  trap 'rm -f "$csv"' EXIT
  # awk, not a shell loop: 100,000 rows in a moment rather than minutes.
  awk -v n="$to_import" -v stamp="$(date +%s)" \
    'BEGIN { print "name,email"; for (i = 0; i < n; i++) printf "Load %d,load-%s-%d@load.test\n", i, stamp, i }' >"$csv"
  api -X POST -H 'content-type: text/csv' --data-binary "@$csv" "$url/api/recipients/import" | field imported | xargs -I{} echo "imported {}" >&2
fi

for ((run = 1; run <= repeat; run++)); do
  started=$SECONDS
  answer="$(api -X POST -H 'content-type: application/json' -d "{\"count\":$count,\"failureRate\":$rate,\"relayLatencyMs\":$latency}" "$url/api/runs")" ||
    die "the run was refused: $answer"
  id="$(field id <<<"$answer")"
  log "run $run/$repeat: #$id, $count mails through $(field queue <<<"$answer")"
  if [[ "$wait" == true ]]; then
    while :; do
      state="$(api "$url/api/runs/$id")"
      sent="$(field sent <<<"$state")"
      failed="$(field failed <<<"$state")"
      status="$(field status <<<"$state")"
      printf '\r  #%s %s: sent %s, failed %s of %s, %ss ' "$id" "$status" "$sent" "$failed" "$count" "$((SECONDS - started))" >&2
      [[ "$status" == completed* ]] && break
      sleep 1
    done
    printf '\n' >&2
    # From the request to the run's end, whole seconds (as often as it is polled).
    echo "run #$id $status: sent $sent, failed $failed in $((SECONDS - started)) s"
  fi
  if ((run < repeat)); then sleep "$interval"; fi
done
