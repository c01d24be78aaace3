# shellcheck shell=bash
# The container engine the image is built and run with, and the base image
# it needs. Sourced by scripts/image.sh, scripts/base-image.sh and the image
# test (through scripts/image.sh), so a person and the suite build alike.

# A Docker Engine of our own, for machines where none runs (CI, this
# project's sandboxes): Debian's dockerd as root, without touching the
# host's networking (no iptables rules, no bridge: containers use the host
# network), with its socket, data, state and pidfile under DIR. Prints the
# DOCKER_HOST to use.
start_private_engine() {
  local dir="$1" deadline
  mkdir -p "$dir"
  [[ "$(id -u)" == 0 ]] || die "a private Docker Engine runs as root; start Docker yourself and set DOCKER_HOST"
  ensure_packages dockerd:docker.io
  if [[ -f "$dir/docker.pid" ]] && kill -0 "$(cat "$dir/docker.pid")" 2>/dev/null; then
    printf 'unix://%s/docker.sock\n' "$dir"
    return 0
  fi
  # Its own containerd namespace too, so it never sees another engine's containers.
  nohup dockerd --iptables=false --ip6tables=false --bridge=none \
    --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/docker.pid" \
    --host "unix://$dir/docker.sock" --containerd-namespace mail-worker \
    --containerd-plugins-namespace mail-worker-plugins >"$dir/dockerd.log" 2>&1 </dev/null &
  deadline=$((SECONDS + 60))
  until DOCKER_HOST="unix://$dir/docker.sock" docker_cli info >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { tail -20 "$dir/dockerd.log" >&2; die "dockerd did not start (log: $dir/dockerd.log)"; }
    sleep 0.5
  done
  printf 'unix://%s/docker.sock\n' "$dir"
}

# stop_private_engine DIR [--keep-data]: stops it and deletes DIR, or with
# --keep-data keeps its images and build cache for the next start.
stop_private_engine() {
  local dir="$1" keep="${2:-}" pid
  [[ -d "$dir" ]] || return 0
  if [[ -f "$dir/docker.pid" ]]; then
    pid="$(cat "$dir/docker.pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  # dockerd's own containerd stops with it, but the network namespace it
  # bind-mounts under its exec root stays mounted: unmount everything below DIR.
  awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r mountpoint; do umount "$mountpoint" 2>/dev/null || umount -l "$mountpoint"; done
  [[ "$keep" == --keep-data ]] || rm -rf "$dir"
}

# The docker CLI of the engine's own release when Debian's is there (a newer
# CLI may speak an API the 20.10 engine lacks), else whatever is on PATH.
docker_cli() {
  if [[ -x /usr/bin/docker ]]; then /usr/bin/docker "$@"; else docker "$@"; fi
}

BASE_IMAGE="node:24-bookworm-slim"

# The Dockerfile's base: there already, pulled from Docker Hub, or, where no
# registry is reachable, the local stand-in that scripts/base-image.sh makes.
ensure_base_image() {
  docker_cli image inspect "$BASE_IMAGE" >/dev/null 2>&1 && return 0
  log "pulling $BASE_IMAGE"
  if timeout 120 docker_cli pull -q "$BASE_IMAGE" >/dev/null 2>&1; then return 0; fi
  log "$BASE_IMAGE cannot be pulled here: making the local stand-in (scripts/base-image.sh)"
  "$MAIL_WORKER_ROOT/scripts/base-image.sh"
}

# build_image TAG: mail-worker:TAG from the Dockerfile with BuildKit, on the
# host network (the build's npm and apt reach their registries as the host does).
build_image() {
  local tag="$1"
  ensure_base_image
  log "building mail-worker:$tag"
  DOCKER_BUILDKIT=1 docker_cli build --network host --build-arg "VERSION=$tag" -t "mail-worker:$tag" "$MAIL_WORKER_ROOT" >&2
}
