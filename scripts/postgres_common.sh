# Sourced by start_postgres.sh and stop_postgres.sh: where the server binaries are (PG_BIN, empty
# when PostgreSQL is not installed) and as_db, which runs a command as the server's user.
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
# The server refuses to run as root: as root, run it as the postgres user.
if [ "$(id -u)" = 0 ]; then
  as_db() { (cd / && su postgres -s /bin/bash -c "$(printf '%q ' "$@")"); }  # from /: the caller's folder may be closed to postgres
else
  as_db() { "$@"; }
fi
