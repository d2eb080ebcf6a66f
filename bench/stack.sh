#!/usr/bin/env bash
# The stack bench/e2e_orders.py measures, as docs/performance.md ("Order pipeline") describes:
# ./scripts/run with DEBUG off, PostgreSQL + Redis, throttles out of the way, on a fresh
# database (dropped and created again: the figures are for an empty venue).
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
dropdb -h 127.0.0.1 -U postgres --if-exists --force "$DB"
createdb -h 127.0.0.1 -U postgres "$DB"
.venv/bin/python -c "import redis, os; redis.Redis.from_url(os.environ['REDIS_URL']).flushdb()"
.venv/bin/python manage.py migrate -v0
.venv/bin/python manage.py seed_demo --force
exec ./scripts/run
