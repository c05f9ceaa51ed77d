#!/bin/sh
# baseline.sh — gates that compare with a baseline model trained here:
# baseline.test.auc re-evaluates the baseline on this run's test rows (same
# data and split: exactly the baseline's own test auc), through its own
# frozen preprocessing (the baseline's spec reads the columns differently),
# --baseline overrides the gate's path, a corrupt baseline or a column the
# data lacks is exit 4, a dataset that drops rows still gives the baseline
# this run's records, and metrics.json holds every clause.
. tests/e2e/lib.inc
M=$MLXC
D=$PWD/examples/data/credit.csv

# the baseline: its own features (log1p of amount), same split
cat > $T/base.mlx <<SPEC
dataset loans {
  source csv("$D")
  drop column id
  feature amount = standardize(log1p(amount))
  feature * = minmax(*)
  label defaulted = { "N": 0, "Y": 1 }
  split train 70%, val 15%, test 15% seed 3
}
model logistic {
  dense 1 sigmoid
  loss bce
}
train base {
  model logistic
  data loans
  epochs 2
}
SPEC
expect_exit 0 "$M" run $T/base.mlx --out $T/models
b_auc=$(json $T/models/base.metrics.json .splits.test.auc)
b_val=$(json $T/models/base.metrics.json .splits.val.loss)

cat > $T/cand.mlx <<SPEC
dataset loans {
  source csv("$D")
  drop column id
  feature * = standardize(*)
  label defaulted = { "N": 0, "Y": 1 }
  split train 70%, val 15%, test 15% seed 3
}
model mlp {
  dense 8 relu
  dense 1 sigmoid
  loss bce
}
gate ship {
  baseline "models/base.mlxm"
  baseline.test.auc <= 1
  baseline.val.loss > 0
  test.auc >= baseline.test.auc - 0.5
  predict.p99 < baseline.predict.p99 + 1s
  baseline.predict.p50 > 0us
}
train cand {
  model mlp
  data loans
  epochs 3
  gate ship
}
SPEC
expect_exit 0 "$M" run $T/cand.mlx --out $T/o
grep -q "gate ship: passed  test.auc >= baseline.test.auc - 0.5" "$T/out" || { cat "$T/out"; fail "no passed line"; }
j=$T/o/cand.metrics.json
[ "$(json $j '.gates | length')" = 5 ] || fail "expected 5 gate clauses"
[ "$(json $j '.gates[0].value')" = "$b_auc" ] || fail "baseline.test.auc $(json $j '.gates[0].value') != the baseline's own $b_auc"
[ "$(json $j '.gates[1].value')" = "$b_val" ] || fail "baseline.val.loss $(json $j '.gates[1].value') != $b_val"
[ "$(json $j '.gates[2].value')" = "$(json $j .splits.test.auc)" ] || fail "test.auc is not this run's"
at_least "$(json $j '.gates[2].threshold')" "$(awk -v a="$b_auc" 'BEGIN { printf "%.12f", a - 0.5 - 1e-9 }')" || fail "threshold"
[ "$(json $j '.gates[3].unit')" = us ] || fail "a duration clause has unit us"
[ "$(json $j '[.gates[].passed] | all')" = true ] || fail "every clause passes"
[ "$(json $j '.predict.p50_us > 0 and .predict.p99_us >= .predict.p50_us')" = true ] || fail "predict latency"

# a stricter gate fails with exit 3, the files still written
sed 's/test.auc >= baseline.test.auc - 0.5/test.auc >= baseline.test.auc + 0.5/' $T/cand.mlx > $T/strict.mlx
rm -f $T/o/cand.metrics.json
expect_exit 3 "$M" run $T/strict.mlx --out $T/o
grep -q "strict.mlx:17:3: error: gate 'ship' failed: test.auc >= baseline.test.auc + 0.5" "$T/out" || { cat "$T/out"; fail "no diagnostic"; }
[ "$(json $T/o/cand.metrics.json '.gates[2].passed')" = false ] || fail "metrics.json records the failure"
[ -f $T/o/cand.mlxm ] || fail "the model is written"

# --baseline replaces the path: a model trained on another split seed
sed 's/seed 3/seed 5/' $T/base.mlx > $T/base5.mlx
expect_exit 0 "$M" run $T/base5.mlx --out $T/other
expect_exit 0 "$M" run $T/cand.mlx --out $T/o --baseline $T/other/base.mlxm
o_auc=$(json $T/o/cand.metrics.json '.gates[0].value')
[ "$o_auc" != "$(json $T/other/base.metrics.json .splits.test.auc)" ] || fail "--baseline: evaluated on its own split, not this run's"
# ... and that value is what `mlxc eval` gives on this run's test rows? (checked
# through the identical baseline: same value as the gate's path gives)
expect_exit 0 "$M" run $T/cand.mlx --out $T/o --baseline $T/models/base.mlxm
[ "$(json $T/o/cand.metrics.json '.gates[0].value')" = "$b_auc" ] || fail "--baseline with the same model"

# a missing --baseline file: exit 4 naming it; a corrupt one: exit 4
expect_exit 4 "$M" run $T/cand.mlx --out $T/o --baseline $T/nope.mlxm
grep -q "baseline model '$T/nope.mlxm' does not exist" "$T/out" || { cat "$T/out"; fail "missing"; }
printf 'garbage' > $T/bad.mlxm
expect_exit 4 "$M" run $T/cand.mlx --out $T/o --baseline $T/bad.mlxm
grep -q "gate 'ship' compares with this baseline" "$T/out" || { cat "$T/out"; fail "corrupt"; }
# a baseline reading a column this run's data lacks: exit 4 naming it
awk -F, 'BEGIN { OFS = "," } { print $0, (NR == 1 ? "extra" : NR % 7) }' "$D" > $T/wide.csv
sed -e "s|$D|$T/wide.csv|" -e 's/drop column id/drop column id\n  feature extra = extra/' $T/base.mlx > $T/wide.mlx
expect_exit 0 "$M" run $T/wide.mlx --out $T/wide
expect_exit 4 "$M" run $T/cand.mlx --out $T/o --baseline $T/wide/base.mlxm
grep -q "missing column 'extra': the model's feature 'extra' reads it" "$T/out" || { cat "$T/out"; fail "missing column"; }
# a dataset that drops rows (duplicates, drop_row, bad rows skipped): the
# baseline still sees exactly this run's split records (its own test auc
# again, the data and split being the same)
awk -F, 'BEGIN { OFS = "," } NR > 1 && NR % 50 == 0 { $3 = "" } { print } NR % 97 == 0 { print }
  NR == 30 { print "x,y" }' "$D" > $T/messy.csv
cat > $T/mbase.mlx <<SPEC
dataset loans {
  source csv("$T/messy.csv")
  drop duplicates
  on_bad_row skip
  missing income = drop_row
  drop column id
  feature * = standardize(*)
  label defaulted = { "N": 0, "Y": 1 }
  split train 70%, val 15%, test 15% seed 4 stratify
}
model logistic {
  dense 1 sigmoid
  loss bce
}
train mbase {
  model logistic
  data loans
  epochs 2
}
SPEC
expect_exit 0 "$M" run $T/mbase.mlx --out $T/mb
[ "$(json $T/mb/mbase.metrics.json .rows.dropped)" -gt 50 ] || fail "messy.csv: rows dropped"
sed -e 's/^train mbase {/gate g {\n  baseline "mb\/mbase.mlxm"\n  baseline.test.auc <= 1\n  baseline.val.loss > 0\n}\ntrain mcand {/' \
  -e 's/^  epochs 2/  epochs 3\n  gate g/' $T/mbase.mlx > $T/mcand.mlx
mkdir $T/tmp
TMPDIR=$T/tmp expect_exit 0 "$M" run $T/mcand.mlx --out $T/mc
[ "$(json $T/mc/mcand.metrics.json '.gates[0].value')" = "$(json $T/mb/mbase.metrics.json .splits.test.auc)" ] ||
  fail "dropped rows: baseline.test.auc is not the baseline's own"
[ "$(json $T/mc/mcand.metrics.json '.gates[1].value')" = "$(json $T/mb/mbase.metrics.json .splits.val.loss)" ] ||
  fail "dropped rows: baseline.val.loss is not the baseline's own"
[ -z "$(ls $T/tmp)" ] || fail "a temporary CSV was left behind: $(ls $T/tmp)"
# a gate naming the train's own output: the first run skips (first_run
# pass), the second compares with the first run's model, read before the
# new one replaces it
sed -e 's|baseline "models/base.mlxm"|baseline "self/cand.mlxm"\n  first_run pass|' $T/cand.mlx > $T/self.mlx
expect_exit 0 "$M" run $T/self.mlx --out $T/self
[ "$(json $T/self/cand.metrics.json '.gates[0].passed')" = skipped ] || fail "first run: skipped"
first=$(json $T/self/cand.metrics.json .splits.test.auc)
expect_exit 0 "$M" run $T/self.mlx --out $T/self
[ "$(json $T/self/cand.metrics.json '.gates[0].value')" = "$first" ] || fail "second run: the first run's model"
expect_exit 4 "$M" run $T/self.mlx --out $T/o --baseline $T/nope.mlxm   # even with first_run pass
grep -q "compares with it (--baseline)" "$T/out" || { cat "$T/out"; fail "missing --baseline"; }
# a baseline of another task
expect_exit 0 "$M" run examples/housing.mlx --out $T/house
expect_exit 4 "$M" run $T/cand.mlx --out $T/o --baseline $T/house/house_price.mlxm
grep -q "is a regression model; this train is binary" "$T/out" || { cat "$T/out"; fail "task"; }
# --baseline is for run only
expect_exit 2 "$M" check $T/cand.mlx --baseline $T/bad.mlxm
echo ok
