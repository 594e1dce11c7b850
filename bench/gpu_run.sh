#!/usr/bin/env bash
# The book's GPU runs on a machine with JAX and CUDA but no TensorFlow and no package index:
# install the wheels carried in .whl/ (made beforehand with `python3 bench/gpu_run.py wheels`
# where pip reaches PyPI), then run bench/gpu_run.py with the JAX backend.
#
#   bench/gpu_run.sh train medium                  # full schedule, seed 0, float32
#   bench/gpu_run.sh train large --budget-s 540    # exit code 3: stopped, go on with --resume
#   bench/gpu_run.sh notebooks                     # chapters 6 and 7 under nbval
#
# When $OUT is set, the results are also copied there as they are written.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
SITE=${PTB_GPU_SITE:-/tmp/ptb-site}
if ! compgen -G ".whl/*.whl" >/dev/null; then
  echo "error: no wheels in .whl/: run 'python3 bench/gpu_run.py wheels' where pip reaches PyPI" >&2
  exit 2
fi
"$PYTHON" -m pip install --quiet --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target "$SITE" .whl/*.whl
export PYTHONPATH="$PWD:$SITE${PYTHONPATH:+:$PYTHONPATH}"
export KERAS_BACKEND=jax PTB_OFFLINE=1 MPLBACKEND=agg PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=3
exec "$PYTHON" bench/gpu_run.py ${OUT:+--copy-to "$OUT"} "$@"
