# determinism.sh — dropout masks come from a hash of (seed, step, row, unit):
# tests/dropout/drop.mlx trained twice with the same seed gives the same
# metrics.json (but for timing, so the same loss every epoch) and the same
# predictions; another seed, or no dropout, gives other weights. The model
# file predicts without dropout (two calls agree).
. tests/e2e/lib.inc
spec=tests/dropout/drop.mlx
data=examples/data/credit.csv
expect_exit 0 $MLXC run $spec --out "$T/a"
expect_exit 0 $MLXC run $spec --out "$T/b"
jq -S 'del(.timing, .predict)' "$T/a/drop.metrics.json" > "$T/ma"
jq -S 'del(.timing, .predict)' "$T/b/drop.metrics.json" > "$T/mb"
cmp -s "$T/ma" "$T/mb" || { diff "$T/ma" "$T/mb" | head; fail "same seed, other metrics"; }
expect_exit 0 $MLXC predict "$T/a/drop.mlxm" $data; cp "$T/out" "$T/pa"
expect_exit 0 $MLXC predict "$T/b/drop.mlxm" $data; cp "$T/out" "$T/pb"
cmp -s "$T/pa" "$T/pb" || fail "same seed, other predictions"
expect_exit 0 $MLXC predict "$T/a/drop.mlxm" $data; cp "$T/out" "$T/pa2"
cmp -s "$T/pa" "$T/pa2" || fail "predict is not deterministic (dropout in predict?)"
[ "$(wc -l < "$T/pa")" -gt 4000 ] || fail "too few predictions"
# another seed
abs="s|../../examples|$PWD/examples|"
sed -e "$abs" -e 's/seed 11/seed 12/' $spec > "$T/seed12.mlx"
expect_exit 0 $MLXC run "$T/seed12.mlx" --out "$T/c"
expect_exit 0 $MLXC predict "$T/c/drop.mlxm" $data
cmp -s "$T/pa" "$T/out" && fail "another seed, the same predictions"
# no dropout: the same seed and data, other weights
grep -v dropout $spec | sed -e "$abs" > "$T/nodrop.mlx"
expect_exit 0 $MLXC run "$T/nodrop.mlx" --out "$T/d"
expect_exit 0 $MLXC predict "$T/d/drop.mlxm" $data
cmp -s "$T/pa" "$T/out" && fail "dropout changed nothing"
# the first epoch's training loss is measured with dropout: higher than without
la=$(jq '.history[0].train_loss' "$T/a/drop.metrics.json")
ld=$(jq '.history[0].train_loss' "$T/d/drop.metrics.json")
echo "first epoch loss: dropout $la, none $ld"
at_least "$la" "$ld" || fail "dropout did not raise the training loss"
exit 0
