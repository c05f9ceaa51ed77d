#!/bin/sh
# run.sh — one-row in-process predict latency: mlxc's JIT-compiled predict
# kernel (bench/predict/latency.c) against PyTorch CPU (torch_latency.py, one
# thread, inference mode) on the same MLP shapes: the credit example's MLP
# (6-32-32-1) and the training benchmark's (64-128-64-1). Each call is timed
# alone; the table shows p50/p99 and the mean, and PyTorch/mlxc ratios. Run by
# `make bench` (or BUILD=build sh bench/predict/run.sh). Reported, never asserted.
#   BENCH_PREDICT_CALLS   calls timed per model (default 200000)
set -eu
BUILD=${BUILD:-build}
MLXC=${MLXC:-$BUILD/mlxc}
CALLS=${BENCH_PREDICT_CALLS:-200000}
DIR=$BUILD/bench/predict
HERE=$(dirname "$0")
PY=/usr/bin/python3
mkdir -p "$DIR"
make --no-print-directory -s BUILD="$BUILD" "$BUILD/mlxc" "$BUILD/bench/predict/latency" >/dev/null

# the models: trained here, a few seconds each
"$MLXC" run examples/credit.mlx scorer_mlp --out "$DIR/out" > "$DIR/credit.log"
cc -O2 -o "$DIR/gen" "$HERE/../train/gen.c" -lm
"$DIR/gen" "$DIR/train.csv" 20000 1
sed -e "s/^  epochs .*/  epochs 1/" "$HERE/../train/train.mlx" > "$DIR/train.mlx"
"$MLXC" run "$DIR/train.mlx" mlp_adam --out "$DIR/out" > "$DIR/mlp.log"

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BUILD/bench/predict/latency" "$DIR/out/scorer_mlp.mlxm" examples/data/credit.csv "$CALLS" \
  > "$DIR/mlxc_credit.json"
"$BUILD/bench/predict/latency" "$DIR/out/mlp_adam.mlxm" "$DIR/train.csv" "$CALLS" \
  > "$DIR/mlxc_mlp.json"
LP=${LD_LIBRARY_PATH:-}
env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
  "$PY" "$HERE/torch_latency.py" "$CALLS" 6 32 32 1 > "$DIR/torch_credit.json"
env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
  "$PY" "$HERE/torch_latency.py" "$CALLS" 64 128 64 1 > "$DIR/torch_mlp.json"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" - "$DIR" <<'PYEOF'
import json, sys
d = sys.argv[1]
print("one-row predict, ns per call (each call timed alone)")
print("%-22s %9s %9s %9s   %9s %9s %9s   %s" % ("model", "mlxc p50", "p99", "mean",
      "torch p50", "p99", "mean", "torch/mlxc (p50, mean)"))
for name, tag in (("credit 6-32-32-1", "credit"), ("bench 64-128-64-1", "mlp")):
    m = json.load(open("%s/mlxc_%s.json" % (d, tag)))
    t = json.load(open("%s/torch_%s.json" % (d, tag)))
    print("%-22s %9d %9d %9.0f   %9d %9d %9.0f   %.0fx, %.0fx" % (
        name, m["p50_ns"], m["p99_ns"], m["mean_ns"], t["p50_ns"], t["p99_ns"],
        t["mean_ns"], t["p50_ns"] / m["p50_ns"], t["mean_ns"] / m["mean_ns"]))
print("(clock_gettime itself: %d ns a call, included in mlxc's per-call figures)" % m["clock_ns"])
PYEOF
