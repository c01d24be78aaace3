#!/usr/bin/env bash
# Builds the image and loads it into the local cluster, so pods start without
# a registry. Tag it per environment to drive rollouts: a new tag is a new version.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/image.sh [--tag TAG] [--cluster NAME] [--k3d] [--no-load]

  --tag TAG       image tag (default: dev); the environments use dev, staging and prod
  --cluster NAME  kind or k3d cluster to load into (default: mail-worker)
  --k3d           load into k3d instead of kind
  --no-load       only build
Builds mail-worker:TAG from the Dockerfile (APP_VERSION=TAG, shown on every
page) with the engine at DOCKER_HOST, on the host network, and loads it into
the cluster's nodes. Where Docker Hub cannot be reached, the base image is a
local stand-in (hack/base-image.sh). No engine? hack/docker-engine.sh.
USAGE
}

tag=dev
cluster=mail-worker
engine=kind
load=true
while (($# > 0)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --tag) tag="${2:?--tag needs a value}"; shift 2 ;;
    --cluster) cluster="${2:?--cluster needs a value}"; shift 2 ;;
    --k3d) engine=k3d; shift ;;
    --no-load) load=false; shift ;;
    *) usage >&2; exit 2 ;;
  esac
done

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/docker.sh
source "$MAIL_WORKER_ROOT/scripts/lib/docker.sh"
docker_cli version >/dev/null 2>&1 ||
  die "no Docker Engine answers${DOCKER_HOST:+ at $DOCKER_HOST}: start Docker, or run hack/docker-engine.sh up --dir DIR and export the DOCKER_HOST it prints"
if on_test_cluster; then
  engine=test-cluster
  need ctr "install containerd's ctr (Debian: apt-get install containerd)"
else
  [[ "$load" == false ]] || need "$engine" "install $engine: https://kind.sigs.k8s.io/ or https://k3d.io/"
fi

build_image "$tag"
[[ "$load" == true ]] || { log "built mail-worker:$tag"; exit 0; }
if [[ "$engine" == test-cluster ]]; then
  node_ctr=(ctr --address "$MAIL_WORKER_CLUSTER_DIR/containerd/containerd.sock" --namespace k8s.io)
  # As `kind load docker-image` does, skip a node that already has this very
  # image (the same ID, its config's digest): the guides build v1 and v2
  # again and again from the same sources, and each import takes seconds.
  manifest="$("${node_ctr[@]}" images ls "name==docker.io/library/mail-worker:$tag" | awk 'NR == 2 { print $3 }')"
  loaded="$([[ -z "$manifest" ]] || "${node_ctr[@]}" content get "$manifest" | grep -o '"config":{[^}]*}' | grep -o 'sha256:[0-9a-f]*' || :)"
  if [[ "$loaded" == "$(docker_cli image inspect --format '{{.Id}}' "mail-worker:$tag")" ]]; then
    log "mail-worker:$tag (${loaded:7:12}) is already on the test cluster's real node"
  else
    log "loading mail-worker:$tag into the test cluster's real node"
    docker_cli save "mail-worker:$tag" | "${node_ctr[@]}" images import - >/dev/null
  fi
  log "done: use image.repository=mail-worker, image.tag=$tag"
  exit 0
fi
log "loading mail-worker:$tag into $engine cluster $cluster"
if [[ "$engine" == kind ]]; then
  kind load docker-image "mail-worker:$tag" --name "$cluster"
else
  k3d image import "mail-worker:$tag" --cluster "$cluster"
fi
log "done: use image.repository=mail-worker, image.tag=$tag"
