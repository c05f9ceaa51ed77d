# threads.sh — `--threads N` splits a large training step between N threads
# (unfused kernels, the parts' gradients summed in part order, one update):
# the same thread count gives the same metrics and predictions twice, with
# dropout on; the model learns like the one-thread run (test accuracy within
# a point and a half); metrics.json records the count; a small model, or no
# --threads, stays on one thread.
. tests/e2e/lib.inc
data=$PWD/examples/data/credit.csv
cat > "$T/big.mlx" <<SPEC
$(credit_loans 3)
model wide {
  dense 256 relu
  dropout 0.1
  dense 128 relu
  dense 1 sigmoid
  loss bce
}
model small {
  dense 8 relu
  dense 1 sigmoid
  loss bce
}
train big {
  model wide
  data loans
  optimizer adam(lr = 1e-3)
  epochs 3
  batch 64
  seed 5
}
train tiny {
  model small
  data loans
  optimizer sgd(lr = 0.1)
  epochs 2
  batch 64
  seed 5
}
SPEC
run_twice() {   # DIR THREADS...
  d=$1; shift
  expect_exit 0 $MLXC run "$T/big.mlx" --out "$T/$d" "$@"
}
run_twice a --threads 2
run_twice b --threads 2
run_twice c --threads 1
run_twice e
for m in a b c e; do jq -S 'del(.timing, .predict)' "$T/$m/big.metrics.json" > "$T/m$m"; done
cmp -s "$T/ma" "$T/mb" || { diff "$T/ma" "$T/mb" | head; fail "--threads 2 twice: other metrics"; }
expect_exit 0 $MLXC predict "$T/a/big.mlxm" $data; cp "$T/out" "$T/pa"
expect_exit 0 $MLXC predict "$T/b/big.mlxm" $data; cp "$T/out" "$T/pb"
cmp -s "$T/pa" "$T/pb" || fail "--threads 2 twice: other predictions"
[ "$(json "$T/a/big.metrics.json" .threads)" = 2 ] || fail "metrics.json: threads is not 2"
[ "$(json "$T/c/big.metrics.json" .threads)" = 1 ] || fail "--threads 1: threads is not 1"
[ "$(json "$T/e/big.metrics.json" .threads)" = 1 ] || fail "no --threads: threads is not 1"
[ "$(json "$T/a/tiny.metrics.json" .threads)" = 1 ] || fail "a small step was split"
cmp -s "$T/mc" "$T/me" || fail "--threads 1 and no --threads differ"
cmp -s "$T/ma" "$T/mc" && fail "the split step gave exactly the one-thread metrics (not split?)"
a2=$(json "$T/a/big.metrics.json" .splits.test.accuracy)
a1=$(json "$T/c/big.metrics.json" .splits.test.accuracy)
echo "test accuracy: 2 threads $a2, 1 thread $a1"
at_least "$a2" "$(awk -v a="$a1" 'BEGIN { print a - 0.015 }')" || fail "2 threads learn worse: $a2 vs $a1"
exit 0
