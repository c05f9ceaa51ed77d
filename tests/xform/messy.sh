#!/bin/sh
# messy.sh — a messy CSV end to end: duplicate rows dropped, missing cells
# filled (median, mean, a constant) or their rows dropped, a text label, onehot
# columns (unseen = zero / other), programs (log1p, clip, bucketize, a fn);
# `mlxc run` trains, the .mlxm predicts new rows through the frozen
# transforms, and a model with unseen = error refuses a new category.
. tests/e2e/lib.inc
expect_exit 0 "$MLXC" run tests/xform/messy.mlx --out "$T/o"
m=$T/o/messy_lr.metrics.json
[ "$(json "$m" .rows.read)" = 19 ] || fail "rows.read $(json "$m" .rows.read), expected 19"
[ "$(json "$m" .rows.dropped)" = 5 ] || fail "rows.dropped $(json "$m" .rows.dropped), expected 5 (2 duplicates, 3 drop_row: 2 history, 1 label)"
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
# the constant fill 'unknown' is in no train row: under unseen = error that is an error
expect_exit 4 "$MLXC" run "$T/strict/strict.mlx" --out "$T/o3"
grep -q "error: the fill 'unknown' of column 'city' is not a category of the train split" "$T/out" ||
  { cat "$T/out"; fail "the unseen fill is not reported"; }
sed -i 's/city = "unknown"/city = mode/' "$T/strict/strict.mlx"
expect_exit 0 "$MLXC" run "$T/strict/strict.mlx" --out "$T/o3"
expect_exit 4 "$MLXC" predict "$T/o3/messy_lr.mlxm" tests/xform/new.csv
grep -q "new.csv:5:14: error: category 'rome' of column 'city' is not one the model was trained on" "$T/out" ||
  { cat "$T/out"; fail "unseen category not reported"; }

# `feature * = EXPR`: each remaining column through the same program
mkdir "$T/star"
cp tests/xform/values.csv "$T/star/"
cat > "$T/star/star.mlx" <<'EOS'
dataset d {
  source csv("values.csv")
  missing * = mean
  drop column color, shade
  feature * = minmax(log1p(abs(*)))
  label rowid
  split train 80%, val 10%, test 10% seed 1
}
model lin() {
  dense 1 identity
  loss mse
}
train star {
  model lin()
  data d
  epochs 2
}
EOS
expect_exit 0 "$MLXC" run "$T/star/star.mlx" --out "$T/o4"
expect_exit 0 "$MLXC" predict "$T/o4/star.mlxm" "$T/star/values.csv"
[ "$(wc -l < "$T/out")" = 201 ] || fail "expected 200 predictions"
exit 0
