#!/usr/bin/env bash
# The stack bench/e2e_orders.py measures, as docs/performance.md ("Order pipeline") describes:
# ./scripts/run with DEBUG off, PostgreSQL + Redis, throttles out of the way, on a fresh
# database (dropped and created again: the figures are for an empty venue). Beside it, on
# BASELINE_PORT (PORT + 2), gunicorn WSGI with gthread workers serves the same project with the
# same processes x threads: issue 4's trivial-endpoint baseline (--baseline-url), idle otherwise.
#   bench/stack.sh            # serves on PORT (default 8100) in the foreground; Ctrl-C stops it
set -euo pipefail
cd "$(dirname "$0")/.."
DB=${BENCH_DB:-exchange_bench}
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB
export REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/2}
export DEBUG=0 SECRET_KEY="bench-only-$(openssl rand -hex 16)" SECURE_SSL_REDIRECT=0
export DEPOSITS_AUTO_CONFIRM=1 ALLOWED_HOSTS=127.0.0.1,localhost
export THROTTLE_ORDERS=10000000/min THROTTLE_USER=10000000/min THROTTLE_SIGNUP=100000/min
export THROTTLE_ANON=1000000/min PORT=${PORT:-8100}
BASELINE_PORT=${BASELINE_PORT:-$((PORT + 2))}
dropdb -h 127.0.0.1 -U postgres --if-exists --force "$DB"
createdb -h 127.0.0.1 -U postgres "$DB"
.venv/bin/python -c "import redis, os; redis.Redis.from_url(os.environ['REDIS_URL']).flushdb()"
.venv/bin/python manage.py migrate -v0
.venv/bin/python manage.py seed_demo --force

mkdir -p var
mapfile -t baseline < <(.venv/bin/python -c "
import sys
from exchange_site.web_server import web_server
print('\n'.join(web_server(sys.argv[1], host='127.0.0.1', port=int(sys.argv[2]),
                           workers=int(sys.argv[3]), server='gunicorn')))
" .venv/bin/python "$BASELINE_PORT" "${WEB_WORKERS:-2}")
setsid "${baseline[@]}" >var/baseline.log 2>&1 &
baseline_pid=$!
trap 'kill -TERM -- -$baseline_pid 2>/dev/null || true' EXIT
./scripts/run
