# shellcheck shell=bash
# The test cluster's real node (hack/cluster-local.sh up --real): Debian's
# containerd and runc with a kubelet, kube-proxy and CoreDNS built from the Go
# module proxy, so the chart's containers really run. Sourced by
# cluster-local.sh, whose start, wait_until, kubectl, log and die it uses;
# run on its own (hack/cluster/real-node.sh status|cleanup), it tells what a
# real node left on this machine and removes it after a crashed suite.
# shellcheck disable=SC2154 # dir, pki and SERVICE_RANGE are cluster-local.sh's
#
# The machine's rules (docs/test-cluster.md, "The real node"):
# - pods live on a private bridge with no route out and no masquerading;
#   CoreDNS answers cluster.local and forwards nowhere;
# - the API server, kubelet and CoreDNS listen on the bridge's address (the
#   pods' gateway), never on the machine's own network;
# - everything added to the machine (bridge, iptables chains, cgroups,
#   mounts, sysctls the kubelet changes) is recorded in REAL_NODE_RECORD and
#   removed on `down`, or on the next `up` after a crash.
# One real node per machine: kube-proxy's iptables chains are global.

REAL_NODE_NAME=real-node
REAL_NODE_BRIDGE=mwk0
REAL_NODE_SUBNET=10.88.0.0/24
REAL_NODE_IP=10.88.0.1
REAL_NODE_CGROUP=mail-worker-real-node
# Pods of the kwok matrix must never land here: the node is tainted, and a
# namespace that wants real pods says so with real_node_namespace's annotations.
REAL_NODE_TAINT=mail-worker.local/real-node
REAL_NODE_RECORD=/run/mail-worker-real-node
# What the kubelet sets on a node it manages (its "kernel defaults"), and
# the forwarding the CNI bridge plugin turns on for its gateway (Service
# traffic between pods is routed through the node); their values before the
# node started are restored on down.
REAL_NODE_SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.ip_forward)

ensure_real_node_prerequisites() {
  [[ "$(id -u)" == 0 ]] || die "the real node runs containers: run cluster-local.sh up --real as root"
  ensure_packages containerd:containerd runc:runc ctr:containerd /usr/lib/cni/bridge:containernetworking-plugins \
    iptables:iptables conntrack:conntrack ip:iproute2 gcc:gcc /usr/lib/x86_64-linux-gnu/libc.a:libc6-dev
  ensure_real_node_binaries
}

# Claims the machine's one real node for this cluster, cleaning up after a
# real node whose cluster crashed (or refusing if it still runs).
claim_real_node() {
  local owner
  if [[ -f "$REAL_NODE_RECORD/owner" ]]; then
    owner="$(cat "$REAL_NODE_RECORD/owner")"
    if [[ "$owner" != "$dir" ]] && real_node_owner_runs "$owner"; then
      die "the real node of the cluster in $owner still runs (one per machine): stop it with hack/cluster-local.sh down --dir $owner"
    fi
    log "removing what an earlier real node (cluster $owner) left on this machine"
    real_node_cleanup
  fi
  mkdir -p "$REAL_NODE_RECORD"
  echo "$dir" >"$REAL_NODE_RECORD/owner"
  local name
  for name in "${REAL_NODE_SYSCTLS[@]}"; do
    printf '%s=%s\n' "$name" "$(sysctl -n "$name")"
  done >"$REAL_NODE_RECORD/sysctls"
}

# The bridge first: its address is the node's IP, where the API server
# listens for pods (the `kubernetes` Service's endpoint). The Services'
# range is routed to the bridge too: kube-proxy turns a ClusterIP into a
# pod's address, and one it has no rule for yet dies here instead of
# following the machine's default route out.
make_real_node_bridge() {
  ip link add "$REAL_NODE_BRIDGE" type bridge
  ip addr add "$REAL_NODE_IP/24" dev "$REAL_NODE_BRIDGE"
  ip link set "$REAL_NODE_BRIDGE" up
  ip route add "$SERVICE_RANGE" dev "$REAL_NODE_BRIDGE"
}

start_containerd() {
  local c="$dir/containerd"
  mkdir -p "$c" "$dir/cni/net.d" "$dir/cni/ipam"
  # Pods get addresses from the bridge's subnet and one route, to the
  # Services' range through the node: no default route, no masquerading.
  cat >"$dir/cni/net.d/10-mail-worker.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "mail-worker-real-node",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$REAL_NODE_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$dir/cni/ipam",
        "ranges": [[{ "subnet": "$REAL_NODE_SUBNET", "gateway": "$REAL_NODE_IP" }]],
        "routes": [{ "dst": "$SERVICE_RANGE" }]
      }
    },
    { "type": "loopback" }
  ]
}
EOF
  cat >"$c/config.toml" <<EOF
version = 2
root = "$c/root"
state = "$c/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]
[grpc]
  address = "$c/containerd.sock"
[ttrpc]
  address = "$c/containerd-ttrpc.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$c/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$(real_node_image pause)"
  # Root here lacks CAP_SYS_RESOURCE: without this every sandbox fails with
  # "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$dir/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
EOF
  start containerd containerd --config "$c/config.toml"
  wait_until containerd 30 ctr --address "$c/containerd.sock" version
}

ctr_k8s() { ctr --address "$dir/containerd/containerd.sock" --namespace k8s.io "$@"; }

start_kubelet() {
  local k="$dir/kubelet" controller
  mkdir -p "$k" "$dir/pod-logs"
  : >"$k/resolv.conf" # pods learn no nameserver of the machine's
  # Pods' cgroups under a root of our own, so cleanup finds all of them.
  for controller in /sys/fs/cgroup/*/; do
    [[ -f "$controller/cgroup.procs" ]] && mkdir -p "$controller$REAL_NODE_CGROUP"
  done
  cat >"$k/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This machine has cgroup v1 only.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /$REAL_NODE_CGROUP
address: $REAL_NODE_IP
port: $(free_port)
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $(free_port)
containerRuntimeEndpoint: unix://$dir/containerd/containerd.sock
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: false }
  x509: { clientCAFile: $pki/ca.crt }
authorization: { mode: AlwaysAllow }
clusterDomain: cluster.local
clusterDNS: [$REAL_NODE_IP]
resolvConf: $k/resolv.conf
podLogsDir: $dir/pod-logs
registerWithTaints:
  - { key: $REAL_NODE_TAINT, value: "true", effect: NoSchedule }
failSwapOn: false
# Every image was imported and none can be pulled again: never collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
# The kubelet cannot read this machine's disk usage: no disk-pressure eviction.
evictionHard: { memory.available: 100Mi }
localStorageCapacityIsolation: false
serializeImagePulls: false
EOF
  start kubelet "$KUBELET" --config "$k/config.yaml" --kubeconfig "$dir/kubeconfig" \
    --hostname-override "$REAL_NODE_NAME" --node-ip "$REAL_NODE_IP" --root-dir "$k" \
    --cert-dir "$k/pki" --node-labels "type=real,kubernetes.io/hostname=$REAL_NODE_NAME"
}

start_kube_proxy() {
  cat >"$dir/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: { kubeconfig: $dir/kubeconfig }
hostnameOverride: $REAL_NODE_NAME
mode: iptables
bindAddress: $REAL_NODE_IP
clusterCIDR: $REAL_NODE_SUBNET
healthzBindAddress: 127.0.0.1:$(free_port)
metricsBindAddress: 127.0.0.1:$(free_port)
# Service traffic leaves the node with the node's address, so replies from a
# pod on the same bridge come back through the node's conntrack.
iptables: { masqueradeAll: true }
# Leave the machine's conntrack settings alone.
conntrack: { maxPerCore: 0 }
EOF
  start kube-proxy "$KUBE_PROXY" --config "$dir/kube-proxy.yaml"
}

# CoreDNS as a process of the node on the bridge's address (the pods'
# nameserver): cluster.local from the API server, everything else refused.
start_coredns() {
  cat >"$dir/Corefile" <<EOF
cluster.local:53 in-addr.arpa:53 {
  bind $REAL_NODE_IP
  errors
  kubernetes cluster.local in-addr.arpa {
    kubeconfig $dir/kubeconfig
    pods insecure
  }
  cache 5
}
.:53 {
  bind $REAL_NODE_IP
  errors
  # No forward: pods resolve nothing outside the cluster.
  template ANY ANY { rcode REFUSED }
}
EOF
  start coredns "$COREDNS" -conf "$dir/Corefile"
}

real_node_up() {
  start_containerd
  import_cluster_images
  start_kubelet
  start_kube_proxy
  start_coredns
  start_traefik
  start_monitoring
  start_metrics_server
  start_keda
  start_argocd_server
  wait_until kubelet 120 kubectl wait --for condition=Ready --timeout 1s "node/$REAL_NODE_NAME"
  wait_until coredns 30 node -e '
    const resolver = new (require("node:dns").promises.Resolver)();
    resolver.setServers([process.argv[1]]);
    resolver.resolve4("kubernetes.default.svc.cluster.local").then((a) => process.exit(a.length ? 0 : 1), () => process.exit(1));
  ' "$REAL_NODE_IP"
  { kubectl -n keda wait --for condition=Available deployment --all --timeout 180s &&
    kubectl wait --for condition=Available apiservice/v1beta1.external.metrics.k8s.io --timeout 60s; } >/dev/null || {
    kubectl -n keda get pods -o wide >&2
    die "KEDA is not ready (kubectl -n keda describe pods; kubectl -n keda logs deployment/keda-operator)"
  }
  kubectl -n argocd rollout status deployment/argocd-server --timeout 120s >/dev/null || {
    kubectl -n argocd get pods -o wide >&2
    die "argocd-server is not ready (kubectl -n argocd describe pods; kubectl -n argocd logs deployment/argocd-server)"
  }
}

# What scripts/cluster-up.sh gives kind: Traefik as the Ingress class
# `traefik`, answering on port 80 of this machine, so the guides' URLs
# (http://mail-worker.localhost/, which curl and browsers resolve to
# loopback without DNS) reach the pods. It runs here beside the node, not in
# a pod, and reaches the pods on the bridge as kube-proxy does. It writes
# 127.0.0.1 into each Ingress's status, as cluster-up.sh has it do on kind:
# Argo CD counts an Ingress without an address as still progressing. Its
# access log (which pod answered, how, how long) is in logs/traefik.log.
start_traefik() {
  kubectl apply -f - >/dev/null <<'EOF'
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: { name: traefik }
spec: { controller: traefik.io/ingress-controller }
EOF
  ! bash -c 'exec 3<>/dev/tcp/127.0.0.1/80' 2>/dev/null ||
    die "port 80 is taken: Traefik, the test cluster's Ingress controller, listens there as on kind (ss -ltnp 'sport = :80' names the program)"
  KUBECONFIG="$dir/kubeconfig" start traefik "$TRAEFIK" --entryPoints.web.address=:80 \
    --entryPoints.traefik.address="127.0.0.1:$(free_port)" --providers.kubernetesIngress=true \
    --providers.kubernetesIngress.ingressEndpoint.ip=127.0.0.1 --log.level=WARN --accessLog=true
  wait_until traefik 60 curl -s -o /dev/null http://127.0.0.1:80/
}

# host_service NAMESPACE NAME PORT_NAME PORT HOST_PORT: a Service whose one
# endpoint is a program of the host on the node's address (an EndpointSlice
# of our own, no selector), as YAML for kubectl apply.
host_service() {
  cat <<YAML
apiVersion: v1
kind: Service
metadata: { name: $2, namespace: $1 }
spec:
  ports: [{ name: $3, port: $4, targetPort: $5 }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: $2-host
  namespace: $1
  labels:
    kubernetes.io/service-name: $2
    endpointslice.kubernetes.io/managed-by: harness.mail-worker.local
addressType: IPv4
ports: [{ name: $3, port: $5, protocol: TCP }]
endpoints: [{ addresses: ["$REAL_NODE_IP"], conditions: { ready: true } }]
YAML
}

# What scripts/install-addons.sh --monitoring gives kind, for the analysis:
# Prometheus at the address kube-prometheus-stack gives it,
# http://prometheus-operated.monitoring.svc:9090, scraping what the
# PodMonitors select (hack/cluster/pod-monitors.ts stands in for the
# operator). Prometheus runs on the host, on the node's address; the Service
# has an EndpointSlice of our own pointing there. No Grafana.
start_monitoring() {
  local port
  port="$(free_port)"
  mkdir -p "$dir/prometheus"
  echo '{}' >"$dir/prometheus/prometheus.yml"
  start prometheus "$PROMETHEUS_BIN" --config.file="$dir/prometheus/prometheus.yml" \
    --storage.tsdb.path="$dir/prometheus/data" --web.listen-address="$REAL_NODE_IP:$port" \
    --web.enable-lifecycle --log.level=warn
  wait_until prometheus 60 curl -sf "http://$REAL_NODE_IP:$port/-/ready"
  start pod-monitors node "$MAIL_WORKER_ROOT/hack/cluster/pod-monitors.ts" --kubectl "$KUBECTL" \
    --kubeconfig "$dir/kubeconfig" --config "$dir/prometheus/prometheus.yml" --prometheus "http://$REAL_NODE_IP:$port"
  kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Namespace
metadata: { name: monitoring }
---
$(host_service monitoring prometheus-operated web 9090 "$port")
EOF
}

# What scripts/cluster-up.sh gives kind for the HPAs and `kubectl top`:
# metrics-server METRICS_SERVER_VERSION, reading the real node's kubelet
# (/metrics/resource, on the port the node reports; the simulated nodes run
# nothing to measure) every 15 s, served as metrics.k8s.io through the API
# server's aggregation layer. It runs on the host, on the node's address,
# like Prometheus: the APIService names a Service whose EndpointSlice points
# there, and the API server dials that endpoint itself
# (--enable-aggregator-routing).
start_metrics_server() {
  local port
  port="$(free_port)"
  mkdir -p "$dir/metrics-server"
  start metrics-server "$METRICS_SERVER" --kubeconfig "$dir/kubeconfig" \
    --authentication-kubeconfig "$dir/kubeconfig" --authorization-kubeconfig "$dir/kubeconfig" \
    --bind-address "$REAL_NODE_IP" --secure-port "$port" --cert-dir "$dir/metrics-server" \
    --kubelet-preferred-address-types InternalIP --kubelet-use-node-status-port --kubelet-insecure-tls \
    --node-selector "type=real" --metric-resolution 15s
  kubectl apply -f - >/dev/null <<YAML
$(host_service kube-system metrics-server https 443 "$port")
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: { name: v1beta1.metrics.k8s.io }
spec:
  service: { name: metrics-server, namespace: kube-system, port: 443 }
  group: metrics.k8s.io
  version: v1beta1
  insecureSkipTLSVerify: true
  groupPriorityMinimum: 100
  versionPriority: 100
YAML
  wait_until metrics-server 90 kubectl wait --for condition=Available --timeout 1s apiservice/v1beta1.metrics.k8s.io
}

# What scripts/install-addons.sh gives kind for the KEDA guide: KEDA
# KEDA_VERSION from its own manifest, built the way KEDA's release builds it
# (kustomize over the module's config/), in pods on the real node. Two
# changes: the images are the stand-ins import_cluster_images tagged with
# KEDA's names, so they are never pulled (imagePullPolicy IfNotPresent,
# where KEDA says Always), and the namespace sends its pods to the real node.
# The core manifest (config/minimal): the operator, whose HPAs move the
# workers, and the metrics API server they read, without the admission
# webhooks. Waited for in real_node_up, as pods start after the node is Ready.
start_keda() {
  local config
  mkdir -p "$dir/keda"
  # kustomize takes a relative path only.
  config="$(realpath --relative-to "$dir/keda" "$(go_module_dir "github.com/kedacore/keda/v2@$KEDA_VERSION")/config/minimal")"
  cat >"$dir/keda/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [$config]
images:
  - { name: ghcr.io/kedacore/keda, newTag: "${KEDA_VERSION#v}" }
  - { name: ghcr.io/kedacore/keda-metrics-apiserver, newTag: "${KEDA_VERSION#v}" }
patches:
  - target: { kind: Deployment, namespace: keda }
    patch: |-
      - { op: replace, path: /spec/template/spec/containers/0/imagePullPolicy, value: IfNotPresent }
  - target: { kind: Namespace, name: keda }
    patch: |-
      - op: add
        path: /metadata/annotations
        value:
          scheduler.alpha.kubernetes.io/node-selector: type=real
          scheduler.alpha.kubernetes.io/defaultTolerations: '[{"key":"$REAL_NODE_TAINT","operator":"Exists","effect":"NoSchedule"}]'
YAML
  kubectl kustomize "$dir/keda" | kubectl apply --server-side --force-conflicts -f - >/dev/null ||
    die "applying KEDA $KEDA_VERSION's manifest failed"
}

# What install-addons.sh gives kind for the Argo CD guide's GUI and CLI:
# argocd-server from the release's own manifests, in a pod, so that
# `kubectl -n argocd port-forward svc/argocd-server 8080:80` and `argocd
# login` work as there. The rest of Argo CD runs on the host, on the node's
# address (cluster-local.sh's start_argocd), which argocd-cmd-params-cm
# gives the server.
start_argocd_server() {
  local config
  mkdir -p "$dir/argocd/server"
  config="$(realpath --relative-to "$dir/argocd/server" "$(argocd_module_dir)/manifests")"
  cat >"$dir/argocd/server/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: argocd
resources: [$config/base/server, $config/cluster-rbac/server]
images:
  - { name: quay.io/argoproj/argocd, newTag: "$ARGO_CD_VERSION" }
patches:
  - target: { kind: Deployment, name: argocd-server }
    patch: |-
      - { op: replace, path: /spec/template/spec/containers/0/imagePullPolicy, value: IfNotPresent }
YAML
  kubectl annotate --overwrite namespace argocd >/dev/null \
    scheduler.alpha.kubernetes.io/node-selector=type=real \
    "scheduler.alpha.kubernetes.io/defaultTolerations=[{\"key\":\"$REAL_NODE_TAINT\",\"operator\":\"Exists\",\"effect\":\"NoSchedule\"}]"
  # What the release's other manifests create and the server mounts or reads.
  kubectl -n argocd create configmap argocd-ssh-known-hosts-cm --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl -n argocd create configmap argocd-tls-certs-cm --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl -n argocd create secret generic argocd-redis --from-literal=auth= --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl kustomize "$dir/argocd/server" | kubectl apply --server-side --force-conflicts -f - >/dev/null ||
    die "applying argocd-server from Argo CD $ARGO_CD_VERSION's manifests failed"
}

# Removes what a real node added to the machine. Its processes are stopped
# first by stop_all; what they leave behind is found by where it lives.
real_node_cleanup() {
  local owner pid mountpoint controller line
  owner="$(cat "$REAL_NODE_RECORD/owner" 2>/dev/null || true)"
  # Container processes and their shims (which outlive containerd).
  for controller in /sys/fs/cgroup/*/"$REAL_NODE_CGROUP"; do
    [[ -d "$controller" ]] || continue
    find "$controller" -name cgroup.procs -exec cat {} + 2>/dev/null
  done | sort -u | xargs -r kill -9 2>/dev/null || true
  if [[ -n "$owner" ]]; then
    for pid in $(pgrep -f "containerd-shim.*$owner/containerd" || true); do kill -9 "$pid" 2>/dev/null || true; done
    # Network namespaces, container root filesystems, secrets' tmpfs.
    awk -v d="$owner/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r |
      while read -r mountpoint; do umount "$mountpoint" 2>/dev/null || umount -l "$mountpoint" 2>/dev/null || true; done
  fi
  remove_kube_chains
  ip link del "$REAL_NODE_BRIDGE" 2>/dev/null || true
  for controller in /sys/fs/cgroup/*/"$REAL_NODE_CGROUP"; do
    [[ -d "$controller" ]] || continue
    for _ in 1 2 3; do find "$controller" -depth -type d -exec rmdir {} + 2>/dev/null && break; sleep 0.5; done
  done
  if [[ -f "$REAL_NODE_RECORD/sysctls" ]]; then
    while IFS= read -r line; do sysctl -q -w "$line" >/dev/null 2>&1 || true; done <"$REAL_NODE_RECORD/sysctls"
  fi
  rm -rf "$REAL_NODE_RECORD"
}

# The iptables chains the kubelet and kube-proxy made (all named KUBE-*),
# and the rules jumping to them, in every table, for IPv4 and IPv6.
remove_kube_chains() {
  local tool table rule chain chains
  for tool in iptables ip6tables; do
    command -v "$tool" >/dev/null || continue
    for table in filter nat mangle; do
      { "$tool-save" -t "$table" 2>/dev/null || true; } | { grep -E '^-A .* -j KUBE-' || true; } | while IFS= read -r rule; do
        # The saved rule, quoted comments and all, as a delete.
        eval "\"\$tool\" -t \"\$table\" -D ${rule#-A }" 2>/dev/null || true
      done
      chains="$({ "$tool-save" -t "$table" 2>/dev/null || true; } | sed -nE 's/^:(KUBE-[^ ]+) .*/\1/p')"
      for chain in $chains; do "$tool" -t "$table" -F "$chain" 2>/dev/null || true; done
      for chain in $chains; do "$tool" -t "$table" -X "$chain" 2>/dev/null || true; done
    done
  done
}

# Whether this cluster owns the machine's real node.
has_real_node() { [[ -f "$REAL_NODE_RECORD/owner" && "$(cat "$REAL_NODE_RECORD/owner")" == "$dir" ]]; }

# --- run on its own --------------------------------------------------------------

real_node_status() {
  local owner chains
  owner="$(cat "$REAL_NODE_RECORD/owner" 2>/dev/null || true)"
  if [[ -z "$owner" ]]; then
    echo "no real node is recorded on this machine ($REAL_NODE_RECORD is absent)"
  elif real_node_owner_runs "$owner"; then
    echo "the real node of the cluster in $owner runs"
  else
    echo "the real node of the cluster in $owner is recorded, but its kubelet is gone: hack/cluster/real-node.sh cleanup"
  fi
  ip link show "$REAL_NODE_BRIDGE" >/dev/null 2>&1 && echo "bridge $REAL_NODE_BRIDGE: present" || echo "bridge $REAL_NODE_BRIDGE: absent"
  chains="$({ iptables-save 2>/dev/null || true; } | grep -c '^:KUBE-' || true)"
  echo "KUBE-* iptables chains (IPv4): $chains"
  compgen -G "/sys/fs/cgroup/*/$REAL_NODE_CGROUP" >/dev/null && echo "cgroups $REAL_NODE_CGROUP: present" || echo "cgroups $REAL_NODE_CGROUP: absent"
}

# Whether the kubelet of the cluster in folder $1 still runs.
real_node_owner_runs() {
  [[ -f "$1/pids/kubelet" ]] && [[ "$(readlink "/proc/$(cat "$1/pids/kubelet")/cwd" 2>/dev/null)/" == "$1/"* ]]
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  # shellcheck source=../lib/toolchain.sh
  source "$(dirname "${BASH_SOURCE[0]}")/../lib/toolchain.sh"
  case "${1:-}" in
    status) real_node_status ;;
    cleanup)
      [[ "$(id -u)" == 0 ]] || die "removing the real node's bridge, chains and cgroups needs root"
      owner="$(cat "$REAL_NODE_RECORD/owner" 2>/dev/null || true)"
      [[ -z "$owner" ]] || ! real_node_owner_runs "$owner" ||
        die "the real node of the cluster in $owner still runs: stop it with hack/cluster-local.sh down --dir $owner"
      real_node_cleanup
      log "removed what a real node left on this machine"
      ;;
    -h | --help)
      printf 'usage: hack/cluster/real-node.sh status|cleanup\n\n'
      printf '  status   what a real node left on this machine: its record, bridge, chains, cgroups\n'
      printf '  cleanup  remove it, when its cluster no longer runs (hack/cluster-local.sh down does\n'
      printf '           this itself; this is for a suite that was killed)\n'
      ;;
    *) die "usage: hack/cluster/real-node.sh status|cleanup (--help says more)" ;;
  esac
fi
