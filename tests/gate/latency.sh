#!/bin/sh
# latency.sh — predict.p50|p90|p99: measured for every train (metrics.json
# "predict", microseconds, ordered), compared as durations in a gate (a
# generous bound: never a tight timing); a search's re-trained winner checks
# its train's gate; --report shows each clause; a failed gate still writes
# the page and exits 3 after the other blocks ran; a search whose gate lacks
# its baseline stops before the trials.
. tests/e2e/lib.inc
cat > "$T/lat.mlx" <<SPEC
import "std/gates"
$(credit_loans 3)
model logistic {
  dense 1 sigmoid
  loss bce
}
model net(hidden: int = 4) {
  dense hidden relu
  dense 1 sigmoid
  loss bce
}
gate fast {
  predict.p99 < 1s
  predict.p50 <= predict.p99
  predict.p90 < 2 * 500ms
}
train plain {
  model logistic
  data loans
  epochs 1
}
train gated {
  model logistic
  data loans
  epochs 1
  gate fast
}
train base {
  model net(hidden = 4)
  data loans
  optimizer adam(lr = 0.01)
  epochs 4
  gate binary_sane
}
search tune {
  train base
  vary model.hidden in [2, 4]
  pick max val.auc
}
SPEC
expect_exit 0 $MLXC run "$T/lat.mlx" --out "$T/o" --report "$T/r.html"
for n in plain gated base tune; do
  j=$T/o/$n.metrics.json
  [ "$(json "$j" '.predict.p50_us > 0 and .predict.p50_us <= .predict.p90_us and .predict.p90_us <= .predict.p99_us')" = true ] ||
    fail "$n: predict latency $(jq -c .predict "$j")"
done
[ "$(json "$T/o/plain.metrics.json" '.gates')" = "[]" ] || fail "plain has no gates"
g=$T/o/gated.metrics.json
[ "$(json "$g" '[.gates[] | .unit] | unique | join(",")')" = us ] || fail "duration units"
[ "$(json "$g" '.gates[0].threshold')" = 1000000 ] || fail "1s is 1000000 us"
[ "$(json "$g" '.gates[2].threshold')" = 1000000 ] || fail "2 * 500ms is 1000000 us"
[ "$(json "$g" '.gates[0].value == .predict.p99_us')" = true ] || fail "predict.p99 is metrics.json's"
grep -q "^gate fast: passed  predict.p99 < 1s  (" "$T/out" || fail "no clause line"
# the winner of the search is checked against binary_sane
[ "$(json "$T/o/tune.metrics.json" '[.gates[].name] | join(",")')" = "binary_sane,binary_sane" ] ||
  fail "the search winner's gates"
grep -c "^gate binary_sane: passed" "$T/out" | grep -q '^4$' || fail "binary_sane lines: base and tune"
# the page: a row per clause, with its result
grep -q '<tr class="gate-passed"><td>fast</td><td style="text-align:left"><code>predict.p99 &lt; 1s</code>' "$T/r.html" ||
  fail "no gate row in the report"
grep -q 'train plain names no gate' "$T/r.html" || fail "plain's gates section"
# a failing gate: exit 3 after every block ran, both files and the page written
sed 's/predict.p99 < 1s/predict.p99 < 0us/' "$T/lat.mlx" > "$T/slow.mlx"
rm -rf "$T/o"
expect_exit 3 $MLXC run "$T/slow.mlx" --out "$T/o" --report "$T/r2.html"
[ -f "$T/o/tune.mlxm" ] || fail "the blocks after a failed gate did not run"
[ "$(json "$T/o/gated.metrics.json" '.gates[0].passed')" = false ] || fail "failed clause"
grep -q 'gate-failed' "$T/r2.html" || fail "the page shows the failure"
grep -q "slow.mlx:20:3: error: gate 'fast' failed: predict.p99 < 0us" "$T/out" || { cat "$T/out"; fail "diagnostic"; }
# a search whose train's gate has no baseline file stops before its trials
sed -e 's/^  predict.p99 < 1s/  baseline "nope.mlxm"\n  predict.p99 < baseline.predict.p99/' \
  -e 's/gate binary_sane/gate fast/' "$T/lat.mlx" > "$T/nob.mlx"
expect_exit 4 $MLXC run "$T/nob.mlx" tune --out "$T/o3"
grep -q "error: baseline model '$T/nope.mlxm' does not exist" "$T/out" || { cat "$T/out"; fail "no error"; }
grep -q "^trial" "$T/out" && fail "trials ran before the missing baseline was found"
echo ok
