#!/usr/bin/env bash
# Kills a part of a deployed stack in the middle of a send run and shows what
# the run made of it: starts a run through the web (scripts/load.sh), deletes
# the part's pod once a quarter of the mails are done (its StatefulSet or
# Deployment starts a new one), follows the run to its end and counts the
# mails that reached Mailpit, to see whether any was lost or sent twice.
# The web is killed instead while it imports a CSV and while it queues a
# run, and the run resumed.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/fault.sh PART [--env ENV] [--url URL] [--count N] [--relay-latency MS]
                             [--stall-timeout S]

  PART                the pod to delete mid-run: worker, redis, postgresql or mailpit;
                      or web: its pods are killed (SIGKILL a second after SIGTERM)
                      while they import a CSV of --count rows, then while they queue
                      a run of --count mails, which is then resumed (give it
                      --count 50000 or more: less is done before the kill lands)
  --env ENV           the release scripts/deploy.sh --env ENV installed (default: dev):
                      release mail-worker in namespace mail-ENV
  --url URL           its web (default: http://mail-worker.localhost, the Ingress)
  --count N           mails in the run (default: 1000)
  --relay-latency MS  each mail's wait on the relay (default: 200), so that the run
                      lasts long enough to be hit
  --stall-timeout S   give up when the run has not moved for S seconds (default: 180)
It empties Mailpit first (to count this run's mails there) and prints, at the
end, the run's counts, the mails Mailpit holds (more than sent: some went out
twice) and how long the run stood still after the pod was deleted.
USAGE
}

part=""
env=dev
url=http://mail-worker.localhost
count=1000
latency=200
stall_timeout=180
while (($# > 0)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --env) env="${2:?--env needs a value}"; shift 2 ;;
    --url) url="${2:?--url needs a value}"; shift 2 ;;
    --count) count="${2:?--count needs a value}"; shift 2 ;;
    --relay-latency) latency="${2:?--relay-latency needs a value}"; shift 2 ;;
    --stall-timeout) stall_timeout="${2:?--stall-timeout needs a value}"; shift 2 ;;
    -*) usage >&2; exit 2 ;;
    *) [[ -z "$part" ]] || { usage >&2; exit 2; }; part="$1"; shift ;;
  esac
done

here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=lib/common.sh
source "$here/lib/common.sh"
# shellcheck source=lib/api.sh
source "$here/lib/api.sh"
case "$part" in
  worker | redis | postgresql | mailpit | web) ;;
  "") usage >&2; exit 2 ;;
  *) die "PART must be worker, redis, postgresql, mailpit or web, not $part" ;;
esac
[[ "$count" =~ ^[1-9][0-9]*$ ]] || die "--count must be a whole number above 0, not $count"
[[ "$stall_timeout" =~ ^[1-9][0-9]*$ ]] || die "--stall-timeout must be whole seconds, not $stall_timeout"
need kubectl "install kubectl (https://kubernetes.io/docs/tasks/tools/)"
ns="mail-$env"
release=mail-worker
selector="app.kubernetes.io/instance=$release,app.kubernetes.io/component=$part"
kubectl -n "$ns" get pods -l "$selector" -o name | grep -q . ||
  die "no $part pod in namespace $ns: deploy first (scripts/deploy.sh --env $env)"

# The part's pods as "uid ready" lines: a StatefulSet's new pod has the old
# one's name, not its uid.
pods() {
  kubectl -n "$ns" get pods -l "$selector" \
    -o jsonpath='{range .items[*]}{.metadata.uid} {.status.containerStatuses[0].ready}{"\n"}{end}'
}
# A Ready pod that was not there at the deletion.
new_pod_ready() { pods | awk -v before="$before" 'index(before, $1) == 0 && $2 == "true" { found = 1 } END { exit !found }'; }
# Waits for one, for at most --stall-timeout after the deletion.
wait_new_pod() {
  until new_pod_ready; do
    ((SECONDS - deleted_at < stall_timeout)) ||
      die "no new $part pod Ready $stall_timeout s after the deletion (kubectl -n $ns describe pods -l $selector)"
    sleep 1
  done
}

# The web's pods, killed while they work: a second after SIGTERM
# (--grace-period=1) the kernel kills them, as it would a pod over its
# memory limit, so the request in hand cannot finish. First a CSV import,
# which must be stored whole or not at all; then a run's enqueue, which
# stops at its cursor and is resumed, no job queued twice.
if [[ "$part" == web ]]; then
  kill_web() {
    before="$(pods | cut -d' ' -f1 | tr '\n' ' ')"
    kubectl -n "$ns" delete pods -l "$selector" --grace-period=1 --wait=false >/dev/null
    deleted_at=$SECONDS
    log "killed the web pods $1"
  }
  # Sets ready_after: how long after the kill the web answered again.
  new_web_ready() {
    wait_new_pod
    wait_ready "$url" "$stall_timeout"
    ready_after=$((SECONDS - deleted_at))
  }
  recipients() { api --max-time 5 "$url/api/recipients?limit=1" | field total; }
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT

  awk -v n="$count" -v stamp="$(date +%s)" \
    'BEGIN { print "name,email"; for (i = 0; i < n; i++) printf "Fault %d,fault-%s-%d@fault.test\n", i, stamp, i }' >"$scratch/import.csv"
  stored_before="$(recipients)"
  since="$(date -u -d '1 second ago' +%Y-%m-%dT%H:%M:%SZ)"
  api -H 'content-type: text/csv' --data-binary "@$scratch/import.csv" "$url/api/recipients/import" >"$scratch/import.out" 2>&1 &
  importer=$!
  log "importing $count recipients; the web pods go once they log the request"
  until kubectl -n "$ns" logs -l "$selector" --since-time="$since" --tail=-1 2>/dev/null | grep -q '"url":"/api/recipients/import"'; do
    kill -0 "$importer" 2>/dev/null || die "the import ended before the web logged it: $(cat "$scratch/import.out")"
    sleep 0.2
  done
  kill_web "with the import in hand"
  wait "$importer" && answer="answered: $(field imported <"$scratch/import.out") imported" || answer="got no answer"
  new_web_ready
  stored_after="$(recipients)"
  echo "web pods killed mid-import: the import of $count rows $answer; recipients $stored_before before, $stored_after after"
  echo "  a new web pod was Ready $ready_after s after the kill"
  ((stored_after == stored_before || stored_after == stored_before + count)) ||
    die "the import was stored in part: $((stored_after - stored_before)) of $count rows"

  newest() { api --max-time 5 "$url/api/runs?limit=1" 2>/dev/null; }
  before_id="$(newest | field id)"
  "$here/load.sh" --url "$url" --count "$count" --no-wait >"$scratch/load.out" 2>&1 &
  loader=$!
  log "starting a $count-mail run; the web pods go once part of its jobs are queued"
  while :; do
    state="$(newest)" || state=""
    id="$(field id <<<"$state")"
    if [[ -n "$id" && "$id" != "${before_id:-}" ]]; then
      enqueued="$(field enqueued <<<"$state")"
      ((enqueued < count)) || die "run #$id was queued whole before the web could be killed: give a larger --count"
      break
    fi
    kill -0 "$loader" 2>/dev/null || die "load.sh ended before its run was listed: $(cat "$scratch/load.out")"
    sleep 0.2
  done
  kill_web "with run #$id at $enqueued of $count jobs queued"
  wait "$loader" && answer="answered" || answer="got no answer"
  new_web_ready
  stopped="$(api "$url/api/runs/$id" | field enqueued)"
  echo "web pods killed mid-enqueue: run #$id had $stopped of $count jobs queued; load.sh's request $answer"
  echo "  a new web pod was Ready $ready_after s after the kill"
  if ((stopped < count)); then
    resumed="$(api -X POST "$url/api/runs/$id/resume" | field enqueued)"
    echo "  resumed (POST /api/runs/$id/resume, the run page's Resume button): $resumed of $count queued"
  fi
  exit 0
fi

# Mailpit's API through the API server's proxy to its Service: no port-forward.
mailpit_api="/api/v1/namespaces/$ns/services/http:$release-mailpit:http/proxy/api/v1"
mailpit_total() { kubectl get --raw "$mailpit_api/messages?limit=1" | field total; }
kubectl delete --raw "$mailpit_api/messages" >/dev/null

queued="$("$here/load.sh" --url "$url" --count "$count" --relay-latency "$latency" --no-wait 2>&1)" ||
  die "the run did not start: $queued"
id="$(sed -nE 's/.*run 1\/1: #([0-9]+),.*/\1/p' <<<"$queued")"
[[ -n "$id" ]] || die "load.sh started no run: $queued"
log "run #$id: $count mails, each waiting ${latency} ms on the relay; the $part pod goes at a quarter"

started=$SECONDS
deleted_at="" before="" ready_after="" longest_stall=0 last_done=-1 last_move=$SECONDS
while :; do
  state="$(api --max-time 5 "$url/api/runs/$id" 2>/dev/null)" || state=""
  if [[ -n "$state" ]]; then
    sent="$(field sent <<<"$state")" failed="$(field failed <<<"$state")" status="$(field status <<<"$state")"
    done_now=$((sent + failed))
    if ((done_now != last_done)); then
      last_done=$done_now
      last_move=$SECONDS
    fi
    printf '\r  #%s %s: sent %s, failed %s of %s, %ss ' "$id" "$status" "$sent" "$failed" "$count" "$((SECONDS - started))" >&2
    [[ "$status" == completed* ]] && break
  else
    printf '\r  #%s: the web does not answer, %ss ' "$id" "$((SECONDS - started))" >&2
  fi
  if [[ -z "$deleted_at" ]] && ((last_done * 4 >= count)); then
    before="$(pods | cut -d' ' -f1 | tr '\n' ' ')"
    kubectl -n "$ns" delete --wait=false "$(kubectl -n "$ns" get pods -l "$selector" -o name | head -1)" >/dev/null
    deleted_at=$SECONDS
    printf '\n' >&2
    log "deleted the $part pod at $last_done of $count, $((deleted_at - started)) s into the run"
  fi
  if [[ -n "$deleted_at" && -z "$ready_after" ]] && new_pod_ready; then
    ready_after=$((SECONDS - deleted_at))
  fi
  if [[ -n "$deleted_at" ]] && ((SECONDS - last_move > longest_stall)); then
    longest_stall=$((SECONDS - last_move))
  fi
  if ((SECONDS - last_move >= stall_timeout)); then
    printf '\n' >&2
    die "run #$id has not moved for $stall_timeout s at $last_done of $count: its jobs are lost (see the queues at $url/queues)"
  fi
  sleep 1
done
printf '\n' >&2
# The next experiment needs the whole stack: wait for the new pod.
if [[ -z "$ready_after" ]]; then
  log "waiting for the new $part pod to be Ready"
  wait_new_pod
  ready_after=$((SECONDS - deleted_at))
fi

held="$(mailpit_total)"
echo "$part pod deleted at a quarter: run #$id $status: sent $sent, failed $failed of $count in $((SECONDS - started)) s"
if [[ "$part" == mailpit ]]; then
  # Mailpit keeps its mails in its pod: the new one starts empty.
  echo "  Mailpit holds $held mails of it: it started empty, so its count says nothing of duplicates"
else
  echo "  Mailpit holds $held mails of it: $((held - sent)) delivered twice"
fi
echo "  the run stood still for at most $longest_stall s after the deletion; a new $part pod was Ready $ready_after s after it"
