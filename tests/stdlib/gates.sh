# gates.sh — std/gates' parameterized gates used with arguments: a first
# run of no_regression passes without its baseline (first_run pass), a
# second compares with the baseline file (named by the argument, relative to
# the spec) and fails when it must; no_increase on the loss; latency_budget
# fails with a budget no model meets; bad arguments are errors at the use.
. tests/e2e/lib.inc
case $MLXC in /*) ;; *) MLXC=$PWD/$MLXC ;; esac
LOANS=$(credit_loans 3)
cd "$T" || exit 1
spec() {   # spec GATE-LINE...: a spec training one logistic model with those gate lines
  cat <<SPEC
import "std/models"
import "std/gates"

$LOANS

train t {
  model logistic
  data loans
  epochs 2
  $1
}
SPEC
}
spec 'gate no_regression(tolerance = 0.02, model = "models/prod.mlxm")' > a.mlx
"$MLXC" run a.mlx > a1.log 2>&1 || { cat a1.log; fail "first run"; }
grep -q "gate no_regression: skipped .*no baseline 'models/prod.mlxm'; first_run pass" a1.log || { cat a1.log; fail "first run: not skipped"; }
mkdir -p models && cp out/t.mlxm models/prod.mlxm
"$MLXC" run a.mlx > a2.log 2>&1 || { cat a2.log; fail "second run against the same model"; }
grep -q "gate no_regression: passed" a2.log || { cat a2.log; fail "second run: not compared"; }
# the line shows the values of the parameters it reads
grep -qF 'gate no_regression: passed  test.metric >= baseline.test.metric - tolerance [metric = "auc", tolerance = 0.02]' a2.log ||
  { cat a2.log; fail "the gate line's parameters"; }
# a negative tolerance the same model cannot meet: exit 3
spec 'gate no_regression(metric = "accuracy", tolerance = -0.1, model = "models/prod.mlxm")' > b.mlx
"$MLXC" run b.mlx > b.log 2>&1
[ $? -eq 3 ] && grep -q "gate 'no_regression' failed" b.log || { cat b.log; fail "no_regression did not fail"; }
spec 'gate no_increase(tolerance = -0.1, model = "models/prod.mlxm")' > c.mlx
"$MLXC" run c.mlx > c.log 2>&1
[ $? -eq 3 ] && grep -q "gate 'no_increase' failed" c.log || { cat c.log; fail "no_increase did not fail"; }
spec 'gate latency_budget(p99 = 1us / 10000)' > d.mlx
"$MLXC" run d.mlx > d.log 2>&1
[ $? -eq 3 ] && grep -q "gate 'latency_budget' failed" d.log || { cat d.log; fail "latency_budget(0.1ns) did not fail"; }
spec 'gate latency_budget(p99 = 1s)' > e.mlx
"$MLXC" run e.mlx > e.log 2>&1 || { cat e.log; fail "latency_budget(1s)"; }
# argument errors, at the use
spec 'gate no_regression(metric = "rmse")' > f.mlx
"$MLXC" check f.mlx > f.log 2>&1
[ $? -eq 1 ] && grep -q "metric 'rmse' is not defined for a binary model" f.log && grep -q "gate 'no_regression' is used by train 't' here" f.log ||
  { cat f.log; fail "a metric of another task"; }
spec 'gate latency_budget(p99 = 5)' > g.mlx
"$MLXC" check g.mlx > g.log 2>&1
[ $? -eq 1 ] && grep -q "expected a duration for 'p99' of gate 'latency_budget', found" g.log || { cat g.log; fail "a number for a duration"; }
spec 'gate latency_budget(budget = 1ms)' > h.mlx
"$MLXC" check h.mlx > h.log 2>&1
[ $? -eq 1 ] && grep -q "gate 'latency_budget' has no parameter 'budget'" h.log || { cat h.log; fail "an unknown parameter"; }
exit 0
