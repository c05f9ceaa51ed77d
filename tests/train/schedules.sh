# schedules.sh — each `schedule` (with and without warmup) trains a logistic
# model on examples/data/credit.csv; metrics.json's history[].lr (the lr of
# each epoch's first step) must follow the documented formulas (rt_sched.c).
# 2800 train rows in batches of 100: E = 28 steps an epoch, T = 6 * 28.
. tests/e2e/lib.inc
data=$PWD/examples/data/credit.csv
run_one() {   # NAME 'SCHEDULE' [EPOCHS]
  cat > "$T/$1.mlx" <<SPEC
$(credit_loans 3)
model logistic {
  dense 1 sigmoid
  loss bce
}
train $1 {
  model logistic
  data loans
  optimizer sgd(lr = 0.2)
  schedule $2
  epochs ${3:-6}
  batch 100
  seed 1
}
SPEC
  expect_exit 0 $MLXC run "$T/$1.mlx" --out "$T/o"
  jq -r '.history[].lr' "$T/o/$1.metrics.json" > "$T/$1.lr"
}
# check NAME 'AWK EXPR OF e (0-based epoch), b (base lr), E, T'
check() {
  awk -v name="$1" "BEGIN { b = 0.2; E = 28; T = 168; pi = atan2(0, -1) }
    { e = NR - 1; want = $2
      if (want - \$1 > 1e-7 * want || \$1 - want > 1e-7 * want) {
        printf \"%s epoch %d: lr %s, expected %.10g\n\", name, e, \$1, want; bad = 1 } }
    END { if (NR != 6) { print name \": \" NR \" epochs\"; bad = 1 }; exit bad }" "$T/$1.lr" ||
    fail "$1"
}
run_one constant constant
check constant 'b'
run_one step 'step(every = 2 epochs, gamma = 0.5)'
check step 'b * 0.5 ^ int(e / 2)'
run_one step_steps 'step(every = 14 steps, gamma = 0.5)'
check step_steps 'b * 0.5 ^ (2 * e)'
run_one exponential 'exponential(gamma = 0.9)'
check exponential 'b * 0.9 ^ e'
run_one linear 'linear(end = 0.02)'
check linear 'b + (0.02 - b) * e * E / T'
run_one cosine 'cosine(end = 0.01)'
check cosine '0.01 + (b - 0.01) * (1 + cos(pi * e * E / T)) / 2'
run_one warm_constant 'constant(warmup = 2 epochs)'
check warm_constant 'e < 2 ? b * (e * E + 1) / (2 * E) : b'
run_one warm_cosine 'cosine(warmup = 30 steps)'
check warm_cosine 'e == 0 ? b / 30 : e == 1 ? b * 29 / 30 : b * (1 + cos(pi * (e * E - 30) / (T - 30))) / 2'
run_one warm_step 'step(every = 1 epoch, gamma = 0.5, warmup = 1 epoch)'
check warm_step 'e == 0 ? b / E : b * 0.5 ^ (e - 1)'

# reduce_on_plateau: replay PyTorch's rule on the recorded val metric
run_one plateau 'reduce_on_plateau(metric = val.accuracy, factor = 0.5, patience = 0)' 10
jq -r '.history[] | "\(.lr) \(.val.accuracy)"' "$T/o/plateau.metrics.json" |
  awk 'BEGIN { lr = 0.2; best = "" }
    { if (($1 - lr) ^ 2 > (1e-7 * lr) ^ 2) { printf "epoch %d: lr %s, expected %.10g\n", NR, $1, lr; bad = 1 }
      if (best == "" || $2 > best * (1 + 1e-4)) best = $2; else { lr *= 0.5; cuts++ } }
    END { if (!cuts) { print "the plateau never cut the lr"; bad = 1 }; exit bad }' ||
  fail "reduce_on_plateau"
# it trains: the schedules reach a sensible model
acc=$(json "$T/o/cosine.metrics.json" .splits.test.accuracy)
at_least "$acc" 0.7 || fail "cosine test accuracy $acc"
echo ok
