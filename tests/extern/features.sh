# features.sh — `extern fn`s called from features (a tiny library built
# here): refused without --allow-extern (check, run, and a trained model's
# predict/eval/serve: the model-file exit code); with it the spec trains
# from another directory (a "./lib" path is the spec's), and gives
# byte-identical `predict --json` output to the same spec written with
# equivalent fns and builtins (f64, f32, i32 with fractions and NaN
# arguments, i64; out-of-range ones: tests/xform_jit.c); a second predict hits the kernel cache and
# predicts the same; eval agrees; serve (the interpreter) answers as
# predict (the compiled transforms) does; a missing library or function
# is an error at the place; `mlxc build` refuses, and an executable it
# made refuses such a model.
. tests/serve/lib.inc
case $MLXC in /*) ;; *) MLXC=$PWD/$MLXC ;; esac
CSV=$PWD/examples/data/credit.csv
export MLXC_CACHE_DIR="$T/kc"
mkdir -p "$T/spec" "$T/elsewhere"
cat > "$T/spec/ext.c" <<'C'
double twice_plus(double x, double y) { return x * 2 + y; }
float quarter(float x) { return x * 0.25f; }
int trunc_i(int x) { return x; }
long long triple(long long x) { return x * 3; }
C
cc -shared -fPIC -o "$T/spec/libext.so" "$T/spec/ext.c" || fail "cannot build the test library"
cp "$CSV" "$T/spec/credit.csv"
# body T N W — the dataset and train blocks; T, N and W: the features that
# call the integer functions (extern, or the builtins equal to them here)
E250=$(seq -s, 1 250)
E20=$(seq -s, 1 20)
body() {
  cat <<SPEC
dataset loans {
  source csv("credit.csv")
  drop column id
  feature tp = standardize(twice_plus(income, age))
  feature q = quarter(history_years)
  feature t = $1
  feature n = $2
  feature w = $3
  feature * = standardize(*)
  label defaulted = { "N": 0, "Y": 1 }
  split train 70%, val 15%, test 15% seed 3
}
import "std/models"
train scorer {
  model logistic
  data loans
  optimizer sgd(lr = 0.1)
  epochs 3
  seed 7
}
SPEC
}
{
  cat <<'SPEC'
extern fn twice_plus(x: f64, y: f64) -> f64 from "./libext.so"
extern fn quarter(x: f32) -> f32 from "./libext.so"
extern fn trunc_i(x: i32) -> i32 from "./libext.so"
extern fn triple(x: i64) -> i64 from "./libext.so"
SPEC
  body "trunc_i(amount / 1000)" "max(trunc_i(log(amount - 20000)), 0)" \
       "standardize(triple(accounts - 0.5))"
} > "$T/spec/ext.mlx"
# the same with fns and builtins: the integer functions' arguments are
# below 250 and >= 0 (truncation: the count of whole numbers <= x), > -1
# (0 both ways) or NaN (the call's NaN, bucketize's 0: max(., 0) makes both 0)
{
  cat <<'SPEC'
fn twice_plus(x: float, y: float) -> float = x * 2 + y
fn quarter(x: float) -> float = x * 0.25
SPEC
  body "bucketize(amount / 1000, [$E250])" "max(bucketize(log(amount - 20000), [$E250]), 0)" \
       "standardize(bucketize(accounts - 0.5, [$E20]) * 3)"
} > "$T/spec/fn.mlx"
SPEC_DIR=$(cd "$T/spec" && pwd -P)   # as the model records it
cd "$T/elsewhere" || exit 1

# without the flag: an error at each call, at check too
expect_exit 1 "$MLXC" check ../spec/ext.mlx
grep -q "^../spec/ext.mlx:8:28: error: calling extern fn 'twice_plus' runs native code from './libext.so': refused without --allow-extern" "$T/out" ||
  { cat "$T/out"; fail "check's refusal"; }
[ "$(grep -c 'refused without --allow-extern' "$T/out")" -eq 5 ] || { cat "$T/out"; fail "five refusals"; }
expect_exit 1 "$MLXC" run ../spec/ext.mlx --out o
[ ! -e o ] || fail "run wrote outputs without the flag"

# with it: trains (the library found next to the spec, not here)
expect_exit 0 "$MLXC" run --allow-extern ../spec/ext.mlx --out oe
expect_exit 0 "$MLXC" run ../spec/fn.mlx --out of
expect_exit 0 "$MLXC" predict --allow-extern --json --verbose oe/scorer.mlxm ../spec/credit.csv
grep -q "kernel cache: miss" "$T/out" || { cat "$T/out"; fail "the first predict did not compile"; }
grep '^{' "$T/out" > pe.json
expect_exit 0 "$MLXC" predict --json of/scorer.mlxm ../spec/credit.csv
cp "$T/out" pf.json
[ "$(wc -l < pe.json)" -eq 4000 ] || fail "predict: $(wc -l < pe.json) rows"
cmp pe.json pf.json || fail "extern fns and their fn equivalents predict differently"
# a second process: the kernel cache's object, the extern calls linked again
expect_exit 0 "$MLXC" predict --allow-extern --json --verbose oe/scorer.mlxm ../spec/credit.csv
grep -q "kernel cache: hit" "$T/out" || { cat "$T/out"; fail "no kernel cache hit"; }
grep '^{' "$T/out" | cmp - pe.json || fail "the cached kernels predict differently"
expect_exit 0 "$MLXC" eval --allow-extern oe/scorer.mlxm ../spec/credit.csv
cp "$T/out" ee.json
expect_exit 0 "$MLXC" eval of/scorer.mlxm ../spec/credit.csv
cmp ee.json "$T/out" || fail "eval differs"

# the model without the flag: refused before any library is opened
for cmd in "predict oe/scorer.mlxm ../spec/credit.csv" "eval oe/scorer.mlxm ../spec/credit.csv" \
           "serve oe/scorer.mlxm --port 0"; do
  # shellcheck disable=SC2086
  expect_exit 4 "$MLXC" $cmd
  grep -q "^oe/scorer.mlxm: error: feature 'tp' calls extern fn 'twice_plus' from '$SPEC_DIR/libext.so': refused without --allow-extern" "$T/out" ||
    { cat "$T/out"; fail "$cmd: the refusal"; }
done
# serve computes a request's inputs with the interpreter: the same answers
csv_json ../spec/credit.csv > rows.json
start_server oe/scorer.mlxm --allow-extern
code=$(post "@rows.json")
[ "$code" = 200 ] || { head -c 500 "$T/resp"; fail "serve: status $code"; }
jq -c '.predictions[]' "$T/resp" | cmp - pe.json || fail "served predictions differ from predict --json"
stop_server
[ "$SRV_EXIT" -eq 0 ] || { cat "$T/serve.log"; fail "server exited $SRV_EXIT"; }

# the library moved away: the model says which and where
mv ../spec/libext.so ../spec/libext.so.away
expect_exit 4 "$MLXC" predict --allow-extern oe/scorer.mlxm ../spec/credit.csv
grep -q "^oe/scorer.mlxm: error: feature 'tp' calls extern fn 'twice_plus': cannot load library '$SPEC_DIR/libext.so'" "$T/out" ||
  { cat "$T/out"; fail "a missing library at load"; }
mv ../spec/libext.so.away ../spec/libext.so

# run from the spec's own directory the path resolves the same
(cd ../spec && "$MLXC" check --allow-extern ext.mlx > "$T/out" 2>&1) || { cat "$T/out"; fail "check from the spec's directory"; }

# a missing library or function: errors at the declaration's library
sed -e 's|"./libext.so"|"./nothere.so"|' -e '2,$s|"./nothere.so"|"./libext.so"|' ../spec/ext.mlx > ../spec/nolib.mlx
expect_exit 1 "$MLXC" check --allow-extern ../spec/nolib.mlx
grep -q "^../spec/nolib.mlx:1:50: error: cannot load library '$SPEC_DIR/nothere.so'" "$T/out" || { cat "$T/out"; fail "missing library"; }
grep -q "^../spec/nolib.mlx:8:28: note: called here" "$T/out" || { cat "$T/out"; fail "missing library's call"; }
sed -e 's|^extern fn quarter|extern fn quarterz|' -e 's|= quarter(|= quarterz(|' ../spec/ext.mlx > ../spec/nosym.mlx
expect_exit 1 "$MLXC" check --allow-extern ../spec/nosym.mlx
grep -q "^../spec/nosym.mlx:2:40: error: library '$SPEC_DIR/libext.so' has no function 'quarterz'" "$T/out" ||
  { cat "$T/out"; fail "missing function"; }

# mlxc build: not yet, with or without the flag
expect_exit 1 "$MLXC" build --allow-extern ../spec/ext.mlx scorer -o bin
grep -q "^../spec/ext.mlx:8:28: error: an executable made by 'mlxc build' cannot call extern fn 'twice_plus' yet" "$T/out" ||
  { cat "$T/out"; fail "build's refusal"; }
[ ! -e bin ] || fail "build wrote an executable"
# an executable (no --allow-extern) handed such a model refuses it
expect_exit 0 "$MLXC" build ../spec/fn.mlx scorer -o binf
expect_exit 4 ./binf predict --model oe/scorer.mlxm ../spec/credit.csv
grep -q "^oe/scorer.mlxm: error: feature 'tp' calls extern fn 'twice_plus' from '$SPEC_DIR/libext.so': refused without --allow-extern" "$T/out" ||
  { cat "$T/out"; fail "the executable's refusal"; }
exit 0
