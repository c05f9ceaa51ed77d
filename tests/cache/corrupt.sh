# corrupt.sh — a damaged, truncated or foreign kernel cache entry is detected
# (a --verbose note saying why), compiled anew with the same predictions, and
# overwritten so the next run hits again. Never a crash, never other output.
. tests/e2e/lib.inc
CSV=examples/data/credit.csv
export MLXC_CACHE_DIR="$T/kc"
unset MLXC_CACHE
expect_exit 0 $MLXC run tests/train/determinism.mlx --out "$T/o" --verbose
run_key=$(sed -n 's/.*kernel cache: miss \([0-9a-f]*\).*/\1/p' "$T/out")
expect_exit 0 $MLXC predict "$T/o/twice.mlxm" $CSV --verbose
key=$(sed -n 's/.*kernel cache: miss \([0-9a-f]*\).*/\1/p' "$T/out")
[ -n "$key" ] && [ -n "$run_key" ] && [ "$key" != "$run_key" ] || fail "keys: run '$run_key' predict '$key'"
E="$MLXC_CACHE_DIR/$key.o"
[ -f "$E" ] || fail "no entry $E"
expect_exit 0 $MLXC predict "$T/o/twice.mlxm" $CSV
cp "$T/out" "$T/want"
cp "$E" "$T/good"
size=$(wc -c < "$E")

# check WHY: predict notes WHY, misses, predicts the same, and rewrites the entry
check() {
  expect_exit 0 $MLXC predict "$T/o/twice.mlxm" $CSV --verbose
  grep -q "kernel cache: ignoring .*$key.o: $1" "$T/out" || { cat "$T/out"; fail "no note '$1'"; }
  grep -q "kernel cache: miss $key" "$T/out" || fail "no miss after '$1'"
  cmp -s "$E" "$T/good" || fail "the entry was not rewritten after '$1'"
  expect_exit 0 $MLXC predict "$T/o/twice.mlxm" $CSV
  cmp -s "$T/out" "$T/want" || fail "predictions differ after '$1'"
  expect_exit 0 $MLXC predict "$T/o/twice.mlxm" $CSV --verbose
  grep -q "kernel cache: hit $key" "$T/out" || fail "no hit after rewriting ('$1')"
}
# one byte of the object flipped
cp "$T/good" "$E"
printf '\377' | dd of="$E" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
check "bad checksum"
# the checksum itself flipped
cp "$T/good" "$E"
printf '\377' | dd of="$E" bs=1 seek=60 conv=notrunc 2>/dev/null
check "bad checksum"
# cut short, in the object and in the header
head -c $((size - 100)) "$T/good" > "$E"
check "truncated"
head -c 40 "$T/good" > "$E"
check "truncated"
: > "$E"
check "truncated"
# not an entry at all; another format; another key's entry under this name
head -c "$size" /dev/urandom > "$E"
check "not a kernel cache entry"
cp "$T/good" "$E"
printf '\011' | dd of="$E" bs=1 seek=8 conv=notrunc 2>/dev/null
check "another cache format"
cp "$MLXC_CACHE_DIR/$run_key.o" "$E"
check "made for another key"
# a directory where the entry should be: compiled, not stored, said so
rm -f "$E" && mkdir "$E"
expect_exit 0 $MLXC predict "$T/o/twice.mlxm" $CSV --verbose
grep -q "ignoring .*: not a regular file" "$T/out" || { cat "$T/out"; fail "no note for a directory"; }
grep -q "cannot store" "$T/out" || { cat "$T/out"; fail "no store note for a directory"; }
expect_exit 0 $MLXC predict "$T/o/twice.mlxm" $CSV
cmp -s "$T/out" "$T/want" || fail "predictions differ with a directory entry"
# no temporary files left behind
[ -z "$(find "$MLXC_CACHE_DIR" -name '*.o.*')" ] || fail "temporary files left in the cache"
exit 0
