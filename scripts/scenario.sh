#!/usr/bin/env bash
# Walks through a guide: prints each shell step of docs/guides/GUIDE.md,
# then runs it when you press Enter (s skips, q quits). The suite walks every
# guide the same way, with --yes, on its test cluster.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/scenario.sh GUIDE [--yes] [--from N] [--to N] [--cleanup] [--dry-run]

  GUIDE      a guide under docs/guides/, e.g. canary (docs/guides/canary.md),
             or the path of a Markdown file (a guide you are writing)
  --yes      run every step without asking; stop at the first that fails
  --from N   start at step N (--dry-run shows the numbers)
  --to N     stop after step N
  --cleanup  run only the steps under the guide's "Cleanup" heading
  --dry-run  only print the steps
A guide's steps are its ```sh blocks, of three kinds:
  ```sh             runs to its end; the walk goes on when it succeeds
  ```sh background  keeps running (a port-forward, load) until the walk ends;
                    its output goes to a log file the walk names; the walk
                    goes on once a port-forward listens
  ```sh watch       a live view: runs until you press Ctrl-C, then the walk
                    goes on (with --yes, for WATCH_SECONDS, default 10)
Guides: queues, hpa, keda, argocd, unleash, canary, blue-green, analysis, faults
USAGE
}

guide=""
mode=ask
from=1
to=""
only_cleanup=false
while (($# > 0)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --yes) mode=yes; shift ;;
    --dry-run) mode=dry; shift ;;
    --from) from="${2:?--from needs a step number}"; shift 2 ;;
    --to) to="${2:?--to needs a step number}"; shift 2 ;;
    --cleanup) only_cleanup=true; shift ;;
    -*) usage >&2; exit 2 ;;
    *) guide="$1"; shift ;;
  esac
done

[[ -n "$guide" ]] || { usage >&2; exit 2; }
file="docs/guides/$guide.md"
if [[ "$guide" == *.md ]]; then
  file="$(realpath "$guide")"
  guide="$(basename "$guide" .md)"
fi
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$MAIL_WORKER_ROOT"
[[ -f "$file" ]] || die "no guide $file (see: ls docs/guides)"
[[ "$from" =~ ^[1-9][0-9]*$ ]] || die "--from must be a step number, not $from"
[[ -z "$to" || "$to" =~ ^[1-9][0-9]*$ ]] || die "--to must be a step number, not $to"
watch_seconds="${WATCH_SECONDS:-10}"
[[ "$watch_seconds" =~ ^[1-9][0-9]*$ ]] || die "WATCH_SECONDS must be whole seconds, not $watch_seconds"

logs="${TMPDIR:-/tmp}/mail-worker-scenario-$guide"
rm -rf "$logs"
mkdir -p "$logs"
# Each ```sh block's commands go to $logs/N.sh; one line per block gives its
# kind, section (the nearest ## heading) and title (the nearest heading),
# separated by the ASCII unit separator (a tab would let an empty field vanish).
awk -v dir="$logs" '
  inside && /^```$/ { inside = 0; close(dir "/" n ".sh"); next }
  inside { print > (dir "/" n ".sh"); next }
  /^## / { section = substr($0, 4) }
  /^#+ / { title = $0; sub(/^#+ /, "", title) }
  /^```sh( (background|watch))?$/ {
    inside = 1; n++; printf "" > (dir "/" n ".sh")
    print ($2 == "" ? "step" : $2) "\037" section "\037" title
    next
  }
  /^```sh/ { print "bad fence: " $0 > "/dev/stderr"; exit 1 }
' "$file" >"$logs/steps" || die "$file has a \`\`\`sh fence that is not sh, sh background or sh watch"
mapfile -t blocks <"$logs/steps"
((${#blocks[@]} > 0)) || die "$file has no \`\`\`sh steps"
to="${to:-${#blocks[@]}}"
((from <= ${#blocks[@]})) || die "$file has ${#blocks[@]} steps, not $from"

background=() # "pid step" of each background step still running

# Stops every background step (each is its own process group) and reports
# the ones that ended on their own with an error.
stop_background() {
  local entry pid step failed=0
  for entry in "${background[@]}"; do
    read -r pid step <<<"$entry"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM -- "-$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    elif ! wait "$pid"; then
      log "background step $step failed; the end of $logs/step-$step.log:"
      tail -n 20 "$logs/step-$step.log" >&2
      failed=1
    fi
  done
  background=()
  return "$failed"
}
trap 'stop_background || true' EXIT
# Ctrl-C stops the step in the foreground (a watch, say), not the walk.
trap 'log "interrupted"' INT

# A port-forward listens once kubectl says "Forwarding from": the next step
# (a login, a curl) must not race it.
wait_for_forwarding() {
  local pid="$1" log_file="$2" waited=0
  until grep -q '^Forwarding from' "$log_file"; do
    kill -0 "$pid" 2>/dev/null || return 0 # it failed: stop_background reports it
    ((waited++ < 300)) || { log "the port-forward does not listen after 30 s; see $log_file"; return 0; }
    sleep 0.1
  done
}

failed() {
  log "step $1 failed (exit $2): fix it and run the guide again (--from $1), or skip the step"
  if [[ "$mode" == yes ]]; then
    stop_background || true
    exit 1
  fi
}

step=0
for block in "${blocks[@]}"; do
  step=$((step + 1))
  IFS=$'\x1f' read -r kind section title <<<"$block"
  commands="$(<"$logs/$step.sh")"
  if [[ "$only_cleanup" == true ]]; then
    [[ "$section" == Cleanup ]] || continue
  elif ((step < from || step > to)); then
    continue
  fi
  label="$title"
  [[ "$kind" == step ]] || label+=" ($kind)"
  printf '\n\033[1m[%d/%d] %s\033[0m\n%s\n' "$step" "${#blocks[@]}" "$label" "$commands"
  case "$mode" in
    dry) continue ;;
    ask)
      read -r -p "run it? [Enter=yes, s=skip, q=quit] " answer </dev/tty || answer=q
      [[ "$answer" == q ]] && exit 0
      [[ "$answer" == s ]] && continue
      ;;
  esac
  case "$kind" in
    step)
      started=$SECONDS
      # How long it took: what a learner waits for (a rollout, a run) at this step.
      if bash -euo pipefail -c "$commands"; then log "step $step done in $((SECONDS - started)) s"; else failed "$step" "$?"; fi
      ;;
    background)
      setsid bash -euo pipefail -c "$commands" >"$logs/step-$step.log" 2>&1 &
      background+=("$! $step")
      log "running in the background until the walk ends; its output: $logs/step-$step.log"
      [[ "$commands" != *port-forward* ]] || wait_for_forwarding "$!" "$logs/step-$step.log"
      ;;
    watch)
      if [[ "$mode" == yes ]]; then
        status=0
        timeout "$watch_seconds" bash -euo pipefail -c "$commands" || status=$?
        # 124: it was still watching when its time was up, as a watch should.
        ((status == 0 || status == 124)) || failed "$step" "$status"
      else
        log "watching: press Ctrl-C to go on"
        bash -euo pipefail -c "$commands" || true
      fi
      ;;
  esac
done
[[ "$mode" == dry ]] && exit 0
stop_background || { [[ "$mode" == yes ]] && exit 1; }
log "guide $guide done"
