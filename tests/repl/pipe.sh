# pipe.sh — `mlxc repl` driven through a pipe: no prompt, expressions fold
# (consts, fn calls, durations), declarations join and replace, a failing
# one leaves the session as it was, :load/:list/:show/:train/:eval/
# :predict/:dump work and agree with `mlxc run` and `mlxc predict`, a
# redefined model forgets what was trained with it, and errors print their
# diagnostic while the session goes on (exit 1 at the end, 0 without one).
. tests/e2e/lib.inc
case $MLXC in /*) ;; *) MLXC=$PWD/$MLXC ;; esac
sh tests/release/setup.inc "$T" > /dev/null 2>&1 || fail "setup failed"
cd "$T" || exit 1
rm -rf out

# expressions and declarations, no error: exit 0, no prompt
cat > a.txt <<'IN'
1e-3 * 4
const lr = 0.01
lr * 2
fn double(x: float) -> float = x * 2
fn quad(x: float) -> float = double(double(x))
quad(lr)
fn slow(d: duration) -> duration = d * 3
slow(20ms)
max(2, 3) > 2
"text"
10%
:list
:show lr
IN
"$MLXC" repl < a.txt > a.out 2> a.err || { cat a.out a.err; fail "a clean session exited non-zero"; }
[ -s a.err ] && { cat a.err; fail "a clean session wrote to stderr"; }
grep -q 'mlx>' a.out && fail "a prompt was printed to a pipe"
cat > a.want <<'OUT'
0.004
0.02
0.04
60ms
true
"text"
10%
lr                   const lr = 0.01
double               fn double(x: float) -> float = x * 2
quad                 fn quad(x: float) -> float = double(double(x))
slow                 fn slow(d: duration) -> duration = d * 3
const lr = 0.01 (number)
OUT
diff -u a.want a.out || fail "expressions and declarations"

# errors: diagnostics at the input, the session goes on, exit 1
cat > b.txt <<'IN'
1 + "a"
const a = 1
train broken {
  model nosuch
  data nothing
}
:list
:frob
:predict
:show nothing
nothing.test.auc
a + 1
IN
"$MLXC" repl < b.txt > b.out 2> b.err
[ $? -eq 1 ] || fail "a session with errors did not exit 1"
grep -q '^(input):1:15: error: expected a number around .+., found a string' b.err || { cat b.err; fail "expression error"; }
grep -q "^(input 3):2:9: error: unknown model 'nosuch'" b.err || { cat b.err; fail "declaration error at its line"; }
grep -q "unknown command ':frob'" b.err || fail "unknown command"
grep -q ':predict needs an argument' b.err || fail ":predict without argument"
grep -q "nothing named 'nothing'" b.err || fail ":show of an unknown name"
[ "$(cat b.out)" = "$(printf 'a                    const a = 1\n2')" ] || { cat b.out; fail "the failed train block joined the session"; }

# a spec: load, show, train, metrics, eval, predict, dump, redefine
cat > c.txt <<'IN'
:load train.mlx
:show cand
:show lr
:train cand
cand.test.auc
cand.test.auc >= 0.5 and cand.predict.p99 < 1s
:eval cand
:predict cand {amount: 5000, income: 40000, age: 30, history_years: 5, accounts: 3, late_payments: 0}
:predict cand {amount: "x"}
:dump llvm cand
model lr {
  dense 4 relu
  dense 1 sigmoid
  loss bce
}
cand.test.auc
:show lr
:train cand
:quit
1 + 1
IN
"$MLXC" repl < c.txt > c.out 2> c.err
[ $? -eq 1 ] || { cat c.out c.err; fail "session c: expected exit 1 (two errors)"; }
grep -q '^loaded train.mlx: 6 declarations$' c.out || fail ":load"
grep -q '^train cand: model lr, data loans, 1 epochs, batch 32, seed 0$' c.out || { cat c.out; fail ":show train"; }
grep -q '^model lr: 6 inputs (data loans), loss bce$' c.out || fail ":show model"
grep -q '^  dense 1 sigmoid: 6 x 1 + 1 = 7 parameters$' c.out || fail ":show model layers"
[ -f out/cand.mlxm ] && [ -f out/cand.metrics.json ] || fail ":train wrote no model"
# the REPL trains as `mlxc run` does: the same metrics
"$MLXC" run train.mlx cand --out ref > ref.log 2>&1 || { cat ref.log; fail "mlxc run"; }
auc=$(jq -r .splits.test.auc ref/cand.metrics.json)
grep -qx "$auc" c.out || { grep '^0\.' c.out; fail "cand.test.auc is not mlxc run's $auc"; }
grep -qx true c.out || fail "a boolean over metrics"
grep -q '^test   loss .* auc ' c.out || fail ":eval"
# :predict agrees with mlxc predict on the same row
printf 'amount,income,age,history_years,accounts,late_payments\n5000,40000,30,5,3,0\n' > row.csv
want=$("$MLXC" predict ref/cand.mlxm row.csv --json 2>/dev/null)
got=$(grep '^{"class"' c.out | head -n 1)
[ -n "$got" ] || { cat c.out; fail ":predict printed nothing"; }
[ "$(echo "$got" | jq -r .class)" = "$(echo "$want" | jq -r .class)" ] || fail ":predict class differs from mlxc predict"
awk -v a="$(echo "$got" | jq -r .probabilities.Y)" -v b="$(echo "$want" | jq -r .probabilities.Y)" \
  'BEGIN { d = a - b; exit !(d < 1e-6 && d > -1e-6) }' || fail ":predict ($got) and mlxc predict ($want) differ"
grep -q "field 'amount': expected a number" c.err || { cat c.err; fail ":predict of a bad row"; }
grep -q '^define float @mlx_step(' c.out || fail ":dump llvm"
grep -q '^(cand is no longer trained: lr changed)$' c.out || fail "redefinition did not forget the training"
grep -q "'cand' has no metrics yet: train it first" c.err || { cat c.err; fail "metrics of an untrained block"; }
grep -q '^  dense 4 relu: 6 x 4 + 4 = 28 parameters$' c.out || fail "the redefined model"
[ "$(grep -c '^wrote out/cand.mlxm' c.out)" -eq 2 ] || fail ":train after the redefinition"
grep -qx 2 c.out && fail "input after :quit was read"

# one JIT for the session: each compilation joins it under a resource tracker
# of its own and leaves it when replaced; after a redefinition and :train,
# :predict runs the new kernels (mlxc predict of the new model file agrees)
row='{amount: 5000, income: 40000, age: 30, history_years: 5, accounts: 3, late_payments: 0}'
cat > k.txt <<IN
:load train.mlx
:train cand
:predict cand $row
model lr {
  dense 3 tanh
  dense 1 sigmoid
  loss bce
}
:train cand
:predict cand $row
IN
"$MLXC" repl --verbose < k.txt > k.out 2> k.err || { cat k.err; fail "session k"; }
added=$(grep -c '^mlxc: jit: kernels\.[0-9]* added to the session$' k.err)
removed=$(grep -c '^mlxc: jit: kernels\.[0-9]* removed from the session$' k.err)
[ "$added" -ge 4 ] && [ "$removed" -ge 3 ] && [ "$removed" -le "$added" ] ||
  { cat k.err; fail "the session JIT: $added added, $removed removed"; }
want=$("$MLXC" predict out/cand.mlxm row.csv --json 2>/dev/null)
got=$(grep '^{"class"' k.out | tail -n 1)
first=$(grep '^{"class"' k.out | head -n 1)
[ "$got" = "$want" ] || { echo "$got / $want"; fail ":predict after the redefinition is not the new model's"; }
[ "$got" != "$first" ] || fail "the redefined model predicted exactly as the first"

# a train taking in a schedule is forgotten when the schedule changes
printf ':load train.mlx\nschedule quick { epochs 1 }\ntrain t2 {\n  model lr\n  data loans\n  schedule quick\n}\n:train t2\nschedule quick { epochs 2 }\n:show t2\n' |
  "$MLXC" repl > q.out 2> q.err || { cat q.err; fail "session q"; }
grep -qx '(t2 is no longer trained: quick changed)' q.out && grep -q '^train t2: model lr, data loans, 2 epochs' q.out ||
  { cat q.out; fail "a changed schedule did not forget the train"; }

# a row missing several fields names them all
printf ':load train.mlx\n:train cand\n:predict cand {amount: 5000, income: 1}\n' | "$MLXC" repl > m.out 2> m.err
[ $? -eq 1 ] && grep -qF "missing field 'age': the model has no 'missing' rule for it (also missing: 'history_years', 'accounts', 'late_payments')" m.err ||
  { cat m.err; fail "the fields a row lacks"; }

# :eval NAME CSV gives what mlxc eval gives for the same model and file
csv=$(sed -n 's/^  source csv("\(.*\)")$/\1/p' train.mlx)
printf ':train cand\n:eval cand %s\n' "$csv" | "$MLXC" repl train.mlx > e.out 2> e.err || { cat e.err; fail ":eval with a CSV"; }
"$MLXC" eval ref/cand.mlxm "$csv" > e.want || fail "mlxc eval"
[ "$(tail -n 1 e.out)" = "$(cat e.want)" ] || { tail -n 1 e.out; cat e.want; fail ":eval CSV differs from mlxc eval"; }

# :predict NAME FILE.csv gives mlxc predict --json's lines; :show of a release
# gives its steps and the checker's bounds, its rules as written (parentheses kept)
printf ':train cand\n:predict cand row.csv\n' | "$MLXC" repl train.mlx > f.out 2> f.err || { cat f.err; fail ":predict CSV"; }
[ "$(tail -n 1 f.out)" = "$("$MLXC" predict ref/cand.mlxm row.csv --json)" ] || { tail -n 1 f.out; fail ":predict CSV differs from mlxc predict --json"; }
printf ':load r.mlx\n:show third\n:show roll\n' | "$MLXC" repl > g.out 2> g.err || { cat g.err; fail ":show release"; }
# a train of an imported file is not trained; the note says where it is
printf ':load r.mlx\n:train cand\n' | "$MLXC" repl > h.out 2> h.err
grep -q "note: 'cand' is declared in an imported file, whose trains are not run (as by mlxc run): :load train.mlx" h.err ||
  { cat h.err; fail "a train of an imported file"; }
grep -qx '  promote when not (live.p50 > 2ms or live.requests < 10)' g.out || { cat g.out; fail "a rule's text lost its parenthesis"; }
grep -qx '  steps: 1% for 500 requests, 5% for 10m, 50% manual, 100%' g.out || { cat g.out; fail ":show release steps"; }
grep -q '^  at least .* candidate requests to 100%, plus 1 manual promotion; rolls back within ' g.out || { cat g.out; fail ":show release bounds"; }

# :show of an imported declaration prints its source with its place; a train
# taking in a schedule shows the schedule's settings
printf 'import "std/schedules"\nimport "std/release"\n:show warmup_cosine\n:show canary\n' | "$MLXC" repl > i.out 2> i.err || { cat i.err; fail ":show std"; }
grep -qx '# std/schedules:[0-9]*' i.out && grep -qx '  schedule cosine(end = 0, warmup = warmup)' i.out &&
  grep -qx '# std/release:[0-9]*' i.out && grep -qx '  step 1% for hold' i.out && grep -qx '  timeout timeout' i.out ||
  { cat i.out; fail ":show of std declarations"; }
printf ':load train.mlx\n' > j.in
cat >> j.in <<SPEC
import "std/schedules"
train sched {
  model lr
  data loans
  schedule warmup_cosine(lr = 2e-3, warmup = 3 epochs)
  clip norm 1
}
:show sched
SPEC
"$MLXC" repl < j.in > j.out 2> j.err || { cat j.err; fail "a train with a schedule"; }
grep -qx '  optimizer adamw, lr 0.002, schedule cosine warmup 3 epochs, clip norm 1' j.out || { cat j.out; fail ":show of a train with a schedule"; }

# mlxc repl FILE loads it first; a file that does not check: exit 1 at the end
printf 'cand.test.auc\n' | "$MLXC" repl train.mlx > d.out 2> d.err
[ $? -eq 1 ] && grep -q "'cand' has no metrics yet" d.err || { cat d.out d.err; fail "repl FILE"; }
"$MLXC" repl a.txt b.txt > /dev/null 2>&1 < /dev/null
[ $? -eq 2 ] || fail "two files: not a usage error"
exit 0
