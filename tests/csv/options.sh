#!/bin/sh
# options.sh — csv(...) options, column types and on_bad_row skip, run end to
# end: a tab-separated file with single quotes, no header row, a yes/no
# column read as 1/0, a declared number column, and bad rows skipped with a
# warning (count, first three reasons) and rows.bad in metrics.json.
. tests/e2e/lib.inc
MLXC=${MLXC:-build/mlxc}
tab=$(printf '\t')
# 40 rows: col1 number, col2 yes/no, col3 a quoted label; rows 5, 12, 20, 33
# are bad (ragged, or not a number in the declared column)
i=0
while [ $i -lt 40 ]; do
  x=$(( (i * 37) % 11 ))
  if [ $((i % 2)) -eq 0 ]; then b=yes; l=Y; else b=No; l=N; fi
  case $i in
    5) printf '%s\t%s\n' "$x" "$b" ;;
    12) printf 'x%s\t%s\t%s\n' "$x" "$b" "'$l'" ;;
    20) printf '%s\t%s\t%s\textra\n' "$x" "$b" "'$l'" ;;
    33) printf 'NaN?\t%s\t%s\n' "$b" "'$l'" ;;
    *) printf '%s.5\t%s\t%s\n' "$x" "$b" "'$l'" ;;
  esac
  i=$((i + 1))
done > "$T/data.tsv"
cat > "$T/opts.mlx" <<SPEC
dataset d {
  source csv("data.tsv", delimiter = "\t", quote = "'", header = false)
  column col1: number
  on_bad_row skip
  feature * = standardize(*)
  label col3 = { "N": 0, "Y": 1 }
  split train 60%, val 20%, test 20% seed 1
}

model m {
  dense 1 sigmoid
  loss bce
}

train t {
  model m
  data d
  optimizer sgd(lr = 0.1)
  epochs 2
  batch 4
  seed 1
}
SPEC
expect_exit 0 "$MLXC" run "$T/opts.mlx" --out "$T/out.d"
grep -q "warning: skipped 4 bad rows of 40 in '$T/data.tsv'" "$T/out" || { cat "$T/out"; fail "no skip warning"; }
grep -q "data.tsv:6:.*note: expected 3 fields, found 2" "$T/out" || { cat "$T/out"; fail "no ragged reason"; }
grep -q "data.tsv:13:1: note: expected a number in column 'col1', found 'x" "$T/out" || { cat "$T/out"; fail "no number reason"; }
grep -q "data.tsv:21:.*note: expected 3 fields, found 4" "$T/out" || { cat "$T/out"; fail "no third reason"; }
grep -q "note: and 1 more" "$T/out" || { cat "$T/out"; fail "no 'and 1 more'"; }
m="$T/out.d/t.metrics.json"
[ "$(json "$m" .rows.bad)" = 4 ] || fail "rows.bad is $(json "$m" .rows.bad), expected 4"
# col2 (yes/No) alone is a feature: read as 1/0
sed 's/^  on_bad_row skip$/  on_bad_row skip\n  drop column col1/' "$T/opts.mlx" > "$T/bool.mlx"
expect_exit 0 "$MLXC" run "$T/bool.mlx" --out "$T/out.b"
# the same file with on_bad_row fail (the default) stops at the first bad row, exit 4
sed '/on_bad_row skip/d' "$T/opts.mlx" > "$T/fail.mlx"
expect_exit 4 "$MLXC" run "$T/fail.mlx" --out "$T/out.f"
grep -q "data.tsv:6:.*error: expected 3 fields, found 2" "$T/out" || { cat "$T/out"; fail "fail mode"; }
# check accepts the options too (the header is col1..col3)
expect_exit 0 "$MLXC" check "$T/opts.mlx"
echo ok
