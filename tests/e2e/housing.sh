# housing.sh — regression (identity output + mse) end to end: the model explains
# most of the variance, and predictions come back as numbers.
. tests/e2e/lib.inc
expect_exit 0 $MLXC run examples/housing.mlx --out "$T/o"
m=$T/o/house_price.metrics.json
[ "$(json "$m" .task)" = regression ] || fail "task is $(json "$m" .task)"
mse=$(json "$m" .splits.test.mse)
ref=$(awk '$1 == "housing_mse" { print $2 }' tests/e2e/reference.txt)
echo "mlxc test mse $mse, sklearn MLPRegressor $ref"
at_least "$(awk -v r="$ref" 'BEGIN { print r * 1.5 }')" "$mse" || fail "mse $mse > 1.5 x $ref"
expect_exit 0 $MLXC predict "$T/o/house_price.mlxm" examples/data/housing.csv
exit 0
