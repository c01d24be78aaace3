#!/usr/bin/env bash
# Creates the feature flags bulk_send_feature and send_strategy (with its
# variants) in an Unleash server, through its Admin API. Idempotent: flags
# that exist are left exactly as they are.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/unleash-flags.sh [--url URL] [--token ADMIN_TOKEN] [--environment ENV]

Creates bulk_send_feature (on) and send_strategy (variants default and
priority, 100% default) in the Unleash at URL, switched on in ENV.
  --url          the Unleash API base        (default: $UNLEASH_URL or http://localhost:4242/api)
  --token        an admin API token          (default: $UNLEASH_ADMIN_TOKEN)
  --environment  the Unleash environment     (default: $UNLEASH_ENVIRONMENT or development)
With the chart's Unleash, port-forward it first:
  kubectl -n mail port-forward svc/demo-mail-worker-unleash 4242:4242
  scripts/unleash-flags.sh --token "$(kubectl -n mail get secret demo-mail-worker-unleash \
    -o jsonpath='{.data.UNLEASH_ADMIN_TOKEN}' | base64 -d)"
(The chart runs the same step as a Job after each install and upgrade.)
USAGE
}

url="${UNLEASH_URL:-http://localhost:4242/api}"
token="${UNLEASH_ADMIN_TOKEN:-}"
environment="${UNLEASH_ENVIRONMENT:-development}"
while (($# > 0)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --url) url="${2:?--url needs a value}"; shift 2 ;;
    --token) token="${2:?--token needs a value}"; shift 2 ;;
    --environment) environment="${2:?--environment needs a value}"; shift 2 ;;
    *) usage >&2; exit 2 ;;
  esac
done

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$MAIL_WORKER_ROOT"
[[ -n "$token" ]] || die "an admin token is needed: --token or UNLEASH_ADMIN_TOKEN (Unleash UI: Admin > API access)"
ensure_node
ensure_dependencies

log "creating the flags in $url ($environment)"
UNLEASH_URL="$url" UNLEASH_ADMIN_TOKEN="$token" UNLEASH_ENVIRONMENT="$environment" node service/src/main.ts setup-flags
