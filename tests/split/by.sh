# by.sh — `split ... by id` through `mlxc run`: rows split by a hash of the
# id cell, so appending rows only ever adds to each split (tests/split_by.c
# checks row by row that no old row moves).
. tests/e2e/lib.inc
sed 's/ stratify$/ by id/' tests/split/strat.mlx > "$T/by.mlx"
cp tests/split/strat.csv "$T/strat.csv"
expect_exit 0 $MLXC run "$T/by.mlx" --out "$T/a"
rows() { jq -r '[.splits.train.rows, .splits.val.rows, .splits.test.rows] | @tsv' "$1/kinds_soft.metrics.json"; }
set -- $(rows "$T/a")
[ $(($1 + $2 + $3)) -eq 200 ] || fail "rows $*"
at_least "$1" 95 || fail "train has $1 of 200 rows for 60%"
# append 100 rows with new ids: no split may shrink
awk -F, 'NR > 1 && NR <= 101 { printf "v%s,%s,%s,%s\n", substr($1, 2), $2, $3, $4 }' \
  tests/split/strat.csv >> "$T/strat.csv"
expect_exit 0 $MLXC run "$T/by.mlx" --out "$T/b"
set -- $1 $2 $3 $(rows "$T/b")
[ $(($4 + $5 + $6)) -eq 300 ] || fail "rows after append $4 $5 $6"
[ "$4" -ge "$1" ] && [ "$5" -ge "$2" ] && [ "$6" -ge "$3" ] || fail "a split shrank: $1 $2 $3 -> $4 $5 $6"
exit 0
