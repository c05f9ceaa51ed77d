# lib.sh — helpers for the end-to-end shell tests (sourced, not run).
set -u
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# expect_exit N CMD... — runs CMD, output to $T/out, and checks its exit status.
expect_exit() {
  want=$1; shift
  "$@" > "$T/out" 2>&1
  got=$?
  [ "$got" -eq "$want" ] || { cat "$T/out"; fail "'$*' exited $got, expected $want"; }
}
# json FILE FILTER — one value from a JSON file.
json() { jq -r "$2" "$1"; }
# at_least A B — A >= B as decimals.
at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
