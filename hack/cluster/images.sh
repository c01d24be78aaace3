# shellcheck shell=bash
# The images the test cluster's real node runs, made on this machine (no
# registry is reachable): the service's image from the real Dockerfile (the
# guides' walks build their own versions with scripts/image.sh), and the test
# stand-ins under test/images/ for what the chart runs beside it. Each is built once per change of its inputs
# by a Docker Engine of the cache's own (its layer cache makes a changed
# service a quick rebuild), saved as a tar under
# ~/.cache/mail-worker/images/, and imported into the node's containerd.
# Sourced by cluster-local.sh after docker.sh and real-node.sh.
# shellcheck disable=SC2154 # dir is cluster-local.sh's

# Each is one build and one tar.
CLUSTER_IMAGES=(pause redis postgresql mailpit unleash keda argocd app)
IMAGE_CACHE="$MAIL_WORKER_CACHE/images"

# The files an image is made from, relative to the repository.
image_inputs() {
  case "$1" in
    app)
      printf '%s\n' Dockerfile .dockerignore package.json package-lock.json tsconfig.json tsconfig.build.json
      git -C "$MAIL_WORKER_ROOT" ls-files --cached --others --exclude-standard service/src service/views service/public
      ;;
    unleash)
      # Its unleash-server is the version package-lock.json pins for the suite.
      printf '%s\n' package-lock.json
      ;&
    *) git -C "$MAIL_WORKER_ROOT" ls-files --cached --others --exclude-standard "test/images/$1" ;;
  esac
  # Every image stands on the base image, whose Node and npm are pinned
  # there, and is named and built by this file.
  printf '%s\n' hack/base-image.sh scripts/lib/versions.sh hack/cluster/images.sh
}

# A tag that changes exactly when the image's inputs do.
image_key() {
  local name="$1"
  (
    cd "$MAIL_WORKER_ROOT" || exit
    image_inputs "$name" | sort -u | while read -r file; do [[ -f "$file" ]] && sha256sum "$file"; done
    echo "$name"
  ) | sha256sum | cut -c1-12
}

# The image the real node knows as NAME (test/images/NAME, or app: the service).
real_node_image() { printf 'mail-worker-test/%s:%s\n' "$1" "$(image_key "$1")"; }

# Builds the images whose tar is not in the cache, with one engine start.
build_cluster_images() {
  local name missing=() engine="$SHARED_ENGINE" host context
  mkdir -p "$IMAGE_CACHE"
  for name in "${CLUSTER_IMAGES[@]}"; do
    [[ -f "$IMAGE_CACHE/$name-$(image_key "$name").tar" ]] || missing+=("$name")
  done
  ((${#missing[@]} == 0)) && return 0
  ensure_mailpit
  # One builder at a time per machine: the engine's folder is shared.
  exec {lock}>"$IMAGE_CACHE/engine.lock"
  flock "$lock"
  log "building the real node's images: ${missing[*]} (Docker Engine in $engine, kept for its layer cache)"
  host="$(start_private_engine "$engine")"
  context="$(mktemp -d "${TMPDIR:-/tmp}/mail-worker-images.XXXXXX")"
  for name in "${missing[@]}"; do
    DOCKER_HOST="$host" build_cluster_image "$name" "$context/$name"
  done
  DOCKER_HOST="$host" docker_cli image prune -f >/dev/null
  stop_private_engine "$engine" --keep-data
  flock -u "$lock"
  rm -rf "$context"
}

# build_cluster_image NAME CONTEXT: builds mail-worker-test/NAME:KEY and saves it.
build_cluster_image() {
  local name="$1" context="$2" ref key args=()
  key="$(image_key "$name")"
  ref="$(real_node_image "$name")"
  mkdir -p "$context"
  case "$name" in
    app)
      # The service's own image, as scripts/image.sh builds it.
      ensure_base_image
      context="$MAIL_WORKER_ROOT"
      args=(--build-arg "VERSION=$key")
      ;;
    pause)
      cp "$MAIL_WORKER_ROOT/test/images/pause/Dockerfile" "$context/"
      gcc -static -O2 -s -Wall -Wextra -Werror -o "$context/pause" "$MAIL_WORKER_ROOT/test/images/pause/pause.c"
      ;;
    mailpit)
      ensure_base_image
      cp "$MAIL_WORKER_ROOT/test/images/mailpit/Dockerfile" "$MAILPIT_BIN" "$context/"
      ;;
    keda)
      ensure_base_image
      cp "$MAIL_WORKER_ROOT/test/images/keda/Dockerfile" "$context/"
      cp "$KEDA_OPERATOR" "$context/keda"
      cp "$KEDA_ADAPTER" "$context/keda-adapter"
      ;;
    argocd)
      ensure_base_image
      cp "$MAIL_WORKER_ROOT/test/images/argocd/Dockerfile" "$context/"
      cp "$ARGOCD_BIN" "$context/argocd"
      ;;
    unleash)
      ensure_base_image
      cp -r "$MAIL_WORKER_ROOT/test/images/unleash/." "$context/"
      args=(--build-arg "UNLEASH_VERSION=$(node -p 'require(process.argv[1]).version' \
        "$MAIL_WORKER_ROOT/node_modules/unleash-server/package.json")")
      ;;
    *)
      ensure_base_image
      cp -r "$MAIL_WORKER_ROOT/test/images/$name/." "$context/"
      ;;
  esac
  log "building $ref"
  DOCKER_BUILDKIT=1 docker_cli build --network host -q "${args[@]}" -t "$ref" "$context" >/dev/null ||
    die "building $ref failed (run: DOCKER_BUILDKIT=1 docker build --network host ${args[*]} $context)"
  docker_cli save "$ref" -o "$IMAGE_CACHE/$name-$key.tar.partial"
  mv "$IMAGE_CACHE/$name-$key.tar.partial" "$IMAGE_CACHE/$name-$key.tar"
  # Older tars of this image are never used again.
  find "$IMAGE_CACHE" -maxdepth 1 -name "$name-????????????.tar" -not -name "$name-$key.tar" -delete
}

# "STAND_IN REFERENCE" for each image the chart runs by default beside the
# service and each image of KEDA's manifest, its reference as containerd
# names it (docker.io/library/redis:…), and argocd-server's.
upstream_images() {
  printf 'keda ghcr.io/kedacore/%s:%s\n' keda "${KEDA_VERSION#v}" keda-metrics-apiserver "${KEDA_VERSION#v}"
  printf 'argocd quay.io/argoproj/argocd:%s\n' "$ARGO_CD_VERSION"
  # shellcheck disable=SC2016 # JavaScript, with its own ${}
  node --input-type=module -e '
    import { readFileSync } from "node:fs";
    import { parse } from "yaml";
    const values = parse(readFileSync(process.argv[1], "utf8"));
    const full = (r) => (r.split("/").length === 1 ? `docker.io/library/${r}` : r.split("/")[0].includes(".") ? r : `docker.io/${r}`);
    for (const [standIn, key] of [["redis", "redis"], ["postgresql", "postgresql"], ["mailpit", "mailcatcher"], ["unleash", "unleash"]]) {
      const { repository, tag } = values[key].image;
      console.log(`${standIn} ${full(repository)}:${tag}`);
    }' "$MAIL_WORKER_ROOT/charts/mail-worker/values.yaml"
}

import_cluster_images() {
  local name started
  build_cluster_images
  log "importing ${#CLUSTER_IMAGES[@]} images into the real node's containerd"
  started=$SECONDS
  for name in "${CLUSTER_IMAGES[@]}"; do
    ctr_k8s images import "$IMAGE_CACHE/$name-$(image_key "$name").tar" >/dev/null ||
      die "importing $(real_node_image "$name") into containerd failed"
  done
  log "imported in $((SECONDS - started)) s"
  # The stand-ins also answer to the chart's default images and KEDA's, so a
  # learner's own commands (scripts/deploy.sh --env dev) and KEDA's manifest
  # run here unchanged, as on kind after docker pulls.
  local stand_in upstream
  while read -r stand_in upstream; do
    ctr_k8s images tag --force "docker.io/$(real_node_image "$stand_in")" "$upstream" >/dev/null ||
      die "tagging $(real_node_image "$stand_in") as $upstream failed"
  done < <(upstream_images)
  # What the tests select with values (test/helpers/real-node.ts).
  local separator=''
  {
    printf '{'
    for name in "${CLUSTER_IMAGES[@]}"; do
      printf '%s\n  "%s": "%s"' "$separator" "$name" "$(real_node_image "$name")"
      separator=,
    done
    printf '\n}\n'
  } >"$dir/images.json"
}
