# simulate_drift.sh — one input column of every request shifted out of its
# training range (--drift COL) makes drift(COL) grow until its rollback rule
# ('for 3 checks' of 10s) rolls the release back within the checker's 30s
# from the first window wholly after the shift; drift on a column no rule
# reads does not stop the rollout; a slow candidate (--latency) is rolled
# back by its p99 rule against the baseline's.
. tests/release/simulate.inc
sim slow simulate --drift amount --regress-after 2m5s --expect rolled_back
[ $rc -eq 0 ] || { cat res; fail "drift exited $rc"; }
line "regression from 2m5s: column 'amount' of every request out of its training range"
line "2m5s       regression     1/2    20%      the injected regression begins"
line "2m30s      rolled_back    1/2    0%       rolled back by the rules: rollback when drift(amount) > 0.5: true on 3 conclusive checks"
line "rolled back at 2m30s, 25s after the regression began (checker bound: 35s = 30s + 5s to the next window)"
# the journal's last observation has the drift that decided it
sim slow simulate --drift amount --store "$T/d.db"
[ $rc -eq 0 ] || { cat res; fail "drift with --store exited $rc"; }
"$MLXC" release sim.mlx slow history --store d.db --json > h.json || fail "history"
psi=$(jq -r 'select(.kind == "observation") | .detail.live.candidate.drift.amount' h.json | tail -1)
at_least "$psi" 0.5 || { tail -3 h.json; fail "drift(amount) in the deciding window is $psi"; }
other=$(jq -r 'select(.kind == "observation") | .detail.live.candidate.drift.income' h.json | tail -1)
at_least 0.5 "$other" || fail "drift(income) of a column not shifted is $other"
# drift on a column no rule reads: the rollout goes on to 100%
sim slow simulate --drift income --regress-after 33s
[ $rc -eq 0 ] || { cat res; fail "drift on income exited $rc"; }
line "promoted at 10m (checker: at least 10m)"
# drift(*) reads every column
sim fast simulate --drift age --expect rolled_back
[ $rc -eq 0 ] || { cat res; fail "drift(*) exited $rc"; }
line "rolled back by the rules: rollback when drift(*) > 0.5: true on 3 conclusive checks"
line "rolled back at 30s, 30s after the regression began (checker bound: 30s)"
# latency: the candidate at 10ms against the baseline's 2ms
sim fast simulate --latency 10ms --regress-after 5s --json
[ $rc -eq 0 ] || { cat res; fail "latency exited $rc"; }
[ "$(json res .outcome)" = rolled_back ] && [ "$(json res .at_us)" = 20000000 ] || { cat res; fail "latency outcome"; }
json res '.events[2].reason' | grep -qF 'rollback when live.p99 > 2 * baseline.live.p99: true on 2 conclusive checks' || { cat res; fail "latency rule"; }
[ "$(json res .bound_us)" = 35000000 ] && [ "$(json res .within_bound)" = true ] || { cat res; fail "latency bound"; }
# a category column (onehot): rows draw train categories by their counts;
# --drift sends every request the rarest one, so drift(city) grows
mkdir c
messy_spec c
cat >> c/spec.mlx <<'SPEC'
release r {
  candidate messy
  check every 10s min 20 requests
  step 50% for 1m
  step 100%
  promote when live.error_rate < 0.01
  rollback when drift(city) > 0.5 for 2 checks
}
SPEC
(cd c && "$MLXC" run spec.mlx > run.log 2>&1) || { cat c/run.log; fail "training the category model"; }
(cd c && "$MLXC" release spec.mlx r simulate) > res 2>&1 || { cat res; fail "categories, healthy"; }
line "promoted at 1m (checker: at least 1m)"
line "(0 failed), baseline"
(cd c && "$MLXC" release spec.mlx r simulate --drift city --regress-after 15s --expect rolled_back) > res 2>&1 \
  || { cat res; fail "categories, drift"; }
line "rollback when drift(city) > 0.5: true on 2 conclusive checks"
line "after the regression began (checker bound: 25s = 20s + 5s to the next window)"
exit 0
