# native.sh — `--cpu native` compiles one kernel set, the one the JIT uses on
# this host (MLXC_VECTOR_BITS at build time picks its width, as for the JIT),
# and agrees with `mlxc predict` byte for byte; the generic build holds two.
. tests/e2e/lib.inc
expect_exit 0 $MLXC run examples/sensors.mlx --out "$T/o"
m=$T/o/sensor_state.mlxm
csv=examples/data/sensors.csv
expect_exit 0 $MLXC build examples/sensors.mlx sensor_state -o "$T/gen" --model "$m"
expect_exit 0 "$T/gen" info
jq -e '.cpu == "generic" and ([.sets[].vector_bits] == [256, 512])' "$T/out" > /dev/null ||
  fail "generic sets: $(cat "$T/out")"
for bits in "" 256; do
  expect_exit 0 env MLXC_VECTOR_BITS=$bits $MLXC build examples/sensors.mlx sensor_state -o "$T/nat" \
    --model "$m" --cpu native
  expect_exit 0 env MLXC_VECTOR_BITS=$bits "$T/nat" info
  jq -e '.cpu == "native" and (.sets | length) == 1' "$T/out" > /dev/null ||
    fail "native sets: $(cat "$T/out")"
  expect_exit 0 env MLXC_VECTOR_BITS=$bits $MLXC predict "$m" "$csv"
  mv "$T/out" "$T/jit.csv"
  expect_exit 0 env MLXC_VECTOR_BITS=$bits "$T/nat" predict "$csv"
  cmp "$T/jit.csv" "$T/out" || fail "native (bits '${bits:-auto}') differs from mlxc predict"
done
exit 0
