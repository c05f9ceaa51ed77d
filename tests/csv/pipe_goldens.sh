#!/bin/sh
# pipe_goldens.sh — the golden tests of tests/csv and tests/data again, with
# MLXC_CSV_PIPE_MIN=0: every data file goes through the pipelined reader (a
# thread splits records ahead of the caller), which only large files use by
# default. Output and exit status must match the goldens byte for byte, the
# diagnostics included (tests/csv_pipe.c compares the two readers on large
# generated files).
MLXC=${MLXC:-build/mlxc}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
MLXC_CACHE_DIR=$T/kcache MLXC_CSV_PIPE_MIN=0
export MLXC_CACHE_DIR MLXC_CSV_PIPE_MIN
rc=0
n=0
for f in tests/csv/*.mlx tests/data/*.mlx; do
  golden=${f%.mlx}.out
  [ -f "$golden" ] || continue
  args=$(sed -n '1s/^# args: //p' "$f")
  [ -n "$args" ] || args=check
  # shellcheck disable=SC2086
  $MLXC $args "$f" > "$T/out" 2>&1
  echo "exit $?" >> "$T/out"
  n=$((n + 1))
  cmp -s "$T/out" "$golden" || { echo "differs: $f"; diff -u "$golden" "$T/out" | head -40; rc=1; }
done
echo "pipe_goldens: $n goldens"
[ "$n" -gt 20 ] || { echo "too few goldens found"; rc=1; }
exit $rc
