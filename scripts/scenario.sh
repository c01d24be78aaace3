#!/usr/bin/env bash
# Walks through a guide: prints each shell step of docs/guides/GUIDE.md,
# then runs it when you press Enter (s skips, q quits).
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/scenario.sh GUIDE [--yes] [--dry-run]

  GUIDE      a guide under docs/guides/, e.g. canary (docs/guides/canary.md)
  --yes      run every step without asking
  --dry-run  only print the steps
Guides: queues, hpa, keda, argocd, unleash, canary, blue-green, analysis
USAGE
}

guide=""
mode=ask
while (($# > 0)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --yes) mode=yes; shift ;;
    --dry-run) mode=dry; shift ;;
    -*) usage >&2; exit 2 ;;
    *) guide="$1"; shift ;;
  esac
done

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$MAIL_WORKER_ROOT"
[[ -n "$guide" ]] || { usage >&2; exit 2; }
file="docs/guides/$guide.md"
[[ -f "$file" ]] || die "no guide $file (see: ls docs/guides)"

# Each fenced ```sh block is one step; its heading gives the step a title.
mapfile -t blocks < <(awk '
  /^#+ / { title = $0; sub(/^#+ /, "", title) }
  /^```sh$/ { inside = 1; body = ""; next }
  /^```$/ && inside { inside = 0; gsub(/\n/, "\\n", body); print title "\t" body; next }
  inside { body = body $0 "\n" }
' "$file")
((${#blocks[@]} > 0)) || die "$file has no \`\`\`sh steps"

step=0
for block in "${blocks[@]}"; do
  step=$((step + 1))
  title="${block%%$'\t'*}"
  commands="$(printf '%b' "${block#*$'\t'}")"
  printf '\n\033[1m[%d/%d] %s\033[0m\n%s\n' "$step" "${#blocks[@]}" "$title" "$commands"
  case "$mode" in
    dry) continue ;;
    ask)
      read -r -p "run it? [Enter=yes, s=skip, q=quit] " answer </dev/tty || answer=q
      [[ "$answer" == q ]] && exit 0
      [[ "$answer" == s ]] && continue
      ;;
  esac
  bash -euo pipefail -c "$commands" || log "step $step failed (exit $?): fix it and run the guide again, or skip the step"
done
log "guide $guide done"
