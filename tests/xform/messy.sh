#!/bin/sh
# messy.sh — a messy CSV end to end: duplicate rows dropped, missing cells
# filled (median, mean, mode) or their rows dropped, a text label, onehot
# columns (unseen = zero / other), programs (log1p, clip, bucketize, a fn);
# `mlxc run` trains, the .mlxm predicts new rows through the frozen
# transforms, and a model with unseen = error refuses a new category.
. tests/e2e/lib.inc
expect_exit 0 "$MLXC" run tests/xform/messy.mlx --out "$T/o"
m=$T/o/messy_lr.metrics.json
[ "$(json "$m" .rows.read)" = 18 ] || fail "rows.read $(json "$m" .rows.read), expected 18"
[ "$(json "$m" .rows.dropped)" = 4 ] || fail "rows.dropped $(json "$m" .rows.dropped), expected 4 (2 duplicates, 2 drop_row)"
n=$(( $(json "$m" .splits.train.rows) + $(json "$m" .splits.val.rows) + $(json "$m" .splits.test.rows) ))
[ "$n" = 14 ] || fail "$n rows in the splits, expected 14"

# new rows: missing amount/income/city filled by the frozen fills, an unseen
# city (zero) and an unseen history (the "other" input)
expect_exit 0 "$MLXC" predict "$T/o/messy_lr.mlxm" tests/xform/new.csv
[ "$(wc -l < "$T/out")" = 6 ] || { cat "$T/out"; fail "expected a header and 5 predictions"; }
head -1 "$T/out" | grep -q '^prediction,p_Y$' || fail "bad header: $(head -1 "$T/out")"
cp "$T/out" "$T/pred1"

# the same spec again: the same model, the same predictions
expect_exit 0 "$MLXC" run tests/xform/messy.mlx --out "$T/o2"
expect_exit 0 "$MLXC" predict "$T/o2/messy_lr.mlxm" tests/xform/new.csv
cmp -s "$T/out" "$T/pred1" || fail "a second run predicts differently"

# predict has no row to drop: a missing cell under drop_row is an error at it
printf 'id,amount,income,city,history,defaulted\n1,10,3000,paris,,N\n' > "$T/hole.csv"
expect_exit 4 "$MLXC" predict "$T/o/messy_lr.mlxm" "$T/hole.csv"
grep -q "hole.csv:2:17: error: missing value in column 'history'" "$T/out" || { cat "$T/out"; fail "drop_row cell not reported"; }

# unseen = error: a category train never saw stops predict at its cell
mkdir "$T/strict"
cp tests/xform/messy.csv "$T/strict/"
sed 's/unseen = zero/unseen = error/' tests/xform/messy.mlx > "$T/strict/strict.mlx"
expect_exit 0 "$MLXC" run "$T/strict/strict.mlx" --out "$T/o3"
expect_exit 4 "$MLXC" predict "$T/o3/messy_lr.mlxm" tests/xform/new.csv
grep -q "new.csv:5:14: error: category 'rome' of column 'city' is not one the model was trained on" "$T/out" ||
  { cat "$T/out"; fail "unseen category not reported"; }
exit 0
