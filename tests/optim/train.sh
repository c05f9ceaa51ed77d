# train.sh — every optimizer, with l1/l2 and both clip kinds, trains a small
# MLP on examples/data/credit.csv end to end: the train loss of the last epoch
# is below the first's, and the test accuracy beats always saying "no".
. tests/e2e/lib.inc
data=$PWD/examples/data/credit.csv
run_one() {   # NAME 'TRAIN LINES'
  cat > "$T/$1.mlx" <<SPEC
$(credit_loans 3)
model mlp {
  dense 16 relu
  dense 1 sigmoid
  loss bce
}
train $1 {
  model mlp
  data loans
  epochs 6
  batch 64
  seed 1
$2
}
SPEC
  expect_exit 0 $MLXC run "$T/$1.mlx" --out "$T/o"
  m=$T/o/$1.metrics.json
  first=$(json "$m" '.history[0].train_loss')
  last=$(json "$m" '.history[-1].train_loss')
  acc=$(json "$m" .splits.test.accuracy)
  echo "$1: train loss $first -> $last, test accuracy $acc"
  at_least "$first" "$last" && [ "$first" != "$last" ] || fail "$1: loss did not go down"
  at_least "$acc" 0.75 || fail "$1: test accuracy $acc"
}
run_one sgd_plain       '  optimizer sgd(lr = 0.1)'
run_one sgd_nesterov    '  optimizer sgd(lr = 0.05, momentum = 0.9, nesterov = true)
  l2 1e-3'
run_one adam_clip       '  optimizer adam(lr = 3e-3)
  clip value 0.5'
run_one adamw_decay     '  optimizer adamw(lr = 3e-3, weight_decay = 0.05)'
run_one adagrad_l1      '  optimizer adagrad(lr = 0.05)
  l1 1e-4'
run_one rmsprop_norm    '  optimizer rmsprop(lr = 1e-3, rho = 0.9, momentum = 0.5)
  clip norm 1.0'
run_one adam_l1_l2_norm '  optimizer adam
  l1 1e-5
  l2 1e-4
  clip norm 0.5'
# A layer's own l2 (a model statement after its dense) changes what trains:
# the same train with the hidden layer's weights penalized must not give the
# same metrics as without.
cat > "$T/layer.mlx" <<SPEC
$(credit_loans 3)
model plain {
  dense 16 relu
  dense 1 sigmoid
  loss bce
}
model penalized {
  dense 16 relu
  l2 0.5
  dense 1 sigmoid
  loss bce
}
train a {
  model plain
  data loans
  optimizer sgd(lr = 0.1)
  epochs 4
  seed 1
}
train b {
  model penalized
  data loans
  optimizer sgd(lr = 0.1)
  epochs 4
  seed 1
}
SPEC
expect_exit 0 $MLXC run "$T/layer.mlx" --out "$T/o"
la=$(json "$T/o/a.metrics.json" .splits.train.loss)
lb=$(json "$T/o/b.metrics.json" .splits.train.loss)
echo "per-layer l2: train loss $la without, $lb with"
[ "$la" != "$lb" ] || fail "the layer's l2 changed nothing"
exit 0
