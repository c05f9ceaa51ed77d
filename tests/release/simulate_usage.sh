# simulate_usage.sh — a release whose rules never decide within --for says
# so (and --expect undecided accepts it); an outcome other than --expect is
# exit 3; bad option values, options without `simulate`, a --drift column
# the candidate does not read, and a --store that is the release's own
# journal or one that already ran are usage errors (exit 2) saying why; a
# failed offline gate refuses as `start` does (exit 3).
. tests/release/simulate.inc
sim never simulate --for 5m
[ $rc -eq 0 ] || { cat res; fail "undecided exited $rc"; }
line "no decision within 5m: step 1 of 1 (100%) since 0s; 30 checks, 30 conclusive, 15000 candidate requests"
sim never simulate --for 5m --expect undecided
[ $rc -eq 0 ] || { cat res; fail "--expect undecided exited $rc"; }
sim never simulate --for 1m --expect promoted --json
[ $rc -eq 3 ] || { cat res; fail "--expect promoted of an undecided run exited $rc"; }
line "the simulation ended undecided, not promoted (--expect)"
grep '^{' res > j.json
[ "$(json j.json .outcome)" = undecided ] && [ "$(json j.json .expected)" = false ] && [ "$(json j.json .checks)" = 6 ] || { cat res; fail "--json of an undecided run"; }
sim fast simulate --expect rolled_back
[ $rc -eq 3 ] || { cat res; fail "--expect rolled_back of a healthy run exited $rc"; }
line "mlxc: error: release 'fast': the simulation ended promoted, not rolled_back (--expect)"
# usage errors: exit 2, naming the option and the value
u() {   # u MESSAGE ARGS...
  want=$1; shift
  sim "$@"
  [ $rc -eq 2 ] || { cat res; fail "'$*' exited $rc, not 2"; }
  line "$want"
}
u "--rps needs requests per second, more than 0 and at most 1e6, not '0'" fast simulate --rps 0
u "--rps needs requests per second, more than 0 and at most 1e6, not 'fast'" fast simulate --rps fast
u "--users needs a whole number of users from 1 to 1e9, not '2.5'" fast simulate --users 2.5
u "--for needs a duration such as 90s, 10m, 1h30m or 500ms, not '10'" fast simulate --for 10
u "--for needs a duration above 0, not '0s'" fast simulate --for 0s
u "--latency needs a duration such as 90s, 10m, 1h30m or 500ms, not '-5ms'" fast simulate --latency -5ms
u "--errors needs a share of the candidate's requests such as 10%, not '0.1'" fast simulate --errors 0.1
u "--errors needs a share from 0% to 100%, not '150%'" fast simulate --errors 150%
u "--expect needs promoted, rolled_back or undecided, not 'ok'" fast simulate --expect ok
u "--manual needs 'auto' (promote manual steps at once) or 'stop', not 'yes'" fast simulate --manual yes
u "--seed needs a whole number from 0 to 2^53, not 'x'" fast simulate --seed x
u "--regress-after needs a regression to delay (--errors, --drift or --latency)" fast simulate --regress-after 1m
u "--rps applies to 'release FILE NAME simulate' only" fast status --rps 5
u "--who does not apply to 'simulate' (it journals as 'simulator')" fast simulate --who me
u "--drift 'nosuch' is not a column the candidate reads (amount income age history_years accounts late_payments)" fast simulate --drift nosuch
u "more than 1e8 requests: lower --rps or --for" fast simulate --rps 100000 --for 1d
u "--store 'fast.release.db' is the release's own journal: the simulator never writes the real rollout's state" fast simulate --store fast.release.db
u "--store '$T/fast.release.db' is the release's own journal" fast simulate --store "$T/fast.release.db"
sim fast simulate --store ran.db
[ $rc -eq 0 ] || { cat res; fail "a new --store exited $rc"; }
u "--store 'ran.db' already holds a journal of 6 events: the simulator starts a rollout from nothing" fast simulate --store ran.db
"$MLXC" release sim.mlx rolls simulate > res 2>&1; [ $? -eq 2 ] || fail "an unknown release"
# the candidate's offline gate failed: refused as `start` refuses it (exit 3)
cat >> sim.mlx <<'SPEC'

release weakgate {
  candidate weak
  gate strict
  step 100%
  promote when live.error_rate < 0.5
}
SPEC
sim weakgate simulate
[ $rc -eq 3 ] || { cat res; fail "a failed gate exited $rc"; }
line "release 'weakgate' cannot start, so nothing is simulated: the candidate 'out/weak.mlxm' failed gate 'strict': test.auc >= 0.999"
exit 0
