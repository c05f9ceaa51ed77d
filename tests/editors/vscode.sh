#!/bin/sh
# vscode.sh — editors/vscode: the JSON files parse, package.json names files
# that exist, the snippets expanded with their defaults make a spec mlxc
# accepts, and the TextMate grammar passes vscode-tmgrammar-test (npm, pinned
# 0.1.3, installed once into $BUILD/npm-tmgrammar) over the annotated samples
# editors/vscode/test/*.mlx. Without npm the grammar test is skipped (like
# tests/csv_spectrum.c); with npm and no tool after installing, it fails.
set -u
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
V=editors/vscode
for f in $V/package.json $V/language-configuration.json $V/snippets/mlx.json \
         $V/syntaxes/mlx.tmLanguage.json; do
  jq -e . "$f" > /dev/null || fail "$f is not valid JSON"
done
for p in $(jq -r '.contributes | (.languages[].configuration, .grammars[].path, .snippets[].path)' $V/package.json); do
  [ -f "$V/$p" ] || fail "package.json names $p, which is not in $V"
done
[ "$(jq -r .scopeName $V/syntaxes/mlx.tmLanguage.json)" = source.mlx ] || fail "the grammar's scopeName is not source.mlx"

# Every snippet, its placeholders at their defaults (the first choice), over
# the credit example's data: mlxc check accepts the result.
jq -r '.[] | .body | join("\n") + "\n"' $V/snippets/mlx.json |
  sed -e 's/\${[0-9]*|\([^,|]*\)[^}]*}/\1/g' -e 's/\${[0-9]*:\([^}]*\)}/\1/g' \
      -e "s|data/file.csv|$PWD/examples/data/housing.csv|" -e 's/label target/label price/' \
      -e 's/^  model model$/  model name/' -e 's/^  data dataset$/  data name/' \
      -e 's/^  train train$/  train name/' > "$T/snippets.mlx"
# The snippets all declare `name`: number them apart in order of declaration.
awk '/^(dataset|model|train|gate|search|fn|schedule|rollout) name/ { sub(/ name/, " " $1 "_x") }
     /^  (model|data|train) name$/ { w = $1; sub(/name$/, (w == "data" ? "dataset" : w) "_x") }
     { print }' "$T/snippets.mlx" > "$T/spec.mlx"
sed -i 's/^\(train train_x {\)$/\1\n  gate gate_x/' "$T/spec.mlx"
"$MLXC" check "$T/spec.mlx" > "$T/out" 2>&1 || { cat "$T/spec.mlx" "$T/out"; fail "the snippets expand to a spec mlxc refuses"; }

# The grammar against the annotated samples.
if ! command -v npm > /dev/null 2>&1; then
  echo "skipped: npm is not installed (make deps installs it); grammar not tested"
  exit 0
fi
prefix=$BUILD/npm-tmgrammar
case $prefix in /*) ;; *) prefix=$PWD/$prefix ;; esac
tool=$prefix/node_modules/.bin/vscode-tmgrammar-test
if [ ! -x "$tool" ]; then
  npm install --silent --no-audit --no-fund --prefix "$prefix" vscode-tmgrammar-test@0.1.3 >&2 ||
    echo "npm install vscode-tmgrammar-test failed" >&2
fi
[ -x "$tool" ] || fail "no vscode-tmgrammar-test in $prefix"
(cd $V && "$tool" --config package.json 'test/*.mlx') > "$T/log" 2>&1 ||
  { cat "$T/log"; fail "the TextMate grammar fails its annotated samples"; }
cat "$T/log"
n=$(grep -c 'run successfuly' "$T/log")
[ "$n" -eq "$(ls $V/test/*.mlx | wc -l)" ] || { cat "$T/log"; fail "expected every sample to run, $n did"; }
echo "vscode: JSON ok, snippets check, grammar passes $n annotated samples"
