#!/bin/sh
# vim.sh — editors/vim: the syntax, ftdetect, ftplugin and indent files load
# headless without an error message, and highlight and indent the examples as
# tests/editors/vim_check.vim expects. Skipped (passes) when vim is missing.
set -u
command -v vim > /dev/null 2>&1 || { echo "skipped: vim is not installed (make deps installs it)"; exit 0; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
for f in examples/*.mlx; do
  MLX_OUT=$T/fails vim -es -u NONE -N -i NONE --cmd 'set rtp^=editors/vim' \
    -c 'filetype plugin indent on' -c 'syntax on' -c "edit $f" \
    -c "call writefile(split(execute('messages'), '\n'), '$T/msgs')" -c 'qa!' \
    < /dev/null > "$T/out" 2>&1
  rc=$?
  # The only message: the file's name and size when it was read.
  grep -v '^"examples/.*[0-9]B$' "$T/msgs" > "$T/errs"
  if [ "$rc" -ne 0 ] || [ -s "$T/errs" ] || [ -s "$T/out" ]; then
    cat "$T/errs" "$T/out"; fail "vim reported errors loading $f (exit $rc)"
  fi
done
MLX_OUT=$T/fails vim -es -u NONE -N -i NONE --cmd 'set rtp^=editors/vim' \
  -c 'filetype plugin indent on' -c 'syntax on' -c 'edit examples/credit.mlx' \
  -c 'source tests/editors/vim_check.vim' \
  -c "call writefile(split(execute('messages'), '\n'), '$T/msgs')" -c 'qa!' \
  < /dev/null > "$T/out" 2>&1
rc=$?
[ -f "$T/fails" ] || { cat "$T/msgs" "$T/out"; fail "vim_check.vim did not finish (exit $rc)"; }
[ ! -s "$T/fails" ] || { cat "$T/fails"; fail "vim highlights or indents wrongly"; }
# (gg=G and :s print progress; an error is E123: or W123:.)
grep -E '(^|[^A-Za-z])[EW][0-9]+:|Error detected' "$T/msgs" "$T/out" > "$T/errs"
[ "$rc" -eq 0 ] || { cat "$T/msgs" "$T/out"; fail "vim exited $rc in vim_check.vim"; }
[ ! -s "$T/errs" ] || { cat "$T/errs"; fail "vim reported errors in vim_check.vim"; }
echo "vim: $(ls examples/*.mlx | wc -l) examples load; highlighting and indentation ok"
