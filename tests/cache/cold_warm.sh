# cold_warm.sh — the kernel cache: a first run compiles and stores the
# kernels, a second loads them (no optimization, no code generation) and
# gives byte-identical predictions and metrics; --no-cache and MLXC_CACHE=off
# bypass it; an unusable cache directory is a silent fallback.
. tests/e2e/lib.inc
SPEC=tests/train/determinism.mlx
CSV=examples/data/credit.csv
export MLXC_CACHE_DIR="$T/kc"
unset MLXC_CACHE
entries() { find "$MLXC_CACHE_DIR" -name '*.o' 2>/dev/null | wc -l; }

# run: a miss that stores one entry, then a hit with the same results
expect_exit 0 $MLXC run $SPEC --out "$T/o1" --verbose
grep -q "kernel cache: miss [0-9a-f]\{32\}" "$T/out" || { cat "$T/out"; fail "no miss on a cold cache"; }
[ "$(entries)" -eq 1 ] || fail "expected 1 cache entry, found $(entries)"
key=$(sed -n 's/.*kernel cache: miss \([0-9a-f]*\).*/\1/p' "$T/out")
[ -f "$MLXC_CACHE_DIR/$key.o" ] || fail "no $key.o in the cache"
expect_exit 0 $MLXC run $SPEC --out "$T/o2" --verbose
grep -q "kernel cache: hit $key" "$T/out" || { cat "$T/out"; fail "no hit on a warm cache"; }
grep -q "kernel cache: miss" "$T/out" && fail "a miss on a warm cache"
strip() { jq -S 'del(.timing, .predict)' "$1"; }   # predict: latencies
strip "$T/o1/twice.metrics.json" > "$T/m1"
strip "$T/o2/twice.metrics.json" > "$T/m2"
cmp -s "$T/m1" "$T/m2" || { diff "$T/m1" "$T/m2"; fail "metrics differ cold vs warm"; }

# predict: cold, warm, --no-cache and MLXC_CACHE=off print the same bytes
expect_exit 0 $MLXC predict "$T/o1/twice.mlxm" $CSV --verbose
grep -q "kernel cache: miss" "$T/out" || fail "predict: no miss on its first run"
expect_exit 0 $MLXC predict "$T/o1/twice.mlxm" $CSV
cp "$T/out" "$T/cold"
[ "$(entries)" -eq 2 ] || fail "expected 2 cache entries, found $(entries)"
expect_exit 0 $MLXC predict "$T/o1/twice.mlxm" $CSV --verbose
grep -q "kernel cache: hit" "$T/out" || fail "predict: no hit"
expect_exit 0 $MLXC predict "$T/o1/twice.mlxm" $CSV
cmp -s "$T/cold" "$T/out" || fail "predictions differ cold vs warm"
expect_exit 0 $MLXC predict --no-cache "$T/o1/twice.mlxm" $CSV --verbose
grep -q "kernel cache: off" "$T/out" || fail "--no-cache did not turn the cache off"
expect_exit 0 $MLXC predict --no-cache "$T/o1/twice.mlxm" $CSV
cmp -s "$T/cold" "$T/out" || fail "predictions differ with --no-cache"
rm -rf "$MLXC_CACHE_DIR"
expect_exit 0 env MLXC_CACHE=off $MLXC predict "$T/o1/twice.mlxm" $CSV --verbose
grep -q "kernel cache: off" "$T/out" || fail "MLXC_CACHE=off did not turn the cache off"
[ -e "$MLXC_CACHE_DIR" ] && fail "MLXC_CACHE=off still wrote the cache"

# an unusable directory: the run works; --verbose says why nothing was stored
echo file > "$T/file"
expect_exit 0 env MLXC_CACHE_DIR="$T/file/kc" $MLXC predict "$T/o1/twice.mlxm" $CSV --verbose
grep -q "kernel cache: cannot store" "$T/out" || { cat "$T/out"; fail "no note for an unusable cache"; }
expect_exit 0 env MLXC_CACHE_DIR="$T/file/kc" $MLXC predict "$T/o1/twice.mlxm" $CSV
cmp -s "$T/cold" "$T/out" || { head -3 "$T/out"; fail "predictions differ (unusable cache), or it said something"; }

# where the cache lives without MLXC_CACHE_DIR: $XDG_CACHE_HOME/mlxc, else ~/.cache/mlxc
expect_exit 0 env -u MLXC_CACHE_DIR XDG_CACHE_HOME="$T/xdg" HOME="$T/home" \
  $MLXC predict "$T/o1/twice.mlxm" $CSV
[ -n "$(find "$T/xdg/mlxc" -name '*.o' 2>/dev/null)" ] || fail "nothing in \$XDG_CACHE_HOME/mlxc"
expect_exit 0 env -u MLXC_CACHE_DIR -u XDG_CACHE_HOME HOME="$T/home" \
  $MLXC predict "$T/o1/twice.mlxm" $CSV
[ -n "$(find "$T/home/.cache/mlxc" -name '*.o' 2>/dev/null)" ] || fail "nothing in ~/.cache/mlxc"

# the key: the same spec elsewhere hits; a spec that differs only in a comment
# misses (the spec hash is part of the key); another model misses
sed 's#"../../examples#"'"$PWD"'/examples#' $SPEC > "$T/a.mlx"
expect_exit 0 $MLXC run "$T/a.mlx" --out "$T/o3" --verbose
grep -q "kernel cache: miss" "$T/out" || fail "a.mlx did not miss on an empty cache"
expect_exit 0 $MLXC run "$T/a.mlx" --out "$T/o3" --verbose
grep -q "kernel cache: hit" "$T/out" || fail "a.mlx did not hit"
{ echo "# one more comment"; cat "$T/a.mlx"; } > "$T/b.mlx"
expect_exit 0 $MLXC run "$T/b.mlx" --out "$T/o3" --verbose
grep -q "kernel cache: miss" "$T/out" || fail "a changed spec hash did not miss"
sed 's/dense 16 relu/dense 12 relu/' "$T/a.mlx" > "$T/c.mlx"
expect_exit 0 $MLXC run "$T/c.mlx" --out "$T/o3" --verbose
grep -q "kernel cache: miss" "$T/out" || fail "another model did not miss"
[ "$(entries)" -eq 3 ] || fail "expected 3 cache entries, found $(entries)"
exit 0
