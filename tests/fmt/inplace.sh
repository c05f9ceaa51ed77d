#!/bin/sh
# inplace.sh — how mlxc fmt writes: in place (the mode kept, through a
# symlink, nothing left behind, an already formatted file not touched),
# --check (lists what would change, exit 1, writes nothing), --stdout and
# - (stdin to stdout).
set -u
MLXC=${MLXC:-build/mlxc}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
messy() { printf 'const  A=1+2\nmodel m{\nloss bce}\n'; }
tidy() { printf 'const A = 1 + 2\n\nmodel m {\n  loss bce\n}\n'; }
messy > "$T/a.mlx"
tidy > "$T/want"
tidy > "$T/b.mlx"
chmod 640 "$T/a.mlx"

# --check: lists the file that would change, exit 1, writes nothing
"$MLXC" fmt --check "$T/a.mlx" "$T/b.mlx" > "$T/out" 2>&1
[ $? -eq 1 ] || fail "--check with a messy file did not exit 1"
[ "$(cat "$T/out")" = "$T/a.mlx" ] || { cat "$T/out"; fail "--check listed the wrong files"; }
messy | cmp -s - "$T/a.mlx" || fail "--check changed the file"
"$MLXC" fmt --check "$T/b.mlx" > "$T/out" 2>&1 || fail "--check of a formatted file did not exit 0"
[ -s "$T/out" ] && fail "--check of a formatted file printed something"

# --stdout prints and writes nothing; - reads stdin
"$MLXC" fmt --stdout "$T/a.mlx" > "$T/out" || fail "--stdout failed"
cmp -s "$T/out" "$T/want" || { diff "$T/out" "$T/want"; fail "--stdout output"; }
messy | cmp -s - "$T/a.mlx" || fail "--stdout changed the file"
messy | "$MLXC" fmt - > "$T/out" || fail "fmt - failed"
cmp -s "$T/out" "$T/want" || fail "fmt - output"
messy | "$MLXC" fmt --check - > "$T/out"
[ $? -eq 1 ] && [ "$(cat "$T/out")" = "<stdin>" ] || fail "fmt --check - did not list <stdin>"
"$MLXC" fmt --stdout "$T/a.mlx" "$T/b.mlx" > "$T/out" || fail "--stdout of two files"
{ tidy; tidy; } | cmp -s - "$T/out" || fail "--stdout of two files: not both, in order"

# in place: the result, the mode kept, no temporary file left
ino_b=$(stat -c %i "$T/b.mlx")
"$MLXC" fmt "$T/a.mlx" "$T/b.mlx" > "$T/out" 2>&1 || { cat "$T/out"; fail "fmt in place failed"; }
[ -s "$T/out" ] && { cat "$T/out"; fail "fmt in place printed something"; }
cmp -s "$T/a.mlx" "$T/want" || fail "fmt in place: wrong result"
[ "$(stat -c %a "$T/a.mlx")" = 640 ] || fail "fmt in place lost the mode"
[ "$(stat -c %i "$T/b.mlx")" = "$ino_b" ] || fail "an already formatted file was rewritten"
[ "$(ls -A "$T" | grep -c '\.fmt-')" -eq 0 ] || fail "a temporary file was left behind"

# root formatting another user's file leaves it theirs
if [ "$(id -u)" = 0 ] && id nobody > /dev/null 2>&1; then
  messy > "$T/owned.mlx"
  chown nobody "$T/owned.mlx"
  "$MLXC" fmt "$T/owned.mlx" || fail "fmt of another user's file failed"
  [ "$(stat -c %U "$T/owned.mlx")" = nobody ] || fail "the file changed owner"
fi

# through a symlink: the target is rewritten, the link stays a link
mkdir "$T/real"
messy > "$T/real/c.mlx"
ln -s real/c.mlx "$T/link.mlx"
"$MLXC" fmt "$T/link.mlx" || fail "fmt through a symlink failed"
[ -L "$T/link.mlx" ] || fail "the symlink was replaced"
cmp -s "$T/real/c.mlx" "$T/want" || fail "the symlink's target was not formatted"
[ "$(ls -A "$T/real" | grep -c '\.fmt-')" -eq 0 ] || fail "a temporary file was left beside the target"
echo ok
