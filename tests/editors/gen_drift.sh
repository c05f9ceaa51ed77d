#!/bin/sh
# gen_drift.sh — the keyword parts of the editor files are what editors/gen.sh
# writes from this compiler's tables (`mlxc --keywords`): a keyword added to
# lexer.l or sema.c without regenerating the editor files fails here. Also:
# --keywords prints every table once, and a compiler with one more statement
# word makes gen.sh --check fail (so this test can fail).
set -u
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
"$MLXC" --keywords > "$T/tables" || fail "mlxc --keywords exited $?"
for t in top_keywords mod_keywords data_stmts model_stmts train_stmts gate_stmts \
         search_stmts release_stmts builtins acts losses optimizers schedules count_units; do
  [ "$(grep -c "^$t " "$T/tables")" -eq 1 ] || fail "--keywords has no single '$t' line"
done
grep -q '^top_keywords .*\bdataset\b' "$T/tables" || fail "top_keywords lacks dataset"
MLXC=$MLXC editors/gen.sh --check || fail "the editor files are stale: run editors/gen.sh and commit them"
# A compiler that knows one more statement word: gen.sh --check must notice.
cat > "$T/mlxc" <<SH
#!/bin/sh
"$MLXC" --keywords | sed 's/^data_stmts /data_stmts zzz_new_word /'
SH
chmod +x "$T/mlxc"
if MLXC=$T/mlxc editors/gen.sh --check > "$T/out" 2>&1; then
  fail "gen.sh --check did not notice a new keyword"
fi
grep -q 'zzz_new_word' "$T/out" || { cat "$T/out"; fail "gen.sh --check's diff does not show the new word"; }
[ "$(grep -c 'differs from' "$T/out")" -eq 3 ] || { cat "$T/out"; fail "expected all three editor files to differ"; }
echo "gen_drift: the editor files match the compiler's tables"
