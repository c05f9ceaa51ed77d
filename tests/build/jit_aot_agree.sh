# jit_aot_agree.sh — JIT and AOT agree: for every train block of every
# example, `mlxc build --model` from `mlxc run`'s model gives a BIN whose
# predictions (CSV, and JSON lines with every float exact) and metrics
# equal `mlxc predict`'s and `mlxc eval`'s byte for byte, with the kernels
# this CPU picks and with the 256-bit ones (MLXC_VECTOR_BITS=256 for both). Then BIN train: its metrics equal mlxc
# run's (timing aside), and BIN predict --model on its model equals mlxc
# predict on it.
. tests/e2e/lib.inc
expect_exit 0 $MLXC run examples/credit.mlx --out "$T/o"
expect_exit 0 $MLXC run examples/housing.mlx --out "$T/o"
expect_exit 0 $MLXC run examples/sensors.mlx --out "$T/o"
for pair in credit:scorer_logistic credit:scorer_mlp housing:house_price sensors:sensor_state; do
  ex=${pair%%:*} tr=${pair#*:}
  csv=examples/data/$ex.csv
  m=$T/o/$tr.mlxm
  bin=$T/$tr
  expect_exit 0 $MLXC build examples/$ex.mlx "$tr" -o "$bin" --model "$m"
  # 512 only where this CPU runs the x86-64-v4 set (BIN refuses it elsewhere)
  widths="auto 256"
  [ "$("$bin" info | jq .selected.vector_bits)" = 512 ] && widths="auto 256 512"
  for w in $widths; do
    bits=$w
    [ "$w" = auto ] && bits=""

    expect_exit 0 env MLXC_VECTOR_BITS=$bits $MLXC predict "$m" "$csv"
    mv "$T/out" "$T/jit.csv"
    expect_exit 0 env MLXC_VECTOR_BITS=$bits "$bin" predict "$csv"
    cmp "$T/jit.csv" "$T/out" || fail "$tr (bits '${bits:-auto}'): BIN predict differs from mlxc predict"
    expect_exit 0 env MLXC_VECTOR_BITS=$bits "$bin" predict - < "$csv"
    cmp "$T/jit.csv" "$T/out" || fail "$tr: BIN predict - (stdin) differs"
    # JSON lines print every float exactly: the bits agree
    expect_exit 0 env MLXC_VECTOR_BITS=$bits $MLXC predict "$m" "$csv" --json
    mv "$T/out" "$T/jit.jsonl"
    expect_exit 0 env MLXC_VECTOR_BITS=$bits "$bin" predict "$csv" --json
    cmp "$T/jit.jsonl" "$T/out" || fail "$tr (bits '${bits:-auto}'): BIN predict --json differs"
    expect_exit 0 env MLXC_VECTOR_BITS=$bits $MLXC eval "$m" "$csv"
    mv "$T/out" "$T/jit.json"
    expect_exit 0 env MLXC_VECTOR_BITS=$bits "$bin" eval "$csv"
    cmp "$T/jit.json" "$T/out" || fail "$tr (bits '${bits:-auto}'): BIN eval differs from mlxc eval"
  done
  # BIN train writes what mlxc run wrote (timing and latency aside) ...
  expect_exit 0 "$bin" train "$csv" --out "$T/b"
  grep -q "wrote $T/b/$tr.mlxm" "$T/out" || fail "$tr: BIN train did not say what it wrote"
  for f in "$T/b/$tr.metrics.json" "$T/o/$tr.metrics.json"; do
    jq -S 'del(.timing, .predict, .gates)' "$f" > "$f.cmp"
  done
  cmp "$T/b/$tr.metrics.json.cmp" "$T/o/$tr.metrics.json.cmp" ||
    fail "$tr: BIN train's metrics differ from mlxc run's"
  # ... and its model predicts through BIN (interpreted transforms) as mlxc predict
  expect_exit 0 $MLXC predict "$T/b/$tr.mlxm" "$csv" --json
  mv "$T/out" "$T/jit.jsonl"
  expect_exit 0 "$bin" predict --model "$T/b/$tr.mlxm" "$csv" --json
  cmp "$T/jit.jsonl" "$T/out" || fail "$tr: BIN predict --model (BIN-trained) differs"
done
exit 0
