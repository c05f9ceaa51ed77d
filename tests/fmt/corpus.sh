#!/bin/sh
# corpus.sh — mlxc fmt over every spec in the tree (examples/, stdlib/,
# tests/**/*.mlx), in a copy of it so that relative CSV paths still resolve.
# Each spec that parses is rewritten in place; the result formats to itself
# (idempotent), has the same AST (--dump=ast, locations aside) and checks
# with the same exit code as the original, and its layout does not depend on
# the original's (every line's indentation removed, a blank and a CR added
# at its end: the same result). Each spec that does not parse is refused
# with exit 1 and left as it was. First, examples/ and stdlib/ must already be in
# the canonical layout (fmt --check).
set -u
MLXC=${MLXC:-build/mlxc}
case $MLXC in /*) ;; *) MLXC=$PWD/$MLXC ;; esac
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# the project's own specs already have the canonical layout
"$MLXC" fmt --check examples/*.mlx stdlib/*.mlx > "$T/unformatted" 2>&1 ||
  { cat "$T/unformatted"; fail "examples or stdlib not in mlxc fmt's layout"; }
mkdir "$T/tree" "$T/ast" "$T/orig"
cp -R examples stdlib tests "$T/tree/"
cd "$T/tree" || exit 1
ast() { "$MLXC" --dump=ast "$1" 2>/dev/null | sed 's/ @[0-9]*:[0-9]*$//'; }
key() { echo "$1" | tr / _; }
good=""
n=0
for f in examples/*.mlx stdlib/*.mlx $(find tests -name '*.mlx' | sort); do
  [ -f "$f" ] || continue
  k=$(key "$f")
  cp "$f" "$T/orig/$k"
  if "$MLXC" --dump=ast "$f" > "$T/raw" 2>/dev/null; then
    sed 's/ @[0-9]*:[0-9]*$//' "$T/raw" > "$T/ast/$k.before"
    "$MLXC" check "$f" > /dev/null 2>&1
    echo $? > "$T/ast/$k.check"
    good="$good $f"
    n=$((n + 1))
  else
    "$MLXC" fmt "$f" > "$T/out" 2>&1
    [ $? -eq 1 ] || { cat "$T/out"; fail "$f: does not parse, yet fmt did not exit 1"; }
    cmp -s "$f" "$T/orig/$k" || fail "$f: does not parse, yet fmt changed it"
  fi
done
[ "$n" -ge 100 ] || fail "only $n specs parse"
for f in $good; do
  mkdir -p "$T/scrambled/${f%/*}"
  sed 's/^[ \t]*//; s/$/ \r/' "$f" > "$T/scrambled/$f"
done
# shellcheck disable=SC2086
"$MLXC" fmt --stdout $good > "$T/all1" 2>&1 || { cat "$T/all1"; fail "fmt --stdout failed"; }
# shellcheck disable=SC2086
(cd "$T/scrambled" && "$MLXC" fmt --stdout $good) > "$T/all2" 2>&1
cmp -s "$T/all1" "$T/all2" || { diff "$T/all1" "$T/all2" | head -20; fail "the layout depends on the original's indentation or line ends"; }
# shellcheck disable=SC2086
"$MLXC" fmt $good > "$T/out" 2>&1 || { cat "$T/out"; fail "fmt in place failed"; }
# shellcheck disable=SC2086
"$MLXC" fmt --check $good > "$T/out" 2>&1 || { cat "$T/out"; fail "not idempotent: these change again"; }
for f in $good; do
  k=$(key "$f")
  ast "$f" > "$T/ast/$k.after"
  cmp -s "$T/ast/$k.before" "$T/ast/$k.after" ||
    { diff "$T/ast/$k.before" "$T/ast/$k.after"; fail "$f: the AST changed"; }
  "$MLXC" check "$f" > /dev/null 2>&1
  after=$?
  before=$(cat "$T/ast/$k.check")
  [ "$before" -eq "$after" ] || fail "$f: check exited $before before fmt, $after after"
done
ls -A "$T/tree/examples" | grep -q '\.fmt-' && fail "a temporary file was left behind"
echo "$n specs: formatted in place, idempotent, same AST, same check exit code"
