# early_stop.sh — `early_stop` on examples/data/credit.csv: it stops once the
# val metric has not improved by more than min_delta for `patience` epochs,
# keeps the best epoch's weights (the final val metrics are that epoch's),
# and metrics.json says best_epoch and stopped_epoch. Lower-is-better
# (loss) and higher-is-better (accuracy) metrics; an empty val split warns.
. tests/e2e/lib.inc
data=$PWD/examples/data/credit.csv
run_one() {   # NAME 'EARLY_STOP LINE' [DATASET LINE]
  cat > "$T/$1.mlx" <<SPEC
$(credit_loans 3 "${3:-}")
model mlp {
  dense 16 relu
  dense 1 sigmoid
  loss bce
}
train $1 {
  model mlp
  data loans
  optimizer adam(lr = 0.01)
  $2
  epochs 40
  batch 64
  seed 1
}
SPEC
  expect_exit 0 $MLXC run "$T/$1.mlx" --out "$T/o"
  cp "$T/out" "$T/$1.out"
}
# verify NAME METRIC PATIENCE MIN_DELTA HIGHER(0|1): replays the rule on history
verify() {
  m=$T/o/$1.metrics.json
  best=$(json "$m" .best_epoch)
  stopped=$(json "$m" .stopped_epoch)
  [ "$stopped" != null ] || fail "$1: never stopped"
  [ "$(json "$m" '.history | length')" = "$stopped" ] || fail "$1: history is not $stopped epochs"
  grep -q "^early stop: val.$2 has not improved for $3 epochs\?; keeping epoch $best\$" "$T/$1.out" ||
    fail "$1: no early stop line"
  jq -r ".history[].val.$2" "$m" | awk -v p="$3" -v d="$4" -v up="$5" -v best="$best" \
    -v stopped="$stopped" '
    { v = $1; better = NR == 1 || (up ? v > b + d : v < b - d)
      if (better) { b = v; at = NR; wait = 0 } else wait++
      if (wait >= p) { stop = NR; exit } }
    END { if (at != best || stop != stopped) {
            printf "replay: best %d stop %d, run: best %d stop %d\n", at, stop, best, stopped; exit 1 } }' ||
    fail "$1: replay"
  # the kept weights are the best epoch's: the final val metrics are its own
  [ "$(json "$m" ".splits.val.$2")" = "$(json "$m" ".history[$best - 1].val.$2")" ] ||
    fail "$1: final val.$2 is not epoch $best's"
  [ "$(json "$m" .splits.val.loss)" = "$(json "$m" ".history[$best - 1].val.loss")" ] ||
    fail "$1: final val loss is not epoch $best's"
}
run_one by_loss 'early_stop val.loss patience 2 min_delta 0.001'
verify by_loss loss 2 0.001 0
run_one by_accuracy 'early_stop val.accuracy patience 3'
verify by_accuracy accuracy 3 0 1
run_one by_auc 'early_stop val.auc patience 1 min_delta 0.002'
verify by_auc auc 1 0.002 1

# cv: each fold stops on its own val rows; the final model (train+val, no
# val rows) warns and runs every epoch
run_one no_val 'early_stop val.loss patience 1' 'cv 2'
grep -q "warning: 'early_stop' reads val.loss but the val split is empty" "$T/no_val.out" ||
  fail "no warning without val rows"
[ "$(grep -c '^early stop: ' "$T/no_val.out")" = 2 ] || fail "the cv folds did not stop early"
[ "$(json "$T/o/no_val.metrics.json" '.history | length')" = 40 ] || fail "no_val stopped"
[ "$(json "$T/o/no_val.metrics.json" .stopped_epoch)" = null ] || fail "no_val stopped_epoch"
echo ok
