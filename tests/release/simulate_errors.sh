# simulate_errors.sh — a candidate of which 10% of requests fail is rolled
# back within the bound `mlxc check` printed ('rollback when ... for 3
# checks' of 10s: 30s), counted from the first window wholly after the
# regression began (--regress-after 1m5s: 5s to the window at 1m10s); the
# baseline's requests never fail; --expect.
. tests/release/simulate.inc
"$MLXC" check sim.mlx > check.log 2>&1 || { cat check.log; fail "check"; }
grep -qF "it rolls back within 30s once a rollback condition holds on every check of at least 20 candidate requests (the slowest rule, 'drift(amount) > 0.5', needs 3 checks of 10s)" check.log \
  || { cat check.log; fail "the checker's rollback bound"; }
# from the start
sim slow simulate --errors 10% --expect rolled_back
[ $rc -eq 0 ] || { cat res; fail "errors from the start exited $rc"; }
line "regression from 0s: 10% of candidate requests fail"
line "20s        rolled_back    1/2    0%       rolled back by the rules: rollback when live.error_rate > 0.05: true on 2 conclusive checks"
line "rolled back at 20s, 20s after the regression began (checker bound: 30s)"
grep -qE "candidate [0-9]+ requests \([1-9][0-9]* failed\), baseline [0-9]+ \(0 failed\)" res || { cat res; fail "failed requests counted on the wrong arm"; }
# a regression that begins mid-window, during the rollout
sim slow simulate --errors 10% --regress-after 1m5s --json
[ $rc -eq 0 ] || { cat res; fail "a later regression exited $rc"; }
[ "$(json res .outcome)" = rolled_back ] || { cat res; fail "not rolled back"; }
[ "$(json res .regression_us)" = 65000000 ] || fail "regression_us"
at=$(json res .at_us); bound=$(json res .bound_us)
[ "$bound" = 35000000 ] || { cat res; fail "the bound from 1m5s is 5s to the next window + 30s, not $bound"; }
[ "$at" -gt 65000000 ] && [ $((at - 65000000)) -le "$bound" ] || { cat res; fail "rolled back at $at"; }
[ "$(json res .within_bound)" = true ] || fail "within_bound"
[ "$(json res '.events | map(.event) | join(",")')" = "started,regression,rolled_back" ] || { cat res; fail "events"; }
[ "$(json res '.events[1].t_us')" = 65000000 ] || fail "the regression's time on the timeline"
[ "$(json res .requests.baseline_failed)" = 0 ] && [ "$(json res .requests.candidate_failed)" -gt 0 ] || fail "failed counts"
sim slow simulate --errors 10% --regress-after 1m5s
line "rolled back at 1m20s, 15s after the regression began (checker bound: 35s = 30s + 5s to the next window)"
# the journal says the same: replayed, rolled back by the rules
sim slow simulate --errors 10% --store "$T/e.db"
"$MLXC" release sim.mlx slow status --store e.db > st.log 2>&1
grep -q "rolled back by the rules: rollback when live.error_rate > 0.05" st.log || { cat st.log; fail "status of the simulated journal"; }
# --expect a different outcome: exit 3, saying which
sim slow simulate --errors 10% --expect promoted
[ $rc -eq 3 ] || { cat res; fail "an unexpected outcome exited $rc"; }
line "mlxc: error: release 'slow': the simulation ended rolled_back, not promoted (--expect)"
line "rolled back at 20s"
exit 0
