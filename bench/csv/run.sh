#!/bin/sh
# run.sh — CSV ingest: mlxc's reader against pandas.read_csv on one numeric
# file, with peak RSS against the float32 matrix, and the peak RSS of
# `mlxc run` on it. Run by `make bench` (or directly: BUILD=build sh
# bench/csv/run.sh). Speed is reported, never asserted.
#   BENCH_CSV_MB   size of the generated file in MB (default 250)
#   BENCH_DIR      where it is written (default $BUILD/bench-data; not committed)
set -eu
BUILD=${BUILD:-build}
MB=${BENCH_CSV_MB:-250}
DIR=${BENCH_DIR:-$BUILD/bench-data}
PY=/usr/bin/python3
TIME=/usr/bin/time
mkdir -p "$DIR"
make --no-print-directory -s "$BUILD/bench/csv/ingest"
ING=$BUILD/bench/csv/ingest
CSV=$DIR/numeric_${MB}mb.csv
[ -f "$CSV" ] || { echo "generating $CSV ..."; "$ING" gen "$CSV" "$MB"; }
"$PY" -c 'import pandas' 2>/dev/null || { echo "pandas missing: make bench installs python3-pandas"; exit 1; }
[ -x "$TIME" ] || { echo "/usr/bin/time missing: make bench installs time"; exit 1; }
cat "$CSV" > /dev/null   # every reader starts from the page cache

rss() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1"; }
best() {   # best of 3: the line with the highest MB/s, and its run's peak RSS
  mode=$1
  top=""; topr=0; topk=0
  for i in 1 2 3; do
    "$TIME" -v "$ING" "$mode" "$CSV" > "$DIR/out" 2> "$DIR/time"
    r=$(sed -n 's/.*MB\/s=\([0-9.]*\).*/\1/p' "$DIR/out")
    if awk -v a="$r" -v b="$topr" 'BEGIN { exit !(a > b) }'; then
      top=$(cat "$DIR/out"); topr=$r; topk=$(rss "$DIR/time")
    fi
  done
  echo "$top rss_MB=$(awk -v k="$topk" 'BEGIN { printf "%.1f", k / 1024 }')"
}
# what the process holds before any data (libLLVM and the runtime): peak RSS
# of a reading of a header and one row
printf 'a,y\n1,2\n' > "$DIR/tiny.csv"
"$TIME" -v "$ING" reader "$DIR/tiny.csv" > /dev/null 2> "$DIR/time"
BASE=$(awk -v k="$(rss "$DIR/time")" 'BEGIN { printf "%.1f", k / 1024 }')
"$TIME" -v "$PY" -c 'import numpy, pandas' 2> "$DIR/time"
PBASE=$(awk -v k="$(rss "$DIR/time")" 'BEGIN { printf "%.1f", k / 1024 }')
R=$(best reader)
L=$(best load)
# `mlxc run` on the file (feature * = standardize(*), split 80/10/10, one
# epoch of a linear model): peak RSS of the whole command, load (statistics
# fitted, inputs by the compiled transforms) and training, against the same
# command on a three-row file
MLXC=${MLXC:-$BUILD/mlxc}
RUNR=""
if [ -x "$MLXC" ]; then
  for f in "$CSV" "$DIR/tiny3.csv"; do
    case $f in *tiny3.csv) printf 'f1,y\n1,2\n3,4\n5,6\n' > "$f"; spec=$DIR/tiny3.mlx ;; *) spec=$DIR/run.mlx ;; esac
    cat > "$spec" <<SPEC
dataset nums {
  source csv("$(basename "$f")")
  feature * = standardize(*)
  label y
  split train 80%, val 10%, test 10% seed 5
}
model lin() {
  dense 1 identity
  loss mse
}
train t {
  model lin
  data nums
  optimizer sgd(lr = 1e-3)
  epochs 1
  batch 256
}
SPEC
    "$TIME" -v "$MLXC" run "$spec" --out "$DIR/run_out" --no-cache > /dev/null 2> "$DIR/time"
    RUNR="$RUNR $(awk -v k="$(rss "$DIR/time")" 'BEGIN { printf "%.1f", k / 1024 }')"
  done
fi
cat > "$DIR/pd.py" <<'PYEOF'
import sys, time, os
import numpy as np, pandas as pd
path = sys.argv[1]
t0 = time.perf_counter()
df = pd.read_csv(path, dtype=np.float32, engine="c")
s = time.perf_counter() - t0
n, k = df.shape
print("pandas bytes=%d rows=%d cols=%d seconds=%.3f MB/s=%.1f matrix_MB=%.1f" %
      (os.path.getsize(path), n, k, s, os.path.getsize(path) / 1e6 / s, n * k * 4 / 1e6))
PYEOF
P=""; pr=0; pk=0
for i in 1 2 3; do
  "$TIME" -v "$PY" "$DIR/pd.py" "$CSV" > "$DIR/out" 2> "$DIR/time"
  r=$(sed -n 's/.*MB\/s=\([0-9.]*\).*/\1/p' "$DIR/out")
  if awk -v a="$r" -v b="$pr" 'BEGIN { exit !(a > b) }'; then
    P=$(cat "$DIR/out"); pr=$r; pk=$(rss "$DIR/time")
  fi
done
P="$P rss_MB=$(awk -v k="$pk" 'BEGIN { printf "%.1f", k / 1024 }')"
PV=$("$PY" -c 'import pandas; print(pandas.__version__)')
echo "CSV ingest, $(nproc) CPUs, $(basename "$CSV") (best of 3 each)"
echo "  $R"
echo "  $L"
echo "  $P   (pandas $PV, read_csv dtype=float32, engine=c)"
get() { echo "$1" | sed -n "s|.* $2=\([0-9.]*\).*|\1|p"; }
awk -v m="$(get "$R" 'MB/s')" -v l="$(get "$L" 'MB/s')" -v p="$(get "$P" 'MB/s')" \
    -v rr="$(get "$R" rss_MB)" -v lr="$(get "$L" rss_MB)" -v pr="$(get "$P" rss_MB)" \
    -v mx="$(get "$R" matrix_MB)" -v b="$BASE" -v pb="$PBASE" 'BEGIN {
  printf "  ingest MB/s, reader / pandas: %.2fx   load / pandas: %.2fx\n", m / p, l / p
  printf "  peak RSS / float32 matrix (%.1f MB): reader %.2fx, load %.2fx, pandas %.2fx\n", mx, rr / mx, lr / mx, pr / mx
  printf "  the same less the empty process (mlxc %.1f MB, python+pandas %.1f MB): reader %.2fx, load %.2fx, pandas %.2fx\n", b, pb, (rr - b) / mx, (lr - b) / mx, (pr - pb) / mx
}'
if [ -n "$RUNR" ]; then echo "$RUNR" | awk -v mx="$(get "$R" matrix_MB)" '{
  printf "  mlxc run (standardize, split 80/10/10, one epoch): peak RSS %.1f MB, %.2fx the matrix; less the same run on a 3-row file (%.1f MB): %.2fx\n", $1, $1 / mx, $2, ($1 - $2) / mx
}'; fi
