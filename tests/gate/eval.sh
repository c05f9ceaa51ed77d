#!/bin/sh
# eval.sh — `mlxc eval MODEL CSV` on every example: one JSON object with the
# task's metrics (metrics.json's names and order) and rows. Evaluated on the
# whole file a train read, its rows are the splits' rows together and each
# mean metric (loss, accuracy, mse, mae) is the rows-weighted mean of the
# splits' values in metrics.json. Usage and data errors exit 2 and 4.
. tests/e2e/lib.inc
# close A B — equal to 1e-7 relative
close() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b;
  exit !(d <= 1e-7 * (m > 1 ? m : 1)) }'; }
check() {   # check SPEC CSV MODEL METRIC...
  spec=$1 csv=$2 model=$3; shift 3
  expect_exit 0 $MLXC run "$spec" --out "$T/o"
  expect_exit 0 $MLXC eval "$T/o/$model.mlxm" "$csv"
  cp "$T/out" "$T/e.json"
  [ "$(wc -l < "$T/e.json")" = 1 ] || fail "$model: eval prints one line"
  j=$T/o/$model.metrics.json
  [ "$(jq -c 'keys_unsorted' "$T/e.json")" = "$(jq -c '.splits.test | del(.rows, .class_rows, .confusion) | keys_unsorted + ["rows"]' "$j")" ] ||
    fail "$model: eval's keys are not metrics.json's: $(jq -c keys_unsorted "$T/e.json")"
  [ "$(json "$T/e.json" .rows)" = "$(json "$j" '[.splits[].rows] | add')" ] || fail "$model: rows"
  for m in "$@"; do
    want=$(json "$j" "([.splits[] | select(.rows > 0) | .$m * .rows] | add) / ([.splits[].rows] | add)")
    got=$(json "$T/e.json" ".$m")
    close "$got" "$want" || fail "$model: eval $m $got, the splits' weighted mean $want"
  done
}
check examples/credit.mlx examples/data/credit.csv scorer_mlp loss accuracy
check examples/credit.mlx examples/data/credit.csv scorer_logistic loss accuracy
check examples/housing.mlx examples/data/housing.csv house_price loss mse mae
check examples/sensors.mlx examples/data/sensors.csv sensor_state loss accuracy
# reading stdin, the same numbers
$MLXC eval "$T/o/sensor_state.mlxm" - < examples/data/sensors.csv > "$T/stdin.json" || fail "eval -"
cmp -s "$T/stdin.json" "$T/e.json" || fail "eval - differs from eval FILE"
# errors: usage 2; a missing label column, a missing model 4
expect_exit 2 $MLXC eval "$T/o/sensor_state.mlxm"
expect_exit 2 $MLXC eval "$T/o/sensor_state.mlxm" a.csv b.csv
cut -d, -f1-3 examples/data/sensors.csv > "$T/nolabel.csv"
expect_exit 4 $MLXC eval "$T/o/sensor_state.mlxm" "$T/nolabel.csv"
grep -q "missing" "$T/out" || { cat "$T/out"; fail "no missing-column message"; }
expect_exit 4 $MLXC eval "$T/nope.mlxm" examples/data/sensors.csv
echo ok
