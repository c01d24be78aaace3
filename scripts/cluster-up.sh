#!/usr/bin/env bash
# A local Kubernetes cluster for the scenarios: kind (default) or k3d, with
# metrics-server (for HPA), the Gateway API CRDs and Traefik as the ingress
# and Gateway controller. Safe to run again: existing parts are kept.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/cluster-up.sh [--k3d] [--name NAME]

Creates (or reuses) a local cluster and installs what every scenario needs:
  - metrics-server, so `kubectl top` and CPU HPAs work
  - the Gateway API CRDs and Traefik (Ingress class "traefik", Gateway "gateway" in gateway-system)
Options:
  --k3d        use k3d instead of kind
  --name NAME  cluster name (default: mail-worker)
Needs: docker, kubectl, helm, and kind or k3d.
Next: scripts/install-addons.sh, then scripts/image.sh and scripts/deploy.sh.
USAGE
}

engine=kind
name=mail-worker
while (($# > 0)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --k3d) engine=k3d; shift ;;
    --name) name="${2:?--name needs a value}"; shift 2 ;;
    *) usage >&2; exit 2 ;;
  esac
done

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
need docker "install Docker (or Podman with the docker CLI): https://docs.docker.com/get-docker/"
need kubectl "install kubectl: https://kubernetes.io/docs/tasks/tools/"
need helm "install Helm 3 or 4: https://helm.sh/docs/intro/install/"
need "$engine" "install $engine: https://kind.sigs.k8s.io/ or https://k3d.io/"

if [[ "$engine" == kind ]]; then
  if kind get clusters | grep -qx "$name"; then
    log "kind cluster $name exists"
  else
    log "creating kind cluster $name (ports 80 and 443 on this machine)"
    kind create cluster --name "$name" --wait 120s --config - <<'KIND'
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
    extraPortMappings:
      - { containerPort: 30080, hostPort: 80, protocol: TCP }
      - { containerPort: 30443, hostPort: 443, protocol: TCP }
KIND
  fi
  kubectl config use-context "kind-$name" >/dev/null
else
  if k3d cluster list "$name" >/dev/null 2>&1; then
    log "k3d cluster $name exists"
  else
    log "creating k3d cluster $name (its own Traefik disabled; ports 80 and 443)"
    k3d cluster create "$name" --wait --k3s-arg '--disable=traefik@server:0' -p '80:30080@server:0' -p '443:30443@server:0'
  fi
  kubectl config use-context "k3d-$name" >/dev/null
fi

# Every version from lib/versions.sh, the same the test suite checks.
if [[ "$engine" == k3d ]]; then
  # k3s ships its own metrics-server in kube-system; a second one would collide.
  log "metrics-server: k3s's own"
else
  log "metrics-server $METRICS_SERVER_VERSION"
  kubectl apply --server-side --force-conflicts \
    -f "https://github.com/kubernetes-sigs/metrics-server/releases/download/$METRICS_SERVER_VERSION/components.yaml" >/dev/null
  # kind's kubelets serve self-signed certificates.
  kubectl -n kube-system patch deployment metrics-server --type=json \
    -p '[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--kubelet-insecure-tls"}]' >/dev/null
fi

log "Gateway API CRDs $GATEWAY_API_VERSION (standard channel)"
kubectl apply --server-side -f "https://github.com/kubernetes-sigs/gateway-api/releases/download/$GATEWAY_API_VERSION/standard-install.yaml" >/dev/null

log "Traefik $TRAEFIK_VERSION (chart $TRAEFIK_CHART_VERSION): Ingress class traefik and Gateway gateway-system/gateway"
# Every Ingress gets 127.0.0.1 as its address: a NodePort Service has none
# to copy (publishedService), and Argo CD counts an Ingress without one as
# still progressing, so the Argo CD guide's prod would never turn Healthy.
helm repo add traefik https://traefik.github.io/charts --force-update >/dev/null
helm upgrade --install traefik traefik/traefik -n gateway-system --create-namespace --wait \
  --version "$TRAEFIK_CHART_VERSION" --set image.tag="$TRAEFIK_VERSION" \
  --set service.type=NodePort \
  --set providers.kubernetesIngress.publishedService.enabled=false \
  --set 'additionalArguments={--providers.kubernetesingress.ingressendpoint.ip=127.0.0.1}' \
  --set ports.web.nodePort=30080 --set ports.websecure.nodePort=30443 \
  --set providers.kubernetesGateway.enabled=true \
  --set gateway.enabled=true --set gateway.name=gateway \
  --set 'gateway.listeners.web.namespacePolicy.from=All' >/dev/null

log "cluster $name is ready: kubectl get nodes"
kubectl get nodes
