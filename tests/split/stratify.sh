# stratify.sh — `stratify` gives every split each class's share of rows
# (strat.csv: 100/60/40 rows of a/b/c; 60/20/20%), shown in metrics.json
# splits.*.class_rows; without it the shares drift.
. tests/e2e/lib.inc
expect_exit 0 $MLXC run tests/split/strat.mlx --out "$T/o"
m="$T/o/kinds_soft.metrics.json"
[ "$(jq -c '[.splits.train.class_rows, .splits.val.class_rows, .splits.test.class_rows]' "$m")" \
  = '[[60,36,24],[20,12,8],[20,12,8]]' ] || fail "stratified class rows: $(jq -c .splits "$m")"
[ "$(json "$m" .splits.train.rows)" = 120 ] || fail "train rows"
# mlxc data --json shows the same split class counts
expect_exit 0 $MLXC data tests/split/strat.mlx --json
[ "$(jq -c '[.classes, .splits.train.class_rows, .splits.test.class_rows]' "$T/out")" \
  = '[["a","b","c"],[60,36,24],[20,12,8]]' ] || fail "mlxc data split classes"
# the same spec without `stratify`: same totals, classes no longer exact
sed 's/ stratify$//' tests/split/strat.mlx > "$T/plain.mlx"
cp tests/split/strat.csv "$T/"
expect_exit 0 $MLXC run "$T/plain.mlx" --out "$T/p"
p="$T/p/kinds_soft.metrics.json"
[ "$(jq -c '[.splits.train.rows, .splits.val.rows, .splits.test.rows]' "$p")" = '[120,40,40]' ] ||
  fail "random split rows"
[ "$(jq -c '.splits.train.class_rows' "$p")" != '[60,36,24]' ] || fail "random split is stratified too?"
exit 0
