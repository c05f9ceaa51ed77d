# standalone.sh — a built executable runs with the compiler out of reach:
# ldd names no LLVM library, and copied to a directory of its own it trains,
# predicts, evaluates and describes itself with PATH and LD_LIBRARY_PATH
# reaching neither mlxc nor LLVM (nor the build directory's runtime archive);
# as root, also with LLVM's shared library hidden by a mount namespace.
. tests/e2e/lib.inc
case $MLXC in /*) ;; *) MLXC=$PWD/$MLXC ;; esac   # the test changes directory
expect_exit 0 $MLXC run examples/housing.mlx --out "$T/o"
expect_exit 0 $MLXC build examples/housing.mlx house_price -o "$T/bin/house" --model "$T/o/house_price.mlxm"
ldd "$T/bin/house" > "$T/ldd" 2>&1 || fail "ldd failed: $(cat "$T/ldd")"
grep -qi llvm "$T/ldd" && fail "the executable links LLVM: $(cat "$T/ldd")"
readelf -d "$T/bin/house" | grep NEEDED > "$T/needed"
grep -qi -e llvm -e jansson "$T/needed" && fail "unexpected NEEDED: $(cat "$T/needed")"
mkdir -p "$T/far/data"
cp "$T/bin/house" "$T/far/house"
cp examples/data/housing.csv "$T/far/data/h.csv"
$MLXC predict "$T/o/house_price.mlxm" examples/data/housing.csv > "$T/jit.csv" || fail "mlxc predict"
cd "$T/far"
run() { env -i PATH=/nonexistent LD_LIBRARY_PATH= HOME=/nonexistent "$@"; }
expect_exit 0 run ./house info
jq -e '.train == "house_price" and .task == "regression" and (.inputs | length) > 0 and
       .embedded_model.splits.test.rmse > 0 and (.selected.vector_bits == 256 or .selected.vector_bits == 512)' \
  "$T/out" > /dev/null || fail "info: $(cat "$T/out")"
expect_exit 0 run ./house predict data/h.csv
cmp "$T/out" "$T/jit.csv" || fail "predict without the compiler differs from mlxc predict"
expect_exit 0 run ./house eval data/h.csv
jq -e '.rows > 0 and .rmse > 0' "$T/out" > /dev/null || fail "eval: $(cat "$T/out")"
expect_exit 0 run ./house train data/h.csv --out trained
[ -s trained/house_price.mlxm ] && [ -s trained/house_price.metrics.json ] || fail "train wrote nothing"
expect_exit 0 run ./house predict --model trained/house_price.mlxm data/h.csv
expect_exit 0 run ./house --help
grep -q "train DATA.csv" "$T/out" || fail "--help"
# where a mount namespace may be made (root), LLVM's library is hidden for
# real: mlxc cannot start there, the executable still predicts
llvm=$(ldd "$MLXC" | grep -o '/[^ ]*libLLVM[^ ]*' | head -1)
if [ -n "$llvm" ] && unshare -m true 2>/dev/null; then
  unshare -m sh -c 'mount --bind /dev/null "$(readlink -f "$1")" || exit 9
    "$2" --version > /dev/null 2>&1 && exit 8
    exec ./house predict data/h.csv' sh "$llvm" "$MLXC" > "$T/out" 2>&1
  rc=$?
  [ $rc -eq 8 ] && fail "LLVM was not hidden"
  [ $rc -eq 9 ] && { echo "note: cannot bind-mount here; LLVM not hidden"; exit 0; }
  [ $rc -eq 0 ] || fail "predict with LLVM hidden exited $rc: $(cat "$T/out")"
  cmp "$T/out" "$T/jit.csv" || fail "predict with LLVM hidden differs"
else
  echo "note: no mount namespace here; LLVM not hidden (ldd and PATH checks only)"
fi
exit 0
