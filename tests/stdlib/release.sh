# release.sh — std/release: each rollout plan, used with arguments, runs on
# the simulator's virtual clock exactly as its statements written into the
# release would (the same events at the same times, the same bounds), on a
# healthy candidate and on one that starts failing requests; the release's
# own `step` lines replace the plan's; argument errors at the use; a plan's
# rule that needs a `baseline` line the release lacks is reported at the
# plan's line with a note at the use.
. tests/release/simulate.inc
cat > plans.mlx <<'SPEC'
import "train.mlx"
import "std/release"

release canary_plan {
  candidate cand
  baseline "out/weak.mlxm"
  bucket by request.user_id salt "p"
  rollout canary(hold = 20s, window = 10s, least = 20, max_error = 0.02, timeout = 1h)
}
release canary_inline {
  candidate cand
  baseline "out/weak.mlxm"
  bucket by request.user_id salt "p"
  check every 10s min 20 requests
  step 1% for 20s
  step 10% for 20s
  step 50% for 20s
  step 100%
  promote when live.error_rate <= 0.02
  rollback when live.error_rate > 5 * 0.02 for 2 checks
  timeout 1h
}
release versus_plan {
  candidate cand
  baseline "out/weak.mlxm"
  bucket by request.user_id salt "p"
  rollout versus_baseline(hold = 30s, window = 10s, least = 20, margin = 0.01, slower = 1.5)
}
release versus_inline {
  candidate cand
  baseline "out/weak.mlxm"
  bucket by request.user_id salt "p"
  check every 10s min 20 requests
  step 5% for 30s
  step 25% for 30s
  step 100%
  promote when live.error_rate <= baseline.live.error_rate + 0.01 and live.p99 <= 1.5 * baseline.live.p99
  rollback when live.error_rate > baseline.live.error_rate + 5 * 0.01 for 2 checks
}
release manual_plan {
  candidate cand
  bucket by request.user_id salt "p"
  rollout manual(first = 20%, window = 10s)
}
release manual_inline {
  candidate cand
  bucket by request.user_id salt "p"
  check every 10s
  step 20% manual
  step 50% manual
  step 100%
  promote when live.error_rate <= 0.05
  rollback when live.error_rate > 0.05 for 3 checks
}
release drift_plan {
  candidate cand
  bucket by request.user_id salt "p"
  rollout drift_guarded(hold = 60s, window = 10s, least = 20, max_drift = 0.4)
}
release drift_inline {
  candidate cand
  bucket by request.user_id salt "p"
  check every 10s min 20 requests
  step 5% for 60s
  step 25% for 60s
  step 100%
  promote when live.error_rate <= 0.01
  rollback when live.error_rate > 5 * 0.01 for 2 checks
  rollback when drift(*) > 0.4 for 3 checks
}
release own_steps {
  candidate cand
  bucket by request.user_id salt "p"
  rollout canary(window = 10s, least = 20)
  step 50% for 10s
  step 100%
}
SPEC
# alike PLAN INLINE ARGS...: the same run of both
alike() {
  for r in "$1" "$2"; do
    "$MLXC" release plans.mlx "$r" simulate --json --rps 400 --seed 5 $3 > "$r.json" 2> "$r.err"
    jq -c '[.outcome, .at_us, .least_us, .rollback_us, .within_bound, .requests, (.events | map([.event, .t_us, .step]))]' "$r.json" > "$r.key" ||
      { cat "$r.json" "$r.err"; fail "$r: no JSON"; }
  done
  cmp -s "$1.key" "$2.key" || { diff "$1.key" "$2.key"; fail "$1 ran otherwise than $2 ($3)"; }
}
"$MLXC" check plans.mlx > check.log 2>&1 || { cat check.log; fail "check"; }
alike canary_plan canary_inline ""
[ "$(jq -r .outcome canary_plan.json)" = promoted ] || { cat canary_plan.json; fail "canary: not promoted"; }
grep -qF 'promote when live.error_rate <= max_error [max_error = 0.02]: true' canary_plan.json ||
  { cat canary_plan.json; fail "a plan's rule without its parameter's value"; }
alike canary_plan canary_inline "--errors 30% --regress-after 45s"
[ "$(jq -r .outcome canary_plan.json)" = rolled_back ] || { cat canary_plan.json; fail "canary: a failing candidate was not rolled back"; }
alike versus_plan versus_inline ""
alike versus_plan versus_inline "--errors 20% --regress-after 40s"
alike manual_plan manual_inline "--manual auto"
[ "$(jq -r .outcome manual_plan.json)" = promoted ] || { cat manual_plan.json; fail "manual --manual auto: not promoted"; }
alike drift_plan drift_inline "--drift amount --regress-after 30s"
[ "$(jq -r .outcome drift_plan.json)" = rolled_back ] || { cat drift_plan.json; fail "drift: not rolled back"; }
# the release's own steps replace all the plan's: 50% then 100%
printf ':load plans.mlx\n:show own_steps\n' | "$MLXC" repl > show.txt 2>&1
grep -q "steps: 50% for 10s, 100%" show.txt || { cat show.txt; fail "own steps did not replace the plan's"; }
# errors at the use
bad() {   # bad NAME LINE MESSAGE
  cat > "$1.mlx" <<SPEC
import "train.mlx"
import "std/release"
release r {
  candidate cand
  bucket by request.user_id
  $2
}
SPEC
  "$MLXC" check "$1.mlx" > "$1.log" 2>&1
  [ $? -eq 1 ] && grep -qF -- "$3" "$1.log" || { cat "$1.log"; fail "$1"; }
}
bad e1 'rollout canary(hold = 5)' "e1.mlx:6:25: error: expected a duration for 'hold' of rollout 'canary', found a number '5'"
bad e2 'rollout canary(steps = 3)' "e2.mlx:6:18: error: rollout 'canary' has no parameter 'steps'"
bad e3 'rollout nosuch' "error: unknown rollout 'nosuch'"
bad e4 'rollout versus_baseline' "std/release:33:35: error: 'baseline.live.error_rate' reads a baseline, but there is no 'baseline' line"
grep -qF "e4.mlx:6:11: note: from rollout 'versus_baseline' used here" e4.log || { cat e4.log; fail "e4: no note at the use"; }
exit 0
