# ranges.sh — random searches over ranges (ranges.mlx): loguniform draws lie in
# range and spread over the decades, uniform and range(LO, HI) draws too, all
# recorded as numbers and the same on every run; `budget N trials` keeps the
# first N trials (random or grid); `budget DURATION` stops starting trials;
# --threads 1, 2 and 4 print the same lines and write the same search.json; a
# uniform model parameter builds a model per trial.
. tests/e2e/lib.inc
spec=tests/search/ranges.mlx
expect_exit 0 $MLXC run $spec logs --out "$T/a" --threads 1
sed "s|$T/a|OUT|g" "$T/out" > "$T/out1"
s=$T/a/logs.search.json
[ "$(json $s '.trials | length')" = 24 ] || fail "expected 24 trials"
[ "$(json $s .strategy)" = random ] || fail "strategy is not random"
[ "$(json $s '[.trials[].values[] | type] | unique | join(",")')" = number ] ||
  fail "drawn values are not all numbers"
[ "$(json $s '[.trials[].values["optimizer.lr"] | select(. < 1e-4 or . > 1e-1)] | length')" = 0 ] ||
  fail "an lr lies outside [1e-4, 1e-1]"
[ "$(json $s '[.trials[].values.l2 | select(. < 0 or . > 1e-3)] | length')" = 0 ] ||
  fail "an l2 lies outside [0, 1e-3]"
[ "$(json $s '[.trials[].values["model.hidden"] | select(. < 2 or . > 5 or . != floor)] | length')" = 0 ] ||
  fail "a hidden size is not a whole number in [2, 5]"
# log-spread: each decade holds some draws (a uniform draw would put about
# 90% of them in the top decade and almost none below 1e-3)
for d in "1e-4 1e-3" "1e-3 1e-2" "1e-2 1e-1"; do
  set -- $d
  k=$(json $s "[.trials[].values[\"optimizer.lr\"] | select(. >= $1 and . < $2)] | length")
  [ "$k" -ge 4 ] || fail "only $k of 24 lr draws in [$1, $2)"
done
[ "$(json $s '[.trials[].values["model.hidden"]] | unique | length')" -ge 3 ] ||
  fail "range(2, 5) drew fewer than 3 sizes"
grep -q "^trial 1/24: optimizer.lr = " "$T/out" || fail "no trial line"
# the printed value (6 significant digits) is the one recorded
v=$(json $s '.trials[0].values["optimizer.lr"]')
grep "^trial 1/24: optimizer.lr = " "$T/out" | head -1 |
  awk -v v="$v" '{ sub(",", "", $5); d = $5 - v; exit !(d < 1e-12 && d > -1e-12) }' ||
  fail "trial 1 prints another lr than $v"
# the same draws and results on every run, whatever the thread count
for n in 2 4; do
  expect_exit 0 $MLXC run $spec logs --out "$T/t$n" --threads $n
  cmp "$s" "$T/t$n/logs.search.json" || fail "--threads $n wrote another search.json"
  sed "s|$T/t$n|OUT|g" "$T/out" > "$T/out$n"
  cmp "$T/out1" "$T/out$n" || { diff "$T/out1" "$T/out$n" | head; fail "--threads $n printed other lines"; }
  [ "$(jq -cS .splits "$T/a/logs.metrics.json")" = "$(jq -cS .splits "$T/t$n/logs.metrics.json")" ] ||
    fail "--threads $n re-trained another winner"
done
expect_exit 0 $MLXC run $spec logs --out "$T/b"
cmp "$s" "$T/b/logs.search.json" || fail "the default thread count wrote another search.json"
# budget 3 trials: the first 3 of random(10), the first 3 of the grid
expect_exit 0 $MLXC run $spec capped grid_capped --out "$T/c" --threads 2
[ "$(json $T/c/capped.search.json '.trials | length')" = 3 ] || fail "budget 3 trials ran $(json $T/c/capped.search.json '.trials | length')"
[ "$(json $T/c/capped.search.json '.budget.trials')" = 3 ] || fail "budget.trials"
g=$T/c/grid_capped.search.json
[ "$(json $g '[.trials[].values | "\(.["optimizer.lr"]) \(.epochs)"] | join(",")')" = \
  "0.001 1,0.001 2,0.01 1" ] || fail "budget 3 trials is not the first 3 of the grid"
grep -q "^search capped: 3 trials" "$T/out" || fail "capped header"
# budget 1us: the first trial runs, then the budget has run out
expect_exit 0 $MLXC run $spec timed --out "$T/d" --threads 1
grep -q "^budget: the time budget (1us) ran out; 1 of 10 trials ran$" "$T/out" ||
  { cat "$T/out"; fail "no budget line"; }
[ "$(json $T/d/timed.search.json '.trials | length')" = 1 ] || fail "timed ran more than 1 trial"
[ "$(json $T/d/timed.search.json '.budget.stopped')" = true ] || fail "budget.stopped"
[ -f "$T/d/timed.mlxm" ] || fail "timed wrote no winner"
# both draw loguniform(1e-4, 1e-1) from the same seed: capped's first trial is timed's
[ "$(json $T/c/capped.search.json '.trials[0].values["optimizer.lr"]')" = \
  "$(json $T/d/timed.search.json '.trials[0].values["optimizer.lr"]')" ] ||
  fail "budget 3 trials changed the draws"
# range(LO, HI) only: the whole grid of 3 x 2 whole numbers when N covers it
expect_exit 0 $MLXC run $spec ints --out "$T/e"
[ "$(json $T/e/ints.search.json '[.trials[].values | "\(.["model.hidden"])/\(.epochs)"] | join(",")')" = \
  "2/1,2/2,3/1,3/2,4/1,4/2" ] || fail "ints is not the whole grid"
# a uniform model parameter: a model per trial, built with the drawn value
expect_exit 0 $MLXC run $spec drops --out "$T/f" --threads 2
g=$T/f/drops.search.json
[ "$(json $g '[.trials[].values["model.p"] | select(. < 0.05 or . > 0.5)] | length')" = 0 ] ||
  fail "a dropout rate lies outside [0.05, 0.5]"
[ "$(json $g '[.trials[].values["model.p"]] | unique | length')" = 6 ] || fail "drops repeat"
[ "$(json $g '[.trials[].val.loss] | unique | length')" = 6 ] ||
  fail "the drawn dropout rates did not change training"
expect_exit 0 $MLXC run $spec drops --out "$T/f1" --threads 1
cmp "$g" "$T/f1/drops.search.json" || fail "drops differs between --threads 1 and 2"
# a diverging trial (lr 9.5e90: NaN scores) has no auc and does not hang
expect_exit 0 timeout 60 $MLXC run $spec wild --out "$T/w"
grep -q "^trial 1/2: val.auc -$" "$T/out" || fail "the diverged trial has an auc"
# --threads needs a number from 1 to 1024
expect_exit 2 $MLXC run $spec ints --threads 0
grep -q "needs a number of threads" "$T/out" || fail "--threads 0 message"
expect_exit 2 $MLXC run $spec ints --threads
exit 0
