#!/usr/bin/env bash
# Issue 15, point 6, as one prepared command for a machine with a CUDA GPU.
#
# The torch side needs only numpy, scikit-learn, matplotlib, tqdm and torch (`ann` imports
# nothing of Brian2; mnist1d only when asked for), which a GPU image usually has, so this
# runs with that machine's own python3 and no install. It measures the CPU and CUDA
# side by side in one run (benchmarks/torch_devices.py, about a minute) and rewrites that
# benchmark's section of docs/benchmarks.md; the rest of the file is left as it was.
#
#   bash benchmarks/on_gpu.sh            # docs/benchmarks.md rewritten in place
#   OUT=/some/dir bash benchmarks/on_gpu.sh   # also copies it and the log to $OUT
#
# Exits non-zero when torch sees no CUDA device (nothing would be measured) or when the
# benchmark's accuracy check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
log=${OUT:+$OUT/on_gpu.log}
log=${log:-/dev/null}

set +e
{
  "$PY" - <<'EOF'
import sys
import torch
print(f"torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}")
if not torch.cuda.is_available():
    sys.exit("no CUDA device: nothing to measure here (benchmarks/torch_devices.py on a CPU "
             "machine writes the CPU columns alone)")
print("device:", torch.cuda.get_device_name(0))
EOF
  [ $? -eq 0 ] || exit 3
  "$PY" benchmarks/torch_devices.py
} 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
if [ -n "${OUT:-}" ]; then cp docs/benchmarks.md "$OUT/"; fi
exit "$status"
