# shellcheck shell=bash
# The container engine the image is built and run with, and the base image
# it needs. Sourced by scripts/image.sh, hack/base-image.sh and the
# harness's image builds, so a person and the suite build alike.

# The docker CLI of the engine's own release when Debian's is there (a newer
# CLI may speak an API the 20.10 engine lacks), else whatever is on PATH.
docker_cli() {
  if [[ -x /usr/bin/docker ]]; then /usr/bin/docker "$@"; else docker "$@"; fi
}

BASE_IMAGE="node:24-bookworm-slim"

# The Dockerfile's base: there already, pulled from Docker Hub, or, where no
# registry is reachable, the local stand-in that hack/base-image.sh makes.
ensure_base_image() {
  docker_cli image inspect "$BASE_IMAGE" >/dev/null 2>&1 && return 0
  log "pulling $BASE_IMAGE"
  if timeout 120 docker_cli pull -q "$BASE_IMAGE" >/dev/null 2>&1; then return 0; fi
  log "$BASE_IMAGE cannot be pulled here: making the local stand-in (hack/base-image.sh)"
  "$MAIL_WORKER_ROOT/hack/base-image.sh"
}

# build_image TAG: mail-worker:TAG from the Dockerfile with BuildKit, on the
# host network (the build's npm and apt reach their registries as the host does).
build_image() {
  local tag="$1"
  ensure_base_image
  log "building mail-worker:$tag"
  DOCKER_BUILDKIT=1 docker_cli build --network host --build-arg "VERSION=$tag" -t "mail-worker:$tag" "$MAIL_WORKER_ROOT" >&2
}
