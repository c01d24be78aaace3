#!/usr/bin/env bash
# A private Docker Engine for machines where none runs (this project's CI
# among them): Debian's docker.io started as root with its own socket, data
# root, exec root and pidfile under one folder, and no iptables rules and no
# bridge, so it never touches the host's networking: containers and builds
# use the host network (--network host). The suite builds and runs its
# images with the shared one; so can you.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: hack/docker-engine.sh up|down --dir DIR | --shared

  up        start dockerd (installing Debian's docker.io when missing) unless
            it already runs in DIR; prints DOCKER_HOST=unix://DIR/docker.sock
  down      stop it by its pidfile and delete DIR
  --shared  the engine under ~/.cache/mail-worker/images/engine that builds
            the test cluster's images and that the image test uses: down
            keeps its images and build cache, so an unchanged Dockerfile
            and service build in seconds the next time
Use it with:  export DOCKER_HOST=unix://DIR/docker.sock
Then scripts/image.sh --no-load builds the image there (making a local
stand-in for node:24-bookworm-slim when Docker Hub cannot be reached).
USAGE
}

command="${1:-}"
shift || true
dir=""
shared=false
while (($# > 0)); do
  case "$1" in
    --dir) dir="${2:?--dir needs a folder}"; shift 2 ;;
    --shared) shared=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
case "$command" in
  -h | --help) usage; exit 0 ;;
  up | down) [[ -n "$dir" || "$shared" == true ]] || { usage >&2; exit 2; } ;;
  *) usage >&2; exit 2 ;;
esac

# shellcheck source=lib/toolchain.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/toolchain.sh"
# shellcheck source=../scripts/lib/docker.sh
source "$MAIL_WORKER_ROOT/scripts/lib/docker.sh"
# shellcheck source=lib/docker-engine.sh
source "$MAIL_WORKER_ROOT/hack/lib/docker-engine.sh"
[[ "$shared" == false ]] || dir="$SHARED_ENGINE"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
case "$command" in
  up) printf 'DOCKER_HOST=%s\n' "$(start_private_engine "$dir")" ;;
  down) stop_private_engine "$dir" "$([[ "$shared" == false ]] || echo --keep-data)" ;;
esac
