# shellcheck shell=bash
# The service's JSON API from a script, with curl alone: a call that fails
# on an error status, and one field of a flat JSON answer.

# Five minutes: the largest run (100,000 mails) is stored and queued in one
# request, over a minute on a busy 2-core laptop. A caller that polls
# passes a shorter --max-time (curl takes the last one given).
api() { curl -sS --fail-with-body --max-time 300 -H 'accept: application/json' "$@"; }
# field NAME: the first "NAME": value of the JSON on standard input, unquoted
# (empty, and still a success, where there is none): the answer's own where a
# list inside it repeats the name later (a run's "sent" before its pods').
field() { { grep -oE "\"$1\":(\"[^\"]*\"|[^,}]*)" || true; } | head -1 | sed -E "s/^\"$1\"://" | tr -d '"'; }

# wait_ready URL SECONDS: a stack started a moment ago (scripts/dev.sh in
# another terminal, a release still rolling out) may still be starting.
wait_ready() {
  local url="$1" timeout="$2" i
  for ((i = 0; ; i++)); do
    api "$url/readyz" >/dev/null 2>&1 && return 0
    ((i < timeout)) || die "$url does not answer /readyz: is the stack running (scripts/dev.sh, or the Ingress)?"
    ((i > 0)) || log "waiting for $url/readyz"
    sleep 1
  done
}
