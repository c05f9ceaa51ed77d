# cv.sh — `cv 5` on the housing example: five folds over train+val, the test
# split held out, mean ± std of each val metric in the table and metrics.json,
# the final model fit on train+val and saved.
. tests/e2e/lib.inc
expect_exit 0 $MLXC run tests/split/cv.mlx --out "$T/o"
[ "$(grep -c '^cv fold [1-5]/5: 1920 train rows, 480 val rows$' "$T/out")" = 5 ] ||
  fail "expected 5 folds of 1920/480 rows"
grep -q '^final model: train+val, 2400 rows$' "$T/out" || fail "no final model line"
grep -q '^cv val (5 folds):  loss [0-9.]* ± [0-9.]*  mse ' "$T/out" || fail "no cv line in the table"
m="$T/o/homes_cv.metrics.json"
[ "$(json "$m" .cv.folds)" = 5 ] || fail "cv.folds"
for k in loss mse mae; do
  [ "$(jq ".cv.val.$k.mean > 0 and .cv.val.$k.std >= 0" "$m")" = true ] || fail "cv.val.$k"
done
[ "$(jq -c '[.splits.train.rows, .splits.val.rows, .splits.test.rows]' "$m")" = '[2400,0,600]' ] ||
  fail "final split rows: $(jq -c .splits "$m")"
[ -s "$T/o/homes_cv.mlxm" ] || fail "no model file"
# cv on a classification spec: accuracy gets a mean and std too
sed 's/^  split .*/& stratify\n  cv 4/' tests/split/strat.mlx > "$T/s.mlx"
cp tests/split/strat.csv "$T/"
expect_exit 0 $MLXC run "$T/s.mlx" --out "$T/s"
[ "$(jq '.cv.folds == 4 and .cv.val.accuracy.mean > 0' "$T/s/kinds_soft.metrics.json")" = true ] ||
  fail "classification cv"
exit 0
