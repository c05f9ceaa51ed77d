# grid.sh — search blocks run (grid.mlx): a 2 x 2 grid writes 4 trials to
# NAME.search.json, the winner is the best by the pick, re-training it gives
# the same val metric, and its .mlxm predicts; random(3) runs 3 distinct
# trials and is the same across two runs; `run FILE NAME` selects a search;
# no val rows is a data error (noval.mlx); a grid over 10000 is a spec error.
. tests/e2e/lib.inc
spec=tests/search/grid.mlx
expect_exit 0 $MLXC run $spec tune --out "$T/o"
s=$T/o/tune.search.json
[ -f "$T/o/base.mlxm" ] && fail "run FILE tune also ran train base"
[ "$(json $s '.trials | length')" = 4 ] || fail "expected 4 trials in $s"
[ "$(json $s .strategy)" = grid ] || fail "strategy is not grid"
[ "$(json $s '[.trials[].values | "\(.["optimizer.lr"]) \(.["model.hidden"])"] | join(",")')" = \
  "0.001 2,0.001 8,0.05 2,0.05 8" ] || fail "the grid is not lr x hidden in order"
best=$(json $s '[.trials[].val.auc] | max')
win=$(json $s '.winner["val.auc"]')
[ "$best" = "$win" ] || fail "winner val.auc $win is not the best $best"
wt=$(json $s .winner.trial)
[ "$(json $s ".trials[$wt - 1].val.auc")" = "$win" ] || fail "winner trial $wt has another auc"
# the re-trained winner reproduces its trial
got=$(json "$T/o/tune.metrics.json" .splits.val.auc)
awk -v a="$got" -v b="$win" 'BEGIN { d = a - b; exit !(d < 1e-6 && d > -1e-6) }' ||
  fail "re-trained val.auc $got != $win"
grep -q "^winner: trial $wt " "$T/out" || fail "no winner line"
grep -q "^  rank  trial" "$T/out" || fail "no table"
expect_exit 0 $MLXC predict "$T/o/tune.mlxm" tests/data/binary.csv
[ "$(wc -l < "$T/out")" = 201 ] || fail "predict gave $(wc -l < "$T/out") lines"
head -1 "$T/out" | grep -q '^prediction,p_Y$' || fail "predict header"
# random(3): three distinct trials, deterministic from the train's seed
expect_exit 0 $MLXC run $spec rnd --out "$T/r1"
expect_exit 0 $MLXC run $spec rnd --out "$T/r2"
cmp "$T/r1/rnd.search.json" "$T/r2/rnd.search.json" || fail "random(3) differs across runs"
[ "$(json $T/r1/rnd.search.json '.trials | length')" = 3 ] || fail "expected 3 random trials"
[ "$(json $T/r1/rnd.search.json '[.trials[].values | tostring] | unique | length')" = 3 ] ||
  fail "random trials repeat"
best=$(json $T/r1/rnd.search.json '[.trials[].val.loss] | min')
[ "$(json $T/r1/rnd.search.json '.winner["val.loss"]')" = "$best" ] || fail "rnd winner is not the min"
# a plain run runs the train and both searches
expect_exit 0 $MLXC run $spec --out "$T/all"
for f in base.mlxm tune.search.json tune.mlxm rnd.search.json rnd.metrics.json; do
  [ -f "$T/all/$f" ] || fail "run FILE did not write $f"
done
# no val rows: no trial has the picked metric (exit 4, at the search's name)
expect_exit 4 $MLXC run tests/search/noval.mlx s --out "$T/nv"
grep -q "noval.mlx:21:8: error: search 's': no trial has val.auc" "$T/out" || fail "noval message"
[ -f "$T/nv/s.search.json" ] && fail "noval wrote a search.json"
# a grid over 10000 combinations is a spec error at the search's name
v='[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]'
{ sed '/^search tune/,$d' $spec | sed "s|../data/binary.csv|$PWD/tests/data/binary.csv|"
  printf 'search big {\n  train base\n  vary epochs in %s\n  vary batch in %s\n' "$v" "$v"
  printf '  vary l1 in %s\n  vary model.hidden in %s\n' "$v" "$v"
  printf '  vary optimizer.lr in [0.1, 0.2]\n  pick max val.auc\n}\n'; } > "$T/big.mlx"
expect_exit 1 $MLXC check "$T/big.mlx"
grep -q "error: search 'big' has 20000 combinations, more than a grid may try (10000)" "$T/out" ||
  { cat "$T/out"; fail "big grid message"; }
exit 0
