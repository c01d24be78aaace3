#!/usr/bin/env bash
# A private Docker Engine for machines where none runs (this project's CI
# among them): Debian's docker.io started as root with its own socket, data
# root, exec root and pidfile under one folder, and no iptables rules and no
# bridge, so it never touches the host's networking: containers and builds
# use the host network (--network host). The image test uses it; so can you.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/docker-engine.sh up|down --dir DIR

  up     start dockerd (installing Debian's docker.io when missing) unless
         it already runs in DIR; prints DOCKER_HOST=unix://DIR/docker.sock
  down   stop it by its pidfile and delete DIR
Use it with:  export DOCKER_HOST=unix://DIR/docker.sock
Then scripts/image.sh --no-load builds the image there (making a local
stand-in for node:24-bookworm-slim when Docker Hub cannot be reached).
USAGE
}

command="${1:-}"
shift || true
dir=""
while (($# > 0)); do
  case "$1" in
    --dir) dir="${2:?--dir needs a folder}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
case "$command" in
  -h | --help) usage; exit 0 ;;
  up | down) [[ -n "$dir" ]] || { usage >&2; exit 2; } ;;
  *) usage >&2; exit 2 ;;
esac

# shellcheck source=lib/toolchain.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/toolchain.sh"
# shellcheck source=lib/docker.sh
source "$MAIL_WORKER_ROOT/scripts/lib/docker.sh"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
case "$command" in
  up) printf 'DOCKER_HOST=%s\n' "$(start_private_engine "$dir")" ;;
  down) stop_private_engine "$dir" ;;
esac
