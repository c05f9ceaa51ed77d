# schedules.sh — std/schedules: each schedule, used with arguments, trains
# exactly as its statements written into the train would (the per-epoch
# history — lr, losses, metrics — byte for byte, and the stopped epoch); a
# statement the train writes itself replaces the schedule's; arguments of
# the wrong type or unknown are errors at the use, and a value a statement
# refuses is reported at the schedule's line with a note at the use.
. tests/e2e/lib.inc
case $MLXC in /*) ;; *) MLXC=$PWD/$MLXC ;; esac
LOANS=$(credit_loans 3)
cd "$T" || exit 1
spec() {   # spec LINES...: a logistic model on loans trained with those lines
  cat <<SPEC
import "std/models"
import "std/schedules"

$LOANS

train t {
  model logistic
  data loans
  seed 4
$(printf '  %s\n' "$@")
}
SPEC
}
# same NAME USE -- INLINE...: `schedule USE` and the inline lines train alike
same() {
  name=$1 use=$2
  shift 3
  spec "schedule $use" > "$name.a.mlx"
  spec "$@" > "$name.b.mlx"
  for v in a b; do
    "$MLXC" run "$name.$v.mlx" --out "o$v" > "$name.$v.log" 2>&1 || { cat "$name.$v.log"; fail "$name.$v"; }
    jq -c '[.history, .stopped_epoch, .best_epoch]' "o$v/t.metrics.json" > "$name.$v.json"
  done
  cmp -s "$name.a.json" "$name.b.json" || { diff "$name.a.json" "$name.b.json" | head; fail "$name: the schedule trained otherwise than its statements"; }
  [ -s "$name.a.json" ] || fail "$name: no history"
}
same adam 'adam_constant(lr = 2e-3, epochs = 3, batch = 64)' -- \
  'optimizer adam(lr = 2e-3)' 'epochs 3' 'batch 64'
same cosine 'warmup_cosine(lr = 3e-3, epochs = 4, warmup = 1 epoch)' -- \
  'optimizer adamw(lr = 3e-3, weight_decay = 0.01)' 'schedule cosine(end = 0, warmup = 1 epoch)' 'epochs 4' 'batch 32'
same sgd 'sgd_step(period = 2 epochs, gamma = 0.5, epochs = 5)' -- \
  'optimizer sgd(lr = 0.1, momentum = 0.9, nesterov = true)' 'schedule step(every = 2 epochs, gamma = 0.5)' 'epochs 5' 'batch 32'
same plateau 'plateau(lr = 0.5, epochs = 40, wait = 1, stop = 2)' -- \
  'optimizer adam(lr = 0.5)' 'schedule reduce_on_plateau(metric = val.loss, factor = 0.5, patience = 1)' \
  'early_stop val.loss patience 2' 'epochs 40' 'batch 32'
# plateau (the last pair) stopped early, so early_stop came through the schedule
[ "$(jq '.history | length' oa/t.metrics.json)" -lt 40 ] || fail "plateau never stopped early"
# the train's own statements win: epochs 2 beside a schedule of 4
spec 'schedule warmup_cosine(epochs = 4)' 'epochs 2' 'batch 16' > own.mlx
"$MLXC" run own.mlx --out oo > own.log 2>&1 || { cat own.log; fail "own statements"; }
[ "$(jq '.history | length' oo/t.metrics.json)" = 2 ] || fail "the train's epochs did not replace the schedule's"
# errors at the use
spec 'schedule warmup_cosine(lr = "fast")' > e1.mlx
expect_exit 1 "$MLXC" check e1.mlx
says "e1.mlx:17:31: error: expected a number for 'lr' of schedule 'warmup_cosine', found a string"
spec 'schedule warmup_cosine(rate = 1)' > e2.mlx
expect_exit 1 "$MLXC" check e2.mlx
says "error: schedule 'warmup_cosine' has no parameter 'rate'"
spec 'schedule warmup_cosine(lr = -1)' > e3.mlx
expect_exit 1 "$MLXC" check e3.mlx
says "e3.mlx:17:31: error: expected 'lr' > 0, found '-1'"
says "std/schedules:16:24: note: the value is used here"
says "e3.mlx:17:12: note: from schedule 'warmup_cosine' used here"
spec 'schedule warmup_cosine(warmup = 3)' > e4.mlx
expect_exit 1 "$MLXC" check e4.mlx
says "expected a count for 'warmup' of schedule 'warmup_cosine', found a number '3'"
exit 0
