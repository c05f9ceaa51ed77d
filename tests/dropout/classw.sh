# classw.sh — class_weights end to end. On examples/data/credit.csv, weighting
# the "Y" class 3x raises test recall (more rows predicted Y) over the same
# train without weights; `balanced` runs; the history's training loss is the
# weighted mean, so weights of 2 on both classes double the first epoch's
# loss of the unweighted train exactly up to rounding. On sensors.csv (classes
# from the data, no label map) a class the data lacks is an error at the
# statement, exit 1, before anything trains.
. tests/e2e/lib.inc
mk() {   # NAME 'CLASS_WEIGHTS LINE'
  cat > "$T/$1.mlx" <<SPEC
$(credit_loans 5)
model mlp {
  dense 8 relu
  dense 1 sigmoid
  loss bce
}
train $1 {
  model mlp
  data loans
  optimizer adam(lr = 0.01)
  epochs 4
  batch 50
  seed 3
  $2
}
SPEC
  expect_exit 0 $MLXC run "$T/$1.mlx" --out "$T/o"
}
mk plain ""
mk heavy "class_weights Y = 3"
mk both "class_weights N = 2, Y = 2"
mk bal "class_weights balanced"
r0=$(json "$T/o/plain.metrics.json" '.splits.test.recall')
r1=$(json "$T/o/heavy.metrics.json" '.splits.test.recall')
echo "test recall: plain $r0, Y weighted 3x $r1"
at_least "$r1" "$r0" || fail "weighting Y did not raise recall"
[ "$r1" != "$r0" ] || fail "weighting Y changed nothing"
l0=$(json "$T/o/plain.metrics.json" '.history[0].train_loss')
l2=$(json "$T/o/both.metrics.json" '.history[0].train_loss')
echo "first epoch train loss: plain $l0, both classes x2 $l2"
awk -v a="$l0" -v b="$l2" 'BEGIN { exit !(b / a > 1.999 && b / a < 2.001) }' ||
  fail "weights of 2 did not double the first epoch's loss"
cat > "$T/sensors.mlx" <<SPEC
dataset readings {
  source csv("$PWD/examples/data/sensors.csv")
  feature * = standardize(*)
  label state
  split train 70%, val 15%, test 15% seed 3
}
model classifier {
  dense 8 relu
  dense 4 softmax
  loss cross_entropy
}
train s {
  model classifier
  data readings
  epochs 1
  class_weights fault = 2, broken = 3
}
SPEC
expect_exit 1 $MLXC run "$T/sensors.mlx" --out "$T/o"
grep -q "class 'broken' is not a class of the label" "$T/out" || { cat "$T/out"; fail "no error for 'broken'"; }
grep -q "sensors.mlx:16:3" "$T/out" || { cat "$T/out"; fail "the error does not point at the statement"; }
[ ! -e "$T/o/s.mlxm" ] || fail "a model was written"
sed -i 's/, broken = 3//' "$T/sensors.mlx"
expect_exit 0 $MLXC run "$T/sensors.mlx" --out "$T/o"
exit 0
