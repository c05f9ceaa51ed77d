# predict_csv_shape.sh — a model trained on a ';'-separated file without a header
# row predicts from files of the same shape: the .mlxm keeps the CSV options.
. tests/e2e/lib.inc
mkdir -p "$T/d"
awk 'NR > 1' tests/csv/semicolon.csv > "$T/d/rows.csv"
cat > "$T/d/spec.mlx" <<'SPEC'
dataset d {
  source csv("rows.csv", delimiter = ";", header = false)
  feature * = standardize(*)
  label col3
  split train 60%, val 20%, test 20% seed 1
}
model m {
  dense 1 sigmoid
  loss bce
}
train t {
  model m
  data d
}
SPEC
expect_exit 0 $MLXC run "$T/d/spec.mlx" --out "$T/o"
expect_exit 0 $MLXC predict "$T/o/t.mlxm" "$T/d/rows.csv"
[ "$(($(wc -l < "$T/out") - 1))" -eq 10 ] || { cat "$T/out"; fail "expected 10 predictions"; }
exit 0
