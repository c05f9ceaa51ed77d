#!/bin/sh
# gen.sh — writes the keyword parts of the editor files from the compiler's own
# tables (`mlxc --keywords`: lexer.l's keyword tables, sema.c's statement and
# name tables), so the editors cannot drift from the language:
#   editors/vim/syntax/mlx.vim           between the GENERATED markers
#   editors/emacs/mlx-mode.el            between the GENERATED markers
#   editors/vscode/syntaxes/mlx.tmLanguage.json   the repository's kw-* rules (jq)
# usage: editors/gen.sh [--check]   (MLXC names the compiler; default build/mlxc)
# --check writes nothing: it exits 1, naming each file, when one differs from
# what it would write (tests/editors/gen_drift.sh).
set -eu
cd "$(dirname "$0")/.."
MLXC=${MLXC:-build/mlxc}
check=
case ${1:-} in
  --check) check=1 ;;
  "") ;;
  *) echo "usage: editors/gen.sh [--check]" >&2; exit 2 ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$MLXC" --keywords > "$tmp/tables" || { echo "gen.sh: '$MLXC --keywords' failed" >&2; exit 1; }

# words TABLE... — the words of those tables, sorted, once each, one a line.
words() {
  for t; do
    grep -q "^$t " "$tmp/tables" || { echo "gen.sh: no table '$t' in '$MLXC --keywords'" >&2; exit 1; }
    grep "^$t " "$tmp/tables" | cut -d' ' -f2- | tr ' ' '\n'
  done | LC_ALL=C sort -u
}
# The lexer keeps these modifier words keywords at the end of a line (they
# continue it; lex_word in grammar/lexer.l); the others become names there.
cont="and in not or when"
words top_keywords > "$tmp/decl"
words mod_keywords > "$tmp/mod"
for w in $cont; do grep -qx "$w" "$tmp/mod" || { echo "gen.sh: '$w' is no longer a modifier keyword" >&2; exit 1; }; done
echo "$cont" | tr ' ' '\n' | grep -vx not > "$tmp/cont"
echo "$cont" | tr ' ' '\n' | grep -vxF -f - "$tmp/mod" > "$tmp/modeol"
words data_stmts model_stmts train_stmts gate_stmts search_stmts release_stmts > "$tmp/stmt"
words builtins transforms range_fns optimizers schedules > "$tmp/func"
words acts losses missing_rules task_names > "$tmp/const"
words type_names column_types > "$tmp/type"
words count_units > "$tmp/unit"
words bools > "$tmp/bool"

# alt FILE SEP — the words of FILE joined by SEP.
alt() { SEP=$2 awk 'NR > 1 { printf "%s", ENVIRON["SEP"] } { printf "%s", $0 } END { print "" }' "$1"; }
valt() { alt "$1" '\|'; }      # vim: a\|b
talt() { alt "$1" '|'; }        # Oniguruma: a|b

# The vim part.
cat > "$tmp/vim" <<VIM
syn match mlxType "\\.\\@<!\\<\\%($(valt "$tmp/type")\\)\\>[.(]\\@!"
syn match mlxConstant "\\.\\@<!\\<\\%($(valt "$tmp/const")\\)\\>\\%([.(]\\|\\s*=[^=]\\)\\@!"
syn match mlxBoolean "\\.\\@<!\\<\\%($(valt "$tmp/bool")\\)\\>[.(]\\@!"
syn match mlxBuiltin "\\.\\@<!\\<\\%($(valt "$tmp/func")\\)\\ze("
syn match mlxUnit "\\%(\\d\\s\\+\\)\\@<=\\%($(valt "$tmp/unit")\\)\\>"
syn match mlxKeyword "\\.\\@<!\\<\\%($(valt "$tmp/modeol")\\)\\>\\%([.(]\\|\\s*=[^=]\\|\\s*\\%(#.*\\)\\=\$\\|\\s\\+in[ \\t([]\\)\\@!"
syn match mlxKeyword "\\.\\@<!\\<\\%($(valt "$tmp/cont")\\)\\>\\%([.(]\\|\\s*=[^=]\\|\\s\\+in[ \\t([]\\)\\@!"
syn match mlxKeyword "\\.\\@<!\\<not\\>\\%([.(]\\|\\s*=[^=]\\)\\@!"
syn match mlxStatement "\\%(^\\s\\+\\|{\\s*\\)\\zs\\%($(valt "$tmp/stmt")\\)\\>\\%([.(]\\|\\s*=[^=]\\)\\@!"
syn match mlxDeclaration "^\\%($(valt "$tmp/decl")\\)\\>\\%([.(]\\|\\s*=[^=]\\)\\@!" nextgroup=mlxDeclName skipwhite
VIM

# The emacs part.
elist() { printf '(defconst %s\n  '"'"'(' "$1"; sed 's/.*/"&"/' "$2" | paste -sd ' ' | fold -s -w 70 | sed '2,$s/^/    /;s/ $//' | sed '$s/$/)/'; printf '  "%s")\n' "$3"; }
{
  elist mlx-declaration-words "$tmp/decl" "Declaration words (grammar/lexer.l top_keywords)."
  elist mlx-modifier-words "$tmp/mod" "Modifier words (grammar/lexer.l mod_keywords)."
  elist mlx-continuing-words "$tmp/cont" "Modifier words that stay keywords at the end of a line, but not."
  elist mlx-statement-words "$tmp/stmt" "The statement words of every block (sema.c *_stmts)."
  elist mlx-builtin-words "$tmp/func" "Builtins, transforms, ranges, optimizers and schedules (sema.c)."
  elist mlx-constant-words "$tmp/const" "Activations, losses, missing rules and tasks (sema.c)."
  elist mlx-type-words "$tmp/type" "Parameter and column types (sema.c)."
  elist mlx-unit-words "$tmp/unit" "Count words after a number (sema.c count_units)."
  elist mlx-bool-words "$tmp/bool" "The bool values."
} > "$tmp/el"

# region FILE PART COMMENT — FILE with the lines between COMMENT's BEGIN and END
# GENERATED markers replaced by PART, to stdout.
region() {
  awk -v part="$2" -v c="$3" '
    index($0, c " BEGIN GENERATED") == 1 { print; while ((getline l < part) > 0) print l; skip = 1; found++; next }
    index($0, c " END GENERATED") == 1 { skip = 0 }
    !skip { print }
    END { if (found != 1) exit 1 }' "$1" || { echo "gen.sh: no GENERATED markers in $1" >&2; exit 1; }
}
region editors/vim/syntax/mlx.vim "$tmp/vim" '"' > "$tmp/mlx.vim"
region editors/emacs/mlx-mode.el "$tmp/el" ';;' > "$tmp/mlx-mode.el"

# The VS Code part: the match of each kw-* rule.
no='(?![.(]|\s*=[^=])'
jq --indent 2 \
  --arg decl "^($(talt "$tmp/decl"))\\b$no(?:\\s+(?!fn\\b)([A-Za-z_][A-Za-z0-9_]*))?" \
  --arg stmt "(?:^\\s+|\\{\\s*)($(talt "$tmp/stmt"))\\b$no" \
  --arg modeol "(?<!\\.)\\b(?:$(talt "$tmp/modeol"))\\b(?![.(]|\\s*=[^=]|\\s*(?:#.*)?\$|\\s+in[ \\t(\\[])" \
  --arg cont "(?<!\\.)\\b(?:$(talt "$tmp/cont"))\\b(?![.(]|\\s*=[^=]|\\s+in[ \\t(\\[])" \
  --arg not "(?<!\\.)\\bnot\\b$no" \
  --arg func "(?<!\\.)\\b(?:$(talt "$tmp/func"))(?=\\()" \
  --arg const "(?<!\\.)\\b(?:$(talt "$tmp/const"))\\b$no" \
  --arg type "(?<!\\.)\\b(?:$(talt "$tmp/type"))\\b(?![.(])" \
  --arg bool "(?<!\\.)\\b(?:$(talt "$tmp/bool"))\\b(?![.(])" \
  --arg unit "(?<=[0-9])\\s+($(talt "$tmp/unit"))\\b" \
  '.repository["kw-declaration"].match = $decl
   | .repository["kw-statement"].match = $stmt
   | .repository["kw-modifier"].patterns[0].match = $modeol
   | .repository["kw-modifier"].patterns[1].match = $cont
   | .repository["kw-modifier"].patterns[2].match = $not
   | .repository["kw-builtin"].match = $func
   | .repository["kw-constant"].match = $const
   | .repository["kw-type"].match = $type
   | .repository["kw-bool"].match = $bool
   | .repository["kw-unit"].match = $unit' \
  editors/vscode/syntaxes/mlx.tmLanguage.json > "$tmp/mlx.tmLanguage.json"

rc=0
for pair in vim/syntax/mlx.vim:mlx.vim emacs/mlx-mode.el:mlx-mode.el \
            vscode/syntaxes/mlx.tmLanguage.json:mlx.tmLanguage.json; do
  dst=editors/${pair%%:*}
  src=$tmp/${pair#*:}
  if cmp -s "$src" "$dst"; then continue; fi
  if [ -n "$check" ]; then
    echo "gen.sh: $dst differs from the compiler's keyword tables; run editors/gen.sh" >&2
    diff -u "$dst" "$src" >&2 || true
    rc=1
  else
    cp "$src" "$dst"
    echo "gen.sh: wrote $dst"
  fi
done
exit $rc
