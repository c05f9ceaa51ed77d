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
# ran N CMD FILE TEXT... — mlxc CMD FILE exits N and says each TEXT (its
# output in FILE.log: expect_exit's $T/out is the runs' out/ directory here)
ran() {
  n=$1 cmd=$2 f=$3
  shift 3
  "$MLXC" "$cmd" "$f" > "$f.log" 2>&1
  got=$?
  [ "$got" -eq "$n" ] || { cat "$f.log"; fail "mlxc $cmd $f exited $got, expected $n"; }
  for t in "$@"; do grep -qF -- "$t" "$f.log" || { cat "$f.log"; fail "no '$t' from mlxc $cmd $f"; }; done
}
# a negative tolerance the same model cannot meet: exit 3
spec 'gate no_regression(metric = "accuracy", tolerance = -0.1, model = "models/prod.mlxm")' > b.mlx
ran 3 run b.mlx "gate 'no_regression' failed"
spec 'gate no_increase(tolerance = -0.1, model = "models/prod.mlxm")' > c.mlx
ran 3 run c.mlx "gate 'no_increase' failed"
spec 'gate latency_budget(p99 = 1us / 10000)' > d.mlx
ran 3 run d.mlx "gate 'latency_budget' failed"
spec 'gate latency_budget(p99 = 1s)' > e.mlx
ran 0 run e.mlx
# argument errors, at the use
spec 'gate no_regression(metric = "rmse")' > f.mlx
ran 1 check f.mlx "metric 'rmse' is not defined for a binary model" "gate 'no_regression' is used by train 't' here"
spec 'gate latency_budget(p99 = 5)' > g.mlx
ran 1 check g.mlx "expected a duration for 'p99' of gate 'latency_budget', found"
spec 'gate latency_budget(budget = 1ms)' > h.mlx
ran 1 check h.mlx "gate 'latency_budget' has no parameter 'budget'"
exit 0
