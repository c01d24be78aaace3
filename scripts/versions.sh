#!/usr/bin/env bash
# Shows how the web's answers split between versions right now: calls
# /api/version many times (each call a new connection, so the Ingress or
# Service places each anew) and draws the share of each version.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/versions.sh [--url URL] [--calls N]

  --url URL    the web, through the Ingress (default: http://mail-worker.localhost)
  --calls N    how many calls (default: 200)
Prints one line per version: a bar, the calls it answered and its share.
The page /versions shows the same, live, in a browser.
USAGE
}

url=http://mail-worker.localhost
calls=200
while (($# > 0)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --url) url="${2:?--url needs a value}"; shift 2 ;;
    --calls) calls="${2:?--calls needs a value}"; shift 2 ;;
    *) usage >&2; exit 2 ;;
  esac
done

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
need curl "install curl (Debian: apt-get install curl)"
[[ "$calls" =~ ^[1-9][0-9]*$ ]] || die "--calls must be a whole number above 0, not $calls"

# A port-forward started a moment ago may not listen yet, and an Ingress
# made a moment ago may not be routed yet (Traefik applies a change within
# seconds, longer on a busy machine): wait for an answer, up to a minute.
for ((i = 0; i < 120; i++)); do curl -sf --max-time 2 "$url/readyz" >/dev/null && break; sleep 0.5; done
((i < 120)) || echo "no answer from $url/readyz within a minute: drawing what the calls get" >&2

# One curl for every call; a call answered with an error, or not at all, counts as "(error)".
curl -s --max-time 5 -w '\n' -H 'accept: application/json' "$url/api/version?call=[1-$calls]" |
  sed -nE 's/.*"version":"([^"]*)".*/\1/p; t; s/.*/(error)/p' |
  sort | uniq -c | sort -rn |
  awk -v calls="$calls" '{
    count = $1; $1 = ""; version = substr($0, 2)
    bar = ""; for (i = 0; i < int(40 * count / calls + 0.5); i++) bar = bar "#"
    printf "%-12s %-40s %5d  %3d%%\n", version, bar, count, 100 * count / calls
  }'
