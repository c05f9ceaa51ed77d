#!/bin/sh
# report_dir.sh — `run --report DIR/x.html` makes DIR (and its parents) as --out
# makes its directory; a report path under a regular file fails before training
# with exit 6 naming the report.
. tests/e2e/lib.inc
cat > "$T/s.mlx" <<SPEC
$(credit_loans 3)
model m {
  dense 1 sigmoid
  loss bce
}
train t {
  model m
  data loans
  optimizer sgd(lr = 0.1)
  epochs 1
  batch 64
  seed 1
}
SPEC
expect_exit 0 "$MLXC" run "$T/s.mlx" --out "$T/o" --report "$T/new/deeper/r.html"
[ -s "$T/new/deeper/r.html" ] || fail "no report in a directory run made"
[ -s "$T/o/t.mlxm" ] || fail "no model"
: > "$T/file"
expect_exit 6 "$MLXC" run "$T/s.mlx" --out "$T/o2" --report "$T/file/r.html"
grep -q "file/r.html: error: cannot write the report: Not a directory" "$T/out" || { cat "$T/out"; fail "no error naming the report"; }
[ ! -e "$T/o2" ] || fail "trained although the report cannot be written"
exit 0
