#!/usr/bin/env bash
# Points the ApplicationSet and AppProject at your fork: the repository URL
# is written once in argocd/mail-worker.yaml (the &repo anchor).
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/argocd-repo.sh URL

Sets the Git repository Argo CD reads the chart and environments/ from, e.g.
  scripts/argocd-repo.sh https://github.com/you/mail-worker-k8s.git
then commit and push, and run scripts/deploy.sh --via argocd.
USAGE
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "") usage >&2; exit 2 ;;
esac
url="$1"
[[ "$url" =~ ^https://[^[:space:]]+\.git$ ]] || { echo "error: expected an https://….git URL, got: $url" >&2; exit 2; }

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
file="$MAIL_WORKER_ROOT/argocd/mail-worker.yaml"
sed -i.bak -E "s#(&repo )https://[^[:space:]]+#\1$url#" "$file" && rm -f "$file.bak"
grep -q "&repo $url" "$file" || die "could not set the URL in $file"
log "argocd/mail-worker.yaml now reads $url"
