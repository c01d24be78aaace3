#!/usr/bin/env bash
# The local stack in one command: web + worker in one process (`all` mode),
# an embedded mail catcher, SQLite under ./data, and Redis (a local
# redis-server is started when nothing answers at REDIS_URL).
set -euo pipefail

if [[ "${1:-}" == --help || "${1:-}" == -h ]]; then
  cat <<'USAGE'
usage: scripts/dev.sh

Starts the whole service locally at http://localhost:${PORT:-3000}:
  - Node 24 under .tools/ and the npm dependencies, when missing
  - Redis: uses REDIS_URL (default redis://localhost:6379/0) when it answers,
    else starts redis-server (installing Debian's package when allowed),
    with its data in ./data/redis
  - migrates the SQLite database (./data/mail-worker.sqlite), then runs
    `mail-worker all` with the embedded mail catcher (SMTP on port 1025,
    mails at /mail)
Any variable of the README's configuration table can be set in front, e.g.
  PORT=8080 WORKER_CONCURRENCY=50 scripts/dev.sh
Stop with Ctrl-C.
USAGE
  exit 0
fi

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$MAIL_WORKER_ROOT"

export REDIS_URL="${REDIS_URL:-redis://localhost:6379/0}"
export EMBEDDED_MAIL_CATCHER="${EMBEDDED_MAIL_CATCHER:-true}"
export SMTP_HOST="${SMTP_HOST:-localhost}" SMTP_PORT="${SMTP_PORT:-1025}"

redis_answers() {
  local host="$1" port="$2" reply=""
  { exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  read -r -t 2 reply <&3 || true
  exec 3<&- 3>&-
  [[ "$reply" == +PONG* || "$reply" == -NOAUTH* ]]
}

redis_hostport="${REDIS_URL#*://}"
redis_hostport="${redis_hostport#*@}"
redis_hostport="${redis_hostport%%/*}"
redis_host="${redis_hostport%%:*}"
redis_port="${redis_hostport##*:}"
[[ "$redis_port" == "$redis_host" ]] && redis_port=6379

if redis_answers "$redis_host" "$redis_port"; then
  log "Redis answers at $redis_host:$redis_port"
else
  [[ "$redis_host" == localhost || "$redis_host" == 127.0.0.1 ]] ||
    die "nothing answers at $REDIS_URL: start that Redis, or unset REDIS_URL to use a local one"
  ensure_packages redis-server:redis-server
  mkdir -p data/redis
  log "starting redis-server on port $redis_port (data in ./data/redis, append-only file on)"
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$PWD/data/redis" --appendonly yes --save '' \
    --daemonize yes --pidfile "$PWD/data/redis/redis.pid" --logfile "$PWD/data/redis/redis.log"
  trap 'kill "$(cat "$PWD/data/redis/redis.pid" 2>/dev/null)" 2>/dev/null || true' EXIT
  for _ in $(seq 50); do redis_answers 127.0.0.1 "$redis_port" && break; sleep 0.1; done
fi

ensure_node
ensure_dependencies

log "starting mail-worker (all mode) at http://localhost:${PORT:-3000} — mails at /mail, queues at /queues"
# Ctrl-C or a SIGTERM to the process group reaches node too. Bash runs a
# trap only once its foreground command has ended, so with one set for TERM
# (as it already waits for node on Ctrl-C) node drains its jobs with Redis
# still up, and only then does the EXIT trap stop Redis.
trap : TERM
node service/src/main.ts all
