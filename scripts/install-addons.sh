#!/usr/bin/env bash
# The controllers the scenarios use: Argo CD, Argo Rollouts, KEDA, and
# optionally Prometheus + Grafana. Safe to run again (helm upgrade --install).
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/install-addons.sh [--monitoring] [--skip NAME]...

Installs into the current kubectl context:
  argocd         Argo CD (namespace argocd)
  rollouts       Argo Rollouts with its Gateway API plugin (namespace argo-rollouts)
  keda           KEDA (namespace keda)
  monitoring     kube-prometheus-stack: Prometheus, Grafana (namespace monitoring), only with --monitoring
Options:
  --monitoring   also install Prometheus and Grafana (needed for rollout analysis)
  --skip NAME    leave one out (repeatable): argocd, rollouts, keda
Also checks for the kubectl plugin `kubectl argo rollouts` and says how to get it.
USAGE
}

monitoring=false
skip=" "
while (($# > 0)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --monitoring) monitoring=true; shift ;;
    --skip) skip+="${2:?--skip needs a value} "; shift 2 ;;
    *) usage >&2; exit 2 ;;
  esac
done

# shellcheck source=lib/toolchain.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/toolchain.sh"
need kubectl "install kubectl: https://kubernetes.io/docs/tasks/tools/"
need helm "install Helm 3 or 4: https://helm.sh/docs/intro/install/"
kubectl cluster-info >/dev/null 2>&1 || die "no cluster answers: run scripts/cluster-up.sh first"

helm repo add argo https://argoproj.github.io/argo-helm --force-update >/dev/null
helm repo add kedacore https://kedacore.github.io/charts --force-update >/dev/null

if [[ "$skip" != *" argocd "* ]]; then
  log "Argo CD (1/4)"
  helm upgrade --install argocd argo/argo-cd -n argocd --create-namespace --wait \
    --set 'configs.params.server\.insecure=true' >/dev/null
  log "Argo CD admin password: kubectl -n argocd get secret argocd-initial-admin-secret -o jsonpath='{.data.password}' | base64 -d"
fi

if [[ "$skip" != *" rollouts "* ]]; then
  log "Argo Rollouts with the Gateway API traffic plugin (2/4)"
  # The controller runs on the cluster's nodes, which share this machine's architecture.
  arch="$(uname -m | sed -e 's/x86_64/amd64/' -e 's/aarch64/arm64/')"
  helm upgrade --install argo-rollouts argo/argo-rollouts -n argo-rollouts --create-namespace --wait \
    --set dashboard.enabled=true \
    --set 'controller.trafficRouterPlugins[0].name=argoproj-labs/gatewayAPI' \
    --set "controller.trafficRouterPlugins[0].location=https://github.com/argoproj-labs/rollouts-plugin-trafficrouter-gatewayapi/releases/download/v0.6.0/gatewayapi-plugin-linux-$arch" >/dev/null
  if ! kubectl argo rollouts version >/dev/null 2>&1; then
    log "the kubectl plugin is missing: brew install argoproj/tap/kubectl-argo-rollouts, or download kubectl-argo-rollouts from https://github.com/argoproj/argo-rollouts/releases into your PATH"
  fi
fi

if [[ "$skip" != *" keda "* ]]; then
  log "KEDA (3/4)"
  helm upgrade --install keda kedacore/keda -n keda --create-namespace --wait >/dev/null
fi

if [[ "$monitoring" == true ]]; then
  log "Prometheus and Grafana (4/4, a few minutes)"
  helm repo add prometheus-community https://prometheus-community.github.io/helm-charts --force-update >/dev/null
  helm upgrade --install kube-prometheus-stack prometheus-community/kube-prometheus-stack -n monitoring --create-namespace --wait \
    --set grafana.sidecar.dashboards.searchNamespace=ALL \
    --set prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues=false >/dev/null
  log "Grafana: kubectl -n monitoring port-forward svc/kube-prometheus-stack-grafana 3001:80 (admin / prom-operator)"
else
  log "monitoring skipped (4/4): add --monitoring for Prometheus and Grafana"
fi
log "add-ons ready"
