#!/usr/bin/env bash
# The static checks CI makes before the tests: the import layering (import-linter), ruff's lint
# and format, and mypy on the package. Run scripts/setup.sh --test first (it installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
echo "== lint-imports"; lint-imports --no-cache
echo "== ruff check"; ruff check nasbench tests benchmarks scripts
echo "== ruff format --check"; ruff format --check nasbench
echo "== mypy"; mypy
