# serve_kill.sh — `mlxc serve --release` killed with SIGKILL at random
# moments, 60 times, while its timer journals a check every 0.1 s (the
# release's `inconclusive` policy makes even idle windows journaled) and a
# command promotes now and then: after every kill the journal opens, its seq
# runs 1..n with no gap, the history before the kill is a prefix of the one
# after (nothing committed lost or changed) and status replays it.
. tests/e2e/lib.inc
case $MLXC in /*) ;; *) MLXC=$PWD/$MLXC ;; esac
SRV=""
trap '[ -n "$SRV" ] && kill -KILL "$SRV" 2>/dev/null; rm -rf "$T"' EXIT
sh tests/release/setup.inc "$T" || fail "setup failed"
cd "$T" || exit 1
{
  printf 'import "train.mlx"\n\nrelease k {\n  candidate cand\n  baseline "out/weak.mlxm"\n'
  printf '  check every 10ms\n'
  for p in $(seq 1 99); do printf '  step %d%% manual\n' "$p"; done
  printf '  step 100%%\n  promote when live.error_rate <= 0.9\n'
  printf '  inconclusive rollback for 1000000000 checks\n}\n'
} > s.mlx
"$MLXC" release s.mlx k start --who ci > start.log 2>&1 || { cat start.log; fail "start"; }
: > before.txt
kills=0
for round in $(seq 1 60); do
  "$MLXC" serve s.mlx --release k --port 0 > serve.log 2>&1 &
  SRV=$!
  [ $((round % 5)) -eq 0 ] && "$MLXC" release s.mlx k promote --who ci > /dev/null 2>&1 &
  # a random moment, 0.05 to 0.65 s in: during start-up, between checks or inside one
  sleep "$(awk -v r="$(od -An -N2 -tu2 /dev/urandom)" 'BEGIN { printf "%.3f", 0.05 + r / 65535 * 0.6 }')"
  kill -KILL "$SRV" 2>/dev/null
  wait "$SRV"
  [ $? -eq 137 ] && kills=$((kills + 1))
  SRV=""
  wait
  "$MLXC" release s.mlx k history --json > after.txt 2> err.txt || { cat err.txt; fail "round $round: history after a kill"; }
  jq -e -s '[.[].seq] == [range(1; length + 1)]' after.txt > /dev/null || fail "round $round: seq has a gap"
  n=$(wc -l < before.txt)
  head -n "$n" after.txt | cmp -s - before.txt || fail "round $round: a kill lost or changed committed events"
  "$MLXC" release s.mlx k status --json > st.json 2> err.txt || { cat err.txt; fail "round $round: status"; }
  [ "$(jq -r .seq st.json)" -eq "$(wc -l < after.txt)" ] || fail "round $round: status does not replay every event"
  [ "$(jq -r .state st.json)" = step ] || { cat st.json; fail "round $round: the release left its steps"; }
  mv after.txt before.txt
done
[ "$kills" -ge 50 ] || fail "only $kills servers were running when killed"
obs=$(grep -c '"kind":"observation"' before.txt)
adv=$(grep -c '"kind":"step_advanced"' before.txt)
[ "$obs" -ge 60 ] || fail "only $obs observations journaled over 60 rounds"
[ "$adv" -ge 1 ] || fail "no promote got through between the kills"
echo "serve_kill: $kills servers killed, $(wc -l < before.txt) events ($obs observations, $adv steps)"
exit 0
