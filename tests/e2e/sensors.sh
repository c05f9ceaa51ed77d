# sensors.sh — multiclass MLP (softmax + cross-entropy) end to end, within 2 points
# of scikit-learn's MLPClassifier on the same split.
. tests/e2e/lib.inc
expect_exit 0 $MLXC run examples/sensors.mlx --out "$T/o"
m=$T/o/sensor_state.metrics.json
[ "$(json "$m" .task)" = multiclass ] || fail "task is $(json "$m" .task)"
[ "$(json "$m" '.classes | join(",")')" = "fault,idle,normal,overload" ] || fail "classes: $(json "$m" .classes)"
ref=$(awk '$1 == "sensors_mlp" { print $2 }' tests/e2e/reference.txt)
acc=$(json "$m" .splits.test.accuracy)
echo "mlxc $acc sklearn $ref"
at_least "$acc" "$(awk -v r="$ref" 'BEGIN { print r - 0.02 }')" || fail "accuracy $acc < $ref - 0.02"
expect_exit 0 $MLXC predict "$T/o/sensor_state.mlxm" examples/data/sensors.csv
head -1 "$T/out" | grep -q prediction || fail "no header in predict output"
exit 0
