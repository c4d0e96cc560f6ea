#!/usr/bin/env bash
# Stop the PostgreSQL server scripts/start_postgres.sh started in DIR (default $NASBENCH_PG_DIR or
# /tmp/nasbench-pg); nothing to do when none runs there. Its data folder is kept.
#   scripts/stop_postgres.sh [DIR]
set -euo pipefail

DIR=${1:-${NASBENCH_PG_DIR:-/tmp/nasbench-pg}}
. "$(dirname "$0")/postgres_common.sh"
BIN=$PG_BIN
[ -n "$BIN" ] && [ -f "$DIR/data/PG_VERSION" ] || exit 0
if as_db "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
  as_db "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null
fi
