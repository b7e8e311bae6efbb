#!/usr/bin/env bash
# `make prod`: the production set-up on one machine, in the foreground, stopped by Ctrl-C.
#
# PostgreSQL: $DATABASE_URL, or a throw-away local cluster (PostgreSQL 15 from Debian).
# Redis: $REDIS_URL, or a local redis-server (append-only file, so queued tasks survive a
# restart). Then migrate, seed, and run the Procfile with honcho: gunicorn ($WEB_CONCURRENCY
# workers on $WEB_BIND), the Celery worker, the plan workers
# ($PLAN_WORKERS, default half the cores, at nice $PLAN_WORKER_NICE, which they set
# themselves) and one beat (which relays new outbox rows; it and the worker run at nice
# $NOTIFY_WORKER_NICE). Ctrl-C stops every process started here.
set -euo pipefail
cd "$(dirname "$0")/.."

export VENV_BIN=${VENV_BIN:-.venv/bin}
export PROD_STATE_DIR=${PROD_STATE_DIR:-instance/prod}
# The plans pool: the web processes read PLAN_WORKERS too (capacity 2 x PLAN_WORKERS).
half_cores=$(( $(nproc) / 2 ))
export PLAN_WORKERS=${PLAN_WORKERS:-$(( half_cores > 0 ? half_cores : 1 ))}
export PLAN_WORKER_NICE=${PLAN_WORKER_NICE:-10}
# The notification worker and the beat too: bookings are answered first, messages follow.
export NOTIFY_WORKER_NICE=${NOTIFY_WORKER_NICE:-10}
# A plan request holds a sync web worker while it waits: two more workers than the pool has
# places, so bookings always have workers (4 on 2 cores).
export WEB_CONCURRENCY=${WEB_CONCURRENCY:-$(( 2 * PLAN_WORKERS + 2 ))}
export WORKER_CONCURRENCY=${WORKER_CONCURRENCY:-2}
export WEB_BIND=${WEB_BIND:-127.0.0.1:8000}
export APP_ENV=production FLASK_APP=wsgi.py
PG_BIN=/usr/lib/postgresql/15/bin
mkdir -p "$PROD_STATE_DIR"
STATE=$(cd "$PROD_STATE_DIR" && pwd)

free_port() { "$VENV_BIN/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_data="" redis_pid=""
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$redis_pid" ]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
  if [ -n "$pg_data" ]; then
    as_postgres "$PG_BIN/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$(dirname "$pg_data")"
  fi
  echo "prod: stopped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The signing key: the given one, or one kept for this machine's trial runs (0600).
if [ -z "${SECRET_KEY:-}" ]; then
  if [ ! -s "$STATE/secret_key" ]; then
    (umask 077 && "$VENV_BIN/python" -c 'import secrets; print(secrets.token_urlsafe(48))' > "$STATE/secret_key")
  fi
  SECRET_KEY=$(cat "$STATE/secret_key")
  export SECRET_KEY
fi

seed_demo=""
if [ -z "${DATABASE_URL:-}" ]; then
  base=$(mktemp -d /tmp/tourplanner-prod-pg.XXXXXX)
  chmod 755 "$base"
  pg_data="$base/data"
  mkdir "$pg_data"
  [ "$(id -u)" -ne 0 ] || chown postgres "$base" "$pg_data"
  pg_port=$(free_port)
  as_postgres "$PG_BIN/initdb" -D "$pg_data" -A trust -U postgres -E UTF8 --no-locale >/dev/null
  as_postgres "$PG_BIN/pg_ctl" -D "$pg_data" -l "$base/server.log" -w start \
    -o "-p $pg_port -k $pg_data -c listen_addresses=127.0.0.1" >/dev/null
  as_postgres "$PG_BIN/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres tourplanner
  export DATABASE_URL="postgresql://postgres@127.0.0.1:$pg_port/tourplanner"
  seed_demo=1  # a throw-away database: load the demo workshops so there is something to book
  echo "prod: PostgreSQL (throw-away) on 127.0.0.1:$pg_port"
fi

if [ -z "${REDIS_URL:-}" ]; then
  redis_port=$(free_port)
  mkdir -p "$STATE/redis"
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$STATE/redis" --appendonly yes \
    --save "" >"$STATE/redis.log" 2>&1 &
  redis_pid=$!
  export REDIS_URL="redis://127.0.0.1:$redis_port/0"
  for _ in $(seq 50); do
    "$VENV_BIN/python" -c "import redis,sys; redis.Redis.from_url('$REDIS_URL').ping()" 2>/dev/null && break
    sleep 0.1
  done
  echo "prod: Redis on 127.0.0.1:$redis_port"
fi

# Metrics from every gunicorn worker are added up from this folder (prometheus_client).
export PROMETHEUS_MULTIPROC_DIR="$STATE/metrics"
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

"$VENV_BIN/flask" db upgrade
"$VENV_BIN/flask" seed
if [ -n "$seed_demo" ]; then "$VENV_BIN/flask" seed --demo --force; fi
"$VENV_BIN/python" -c "from tourplanner.routing.kernels import warm_up; warm_up()"

echo "prod: serving http://$WEB_BIND (Ctrl-C stops everything)"
# In the foreground: Ctrl-C reaches honcho and its processes; honcho stops them all (also when
# one of them dies), then the EXIT trap stops Redis and PostgreSQL.
rc=0
"$VENV_BIN/honcho" start -f Procfile || rc=$?
exit "$rc"
