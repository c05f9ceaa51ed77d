# model_file.sh — a truncated, corrupted or foreign .mlxm is refused with exit 4 and
# a message naming the file; never a crash.
. tests/e2e/lib.inc
expect_exit 0 $MLXC run examples/housing.mlx --out "$T/o"
good=$T/o/house_price.mlxm
size=$(wc -c < "$good")
for n in 0 4 8 16 40 $((size / 2)) $((size - 1)); do
  head -c "$n" "$good" > "$T/trunc.mlxm"
  expect_exit 4 $MLXC predict "$T/trunc.mlxm" examples/data/housing.csv
  grep -q "trunc.mlxm" "$T/out" || fail "truncated to $n: message does not name the file"
done
cp "$good" "$T/flip.mlxm"
printf '\377' | dd of="$T/flip.mlxm" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
expect_exit 4 $MLXC predict "$T/flip.mlxm" examples/data/housing.csv
cp examples/data/housing.csv "$T/foreign.mlxm"
expect_exit 4 $MLXC predict "$T/foreign.mlxm" examples/data/housing.csv
expect_exit 4 $MLXC predict "$T/missing.mlxm" examples/data/housing.csv
# a CSV that lacks a column the model needs: exit 4 naming it
cut -d, -f1,2,3,5 examples/data/housing.csv > "$T/nodist.csv"
expect_exit 4 $MLXC predict "$good" "$T/nodist.csv"
grep -q distance_km "$T/out" || fail "missing column not named"
exit 0
