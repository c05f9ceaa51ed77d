#!/bin/sh
# errors.sh — mlxc fmt's refusals: a spec with syntax errors (check's
# diagnostics, exit 1, the file untouched, the other files still done), a
# missing file (4), a directory (2), usage mistakes (2), and an output that
# cannot be written (6, the file untouched, nothing left behind).
set -u
MLXC=${MLXC:-build/mlxc}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# expect N CMD... — runs CMD (output in $T/out) and checks its exit status.
expect() {
  want=$1; shift
  "$@" > "$T/out" 2>&1
  got=$?
  [ "$got" -eq "$want" ] || { cat "$T/out"; fail "'$*' exited $got, expected $want"; }
}

# syntax errors: what check says, exit 1, untouched; the good file is still formatted
printf 'model m {\n  dense 1 sigmoid,\n}\nconst  X=1\n' > "$T/bad.mlx"
cp "$T/bad.mlx" "$T/bad.orig"
printf 'const  Y=2\n' > "$T/good.mlx"
"$MLXC" check "$T/bad.mlx" > "$T/check.err" 2>&1
expect 1 "$MLXC" fmt "$T/bad.mlx"
cmp -s "$T/out" "$T/check.err" || { diff "$T/check.err" "$T/out"; fail "fmt's errors differ from check's"; }
cmp -s "$T/bad.mlx" "$T/bad.orig" || fail "a spec with syntax errors was changed"
expect 1 "$MLXC" fmt --stdout "$T/bad.mlx"
cmp -s "$T/out" "$T/check.err" || fail "--stdout printed more than the errors"
expect 1 "$MLXC" fmt "$T/bad.mlx" "$T/good.mlx"
[ "$(cat "$T/good.mlx")" = "const Y = 2" ] || fail "the good file beside a bad one was not formatted"
expect 1 "$MLXC" fmt - < "$T/bad.mlx"
grep -q '^<stdin>:3:1: error: expected a value' "$T/out" || fail "stdin's errors do not name <stdin>"
# --diag=json applies to fmt's errors too
expect 1 "$MLXC" fmt --diag=json "$T/bad.mlx"
grep -q '"severity":"error"' "$T/out" || fail "--diag=json: no JSON diagnostic"

# a missing file: 4; a directory: 2; the other files are still done
expect 4 "$MLXC" fmt "$T/nope.mlx"
grep -q "nope.mlx: error: cannot open spec: No such file or directory" "$T/out" || fail "missing file message"
expect 2 "$MLXC" fmt "$T"
grep -q "is a directory" "$T/out" || fail "directory message"
if [ "$(id -u)" != 0 ]; then   # root reads every file
  printf 'const A = 1\n' > "$T/noread.mlx"
  chmod 000 "$T/noread.mlx"
  expect 4 "$MLXC" fmt "$T/noread.mlx"
  grep -q "Permission denied" "$T/out" || fail "unreadable file message"
fi
printf 'const  Z=3\n' > "$T/z.mlx"
expect 4 "$MLXC" fmt "$T/nope.mlx" "$T/z.mlx"
[ "$(cat "$T/z.mlx")" = "const Z = 3" ] || fail "the file after a missing one was not formatted"

# usage
expect 2 "$MLXC" fmt
expect 2 "$MLXC" fmt --check --stdout "$T/good.mlx"
expect 2 "$MLXC" fmt - "$T/good.mlx"
expect 2 "$MLXC" check --check "$T/good.mlx"
grep -q -- "--check applies to 'fmt' only" "$T/out" || fail "--check outside fmt"
expect 2 "$MLXC" run --stdout "$T/good.mlx"

# an output that cannot be written (a file size limit of 0): 6, untouched
printf 'const  W=4\n' > "$T/w.mlx"
# (the messages go through a pipe: the limit applies to every file written)
(ulimit -f 0; trap '' XFSZ; "$MLXC" fmt "$T/w.mlx"; echo "exit $?") 2>&1 | cat > "$T/out"
grep -q '^exit 6$' "$T/out" || { cat "$T/out"; fail "an unwritable result did not exit 6"; }
grep -q "w.mlx: error: cannot write the formatted spec" "$T/out" || fail "write error message"
[ "$(cat "$T/w.mlx")" = "const  W=4" ] || fail "a failed write changed the file"
[ "$(ls -A "$T" | grep -c '\.fmt-')" -eq 0 ] || fail "a failed write left a temporary file"
echo ok
