#!/usr/bin/env bash
# Set up nasbench with its test dependencies, start a local PostgreSQL for the tests that need
# one, and run the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
if [ -z "${NASBENCH_TEST_POSTGRES_URL:-}" ] && [ -f scripts/start_postgres.sh ]; then
  NASBENCH_TEST_POSTGRES_URL=$(bash scripts/start_postgres.sh | tail -n 1)
  export NASBENCH_TEST_POSTGRES_URL
fi
exec .venv/bin/python -m pytest "$@"
