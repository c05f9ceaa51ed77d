# credit.sh — the main example end to end: train both models through the JIT,
# reach scikit-learn's test accuracy within 2 points, predict from the .mlxm.
. tests/e2e/lib.inc
expect_exit 0 $MLXC run examples/credit.mlx --out "$T/out1"
grep -q "test" "$T/out" || fail "no metrics table"
for name in scorer_logistic scorer_mlp; do
  [ -s "$T/out1/$name.mlxm" ] || fail "no $name.mlxm"
  [ -s "$T/out1/$name.metrics.json" ] || fail "no $name.metrics.json"
done
# References: tests/e2e/reference.txt (scikit-learn on the same split).
ref_lr=$(awk '$1 == "credit_logistic" { print $2 }' tests/e2e/reference.txt)
ref_mlp=$(awk '$1 == "credit_mlp" { print $2 }' tests/e2e/reference.txt)
acc_lr=$(json "$T/out1/scorer_logistic.metrics.json" .splits.test.accuracy)
acc_mlp=$(json "$T/out1/scorer_mlp.metrics.json" .splits.test.accuracy)
echo "logistic: mlxc $acc_lr sklearn $ref_lr; mlp: mlxc $acc_mlp sklearn $ref_mlp"
at_least "$acc_lr" "$(awk -v r="$ref_lr" 'BEGIN { print r - 0.02 }')" || fail "logistic accuracy"
at_least "$acc_mlp" "$(awk -v r="$ref_mlp" 'BEGIN { print r - 0.02 }')" || fail "mlp accuracy"
# predict: one line per row (plus a header), from the saved model
expect_exit 0 $MLXC predict "$T/out1/scorer_mlp.mlxm" examples/data/credit.csv
rows=$(($(wc -l < examples/data/credit.csv) - 1))
[ "$(($(wc -l < "$T/out") - 1))" -eq "$rows" ] || fail "predict gave $(wc -l < "$T/out") lines for $rows rows"
exit 0
