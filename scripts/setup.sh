#!/usr/bin/env bash
# Set up nasbench in ./.venv, idempotently: Debian packages, a virtualenv, torch, the package.
#   scripts/setup.sh [--test]     (--test also installs what the test suite needs)
# torch: an installed torch is kept; otherwise the CPU build is installed on a machine without
# a GPU (never the multi-GB CUDA build there), and the default build where a GPU is present.
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_TEST=0
[ "${1:-}" = "--test" ] && WITH_TEST=1
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
TORCH_VERSION=${NASBENCH_TORCH_VERSION:-2.13.0}
SYNE_TUNE_VERSION=0.16.0
# pip's note that syne-tune's unneeded dependencies (xgboost, statsmodels, ...) are missing
SYNE_UNMET="dependency resolver does not currently take|^syne-tune .* requires"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_packages=(dataset-fashion-mnist)
[ "$WITH_TEST" = 1 ] && apt_packages+=(chromium postgresql)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PY" -m venv .venv
fi
VPY=.venv/bin/python
$VPY -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true

if ! $VPY -c "import torch" >/dev/null 2>&1; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
    echo "== installing torch (GPU present)"
    $VPY -m pip install -q "torch==${TORCH_VERSION}"
  else
    echo "== installing torch ${TORCH_VERSION} (CPU build: no GPU here)"
    # A local CPU wheel (pip's find-links) first; else PyTorch's CPU index.
    if ! $VPY -m pip install -q --no-index --no-deps "torch==${TORCH_VERSION}+cpu" 2>/dev/null; then
      $VPY -m pip install -q --no-deps "torch==${TORCH_VERSION}+cpu" \
        --index-url "${NASBENCH_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}"
    fi
    # torch's own small dependencies from the package index (torch itself is now satisfied).
    $VPY -m pip install -q "torch==${TORCH_VERSION}+cpu" 2>&1 | grep -v "is ignored" || true
  fi
fi

extras="postgres,export,parquet"
[ "$WITH_TEST" = 1 ] && extras="test,dashboard,loggers,$extras"
echo "== installing nasbench[$extras]"
$VPY -m pip install -q -e ".[${extras}]" 2>&1 | grep -vE "is ignored|^$|$SYNE_UNMET" || true
if [ "$WITH_TEST" = 1 ]; then
  # The syne extra (the Syne Tune agreement test) without syne-tune's own dependencies: its xgboost
  # would pull NVIDIA's NCCL (~350 MB). Its simulator backend imports only dill and huggingface_hub.
  echo "== installing syne-tune ${SYNE_TUNE_VERSION} (no dependencies), dill, huggingface_hub"
  $VPY -m pip install -q --no-deps "syne-tune==${SYNE_TUNE_VERSION}" 2>&1 | grep -vE "is ignored|^$" || true
  $VPY -m pip install -q "dill>=0.3.6" "huggingface_hub>=0.20" 2>&1 | grep -vE "is ignored|^$|$SYNE_UNMET" || true
fi
$VPY -c "import torch, nasbench; print('torch', torch.__version__, '| nasbench', nasbench.__version__)"
