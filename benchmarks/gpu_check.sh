#!/usr/bin/env bash
# The GPU check, as one command on the first CUDA machine at hand (under 5 minutes):
#   bash benchmarks/gpu_check.sh            # from the repository root or anywhere
# Prints the GPU, torch and CUDA versions, the chapter pipeline's and ours' examples/sec and test
# accuracy, and lenet_plus's figure. Exits non-zero when there is no CUDA or anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "gpu_check: no CUDA device is visible to torch ($PYTHON). Run this on a machine with an NVIDIA GPU" \
         "and a CUDA build of torch." >&2
    exit 2
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
timeout 290 "$PYTHON" benchmarks/gpu_check.py --device cuda "$@"
