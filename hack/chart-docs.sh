#!/usr/bin/env bash
# Generates the chart's values.schema.json and its README's values table from
# values.yaml, the one place a value, its default, its description (`# --`)
# and its type and limits (`# @schema`) are written.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: hack/chart-docs.sh [--check]

Writes charts/mail-worker/values.schema.json (helm-values-schema-json, with
the shared Kubernetes types of charts/mail-worker/schemas/ bundled in) and
charts/mail-worker/README.md (helm-docs, from README.md.gotmpl), both
formatted by Prettier. Both tools are built from the Go module proxy at the
versions in scripts/lib/versions.sh.

  --check  change nothing; fail and show the difference when a generated
           file is not what values.yaml gives (the test suite runs this)
USAGE
}

check=false
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  --check) check=true ;;
  '') ;;
  *) usage >&2; exit 2 ;;
esac

# shellcheck source=lib/toolchain.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/toolchain.sh"
ensure_node
ensure_chart_tools

chart="$MAIL_WORKER_ROOT/charts/mail-worker"
generated=(values.schema.json README.md)

# generate DIR: writes the generated files of the chart copy in DIR.
generate() {
  (
    cd "$1"
    # Every object is closed unless its annotation opens it, so a typo in a
    # key fails `helm install` instead of being ignored.
    "$HELM_SCHEMA_BIN" --values values.yaml --output values.schema.json --draft 7 --indent 2 \
      --no-additional-properties --use-helm-docs --bundle --bundle-without-id \
      --schema-root.title 'mail-worker chart values' >/dev/null
    "$HELM_DOCS_BIN" --chart-search-root . --sort-values-order file --log-level warning
    "$MAIL_WORKER_ROOT/node_modules/.bin/prettier" --log-level warn --write "${generated[@]}"
  )
}

if ! $check; then
  generate "$chart"
  log "generated ${generated[*]} in charts/mail-worker from values.yaml"
  exit 0
fi

copy="$(mktemp -d)"
trap 'rm -rf "$copy"' EXIT
cp -R "$chart/." "$copy"
generate "$copy"
stale=()
for file in "${generated[@]}"; do
  if ! diff -u --label "charts/mail-worker/$file (checked in)" --label "generated from values.yaml" \
    "$chart/$file" "$copy/$file"; then
    stale+=("$file")
  fi
done
if ((${#stale[@]} > 0)); then
  die "out of date: ${stale[*]} (run hack/chart-docs.sh and commit the result)"
fi
log "values.schema.json and README.md are what values.yaml gives"
