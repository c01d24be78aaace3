# shellcheck shell=bash
# Builds Go programs from the Go module proxy at pinned versions into a cache
# outside the clone, so every clone on a machine shares them and a warm
# machine does not even relink. Sourced by toolchain.sh (beside it).
#
# Many Kubernetes-era modules cannot be `go install`ed: their go.mod replaces
# sibling modules with local folders (Kubernetes' staging repos, etcd's api
# and client) or pins a whole k8s.io family. A small wrapper module requires
# the module and copies those replace lines, turning local folders into the
# published sibling at the matching version; `go build` then builds every
# requested command in one invocation, sharing compiled packages.

# go_module_dir MODULE@VERSION: the module's folder in the module cache
# (downloaded first when needed).
go_module_dir() {
  local dir
  dir="$(cd "$MAIL_WORKER_CACHE" && GOFLAGS=-mod=mod go mod download -json "$1" |
    sed -nE 's/^\t"Dir": "(.*)",?$/\1/p')"
  [[ -n "$dir" && -d "$dir" ]] || die "go mod download $1 gave no folder"
  printf '%s\n' "$dir"
}

# The file name `go build` gives a command: its last path element, or the one
# before a major-version suffix (go.etcd.io/etcd/server/v3 builds `server`).
go_exec_name() {
  local name="${1##*/}"
  if [[ "$name" =~ ^v[0-9]+$ ]]; then name="${1%/*}"; name="${name##*/}"; fi
  printf '%s\n' "$name"
}

# go_wrapper_build NAME MODULE VERSION SIBLING_VERSION LDFLAGS PACKAGE...
# Builds each PACKAGE (import paths inside MODULE or its dependencies) into
# $MAIL_WORKER_CACHE/bin/NAME-VERSION/, unless all are there already.
# SIBLING_VERSION is the version local-folder replacements point at (for
# Kubernetes v1.x.y the staging modules are v0.x.y). GO_BUILD_TAGS, when
# set, are the build's tags.
go_wrapper_build() {
  local name="$1" module="$2" version="$3" sibling="$4" ldflags="$5"
  shift 5
  local out="$MAIL_WORKER_CACHE/bin/$name-$version" pkg missing=0
  for pkg in "$@"; do [[ -x "$out/$(go_exec_name "$pkg")" ]] || missing=1; done
  ((missing)) || return 0

  need go "install Go (https://go.dev/dl/) so the project can build $name $version"
  mkdir -p "$MAIL_WORKER_CACHE"
  local src="$MAIL_WORKER_CACHE/src/$name-$version" dir
  dir="$(go_module_dir "$module@$version")"
  mkdir -p "$src"
  {
    printf 'module mail-worker.local/build/%s\n\ngo %s\n\nrequire %s %s\n\n' \
      "$name" "$(sed -nE 's/^go ([0-9.]+).*/\1/p' "$dir/go.mod")" "$module" "$version"
    # Copy every replace line: `A => ../x` becomes `A => A SIBLING`,
    # `A => B vX` stays; placeholders such as ./FORBIDDEN_DEPENDENCY are dropped.
    awk -v sibling="$sibling" '
      /^replace \($/ { block = 1; next }
      block && /^\)$/ { block = 0; next }
      /^replace / { sub(/^replace /, ""); line() ; next }
      block { line() }
      function line() {
        if ($0 ~ /FORBIDDEN/ || $0 !~ /=>/) return
        if ($3 ~ /^\.\.?\//) print "replace " $1 " => " $1 " " sibling
        else { sub(/^[ \t]+/, ""); print "replace " $0 }
      }' "$dir/go.mod"
  } >"$src/go.mod"

  log "building $name $version: $* (Go $(go env GOVERSION); a cold build takes minutes, printed as packages compile)"
  mkdir -p "$out"
  (
    cd "$src"
    # -mod=mod fills go.sum from the proxy; -v names each package as it
    # compiles, which is the progress a person watches on a cold machine.
    GOFLAGS=-mod=mod go build -v -trimpath ${GO_BUILD_TAGS:+-tags "$GO_BUILD_TAGS"} -ldflags "-s -w $ldflags" -o "$out/" "$@" 2>&1 |
      awk -v name="$name" '
        /^go: downloading/ { if (++d % 50 == 0) { printf "  %s: %d modules downloaded\n", name, d; fflush() }; next }
        /[ :]/ { print; fflush(); next } # not an import path: a compiler message
        { if (++n % 100 == 0) { printf "  %s: %d packages compiled (now %s)\n", name, n, $0; fflush() } }
        END { printf "  %s: %d packages compiled\n", name, n }' >&2
    exit "${PIPESTATUS[0]}"
  ) || die "building $name $version failed: run 'cd $src && GOFLAGS=-mod=mod go build $*' to see why"
}
