#!/bin/sh
# run.sh — the one test runner. Kinds of test, each found by where it lives:
#   tests/DIR/NAME.mlx + NAME.out   run `$MLXC ARGS FILE` (ARGS from a first line
#                                   `# args: ...`, default `check`); compare output
#                                   and a last line `exit N` with the golden .out
#   tests/DIR/NAME.sh               a shell test; passes when it exits 0
#   tests/NAME.c                    a C driver built as $BUILD/tests/NAME; passes on 0
# Prints `name ... ok|FAIL` lines and the closing `N passed, N failed`.
# GOLDEN=1 rewrites the .out files for a person to review (git diff); it also
# writes one for a .mlx that has none, so give it ONLY. ONLY=PATTERN (a shell
# pattern, e.g. 'tests/dump/*') runs only the tests whose path matches.
MLXC=${MLXC:-build/mlxc}
BUILD=${BUILD:-build}
export MLXC BUILD
pass=0
fail=0
failed=""
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The kernel cache of the whole run: never the user's ~/.cache.
MLXC_CACHE_DIR=$tmp/kcache
export MLXC_CACHE_DIR

ok() { pass=$((pass + 1)); echo "$1 ... ok"; }
bad() {
  fail=$((fail + 1)); failed="$failed $1"; echo "$1 ... FAIL"
  [ -f "$2" ] && head -c 3000 "$2" | sed 's/^/    | /'
}

# Golden-output tests.
for f in tests/*/*.mlx; do
  [ -f "$f" ] || continue
  # shellcheck disable=SC2254
  case $f in ${ONLY:-*}) ;; *) continue ;; esac
  golden=${f%.mlx}.out
  [ -f "$golden" ] || [ -n "$GOLDEN" ] || continue
  args=$(sed -n '1s/^# args: //p' "$f")
  [ -n "$args" ] || args=check
  # shellcheck disable=SC2086
  $MLXC $args "$f" > "$tmp/out" 2>&1
  echo "exit $?" >> "$tmp/out"
  if [ -n "$GOLDEN" ]; then
    cp "$tmp/out" "$golden"
    ok "$f"
  elif cmp -s "$tmp/out" "$golden"; then
    ok "$f"
  else
    diff -u "$golden" "$tmp/out" > "$tmp/diff"
    bad "$f" "$tmp/diff"
  fi
done

# Shell tests.
for f in tests/*/*.sh; do
  [ -f "$f" ] || continue
  # shellcheck disable=SC2254
  case $f in ${ONLY:-*}) ;; *) continue ;; esac
  if sh "$f" > "$tmp/log" 2>&1; then ok "$f"; else bad "$f" "$tmp/log"; fi
done

# C drivers.
for f in tests/*.c; do
  [ -f "$f" ] || continue
  # shellcheck disable=SC2254
  case $f in ${ONLY:-*}) ;; *) continue ;; esac
  name=$(basename "$f" .c)
  if make --no-print-directory -s "$BUILD/tests/$name" > "$tmp/log" 2>&1 &&
     "$BUILD/tests/$name" >> "$tmp/log" 2>&1; then
    ok "$f"
  else
    bad "$f" "$tmp/log"
  fi
done

[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
