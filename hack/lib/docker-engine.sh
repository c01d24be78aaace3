# shellcheck shell=bash
# The harness's own Docker Engine (hack/docker-engine.sh, the real node's
# image builds): for machines where none runs, such as this project's CI.
# Needs scripts/lib/common.sh and scripts/lib/docker.sh sourced first.

# The engine kept in the cache, with its images and build cache: it builds
# the test cluster's images, and the image test builds and runs the service
# with it, so each Dockerfile layer is built once per change of its inputs.
# shellcheck disable=SC2034 # read by the scripts that source this file
SHARED_ENGINE="$MAIL_WORKER_CACHE/images/engine"

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
