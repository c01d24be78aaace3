#!/usr/bin/env bash
# The controllers the scenarios use: Argo CD, Argo Rollouts, KEDA, and
# optionally Prometheus + Grafana. Safe to run again (helm upgrade --install).
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/install-addons.sh [--for GUIDE] [--monitoring] [--skip NAME]... [--uninstall]

Installs into the current kubectl context:
  argocd         Argo CD (namespace argocd)
  rollouts       Argo Rollouts with its Gateway API plugin (namespace argo-rollouts)
  keda           KEDA (namespace keda)
  monitoring     kube-prometheus-stack: Prometheus, Grafana (namespace monitoring), only with --monitoring
Options:
  --for GUIDE    only what one guide needs, the least memory (README.md says how much):
                 queues, hpa, unleash, faults: none of them (cluster-up.sh gave
                 metrics-server and Traefik); keda: KEDA; canary, blue-green:
                 Argo Rollouts; analysis: Argo Rollouts and monitoring; argocd: all
  --monitoring   also install Prometheus and Grafana (needed for rollout analysis)
  --skip NAME    leave one out (repeatable): argocd, rollouts, keda
  --uninstall    remove them again (the same names, --skip and --monitoring):
                 what a guide's Cleanup runs
Also checks for the kubectl plugin `kubectl argo rollouts` and says how to get it.
USAGE
}

monitoring=false
skip=" "
uninstall=false
while (($# > 0)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --for)
      case "${2:-}" in
        queues | hpa | unleash | faults) skip+="argocd rollouts keda " ;;
        keda) skip+="argocd rollouts " ;;
        canary | blue-green) skip+="argocd keda " ;;
        analysis) skip+="argocd keda "; monitoring=true ;;
        argocd) monitoring=true ;;
        *) echo "--for needs a guide: queues, hpa, unleash, faults, keda, canary, blue-green, analysis or argocd" >&2; exit 2 ;;
      esac
      shift 2 ;;
    --monitoring) monitoring=true; shift ;;
    --skip) skip+="${2:?--skip needs a value} "; shift 2 ;;
    --uninstall) uninstall=true; shift ;;
    *) usage >&2; exit 2 ;;
  esac
done

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
need kubectl "install kubectl: https://kubernetes.io/docs/tasks/tools/"
need helm "install Helm 3 or 4: https://helm.sh/docs/intro/install/"
kubectl cluster-info >/dev/null 2>&1 || die "no cluster answers: run scripts/cluster-up.sh first"

# Argo CD, Argo Rollouts and KEDA from their releases' own manifests, at the
# versions in lib/versions.sh: the ones the test suite builds and runs.
# The suite's test cluster runs Argo CD, Argo Rollouts and (with its real
# node) KEDA itself, built from the same releases (hack/cluster-local.sh):
# check them instead.
if on_test_cluster; then
  [[ "$uninstall" == false ]] || { log "nothing to remove: the test cluster runs its add-ons itself"; exit 0; }
  if [[ "$skip" != *" argocd "* ]]; then
    kubectl -n argocd get configmap argocd-cm >/dev/null || die "the test cluster's Argo CD has no argocd-cm"
    log "Argo CD $ARGO_CD_VERSION: run by the test cluster"
  fi
  if [[ "$skip" != *" rollouts "* ]]; then
    kubectl get crd rollouts.argoproj.io >/dev/null || die "the test cluster has no Rollout CRD"
    kubectl argo rollouts version >/dev/null || die "the kubectl plugin is missing from the test cluster's PATH"
    log "Argo Rollouts $ARGO_ROLLOUTS_VERSION: run by the test cluster (without the Gateway API plugin)"
  fi
  if [[ "$skip" != *" keda "* ]]; then
    kubectl -n keda rollout status deployment/keda-operator --timeout=2m >/dev/null ||
      die "the test cluster has no KEDA operator: it runs one only with a real node (hack/cluster-local.sh up --real)"
    log "KEDA $KEDA_VERSION: run by the test cluster"
  fi
  if [[ "$monitoring" == true ]]; then
    kubectl -n monitoring get service prometheus-operated >/dev/null ||
      die "the test cluster has no Prometheus: it runs one only with a real node (hack/cluster-local.sh up --real)"
    log "Prometheus: run by the test cluster, scraping what PodMonitors select (no Grafana)"
  fi
  log "add-ons ready"
  exit 0
fi

github=https://github.com
argocd_manifest="https://raw.githubusercontent.com/argoproj/argo-cd/$ARGO_CD_VERSION/manifests/install.yaml"
rollouts_manifest="$github/argoproj/argo-rollouts/releases/download/$ARGO_ROLLOUTS_VERSION/install.yaml"
keda_manifest="$github/kedacore/keda/releases/download/$KEDA_VERSION/keda-${KEDA_VERSION#v}.yaml"

# Removing is installing backwards: the same manifests, deleted.
if [[ "$uninstall" == true ]]; then
  if [[ "$monitoring" == true ]]; then
    log "removing kube-prometheus-stack"
    helm uninstall kube-prometheus-stack -n monitoring --ignore-not-found >/dev/null
    kubectl delete namespace monitoring --ignore-not-found >/dev/null
  fi
  if [[ "$skip" != *" keda "* ]]; then
    log "removing KEDA $KEDA_VERSION"
    kubectl delete --ignore-not-found -f "$keda_manifest" >/dev/null
  fi
  if [[ "$skip" != *" rollouts "* ]]; then
    log "removing Argo Rollouts $ARGO_ROLLOUTS_VERSION"
    kubectl delete --ignore-not-found clusterrolebinding/argo-rollouts-gateway-api clusterrole/argo-rollouts-gateway-api >/dev/null
    kubectl delete --ignore-not-found -n argo-rollouts -f "$rollouts_manifest" >/dev/null
    kubectl delete namespace argo-rollouts --ignore-not-found >/dev/null
  fi
  if [[ "$skip" != *" argocd "* ]]; then
    log "removing Argo CD $ARGO_CD_VERSION"
    kubectl delete --ignore-not-found -n argocd -f "$argocd_manifest" >/dev/null
    kubectl delete namespace argocd --ignore-not-found >/dev/null
  fi
  log "add-ons removed"
  exit 0
fi

if [[ "$skip" != *" argocd "* ]]; then
  log "Argo CD $ARGO_CD_VERSION (1/4)"
  kubectl create namespace argocd --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl apply -n argocd --server-side --force-conflicts \
    -f "$argocd_manifest" >/dev/null
  kubectl -n argocd rollout status deployment/argocd-server --timeout=5m >/dev/null
  # This repository's settings: a health check for HPAs (why: the file says).
  kubectl -n argocd patch configmap argocd-cm --type merge --patch-file "$MAIL_WORKER_ROOT/argocd/argocd-cm.yaml" >/dev/null
  log "Argo CD admin password: kubectl -n argocd get secret argocd-initial-admin-secret -o jsonpath='{.data.password}' | base64 -d"
fi

if [[ "$skip" != *" rollouts "* ]]; then
  log "Argo Rollouts $ARGO_ROLLOUTS_VERSION with the Gateway API traffic plugin $ROLLOUTS_GATEWAY_API_PLUGIN_VERSION (2/4)"
  # The controller runs on the cluster's nodes, which share this machine's architecture.
  arch="$(uname -m | sed -e 's/x86_64/amd64/' -e 's/aarch64/arm64/')"
  plugin="$github/argoproj-labs/rollouts-plugin-trafficrouter-gatewayapi/releases/download/$ROLLOUTS_GATEWAY_API_PLUGIN_VERSION/gatewayapi-plugin-linux-$arch"
  kubectl create namespace argo-rollouts --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl apply -n argo-rollouts --server-side --force-conflicts \
    -f "$rollouts_manifest" >/dev/null
  kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ConfigMap
metadata: { name: argo-rollouts-config, namespace: argo-rollouts }
data:
  trafficRouterPlugins: |-
    - name: argoproj-labs/gatewayAPI
      location: $plugin
---
# The plugin moves the weights on routes, which the controller's own role
# does not cover: the rules its installation guide lists.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: argo-rollouts-gateway-api }
rules:
  - apiGroups: [""]
    resources: [services]
    verbs: [get]
  - apiGroups: [gateway.networking.k8s.io]
    resources: [httproutes, grpcroutes, tcproutes, tlsroutes]
    verbs: [get, list, watch, update, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: argo-rollouts-gateway-api }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: argo-rollouts-gateway-api }
subjects:
  - { kind: ServiceAccount, name: argo-rollouts, namespace: argo-rollouts }
YAML
  # The plugin list is read at start-up, and a controller whose plugin did
  # not download does not start: every traffic-routed Rollout would then
  # wait without pods. Check it here, where the cause is still plain.
  kubectl -n argo-rollouts rollout restart deployment/argo-rollouts >/dev/null
  if ! kubectl -n argo-rollouts rollout status deployment/argo-rollouts --timeout=5m >/dev/null ||
    ! kubectl -n argo-rollouts logs deployment/argo-rollouts | grep -q 'Download complete'; then
    kubectl -n argo-rollouts logs deployment/argo-rollouts --tail=20 >&2 || true
    die "the Rollouts controller did not load the Gateway API plugin from $plugin (its log above)"
  fi
  log "the controller loaded the plugin: kubectl -n argo-rollouts logs deployment/argo-rollouts | grep -i plugin"
  if ! kubectl argo rollouts version >/dev/null 2>&1; then
    log "the kubectl plugin is missing: brew install argoproj/tap/kubectl-argo-rollouts, or download kubectl-argo-rollouts-*-$arch of $ARGO_ROLLOUTS_VERSION from $github/argoproj/argo-rollouts/releases into your PATH"
  fi
fi

if [[ "$skip" != *" keda "* ]]; then
  log "KEDA $KEDA_VERSION (3/4)"
  kubectl apply --server-side --force-conflicts \
    -f "$keda_manifest" >/dev/null
  kubectl -n keda rollout status deployment/keda-operator --timeout=5m >/dev/null
fi

if [[ "$monitoring" == true ]]; then
  log "Prometheus and Grafana: kube-prometheus-stack $KUBE_PROMETHEUS_STACK_CHART_VERSION (4/4, a few minutes)"
  helm repo add prometheus-community https://prometheus-community.github.io/helm-charts --force-update >/dev/null
  helm upgrade --install kube-prometheus-stack prometheus-community/kube-prometheus-stack -n monitoring --create-namespace --wait \
    --version "$KUBE_PROMETHEUS_STACK_CHART_VERSION" \
    --set grafana.sidecar.dashboards.searchNamespace=ALL \
    --set prometheus.prometheusSpec.podMonitorSelectorNilUsesHelmValues=false >/dev/null
  log "Grafana: kubectl -n monitoring port-forward svc/kube-prometheus-stack-grafana 3001:80 (admin / prom-operator)"
else
  log "monitoring skipped (4/4): add --monitoring for Prometheus and Grafana"
fi
log "add-ons ready"
