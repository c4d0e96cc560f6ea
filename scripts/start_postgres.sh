#!/usr/bin/env bash
# Start a throw-away PostgreSQL server for the tests, idempotently, and print its URL last.
#   scripts/start_postgres.sh [PORT] [DIR]
# PORT (default $NASBENCH_PG_PORT or 55432) and DIR (default $NASBENCH_PG_DIR or /tmp/nasbench-pg)
# select the server: the data folder is DIR/data, the socket and log live in DIR. Re-running with
# the same PORT and DIR finds the server running and only prints the URL. The server listens on
# 127.0.0.1 only, with database, user and password "nasbench". Stop it with:
#   pg_ctl -D DIR/data stop     (as the user owning DIR: postgres when run as root)
set -euo pipefail

PORT=${1:-${NASBENCH_PG_PORT:-55432}}
DIR=${2:-${NASBENCH_PG_DIR:-/tmp/nasbench-pg}}
URL="postgresql+psycopg://nasbench:nasbench@127.0.0.1:${PORT}/nasbench"

. "$(dirname "$0")/postgres_common.sh"
BIN=$PG_BIN
if [ -z "$BIN" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "PostgreSQL server binaries not found: install the Debian package postgresql." >&2
    exit 1
  fi
  echo "== installing postgresql" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

mkdir -p "$DIR"
[ "$(id -u)" = 0 ] && chown postgres "$DIR"
if [ ! -f "$DIR/data/PG_VERSION" ]; then
  echo "== initdb $DIR/data" >&2
  as_db "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 >/dev/null
fi
if ! as_db "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
  echo "== starting PostgreSQL on 127.0.0.1:$PORT" >&2
  as_db "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w -t 60 \
    -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1" start >/dev/null
fi
for _ in $(seq 1 60); do
  as_db "$BIN/pg_isready" -q -h "$DIR" -p "$PORT" && break
  sleep 0.5
done

psql() { as_db "$BIN/psql" -h "$DIR" -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ "$(psql -c "select 1 from pg_roles where rolname = 'nasbench'")" != 1 ]; then
  psql -c "create role nasbench login password 'nasbench'" >/dev/null
fi
# The test suite makes a fresh database per run (tests/conftest.py): the role may create them.
psql -c "alter role nasbench createdb" >/dev/null
if [ "$(psql -c "select 1 from pg_database where datname = 'nasbench'")" != 1 ]; then
  psql -c "create database nasbench owner nasbench" >/dev/null
fi
echo "$URL"
