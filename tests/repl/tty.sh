# tty.sh — `mlxc repl` on a terminal (tmux): the prompt, a multi-line block
# with its continuation prompt, tab completion of a command and of a
# statement word, history
# recalled with the up arrow and kept in the history file, :quit.
. tests/e2e/lib.inc
case $MLXC in /*) ;; *) MLXC=$PWD/$MLXC ;; esac
command -v tmux > /dev/null || fail "no tmux (make deps installs it)"
SOCK=mlxc-repl-$$
S=repl
tm() { tmux -L "$SOCK" -f /dev/null "$@"; }
trap 'tm kill-server 2> /dev/null; rm -rf "$T"' EXIT
cd "$T" || exit 1
tm new-session -d -s "$S" -x 150 -y 50 \
  "env HOME='$T' MLXC_HISTORY='$T/hist' TERM=xterm '$MLXC' repl; echo EXITED \$?; sleep 60" ||
  fail "tmux did not start"
screen() { tm capture-pane -p -t "$S"; }
# wait_for REGEX [N] — until the screen has a line matching REGEX (N of them)
wait_for() {
  i=0
  while [ "$(screen | grep -c -- "$1")" -lt "${2:-1}" ]; do
    i=$((i + 1))
    [ $i -le 300 ] || { screen; fail "the screen never showed '$1'"; }
    sleep 0.1
  done
}
wait_for '^mlx>'
tm send-keys -t "$S" '1 + 2' Enter
wait_for '^3$'
tm send-keys -t "$S" 'model m {' Enter
wait_for '^\.\.\.\.>'
tm send-keys -t "$S" '  dense 1 sigmoid' Enter '  loss bce' Enter '}' Enter
tm send-keys -t "$S" ':li' Tab Enter
wait_for '^m  *model m {$'
tm send-keys -t "$S" Up Enter   # :list again
wait_for '^m  *model m {$' 2
# completion knows the checker's statement words (a train's early_stop)
tm send-keys -t "$S" 'early_s' Tab
wait_for '^mlx> early_stop'
tm send-keys -t "$S" C-u
tm send-keys -t "$S" ':quit' Enter
wait_for '^EXITED 0$'
# libedit's file writes a space as \040
sed 's/\\040/ /g' "$T/hist" > hist.txt
grep -q '^1 + 2$' hist.txt || { cat "$T/hist"; fail "the history file lacks '1 + 2'"; }
grep -q '^:list' hist.txt || { cat "$T/hist"; fail "the history file lacks the completed :list"; }
exit 0
