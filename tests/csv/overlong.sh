#!/bin/sh
# overlong.sh — a record longer than 64 MiB (here a quote never closed, and a
# bare 65 MiB field) is refused at its start, exit 4, instead of growing the
# reader's buffer without bound.
. tests/e2e/lib.inc
MLXC=${MLXC:-build/mlxc}
cat > "$T/s.mlx" <<SPEC
dataset d {
  source csv("big.csv")
  feature * = standardize(*)
  label y = { "N": 0, "Y": 1 }
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
  epochs 1
  batch 2
  seed 1
}
SPEC
{ printf 'a,y\n1,N\n2,"'; head -c 68157440 /dev/zero | tr '\0' a; printf '\n3,Y\n'; } > "$T/big.csv"
expect_exit 4 "$MLXC" run "$T/s.mlx" --out "$T/o"
grep -q "big.csv:3:3: error: record longer than 64 MiB: this quoted field is never closed" "$T/out" ||
  { head -c 2000 "$T/out"; fail "quoted"; }
{ printf 'a,y\n1,N\n'; head -c 68157440 /dev/zero | tr '\0' 7; printf ',Y\n'; } > "$T/big.csv"
expect_exit 4 "$MLXC" run "$T/s.mlx" --out "$T/o"
grep -q "big.csv:3:1: error: record longer than 64 MiB$" "$T/out" || { head -c 2000 "$T/out"; fail "bare"; }
echo ok
