# simulate_healthy.sh — `mlxc release FILE NAME simulate`: a healthy
# candidate reaches 100% on the virtual clock at exactly the least time
# `mlxc check` prints (a `for 15s` step with checks every 10s ends at the
# second check, 20s); the same seed gives the same run; --json; manual steps
# stop the run unless --manual auto; the real journal is never created and
# the temporary one is removed (simulate.inc's sim checks both).
. tests/release/simulate.inc
"$MLXC" check sim.mlx > check.log 2>&1 || { cat check.log; fail "check"; }
grep -qF "release 'fast' takes at least 30s and 120 candidate requests to reach 100% (steps: 20s + 10s + 0s)" check.log \
  || { cat check.log; fail "the checker's least time"; }
sim fast simulate
[ $rc -eq 0 ] || { cat res; fail "healthy run exited $rc"; }
line "checker: at least 30s and 120 candidate requests to 100%; rolls back within 30s once a rollback condition holds ('drift(*) > 0.5')"
line "20s        step_advanced  2/3    50%      advanced by the rules: promote when live.error_rate <= 0.02 and live.p99 < 5ms: true after step 1"
line "30s        promoted       3/3    100%     promoted by the rules"
line "promoted at 30s (checker: at least 30s)"
line "3 checks (3 conclusive)"
grep -qE "candidate [0-9]+ requests \(0 failed\), baseline [0-9]+ \(0 failed\)" res || { cat res; fail "a healthy run failed requests"; }
cp res first.out
sim fast simulate
cmp -s res first.out || { diff first.out res; fail "the same seed gave another run"; }
# at 50 requests/s for 30s the candidate's share: 10% of 500, then 50% of 500
c=$(sed -n 's/.*candidate \([0-9]*\) requests.*/\1/p' res)
[ "$c" -gt 200 ] && [ "$c" -lt 450 ] || fail "the candidate got $c of 1500 requests"
# --json: one object
sim fast simulate --json --seed 7 --rps 100 --users 500
[ $rc -eq 0 ] || { cat res; fail "--json exited $rc"; }
[ "$(json res .outcome)" = promoted ] || { cat res; fail "--json outcome"; }
[ "$(json res .at_us)" = 30000000 ] && [ "$(json res .least_us)" = 30000000 ] || { cat res; fail "--json times"; }
[ "$(json res .within_bound)" = true ] && [ "$(json res .rollback_us)" = 30000000 ] || fail "--json bound"
[ "$(json res '.events | map(.event) | join(",")')" = "started,step_advanced,promoted" ] || { cat res; fail "--json events"; }
[ "$(json res '.requests.candidate + .requests.baseline')" = 3000 ] || fail "--json: 100/s for 30s is not 3000 requests"
# a manual step: the run stops there and says so, unless --manual auto
sim hands simulate
[ $rc -eq 0 ] || { cat res; fail "manual stop exited $rc"; }
line "stopped at step 2 of 3 (50%), a manual step, since 10s: it waits for 'mlxc release ... promote' (--manual auto promotes it)"
line "baseline the candidate (the release names none)"
sim hands simulate --manual auto
[ $rc -eq 0 ] || { cat res; fail "--manual auto exited $rc"; }
line "10s        promoted       3/3    100%     manual promotion (--manual auto)"
line "promoted at 10s (checker: at least 10s)"
# --store keeps the journal: the simulated rollout replays from it
sim fast simulate --store "$T/kept.db"
[ $rc -eq 0 ] || { cat res; fail "--store exited $rc"; }
"$MLXC" release sim.mlx fast status --store kept.db > st.log 2>&1 || { cat st.log; fail "status of the kept journal"; }
grep -q "promoted" st.log || { cat st.log; fail "the kept journal does not replay to promoted"; }
"$MLXC" release sim.mlx fast history --store kept.db | grep -q "started  by simulator" || fail "the start is not journaled as the simulator's"
exit 0
