#!/usr/bin/env bash
# Points the ApplicationSet and AppProject at your fork: the repository URL
# is written once in argocd/mail-worker.yaml (the &repo anchor).
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/argocd-repo.sh [URL]

Sets the Git repository Argo CD reads the chart and environments/ from:
URL, or without it the URL of this clone's remote `origin` (your fork), an
SSH one (git@github.com:you/mail-worker-k8s.git) given as its https:// form,
which Argo CD reads without credentials when the repository is public.
Then commit and push, and run scripts/deploy.sh --via argocd.
USAGE
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
esac
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
url="${1:-}"
if [[ -z "$url" ]]; then
  url="$(git -C "$MAIL_WORKER_ROOT" remote get-url origin 2>/dev/null)" ||
    die "this clone has no remote origin: give your fork's URL (scripts/argocd-repo.sh https://github.com/you/mail-worker-k8s.git)"
  # git@host:owner/name(.git) -> https://host/owner/name.git
  if [[ "$url" =~ ^git@([^:]+):(.+)$ ]]; then url="https://${BASH_REMATCH[1]}/${BASH_REMATCH[2]%.git}.git"; fi
fi
[[ "$url" =~ ^(https|http|git)://[^[:space:]#]+$ ]] ||
  die "expected a repository URL Argo CD can read (https://…, http://… or git://…), got: $url"

file="$MAIL_WORKER_ROOT/argocd/mail-worker.yaml"
sed -i.bak -E "s#(&repo )[^[:space:]]+#\1$url#" "$file" && rm -f "$file.bak"
grep -qF "&repo $url" "$file" || die "could not set the URL in $file"
log "argocd/mail-worker.yaml now reads $url"
