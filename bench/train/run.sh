#!/bin/sh
# run.sh — training benchmark: mlxc against PyTorch CPU (1 and 2 threads) and
# scikit-learn on the same generated data, batch 256: logistic regression with
# SGD and a 64-128-64-1 MLP with Adam; mlxc's JIT compile time; the machine's
# triad bandwidth and FP32 FMA peak and the bounds they imply for one epoch.
# Run by `make bench` (or directly: BUILD=build sh bench/train/run.sh). Speed is
# reported, never asserted. Prints a table and writes $BUILD/bench/train.json.
#   BENCH_TRAIN_ROWS   rows generated (default 1000000; 98% are trained on)
#   BENCH_LR_EPOCHS    epochs of logistic regression, every tool (default 3)
#   BENCH_MLP_EPOCHS   epochs of the MLP, every tool (default 2)
set -eu
BUILD=${BUILD:-build}
MLXC=${MLXC:-$BUILD/mlxc}
ROWS=${BENCH_TRAIN_ROWS:-1000000}
LR_EP=${BENCH_LR_EPOCHS:-3}
MLP_EP=${BENCH_MLP_EPOCHS:-2}
DIR=$BUILD/bench
HERE=$(dirname "$0")
PY=/usr/bin/python3
mkdir -p "$DIR"

# 1. what it compares against (Debian packages), and mlxc itself
missing=""
for p in python3-torch python3-sklearn python3-numpy python3-pandas; do
  dpkg-query -W -f='${Status}' $p 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
# Debian's torch calls the system BLAS, by default the reference libblas3;
# Debian's OpenBLAS is unpacked into $DIR (the system's choice is left alone)
# and put first on LD_LIBRARY_PATH for PyTorch and scikit-learn only.
OB=$DIR/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread
if [ ! -f "$OB/libblas.so.3" ]; then
  rm -rf "$DIR/openblas" "$DIR/deb" && mkdir -p "$DIR/deb"
  if (cd "$DIR/deb" && apt-get download libopenblas0-pthread >/dev/null 2>&1); then
    dpkg -x "$DIR"/deb/libopenblas0-pthread_*.deb "$DIR/openblas"
  else
    echo "note: could not fetch libopenblas0-pthread; PyTorch runs on the system BLAS"
  fi
fi
make --no-print-directory -s BUILD="$BUILD" >/dev/null

# 2. the data: ROWS rows to train on (mlxc splits 98/1/1), 100000 holdout rows
cc -O2 -o "$DIR/train-gen" "$HERE/gen.c" -lm
cc -O3 -march=native -pthread -o "$DIR/train-machine" "$HERE/machine.c"
if [ "$(cat "$DIR/train.rows" 2>/dev/null)" != "$ROWS" ]; then
  echo "generating $DIR/train.csv ($ROWS rows) and $DIR/holdout.csv ..."
  "$DIR/train-gen" "$DIR/train.csv" "$ROWS" 1
  "$DIR/train-gen" "$DIR/holdout.csv" 100000 2
  echo "$ROWS" > "$DIR/train.rows"
fi
sed -e "/^train lr_sgd/,/^}/s/^  epochs .*/  epochs $LR_EP/" \
    -e "/^train mlp_adam/,/^}/s/^  epochs .*/  epochs $MLP_EP/" "$HERE/train.mlx" > "$DIR/train.mlx"
cat "$DIR/train.csv" "$DIR/holdout.csv" > /dev/null   # every reader starts from the page cache
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# 3. the machine
"$DIR/train-machine" 2 > "$DIR/machine.txt"
echo "machine: $(cat "$DIR/machine.txt")"

# 4. mlxc: per-epoch and compile times from --verbose, holdout accuracy by predict
echo "mlxc run ..."
"$MLXC" run "$DIR/train.mlx" --verbose --no-cache --out "$DIR/out" > "$DIR/mlxc.out" 2> "$DIR/mlxc.err" ||
  { cat "$DIR/mlxc.out" "$DIR/mlxc.err"; exit 1; }
grep 'epoch' "$DIR/mlxc.err" | sed 's/^/  /'
# the MLP once more with its step split between 2 threads (--threads 2)
echo "mlxc run mlp_adam --threads 2 ..."
"$MLXC" run "$DIR/train.mlx" mlp_adam --threads 2 --verbose --no-cache --out "$DIR/out_t2" \
  > "$DIR/mlxc_t2.out" 2> "$DIR/mlxc_t2.err" || { cat "$DIR/mlxc_t2.out" "$DIR/mlxc_t2.err"; exit 1; }
grep 'epoch' "$DIR/mlxc_t2.err" | sed 's/^/  /'
tail -n +2 "$DIR/holdout.csv" | awk -F, '{ print $NF }' > "$DIR/holdout.y"
for m in lr_sgd mlp_adam; do
  "$MLXC" predict "$DIR/out/$m.mlxm" "$DIR/holdout.csv" | tail -n +2 | cut -d, -f1 |
    paste -d' ' - "$DIR/holdout.y" |
    awk '{ n++; ok += ($1 + 0 == $2 + 0) } END { printf "%.5f\n", ok / n }' > "$DIR/acc_$m.txt"
done

# 5. PyTorch and scikit-learn, one process, data loaded once
echo "PyTorch and scikit-learn ..."
# OMP_WAIT_POLICY=PASSIVE: on 2 shared vCPUs, OpenMP's spinning workers made
# torch at 2 threads 10x slower than at 1; passive waiting is its best case.
LP=$OB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE LD_LIBRARY_PATH="$LP" OMP_WAIT_POLICY=PASSIVE \
  "$PY" "$HERE/torch_bench.py" "$DIR/train.csv" "$DIR/holdout.csv" "$LR_EP" "$MLP_EP" \
  > "$DIR/torch.json" 2> "$DIR/torch.err" || { cat "$DIR/torch.err"; exit 1; }
sed 's/^/  /' "$DIR/torch.err"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# 6. the table and train.json
"$PY" "$HERE/report.py" "$DIR" "$ROWS"
