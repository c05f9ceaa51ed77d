# live.sh — on a terminal (script(1) gives run a pseudo-terminal) training
# draws a live line: epoch, bar, batch i/n, loss, the last epoch's val
# metric, rows/s and ETA, redrawn in place; the epoch lines stay. Through a
# pipe there is no live line.
. tests/e2e/lib.inc
command -v script > /dev/null || fail "script(1) is missing (Debian's bsdutils)"
awk 'BEGIN { srand(7); print "a,b,c,d,e,f,y";
  for (i = 0; i < 150000; i++) { s = 0; line = "";
    for (j = 0; j < 6; j++) { v = rand() * 2 - 1; s += v * (j + 1); line = line sprintf("%.4f,", v) }
    print line (s > 0 ? 1 : 0) } }' > "$T/big.csv"
cat > "$T/live.mlx" <<SPEC
dataset big {
  source csv("$T/big.csv")
  feature * = standardize(*)
  label y
  split train 80%, val 10%, test 10% seed 1
}
model m {
  dense 256 relu
  dense 128 relu
  dense 1 sigmoid
  loss bce
}
train live {
  model m
  data big
  optimizer adam(lr = 1e-3)
  epochs 2
  batch 64
  seed 1
}
SPEC
script -qec "$MLXC run $T/live.mlx --out $T/o" /dev/null > "$T/tty" 2>&1 || { tail -c 400 "$T/tty"; fail "run on a terminal failed"; }
tr '\r' '\n' < "$T/tty" > "$T/lines"
grep -aq 'epoch 1/2 \[[=> ]*\] batch [0-9]*/1875  loss [0-9.]*  [0-9.]*[kM]* rows/s  ETA 0:[0-9][0-9]:[0-9][0-9]' "$T/lines" ||
  { head -c 600 "$T/lines"; fail "no live line in epoch 1"; }
grep -aq 'epoch 2/2 \[.*\] batch [0-9]*/1875  loss [0-9.]*  val acc 0\.[0-9]*  ' "$T/lines" ||
  fail "epoch 2's live line lacks epoch 1's val accuracy"
grep -aq '^.*epoch 1/2  loss [0-9.]*  val loss [0-9.]*  val acc [0-9.]*  .* rows/s$' "$T/lines" ||
  fail "no epoch line"
expect_exit 0 $MLXC run "$T/live.mlx" --out "$T/o2"
grep -q 'batch' "$T/out" && fail "a live line through a pipe"
exit 0
