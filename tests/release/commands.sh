# commands.sh — every `mlxc release` command and refusal on a journal in a
# temporary directory, with the clock fixed ($MLXC_RELEASE_CLOCK), compared
# with commands.expected (output and exit of each command, in order).
. tests/e2e/lib.inc
case $MLXC in /*) ;; *) MLXC=$PWD/$MLXC ;; esac
want=$PWD/tests/release/commands.expected
sh tests/release/setup.inc "$T" || fail "setup failed"
cd "$T" || exit 1
export MLXC_RELEASE_CLOCK=1795000000000000
unset USER
r() {   # r ARGS...: one command, its output and exit code
  echo "\$ mlxc release $*"
  "$MLXC" release "$@" 2>&1
  echo "exit $?"
}
{
r r.mlx roll status
r r.mlx roll history
r r.mlx roll promote
r r.mlx roll rollback
r r.mlx roll abort
[ -e roll.release.db ] && echo "a refused command made the store"
r r.mlx strictroll start
r r.mlx nogate start
r r.mlx missing start
r r.mlx roll start --who alice --why "first canary"
r r.mlx roll start
MLXC_RELEASE_CLOCK=1795000060000000 r r.mlx roll promote --who bob --why "looks fine"
MLXC_RELEASE_CLOCK=1795000120000000 r r.mlx roll status --json
MLXC_RELEASE_CLOCK=1795000120000000 r r.mlx roll promote --who bob
MLXC_RELEASE_CLOCK=1795000180000000 r r.mlx roll promote --who carol --why "manual step"
r r.mlx roll promote
r r.mlx roll rollback
r r.mlx roll abort
r r.mlx roll status
r r.mlx roll history
r r.mlx roll history --json
r r.mlx other start --who dave
r r.mlx other rollback --who dave --why "error rate"
r r.mlx other abort
r r.mlx other status --json
r r.mlx third start --who erin
r r.mlx third abort --who erin --why "wrong candidate"
r r.mlx third status
r r.mlx other status --store roll.release.db
echo "# a comment changes the spec hash" >> r2.mlx
r r2.mlx roll status --store roll.release.db
r r.mlx roll status --store postgresql://u@127.0.0.1:1/db
r r.mlx roll status --store ""
r r.mlx roll frobnicate
r r.mlx nosuch status
r r.mlx roll
"$MLXC" check r.mlx --who x > /dev/null 2>&1; echo "check --who: exit $?"
echo "not a database" > junk.db
r r.mlx roll status --store junk.db
r r.mlx roll start --store nodir/x.db
} > raw.txt
# the spec hash covers train.mlx, whose CSV path is this checkout's: masked
sed -E 's/(spec_hash":"|hash )[0-9a-f]{16}/\1HASH/g' raw.txt > out.txt
if [ -n "${GOLDEN:-}" ]; then cp out.txt "$want"; exit 0; fi
diff -u "$want" out.txt || fail "output differs from tests/release/commands.expected"
# the masked hashes: another release of the same spec names one hash twice, a
# changed spec two different ones
grep -qE "spec with hash ([0-9a-f]{16}), not to release 'other' of this spec \(hash \1\)" raw.txt ||
  fail "the same spec: two hashes"
grep -E "not to release 'roll' of this spec" raw.txt | grep -qvE "hash ([0-9a-f]{16}), not .*\(hash \1\)" ||
  fail "a changed spec kept its hash"
# a changed import is a changed spec: the journal refuses it
sed -i 's/epochs 1$/epochs 2/' train.mlx
"$MLXC" release r.mlx roll status > imp.txt 2>&1
[ $? -eq 4 ] && grep -q "this journal belongs to release 'roll' of the spec with hash" imp.txt ||
  { cat imp.txt; fail "a changed import did not change the spec"; }
