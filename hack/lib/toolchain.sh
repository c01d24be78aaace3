# shellcheck shell=bash
# The harness's tools, on top of scripts/lib/common.sh: programs built from
# the Go module proxy at the versions scripts/lib/versions.sh pins (Helm 4
# and 3, Mailpit, the chart generators, the test cluster's control plane,
# real node and Prometheus) and Schemathesis from PyPI, all into
# ~/.cache/mail-worker so every clone on a machine shares them. Sourced by
# the scripts under hack/; a learner's scripts never need it.

# shellcheck source=../../scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"
# shellcheck source=go-build.sh
source "$MAIL_WORKER_ROOT/hack/lib/go-build.sh"

# Helm, built from source with the machine's Go at pinned versions: Helm 4
# (what Argo CD 3.5+ bundles) and Helm 3 (older Argo CD, most laptops). The
# chart tests render with both; HELM4_BIN and HELM3_BIN point at them.
ensure_helm() {
  local major version
  for major in 4 3; do
    if [[ "$major" == 4 ]]; then version="$HELM4_VERSION"; else version="$HELM3_VERSION"; fi
    go_wrapper_build "helm$major" "helm.sh/helm/v$major" "$version" "$version" \
      "-X helm.sh/helm/v$major/internal/version.version=$version" "helm.sh/helm/v$major/cmd/helm"
    export "HELM${major}_BIN=$MAIL_WORKER_CACHE/bin/helm$major-$version/helm"
  done
}

# Mailpit, the chart's mail catcher, for the tests that need the real one:
# MAILPIT_BIN points at it. (Built from the module, its web UI has no
# compiled assets; the HTTP API the tests read is complete.)
ensure_mailpit() {
  go_wrapper_build mailpit github.com/axllent/mailpit "$MAILPIT_VERSION" "$MAILPIT_VERSION" \
    "-X github.com/axllent/mailpit/config.Version=$MAILPIT_VERSION" github.com/axllent/mailpit
  export MAILPIT_BIN="$MAIL_WORKER_CACHE/bin/mailpit-$MAILPIT_VERSION/mailpit"
}

# helm-docs and helm-values-schema-json (the Helm plugin's program), which
# generate the chart's README values table and values.schema.json, and
# kube-score, the chart scorer: HELM_DOCS_BIN, HELM_SCHEMA_BIN and
# KUBE_SCORE_BIN point at them.
ensure_chart_tools() {
  go_wrapper_build helm-docs github.com/norwoodj/helm-docs "$HELM_DOCS_VERSION" "$HELM_DOCS_VERSION" \
    "-X main.version=${HELM_DOCS_VERSION#v}" github.com/norwoodj/helm-docs/cmd/helm-docs
  go_wrapper_build helm-values-schema github.com/losisin/helm-values-schema-json/v2 "$HELM_VALUES_SCHEMA_VERSION" \
    "$HELM_VALUES_SCHEMA_VERSION" "-X main.Version=$HELM_VALUES_SCHEMA_VERSION" github.com/losisin/helm-values-schema-json/v2
  go_wrapper_build kube-score github.com/zegl/kube-score "$KUBE_SCORE_VERSION" "$KUBE_SCORE_VERSION" \
    "-X main.version=${KUBE_SCORE_VERSION#v}" github.com/zegl/kube-score/cmd/kube-score
  export KUBE_SCORE_BIN="$MAIL_WORKER_CACHE/bin/kube-score-$KUBE_SCORE_VERSION/kube-score"
  export HELM_DOCS_BIN="$MAIL_WORKER_CACHE/bin/helm-docs-$HELM_DOCS_VERSION/helm-docs"
  export HELM_SCHEMA_BIN="$MAIL_WORKER_CACHE/bin/helm-values-schema-$HELM_VALUES_SCHEMA_VERSION/helm-values-schema-json"
}

# Schemathesis, the API fuzzer the suite runs against /openapi.json, from
# PyPI into a virtual environment in the cache: SCHEMATHESIS_BIN points at it.
ensure_schemathesis() {
  local venv="$MAIL_WORKER_CACHE/schemathesis-$SCHEMATHESIS_VERSION"
  if [[ ! -x "$venv/bin/st" ]]; then
    need python3 "install Python 3 (apt-get install python3 python3-venv) so the suite can run Schemathesis"
    log "installing Schemathesis $SCHEMATHESIS_VERSION from PyPI into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed: apt-get install python3-venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" ||
      die "pip could not install schemathesis==$SCHEMATHESIS_VERSION"
  fi
  export SCHEMATHESIS_BIN="$venv/bin/st"
}

# The test cluster's programs (hack/cluster-local.sh): the Kubernetes
# control plane and kubectl in one build sharing their packages, etcd, kwok,
# and the Argo Rollouts and Argo CD controllers. A cold machine spends about
# 27 CPU-minutes here, once (docs/test-cluster.md); later clones reuse it.
# The version Kubernetes' programs report (the API server's is Helm's
# .Capabilities.KubeVersion), as linker flags.
kubernetes_ldflags() {
  local k8s="$KUBERNETES_VERSION" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    printf ' -X %s.gitVersion=%s -X %s.gitMajor=1 -X %s.gitMinor=%s -X %s.gitTreeState=clean' \
      "$pkg" "$k8s" "$pkg" "$pkg" "$(cut -d. -f2 <<<"$k8s")" "$pkg"
  done
}

ensure_cluster_binaries() {
  local k8s="$KUBERNETES_VERSION" bin="$MAIL_WORKER_CACHE/bin"
  go_wrapper_build kubernetes k8s.io/kubernetes "$k8s" "v0.${k8s#v1.}" "$(kubernetes_ldflags)" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
  go_wrapper_build etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" "$ETCD_VERSION" "" go.etcd.io/etcd/server/v3
  go_wrapper_build kwok sigs.k8s.io/kwok "$KWOK_VERSION" "$KWOK_VERSION" "" sigs.k8s.io/kwok/cmd/kwok
  go_wrapper_build argo-rollouts github.com/argoproj/argo-rollouts "$ARGO_ROLLOUTS_VERSION" "$ARGO_ROLLOUTS_VERSION" \
    "-X github.com/argoproj/argo-rollouts/utils/version.version=${ARGO_ROLLOUTS_VERSION#v}" \
    github.com/argoproj/argo-rollouts/cmd/rollouts-controller github.com/argoproj/argo-rollouts/cmd/kubectl-argo-rollouts
  # Argo CD's cmd is one program for every component, chosen by
  # ARGOCD_BINARY_NAME (or the name it is called by). Its go.mod asks for a
  # newer Go than the machine's: the go command fetches that toolchain.
  GOTOOLCHAIN="go$GO_ARGO_CD_TOOLCHAIN_VERSION" go_wrapper_build argo-cd github.com/argoproj/argo-cd/v3 "$ARGO_CD_VERSION" "$ARGO_CD_VERSION" \
    "-X github.com/argoproj/argo-cd/v3/common.version=${ARGO_CD_VERSION#v}" github.com/argoproj/argo-cd/v3/cmd
  export KUBE_APISERVER="$bin/kubernetes-$k8s/kube-apiserver"
  export KUBE_CONTROLLER_MANAGER="$bin/kubernetes-$k8s/kube-controller-manager"
  export KUBE_SCHEDULER="$bin/kubernetes-$k8s/kube-scheduler"
  export KUBECTL="$bin/kubernetes-$k8s/kubectl"
  export ETCD="$bin/etcd-$ETCD_VERSION/server"
  export KWOK="$bin/kwok-$KWOK_VERSION/kwok"
  export ROLLOUTS_CONTROLLER="$bin/argo-rollouts-$ARGO_ROLLOUTS_VERSION/rollouts-controller"
  export KUBECTL_ARGO_ROLLOUTS="$bin/argo-rollouts-$ARGO_ROLLOUTS_VERSION/kubectl-argo-rollouts"
  export ARGOCD_BIN="$bin/argo-cd-$ARGO_CD_VERSION/cmd"
}

# Prometheus, for the real node's analysis test: scraping the pods it
# finds through the API server, it answers the Rollout's queries. Built with
# Kubernetes service discovery only (its build tags leave out the cloud
# providers' SDKs): PROMETHEUS_BIN points at it.
ensure_prometheus() {
  GO_BUILD_TAGS=remove_all_sd,enable_kubernetes_sd go_wrapper_build prometheus github.com/prometheus/prometheus \
    "$PROMETHEUS_VERSION" "$PROMETHEUS_VERSION" \
    "-X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION" github.com/prometheus/prometheus/cmd/prometheus
  export PROMETHEUS_BIN="$MAIL_WORKER_CACHE/bin/prometheus-$PROMETHEUS_VERSION/prometheus"
}

# The programs of the test cluster's real node (cluster-local.sh up --real):
# CoreDNS, Traefik, metrics-server and KEDA, and kubelet and kube-proxy from
# the same Kubernetes release as the control plane (a second build that
# reuses its compiled packages).
ensure_real_node_binaries() {
  local k8s="$KUBERNETES_VERSION" bin="$MAIL_WORKER_CACHE/bin"
  go_wrapper_build coredns github.com/coredns/coredns "$COREDNS_VERSION" "$COREDNS_VERSION" \
    "-X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" github.com/coredns/coredns
  # The Ingress controller scripts/cluster-up.sh gives kind, for the guides.
  go_wrapper_build traefik github.com/traefik/traefik/v3 "$TRAEFIK_VERSION" "$TRAEFIK_VERSION" \
    "-X github.com/traefik/traefik/v3/pkg/version.Version=${TRAEFIK_VERSION#v}" github.com/traefik/traefik/v3/cmd/traefik
  # What the HPAs read, from the kubelet, as on kind (scripts/cluster-up.sh).
  go_wrapper_build metrics-server sigs.k8s.io/metrics-server "$METRICS_SERVER_VERSION" "$METRICS_SERVER_VERSION" \
    "-X sigs.k8s.io/metrics-server/pkg/version.gitVersion=$METRICS_SERVER_VERSION" sigs.k8s.io/metrics-server/cmd/metrics-server
  # KEDA's operator and its metrics API server, run in pods from KEDA's own
  # manifest (hack/cluster/images.sh makes their image). Every scaler is
  # compiled in, cloud SDKs included: the largest build here after Kubernetes.
  go_wrapper_build keda github.com/kedacore/keda/v2 "$KEDA_VERSION" "$KEDA_VERSION" \
    "-X github.com/kedacore/keda/v2/version.Version=${KEDA_VERSION#v}" \
    github.com/kedacore/keda/v2/cmd/operator github.com/kedacore/keda/v2/cmd/adapter
  # Last: hack/test.sh runs these builds beside the control plane's, whose
  # compiled packages this one reuses once that has ended.
  go_wrapper_build kubernetes-node k8s.io/kubernetes "$k8s" "v0.${k8s#v1.}" "$(kubernetes_ldflags)" \
    k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy
  export KUBELET="$bin/kubernetes-node-$k8s/kubelet"
  export KUBE_PROXY="$bin/kubernetes-node-$k8s/kube-proxy"
  export COREDNS="$bin/coredns-$COREDNS_VERSION/coredns"
  export TRAEFIK="$bin/traefik-$TRAEFIK_VERSION/traefik"
  export METRICS_SERVER="$bin/metrics-server-$METRICS_SERVER_VERSION/metrics-server"
  export KEDA_OPERATOR="$bin/keda-$KEDA_VERSION/operator" KEDA_ADAPTER="$bin/keda-$KEDA_VERSION/adapter"
}

# Argo CD's module folder: its go.mod asks for a newer Go than the machine's.
argocd_module_dir() {
  GOTOOLCHAIN="go$GO_ARGO_CD_TOOLCHAIN_VERSION" go_module_dir "github.com/argoproj/argo-cd/v3@$ARGO_CD_VERSION"
}

# The CRDs of the add-ons the chart can use, one file a line, read from their
# Go modules at the versions in versions.sh (the same the cluster scripts
# install on kind or k3d).
crd_files() {
  local dir
  dir="$(go_module_dir "github.com/argoproj/argo-rollouts@$ARGO_ROLLOUTS_VERSION")"
  ls "$dir"/manifests/crds/*-crd.yaml
  ls "$(argocd_module_dir)"/manifests/crds/*-crd.yaml
  dir="$(go_module_dir "github.com/kedacore/keda/v2@$KEDA_VERSION")"
  ls "$dir"/config/crd/bases/keda.sh_*.yaml
  dir="$(go_module_dir "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION")"
  ls "$dir"/example/prometheus-operator-crd/monitoring.coreos.com_{servicemonitors,podmonitors}.yaml
  dir="$(go_module_dir "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION")"
  ls "$dir"/config/crd/standard/gateway.networking.k8s.io_*.yaml
}

