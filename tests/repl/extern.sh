# extern.sh — calling `extern fn`s at compile time (libffi): refused without
# --allow-extern, with an error saying why, in a spec's const and in the
# REPL; with the flag the call folds (f64, f32, i32, i64); a missing library
# or function, and an argument that does not fit its C type, are errors at
# the place.
. tests/e2e/lib.inc
case $MLXC in /*) ;; *) MLXC=$PWD/$MLXC ;; esac
cd "$T" || exit 1
cat > s.mlx <<'SPEC'
extern fn cbrt(x: f64) -> f64 from "libm.so.6"
const side = cbrt(64)
SPEC
"$MLXC" check s.mlx > out.txt 2>&1
[ $? -eq 1 ] || { cat out.txt; fail "a const calling an extern checked without --allow-extern"; }
grep -q "^s.mlx:2:14: error: calling extern fn 'cbrt' runs native code from 'libm.so.6': refused without --allow-extern" out.txt ||
  { cat out.txt; fail "the refusal's message"; }
grep -q "note: an untrusted spec must not run native code" out.txt || fail "the refusal's note"
"$MLXC" check --allow-extern s.mlx > out.txt 2>&1 || { cat out.txt; fail "check --allow-extern"; }
cat > in.txt <<'IN'
extern fn cbrtf(x: f32) -> f32 from "libm.so.6"
extern fn labs(x: i64) -> i64 from "libc.so.6"
extern fn toupper(c: i32) -> i32 from "libc.so.6"
extern fn hypot(x: f64, y: f64) -> f64 from "libm.so.6"
cbrtf(8)
labs(-3000000000)
toupper(97)
hypot(3, 4) * 2
fn twice_root(x: float) -> float = 2 * cbrtf(x)
twice_root(27)
IN
"$MLXC" repl --allow-extern < in.txt > out.txt 2> err.txt || { cat out.txt err.txt; fail "repl --allow-extern"; }
printf '2\n3000000000\n65\n10\n6\n' | diff - out.txt || fail "extern calls' values"
"$MLXC" repl < in.txt > out.txt 2> err.txt
[ $? -eq 1 ] || fail "repl without the flag did not fail"
[ "$(grep -c 'refused without --allow-extern' err.txt)" -eq 5 ] || { cat err.txt; fail "five refusals expected"; }
[ -s out.txt ] && { cat out.txt; fail "a value was printed without the flag"; }
cat > bad.txt <<'IN'
extern fn nosuch(x: f64) -> f64 from "libm.so.6"
nosuch(1)
extern fn f(x: f64) -> f64 from "libnothere.so.9"
f(1)
extern fn toupper(c: i32) -> i32 from "libc.so.6"
toupper(1.5)
toupper(3000000000)
IN
"$MLXC" repl --allow-extern < bad.txt > out.txt 2> err.txt
[ $? -eq 1 ] || fail "bad extern calls did not fail"
grep -q "^(input 1):1:38: error: library 'libm.so.6' has no function 'nosuch'" err.txt || { cat err.txt; fail "missing function"; }
grep -q "^(input 3):1:33: error: cannot load library 'libnothere.so.9'" err.txt || { cat err.txt; fail "missing library"; }
grep -q "error: argument 1 is 1.5, not a whole number that fits i32" err.txt || { cat err.txt; fail "a fraction for i32"; }
grep -q "error: argument 1 is 3000000000, not a whole number that fits i32" err.txt || { cat err.txt; fail "out of i32"; }
exit 0
