#!/usr/bin/env bash
# A real Kubernetes control plane on this machine, without kind or a container
# runtime: etcd, kube-apiserver, controller-manager and scheduler built from
# the Go module proxy, nodes simulated by kwok (plus the harness's node agent
# for the kubelet rules kwok lacks), the CRDs the chart uses, and the Argo
# Rollouts and Argo CD controllers. The test suite runs on it; so can you.
# docs/test-cluster.md says how it is made and what it does not simulate.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: hack/cluster-local.sh up|down|status|env|publish [--dir DIR] [--real]

  up       build what is missing (once per machine, cached under
           ~/.cache/mail-worker), then start the cluster; prints its env
  down     stop everything it started (by PID) and delete DIR
  status   list the processes and nodes
  env      print KUBECONFIG and the other addresses as shell assignments
  publish  commit the working tree (uncommitted changes too) as branch
           main of the cluster's git repository, which Argo CD reads

  --dir DIR   state folder (default ~/.cache/mail-worker/cluster-local);
              everything the cluster writes stays inside it
  --real      (up) add a real node that runs containers: containerd, a
              kubelet, kube-proxy and CoreDNS, with the chart's images built
              here (root only; one per machine; docs/test-cluster.md)

Every server listens on a free port of 127.0.0.1. A second `up` first
cleans up after a crashed one. Use it like any cluster:
  eval "$(hack/cluster-local.sh env)"; kubectl get nodes
USAGE
}

command="${1:-}"
shift || true
# shellcheck source=lib/toolchain.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/toolchain.sh"
dir="$MAIL_WORKER_CACHE/cluster-local"
real=false
while (($# > 0)); do
  case "$1" in
    --dir) dir="${2:?--dir needs a folder}"; shift 2 ;;
    --real) real=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
case "$command" in
  up | down | status | env | publish) ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
pki="$dir/pki"
# The Services' virtual addresses (ClusterIPs).
SERVICE_RANGE=10.96.0.0/16
# shellcheck source=../scripts/lib/docker.sh
source "$MAIL_WORKER_ROOT/scripts/lib/docker.sh"
# shellcheck source=lib/docker-engine.sh
source "$MAIL_WORKER_ROOT/hack/lib/docker-engine.sh"
# shellcheck source=cluster/real-node.sh
source "$MAIL_WORKER_ROOT/hack/cluster/real-node.sh"
# shellcheck source=cluster/images.sh
source "$MAIL_WORKER_ROOT/hack/cluster/images.sh"

# --- processes ---------------------------------------------------------------

# start NAME COMMAND...: runs in the background, logs to logs/NAME.log.
start() {
  local name="$1"
  shift
  mkdir -p "$dir/logs" "$dir/pids" "$dir/run/$name"
  (cd "$dir/run/$name" && exec nohup "$@" >"$dir/logs/$name.log" 2>&1 </dev/null) &
  echo $! >"$dir/pids/$name"
}

# Alive and ours: the process works in this cluster's folder (so a reused PID
# of some other process is never signalled).
ours() {
  local cwd
  cwd="$(readlink "/proc/$1/cwd" 2>/dev/null)" && [[ "$cwd/" == "$dir/"* ]]
}

# wait_until NAME SECONDS COMMAND...: until COMMAND succeeds, while NAME runs.
wait_until() {
  local name="$1" seconds="$2" deadline
  shift 2
  deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ! ours "$(cat "$dir/pids/$name")"; then
      tail -20 "$dir/logs/$name.log" >&2
      die "$name exited; its log is above ($dir/logs/$name.log)"
    fi
    ((SECONDS < deadline)) || { tail -20 "$dir/logs/$name.log" >&2; die "$name not ready after ${seconds}s"; }
    sleep 0.5
  done
}

stop_all() {
  local file pid name
  [[ -d "$dir/pids" ]] || return 0
  # Controllers first, etcd last (reverse start order, by file time).
  # shellcheck disable=SC2045 # our own file names, no spaces
  for file in $(ls -t "$dir/pids"); do
    pid="$(cat "$dir/pids/$file")"
    if ours "$pid"; then kill "$pid" 2>/dev/null || true; fi
  done
  for file in "$dir"/pids/*; do
    [[ -f "$file" ]] || continue
    pid="$(cat "$file")"
    name="$(basename "$file")"
    for _ in $(seq 50); do ours "$pid" || break; sleep 0.2; done
    if ours "$pid"; then
      log "$name did not stop on SIGTERM; killing it"
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
  done
}

# --- certificates --------------------------------------------------------------

# issue NAME SUBJECT EXTENSIONS: a key and a certificate signed by the cluster CA.
issue() {
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$pki/$1.key" \
    -out "$pki/$1.csr" -subj "$2" 2>/dev/null
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 3650 -out "$pki/$1.crt" -extfile <(printf '%s\n' "$3") 2>/dev/null
  rm -f "$pki/$1.csr"
}

make_pki() {
  mkdir -p "$pki"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" -subj /CN=mail-worker-test-cluster-ca 2>/dev/null
  issue apiserver /CN=kube-apiserver "$(printf '%s\n' \
    "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,IP:$REAL_NODE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" \
    'extendedKeyUsage=serverAuth')"
  # One administrator identity for every component and test: this cluster
  # checks charts, not RBAC between control-plane parts.
  issue admin '/O=system:masters/CN=mail-worker-test-admin' 'extendedKeyUsage=clientAuth'
  # The aggregation layer's client: the API server proxies metrics.k8s.io
  # to metrics-server with it, naming the user in request headers.
  issue front-proxy-client /CN=front-proxy-client 'extendedKeyUsage=clientAuth'
  openssl genrsa -out "$pki/service-accounts.key" 2048 2>/dev/null
  openssl rsa -in "$pki/service-accounts.key" -pubout -out "$pki/service-accounts.pub" 2>/dev/null
}

# write_kubeconfig ADDRESS PORT
write_kubeconfig() {
  cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: mail-worker-test
    cluster:
      server: https://$1:$2
      certificate-authority: $pki/ca.crt
users:
  - name: admin
    user:
      client-certificate: $pki/admin.crt
      client-key: $pki/admin.key
contexts:
  - name: mail-worker-test
    context: { cluster: mail-worker-test, user: admin }
current-context: mail-worker-test
EOF
}

# --- the cluster ---------------------------------------------------------------

kubectl() { "$KUBECTL" --kubeconfig "$dir/kubeconfig" "$@"; }
api_ready() { kubectl get --raw /readyz; }

# kwok's own pod stages, with one more condition on pod-ready: the node
# agent's annotation saying that everything the pod reads exists.
write_kwok_config() {
  local kwok_dir stage
  kwok_dir="$(go_module_dir "sigs.k8s.io/kwok@$KWOK_VERSION")"
  {
    for stage in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease \
      pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
      echo ---
      if [[ "$stage" == pod/fast/pod-ready ]]; then
        awk '{ print } /^    matchExpressions:$/ {
          print "    - key: '"'"'.metadata.annotations[\"harness.mail-worker.local/config\"]'"'"'"
          print "      operator: '"'"'In'"'"'"
          print "      values: [ready]"
        }' "$kwok_dir/kustomize/stage/$stage.yaml"
      else
        cat "$kwok_dir/kustomize/stage/$stage.yaml"
      fi
    done
  } >"$dir/kwok.yaml"
  grep -q 'harness.mail-worker.local/config' "$dir/kwok.yaml" || die "kwok's pod-ready stage changed shape: update write_kwok_config"
}

apply_base_objects() {
  local i
  for i in 0 1; do
    kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations: { node.alpha.kubernetes.io/ttl: "0", kwok.x-k8s.io/node: fake }
  labels:
    type: kwok
    kubernetes.io/hostname: kwok-node-$i
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    topology.kubernetes.io/zone: zone-$i
status:
  allocatable: { cpu: "32", memory: 64Gi, pods: "110" }
  capacity: { cpu: "32", memory: 64Gi, pods: "110" }
EOF
  done
  kubectl apply -f - >/dev/null <<'EOF'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations: { storageclass.kubernetes.io/is-default-class: "true" }
provisioner: harness.mail-worker.local/host-folders
volumeBindingMode: Immediate
reclaimPolicy: Delete
EOF
}

apply_crds() {
  local file
  log "applying CRDs (server-side) from the Go modules: Argo Rollouts $ARGO_ROLLOUTS_VERSION, Argo CD $ARGO_CD_VERSION, KEDA $KEDA_VERSION, prometheus-operator $PROMETHEUS_OPERATOR_VERSION, Gateway API $GATEWAY_API_VERSION"
  while IFS= read -r file; do
    kubectl apply --server-side --force-conflicts -f "$file" >/dev/null || die "applying CRD $file failed"
  done < <(crd_files)
  kubectl wait --for condition=established --timeout=60s crd --all >/dev/null
}

# start_argocd ADDRESS: Argo CD's Redis and repo server listen on ADDRESS,
# the node's address with a real node, where argocd-server's pod reaches them.
start_argocd() {
  local address="$1" redis_port repo_port
  kubectl create namespace argocd --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl apply -n argocd -f - >/dev/null <<'EOF'
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: { name: argocd-cm, labels: { app.kubernetes.io/part-of: argocd } }
    data:
      # Poll git often: tests push and wait.
      timeout.reconciliation: 10s
  - apiVersion: v1
    kind: ConfigMap
    metadata: { name: argocd-rbac-cm, labels: { app.kubernetes.io/part-of: argocd } }
  - apiVersion: v1
    kind: Secret
    metadata: { name: argocd-secret, labels: { app.kubernetes.io/part-of: argocd } }
    stringData: { server.secretkey: test-cluster-only }
EOF
  # What install-addons.sh gives Argo CD on kind: this repository's settings.
  kubectl -n argocd patch configmap argocd-cm --type merge --patch-file "$MAIL_WORKER_ROOT/argocd/argocd-cm.yaml" >/dev/null
  redis_port="$(free_port)"
  mkdir -p "$dir/argocd/redis" "$dir/argocd/tmp"
  # Without a password, protected mode would refuse any client not on
  # loopback, and the node's address is not.
  start argocd-redis redis-server --bind "$address" --port "$redis_port" --dir "$dir/argocd/redis" \
    --save '' --appendonly no --protected-mode no
  wait_until argocd-redis 20 bash -c "[[ \"\$(redis-cli -h $address -p $redis_port ping)\" == PONG ]]"

  # The repo server renders charts with the `helm` on its PATH: Helm 4, as
  # the Argo CD release under test bundles (3.5 and later). It also runs the
  # image's git-verify-wrapper.sh on every commit it reads (3.6, GPG or
  # not), from the release's hack/ folder, as the image copies it.
  mkdir -p "$dir/argocd/bin"
  ln -sf "$HELM4_BIN" "$dir/argocd/bin/helm"
  install -m 755 "$(argocd_module_dir)/hack/git-verify-wrapper.sh" "$dir/argocd/bin/"
  local argocd=("$ARGOCD_BIN")
  repo_port="$(free_port)"
  # Its git credential helper's socket defaults to one path in /tmp for the
  # whole machine: a second cluster, or one of another user, could not bind.
  # Plain gRPC on loopback: no TLS, so no client CA for mutual TLS either
  # (3.6 names one by default and refuses it beside --disable-tls).
  ARGOCD_BINARY_NAME=argocd-repo-server TMPDIR="$dir/argocd/tmp" ARGOCD_GPG_ENABLED=false \
    ARGOCD_ASK_PASS_SOCK="$dir/argocd/ask-pass.sock" \
    PATH="$dir/argocd/bin:$PATH" start argocd-repo-server "${argocd[@]}" \
    --address "$address" --port "$repo_port" --metrics-address 127.0.0.1 --metrics-port "$(free_port)" \
    --redis "$address:$redis_port" --disable-tls --client-ca-path '' --loglevel warn
  wait_until argocd-repo-server 60 bash -c "exec 3<>/dev/tcp/$address/$repo_port"
  # Where argocd-server (a pod, with a real node) finds them.
  kubectl -n argocd create configmap argocd-cmd-params-cm --from-literal=redis.server="$address:$redis_port" \
    --from-literal=repo.server="$address:$repo_port" --from-literal=server.repo.server.plaintext=true \
    --dry-run=client -o yaml | kubectl apply -f - >/dev/null

  KUBECONFIG="$dir/kubeconfig" ARGOCD_FAKE_IN_CLUSTER=true ARGOCD_BINARY_NAME=argocd-application-controller \
    start argocd-application-controller "${argocd[@]}" --kubeconfig "$dir/kubeconfig" --namespace argocd \
    --repo-server "$address:$repo_port" --repo-server-plaintext --redis "$address:$redis_port" \
    --metrics-port "$(free_port)" --loglevel warn
  KUBECONFIG="$dir/kubeconfig" ARGOCD_FAKE_IN_CLUSTER=true ARGOCD_BINARY_NAME=argocd-applicationset-controller \
    start argocd-applicationset-controller "${argocd[@]}" --kubeconfig "$dir/kubeconfig" --namespace argocd \
    --argocd-repo-server "$address:$repo_port" --repo-server-plaintext \
    --metrics-addr "127.0.0.1:$(free_port)" --probe-addr "127.0.0.1:$(free_port)" \
    --webhook-addr "127.0.0.1:$(free_port)" --enable-leader-election=false --loglevel warn
}

# The git repository Argo CD reads: a bare repository under DIR served by
# `git daemon` on loopback. It takes pushes too, as a learner's fork does
# (the Argo CD guide's walk clones it and pushes).
start_git() {
  local port
  port="$(free_port)"
  git init -q --bare -b main "$dir/git/mail-worker.git"
  touch "$dir/git/mail-worker.git/git-daemon-export-ok"
  start git-daemon git daemon --listen=127.0.0.1 --port="$port" --base-path="$dir/git" --reuseaddr --enable=receive-pack "$dir/git"
  echo "git://127.0.0.1:$port/mail-worker.git" >"$dir/git-url"
}

publish() {
  [[ -f "$dir/git-url" ]] || die "the cluster in $dir is not up"
  local index tree commit
  index="$(mktemp)"
  # A commit of the working tree as it is, without touching the user's index.
  (
    cd "$MAIL_WORKER_ROOT"
    GIT_INDEX_FILE="$index" git read-tree HEAD
    GIT_INDEX_FILE="$index" git add -A .
    tree="$(GIT_INDEX_FILE="$index" git write-tree)"
    commit="$(git -c user.name=cluster-local -c user.email=cluster-local@localhost commit-tree "$tree" -p HEAD -m 'working tree for the test cluster')"
    git push -q --force "$dir/git/mail-worker.git" "$commit:refs/heads/main"
  )
  rm -f "$index"
  log "published the working tree to $(cat "$dir/git-url") (branch main)"
}

print_env() {
  [[ -f "$dir/kubeconfig" ]] || die "the cluster in $dir is not up: run hack/cluster-local.sh up"
  printf 'export KUBECONFIG=%q\n' "$dir/kubeconfig"
  printf 'export MAIL_WORKER_CLUSTER_DIR=%q\n' "$dir"
  printf 'export MAIL_WORKER_CLUSTER_GIT_URL=%q\n' "$(cat "$dir/git-url")"
  printf 'export KUBECTL_BIN=%q\n' "$KUBECTL"
  # shellcheck disable=SC2016 # $PATH expands where the output is evaluated
  printf 'export PATH=%q:"$PATH"\n' "$dir/bin"
}

# The commands the guides type, at the versions the cluster runs: kubectl,
# helm (4), the `kubectl argo rollouts` plugin and the argocd CLI (Argo CD's
# one program, which picks its part by the name it is called by).
link_commands() {
  mkdir -p "$dir/bin"
  ln -sf "$KUBECTL" "$dir/bin/kubectl"
  ln -sf "$HELM4_BIN" "$dir/bin/helm"
  ln -sf "$KUBECTL_ARGO_ROLLOUTS" "$dir/bin/kubectl-argo-rollouts"
  ln -sf "$ARGOCD_BIN" "$dir/bin/argocd"
}

stop_cluster() {
  stop_all
  if has_real_node; then real_node_cleanup; fi
}

up() {
  ensure_node
  ensure_packages openssl:openssl redis-server:redis-server git:git
  ensure_helm
  ensure_cluster_binaries
  [[ "$real" == false ]] || { ensure_real_node_prerequisites && ensure_prometheus; }
  if [[ -d "$dir/pids" ]]; then
    log "cleaning up an earlier cluster in $dir"
    stop_cluster
  fi
  find "$dir" -mindepth 1 -delete
  local started=$SECONDS etcd_port apiserver_port address=127.0.0.1 apiserver_network=()
  log "starting the test cluster in $dir$([[ "$real" == false ]] || echo ", with a real node")"
  make_pki
  link_commands
  if [[ "$real" == true ]]; then
    claim_real_node
    make_real_node_bridge
    # Pods reach the API server (the `kubernetes` Service) on the node's
    # address, so it listens there, and the endpoint reconciler publishes it.
    address="$REAL_NODE_IP"
    apiserver_network=(--endpoint-reconciler-type lease
      --kubelet-client-certificate "$pki/admin.crt" --kubelet-client-key "$pki/admin.key"
      --kubelet-preferred-address-types InternalIP)
  else
    # No endpoint reconciler: it would publish 127.0.0.1 as the `kubernetes`
    # Service's endpoint, which the API refuses, and no pod here dials it.
    apiserver_network=(--endpoint-reconciler-type none)
  fi

  etcd_port="$(free_port)"
  start etcd "$ETCD" --name test --data-dir "$dir/etcd" --unsafe-no-fsync \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$(free_port)" --log-level warn
  wait_until etcd 30 curl -sf "http://127.0.0.1:$etcd_port/health"

  apiserver_port="$(free_port)"
  write_kubeconfig "$address" "$apiserver_port"
  # PodNodeSelector and PodTolerationRestriction let a namespace send its
  # pods to the real node (test/helpers/real-node.ts).
  start kube-apiserver "$KUBE_APISERVER" --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address "$address" --advertise-address "$address" --secure-port "$apiserver_port" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" --client-ca-file "$pki/ca.crt" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/service-accounts.pub" --service-account-signing-key-file "$pki/service-accounts.key" \
    --service-cluster-ip-range "$SERVICE_RANGE" --authorization-mode Node,RBAC "${apiserver_network[@]}" \
    --enable-admission-plugins PodNodeSelector,PodTolerationRestriction --allow-privileged=true --profiling=false \
    --requestheader-client-ca-file "$pki/ca.crt" --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --proxy-client-cert-file "$pki/front-proxy-client.crt" --proxy-client-key-file "$pki/front-proxy-client.key" \
    --enable-aggregator-routing=true
  wait_until kube-apiserver 90 api_ready

  start kube-controller-manager "$KUBE_CONTROLLER_MANAGER" --kubeconfig "$dir/kubeconfig" \
    --authentication-kubeconfig "$dir/kubeconfig" --authorization-kubeconfig "$dir/kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$(free_port)" --leader-elect=false \
    --service-account-private-key-file "$pki/service-accounts.key" --root-ca-file "$pki/ca.crt" \
    --use-service-account-credentials=false --cluster-name mail-worker-test --profiling=false
  start kube-scheduler "$KUBE_SCHEDULER" --kubeconfig "$dir/kubeconfig" \
    --authentication-kubeconfig "$dir/kubeconfig" --authorization-kubeconfig "$dir/kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$(free_port)" --leader-elect=false --profiling=false

  apply_base_objects
  write_kwok_config
  start kwok "$KWOK" --kubeconfig "$dir/kubeconfig" --config "$dir/kwok.yaml" \
    --manage-all-nodes=false --manage-nodes-with-label-selector type=kwok \
    --server-address "127.0.0.1:$(free_port)" --node-ip 127.0.0.1 --cidr 10.244.0.1/16 \
    --node-lease-duration-seconds 40
  start node-agent node "$MAIL_WORKER_ROOT/hack/cluster/node-agent.ts" \
    --server "https://$address:$apiserver_port" --ca "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    --volumes "$dir/volumes"
  wait_until kwok 60 kubectl wait --for condition=Ready --timeout 1s node --all

  apply_crds
  kubectl create namespace argo-rollouts --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  # With a real node, the controller resolves names through the cluster's
  # DNS, as in its pod on kind: an analysis asks Prometheus by its Service's
  # name. Its own mount namespace gets a pod's resolv.conf.
  local in_cluster_dns=()
  if [[ "$real" == true ]]; then
    printf 'search argo-rollouts.svc.cluster.local svc.cluster.local cluster.local\nnameserver %s\noptions ndots:5\n' \
      "$REAL_NODE_IP" >"$dir/pod-resolv.conf"
    # shellcheck disable=SC2016 # expanded by that bash
    in_cluster_dns=(unshare --mount --propagation private bash -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$dir/pod-resolv.conf")
  fi
  POD_NAMESPACE=argo-rollouts start argo-rollouts "${in_cluster_dns[@]}" "$ROLLOUTS_CONTROLLER" --kubeconfig "$dir/kubeconfig" \
    --leader-elect=false --metricsPort "$(free_port)" --healthzPort "$(free_port)" --loglevel warn
  start_git
  start_argocd "$address"
  [[ "$real" == false ]] || real_node_up
  log "test cluster up in $((SECONDS - started))s; use it with: eval \"\$(hack/cluster-local.sh env --dir $dir)\""
  print_env
}

status() {
  local file pid
  [[ -d "$dir/pids" ]] || { echo "no cluster in $dir"; return 0; }
  for file in "$dir"/pids/*; do
    [[ -f "$file" ]] || continue
    pid="$(cat "$file")"
    if ours "$pid"; then state=running; else state=stopped; fi
    printf '%-36s pid %-8s %s\n' "$(basename "$file")" "$pid" "$state"
  done
  kubectl get nodes 2>/dev/null || true
}

case "$command" in
  up) up ;;
  down)
    stop_cluster
    rm -rf "$dir"
    log "test cluster in $dir stopped and removed"
    ;;
  status) ensure_cluster_binaries && status ;;
  env) ensure_helm && ensure_cluster_binaries && print_env ;;
  publish) publish ;;
esac
