# gates.sh — BIN train checks the train's gates like mlxc run: a baseline of
# the compiled model's shape is evaluated through BIN's own kernels (the same
# values as mlxc run gets), a failed gate exits 3 with both files written,
# and a baseline of another shape is exit 4 naming why. A relative baseline
# path is read from the current directory (the embedded spec has none).
. tests/e2e/lib.inc
case $MLXC in /*) ;; *) MLXC=$PWD/$MLXC ;; esac   # the test changes directory
spec() {
  cat <<SPEC
$(credit_loans 3)
model mlp {
  dense 8 relu
  dense 1 sigmoid
  loss bce
}
gate ship {
  baseline "models/base.mlxm"
  first_run pass
  test.auc >= baseline.test.auc $1
}
train cand {
  model mlp
  data loans
  epochs 2
  gate ship
}
SPEC
}
spec "- 0.5" > "$T/cand.mlx"
spec "+ 0.5" > "$T/strict.mlx"
R=$PWD
mkdir -p "$T/w/models"
expect_exit 0 $MLXC run "$T/cand.mlx" --out "$T/w/models"
mv "$T/w/models/cand.mlxm" "$T/w/models/base.mlxm"
expect_exit 0 $MLXC build "$T/cand.mlx" cand -o "$T/cand"
expect_exit 0 $MLXC build "$T/strict.mlx" cand -o "$T/strict"
cd "$T/w"
expect_exit 0 $MLXC run "$T/cand.mlx" --out jit --baseline models/base.mlxm
expect_exit 0 "$T/cand" train "$R/examples/data/credit.csv" --out bin
[ "$(jq '[.gates[] | select(.passed == true)] | length' bin/cand.metrics.json)" = 1 ] ||
  fail "BIN train: the gate clause did not pass: $(jq -c .gates bin/cand.metrics.json)"
[ "$(jq -c '[.gates[] | .value]' bin/cand.metrics.json)" = "$(jq -c '[.gates[] | .value]' jit/cand.metrics.json)" ] ||
  fail "BIN's gate values differ from mlxc run's"
expect_exit 3 "$T/strict" train "$R/examples/data/credit.csv" --out bin3
grep -q "gate 'ship' failed" "$T/out" || fail "no failure message: $(cat "$T/out")"
[ -f bin3/cand.mlxm ] && [ -f bin3/cand.metrics.json ] || fail "a failed gate still writes both files"
expect_exit 0 $MLXC run "$R/examples/credit.mlx" scorer_logistic --out other
expect_exit 4 "$T/cand" train "$R/examples/data/credit.csv" --out bin4 --baseline other/scorer_logistic.mlxm
grep -q "another shape" "$T/out" || fail "foreign baseline: $(cat "$T/out")"
exit 0
