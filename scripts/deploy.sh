#!/usr/bin/env bash
# Deploys one environment: with Helm directly, or by handing the repository
# to Argo CD (AppProject + ApplicationSet for every environment).
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/deploy.sh [--env dev|staging|prod] [--via helm|argocd] [-- HELM_ARGS...]

  --env ENV    environments/ENV/values.yaml (default: dev), namespace mail-ENV
  --via helm   helm upgrade --install mail-worker charts/mail-worker (default)
  --via argocd kubectl apply -f argocd/mail-worker.yaml: Argo CD creates
               mail-worker-dev, -staging and -prod from your fork
               (set its URL first: scripts/argocd-repo.sh URL)
Extra arguments after -- go to helm, e.g. -- --set faults.errorRate=0.5
USAGE
}

env=dev
via=helm
extra=()
while (($# > 0)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --env) env="${2:?--env needs a value}"; shift 2 ;;
    --via) via="${2:?--via needs a value}"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) usage >&2; exit 2 ;;
  esac
done

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$MAIL_WORKER_ROOT"
[[ -f "environments/$env/values.yaml" ]] || die "no environments/$env/values.yaml (choose dev, staging or prod)"
need kubectl "install kubectl: https://kubernetes.io/docs/tasks/tools/"

case "$via" in
  helm)
    need helm "install Helm 3 or 4: https://helm.sh/docs/intro/install/"
    helm_flags=()
    while IFS= read -r flag; do helm_flags+=("$flag"); done < <(helm_release_flags helm)
    log "helm upgrade --install mail-worker ($env) into namespace mail-$env ${helm_flags[*]}"
    helm upgrade --install mail-worker charts/mail-worker -n "mail-$env" --create-namespace \
      "${helm_flags[@]}" -f "environments/$env/values.yaml" "${extra[@]}"
    ;;
  argocd)
    kubectl get namespace argocd >/dev/null 2>&1 || die "Argo CD is not installed: scripts/install-addons.sh"
    log "applying the AppProject and ApplicationSet (repository: $(grep -o 'https://[^ ]*\.git' argocd/mail-worker.yaml))"
    kubectl apply -n argocd -f argocd/mail-worker.yaml
    log "Argo CD now creates one Application per environment: kubectl -n argocd get applications"
    ;;
  *) die "--via must be helm or argocd, not $via" ;;
esac
