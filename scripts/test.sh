#!/usr/bin/env bash
# Set up nasbench with its test dependencies, start a local PostgreSQL for the tests that need
# one (stopped again at the end), and run the test suite. Extra arguments go to pytest; the exit
# status is pytest's.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
if [ -z "${NASBENCH_TEST_POSTGRES_URL:-}" ] && [ -f scripts/start_postgres.sh ]; then
  # A server this script starts is stopped when the tests end, however they end; one that was
  # already listening on the port (started by hand, or by another run) is left running.
  port=${NASBENCH_PG_PORT:-55432}
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    trap 'bash scripts/stop_postgres.sh' EXIT
  fi
  NASBENCH_TEST_POSTGRES_URL=$(bash scripts/start_postgres.sh | tail -n 1)
  export NASBENCH_TEST_POSTGRES_URL
fi
.venv/bin/python -m pytest "$@"
