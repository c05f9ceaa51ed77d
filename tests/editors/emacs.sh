#!/bin/sh
# emacs.sh — editors/emacs/mlx-mode.el byte-compiles with warnings as errors,
# and, compiled, fontifies and indents the examples and parses a real mlxc
# diagnostic as tests/editors/emacs_check.el expects. Skipped (passes) when
# emacs is missing.
set -u
command -v emacs > /dev/null 2>&1 || { echo "skipped: emacs is not installed (make deps installs emacs-nox)"; exit 0; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cp editors/emacs/mlx-mode.el "$T/"
emacs --batch -Q --eval '(setq byte-compile-error-on-warn t)' \
  -f batch-byte-compile "$T/mlx-mode.el" > "$T/out" 2>&1 ||
  { cat "$T/out"; fail "mlx-mode.el does not byte-compile cleanly"; }
[ -f "$T/mlx-mode.elc" ] || { cat "$T/out"; fail "no mlx-mode.elc"; }
# Any message of the compiler (a warning not made an error) fails too.
[ ! -s "$T/out" ] || { cat "$T/out"; fail "byte-compile printed messages"; }

# A real diagnostic: an error and its note.
cat > "$T/bad.mlx" <<'SPEC'
model m {
  dense 1 relu
  loss mse
}
SPEC
"$MLXC" check "$T/bad.mlx" > "$T/diag" 2>&1
grep -q ': error: ' "$T/diag" || { cat "$T/diag"; fail "mlxc check did not report an error"; }

# Faces, soft keywords, indentation and the compilation rule (credit.mlx's lines).
MLX_SAMPLE=examples/credit.mlx MLX_DIAG=$T/diag emacs --batch -Q -l "$T/mlx-mode.elc" \
  -l tests/editors/emacs_check.el > "$T/log" 2>&1 ||
  { cat "$T/log"; fail "emacs checks failed"; }
# Every example opens in mlx-mode and indents back to itself.
for f in examples/*.mlx; do
  emacs --batch -Q -l "$T/mlx-mode.elc" --eval "(progn
    (find-file \"$f\")
    (unless (eq major-mode 'mlx-mode) (kill-emacs 2))
    (font-lock-ensure)
    (let ((want (buffer-string)))
      (goto-char (point-min))
      (while (re-search-forward \"^[ \t]+\" nil t) (replace-match \"\"))
      (indent-region (point-min) (point-max))
      (unless (string= want (buffer-string)) (kill-emacs 3))))" > "$T/log" 2>&1 ||
    { cat "$T/log"; fail "emacs: $f is not in mlx-mode or does not indent back to itself"; }
done
echo "emacs: byte-compiles cleanly; faces, indentation and the compilation rule ok"
