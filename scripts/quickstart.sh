#!/usr/bin/env bash
# Set up nasbench, run the quickstart search on Fashion-MNIST (~5 minutes on 2 CPU cores),
# and write its leaderboard report under reports/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/nasbench search studies/quickstart.yaml
.venv/bin/nasbench report quickstart --format md,html
