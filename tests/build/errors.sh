# errors.sh — `mlxc build` and a built executable refuse what they cannot do
# with DESIGN.md's exit codes and a message naming the problem; never a crash.
. tests/e2e/lib.inc
B=$T/credit
# mlxc build: usage (2), spec (1), model file (4), environment (6)
expect_exit 2 $MLXC build examples/credit.mlx scorer_mlp
grep -q "needs -o BIN" "$T/out" || fail "no -o: $(cat "$T/out")"
expect_exit 2 $MLXC build examples/credit.mlx -o "$B"
expect_exit 2 $MLXC build examples/credit.mlx nope -o "$B"
grep -q "no train block named 'nope'" "$T/out" || fail "unknown train: $(cat "$T/out")"
expect_exit 2 $MLXC build examples/credit.mlx scorer_mlp -o "$B" --cpu avx
expect_exit 2 $MLXC run examples/credit.mlx --model x.mlxm
expect_exit 2 $MLXC predict x.mlxm --cpu native
printf 'model m {\n  dense 1 sigmoid\n  loss bce\n' > "$T/bad.mlx"
expect_exit 1 $MLXC build "$T/bad.mlx" t -o "$B"
# not supported yet: spec files imported (std/ is fine), cv
printf 'const K = 1\n' > "$T/lib.mlx"
{ echo 'import "lib.mlx"'; echo 'import "std/gates"'; credit_loans 3; cat <<'SPEC'
model m {
  dense 1 sigmoid
  loss bce
}
train t {
  model m
  data loans
}
SPEC
} > "$T/imp.mlx"
expect_exit 1 $MLXC build "$T/imp.mlx" t -o "$B"
grep -q "imp.mlx:1:1: error: 'import' of a spec file is not supported yet" "$T/out" || fail "import: $(cat "$T/out")"
sed '1d' "$T/imp.mlx" > "$T/std.mlx"
expect_exit 0 $MLXC build "$T/std.mlx" t -o "$T/std"
sed '1d; s/^  split train.*/&\n  cv 3/' "$T/imp.mlx" > "$T/cv.mlx"
expect_exit 1 $MLXC build "$T/cv.mlx" t -o "$B"
grep -q "'cv' is not supported yet by 'mlxc build'" "$T/out" || fail "cv: $(cat "$T/out")"
printf 'not a model' > "$T/junk.mlxm"
expect_exit 4 $MLXC build examples/credit.mlx scorer_mlp -o "$B" --model "$T/junk.mlxm"
grep -q "junk.mlxm" "$T/out" || fail "corrupt --model not named"
expect_exit 0 $MLXC run examples/housing.mlx --out "$T/o"
expect_exit 4 $MLXC build examples/credit.mlx scorer_mlp -o "$B" --model "$T/o/house_price.mlxm"
grep -q "does not come from train 'scorer_mlp'" "$T/out" || fail "foreign --model: $(cat "$T/out")"
expect_exit 6 env MLXC_CC=/nonexistent/cc $MLXC build examples/credit.mlx scorer_mlp -o "$B"
grep -q "C compiler driver" "$T/out" || fail "no cc: $(cat "$T/out")"
expect_exit 6 env MLXC_RUNTIME=/nonexistent/libmlxrt.a $MLXC build examples/credit.mlx scorer_mlp -o "$B"
grep -q "runtime archive" "$T/out" || fail "no runtime: $(cat "$T/out")"
[ -e "$B" ] && fail "a failed build left $B"
# the executable, built without a model
expect_exit 0 $MLXC build examples/credit.mlx scorer_mlp -o "$B"
expect_exit 2 "$B"
expect_exit 2 "$B" frobnicate
expect_exit 2 "$B" train
expect_exit 2 "$B" train a.csv b.csv
expect_exit 2 "$B" train examples/data/credit.csv --model x.mlxm
expect_exit 2 "$B" predict --port 9 examples/data/credit.csv
expect_exit 2 "$B" predict --out d examples/data/credit.csv
expect_exit 2 "$B" serve --port 70000
expect_exit 2 "$B" --frob
# serve --release: the spec declares no release (usage, before any data is read)
expect_exit 2 "$B" serve --release roll
grep -q "no release block named 'roll' (the embedded spec declares none)" "$T/out" ||
  fail "no release: $(cat "$T/out")"
expect_exit 2 "$B" predict --release roll
expect_exit 2 "$B" serve --store x.db
for c in "predict examples/data/credit.csv" "eval examples/data/credit.csv" serve; do
  expect_exit 2 "$B" $c
  grep -q "built without --model" "$T/out" || fail "$c without a model: $(cat "$T/out")"
done
expect_exit 0 "$B" info
jq -e '.embedded_model == null' "$T/out" > /dev/null || fail "info without a model"
# train: data of another width, a missing file, a CSV lacking a column
cut -d, -f1-3,5- examples/data/credit.csv > "$T/narrow.csv"
expect_exit 4 "$B" train "$T/narrow.csv" --out "$T/b"
grep -q "compiled for 6 inputs" "$T/out" || fail "narrow data: $(cat "$T/out")"
expect_exit 4 "$B" train "$T/missing.csv" --out "$T/b"
grep -q "missing.csv" "$T/out" || fail "missing data not named"
# predict with models that do not fit, are corrupt or lack columns
expect_exit 4 "$B" predict --model "$T/o/house_price.mlxm" examples/data/credit.csv
grep -q "does not fit" "$T/out" || fail "foreign model: $(cat "$T/out")"
expect_exit 4 "$B" predict --model "$T/junk.mlxm" examples/data/credit.csv
expect_exit 4 "$B" eval --model "$T/junk.mlxm" examples/data/credit.csv
expect_exit 0 "$B" train examples/data/credit.csv --out "$T/b"
cut -d, -f1,2,4- examples/data/credit.csv > "$T/noincome.csv"
expect_exit 4 "$B" predict --model "$T/b/scorer_mlp.mlxm" "$T/noincome.csv"
grep -q income "$T/out" || fail "missing column not named"
expect_exit 4 "$B" eval --model "$T/b/scorer_mlp.mlxm" "$T/missing.csv"
exit 0
