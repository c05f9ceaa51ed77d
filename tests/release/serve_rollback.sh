# serve_rollback.sh — a release served before it starts answers from the
# baseline only; `mlxc release ... start` from another process sends the
# candidate its share, `mlxc release ... rollback` from another process
# sends every later request to the baseline (the server re-reads the
# journal); the server's own checks then journal nothing more. Also the
# usage errors of `serve --release`.
. tests/serve/lib.inc
case $MLXC in /*) ;; *) MLXC=$PWD/$MLXC ;; esac
sh tests/release/setup.inc "$T" || fail "setup failed"
cd "$T" || exit 1
cat > s.mlx <<'SPEC'
import "train.mlx"

release hold {
  candidate cand
  baseline "out/weak.mlxm"
  bucket by request.user_id
  check every 1s min 5 requests
  step 50% manual
  step 100%
  promote when live.error_rate <= 0.9
}

release nobase {
  candidate cand
  step 100%
  promote when live.error_rate <= 0.9
}
SPEC
row='"amount":5000,"income":40000,"age":30,"history_years":5,"accounts":3,"late_payments":0'
# batch N — N requests, user ids u0..u(N-1), through one curl; answers in ans.txt
batch() { users "$URL" 0 "$1" > ans.txt; }
start_server s.mlx --release hold
[ "$(release_state)" = not_started ] || fail "a release not started is not 'not_started' in /metrics"
batch 40
[ "$(grep -c '"arm":"baseline"' ans.txt)" -eq 40 ] || { head -3 ans.txt; fail "before the start a request reached the candidate"; }
"$MLXC" release s.mlx hold start > cmd.log 2>&1 || { cat cmd.log; fail "start"; }
wait_state step
batch 40
c=$(grep -c '"arm":"candidate"' ans.txt)
[ "$c" -gt 0 ] && [ "$c" -lt 40 ] || fail "at 50% the candidate got $c of 40 keys"
cp ans.txt at50.txt
batch 40
[ "$(grep -o '"arm":"[a-z]*"' ans.txt)" = "$(grep -o '"arm":"[a-z]*"' at50.txt)" ] ||
  fail "the same keys did not get the same arms twice"
"$MLXC" release s.mlx hold rollback --who ops --why "test rollback" > cmd.log 2>&1 || { cat cmd.log; fail "rollback"; }
wait_state rolled_back
batch 40
[ "$(grep -c '"arm":"baseline"' ans.txt)" -eq 40 ] || fail "after the rollback a request reached the candidate"
curl -s --noproxy '*' "$URL/metrics" > m.txt
grep -q '^mlxc_release_percent{release="hold"} 0$' m.txt || fail "/metrics percent after the rollback"
sleep 1.5   # a check or two after the rollback: nothing journaled
stop_server
[ "$SRV_EXIT" -eq 0 ] || { cat "$T/serve.log"; fail "server exited $SRV_EXIT"; }
"$MLXC" release s.mlx hold history > hist.txt || fail "history"
tail -n 1 hist.txt | grep -q ' rolled_back  by ops  why "test rollback"' || { cat hist.txt; fail "the rollback is not the last event"; }
# usage: a spec without --release, an unknown release, a release without a
# baseline, a PostgreSQL store, --release on another command
"$MLXC" serve s.mlx > err.txt 2>&1; [ $? -eq 2 ] || fail "serve s.mlx: not a usage error"
grep -q "serve FILE --release NAME" err.txt || fail "serve s.mlx does not say how to serve a release"
"$MLXC" serve s.mlx --release nosuch > err.txt 2>&1; [ $? -eq 2 ] || fail "unknown release: not exit 2"
grep -q "no release block named 'nosuch'" err.txt || { cat err.txt; fail "unknown release message"; }
"$MLXC" serve s.mlx --release nobase > err.txt 2>&1; [ $? -eq 2 ] || fail "no baseline: not exit 2"
grep -q "s.mlx:[0-9]*:[0-9]*: error: release 'nobase' cannot be served: it names no baseline" err.txt ||
  { cat err.txt; fail "no baseline message"; }
"$MLXC" serve s.mlx --release hold --store postgresql://u:pw@127.0.0.1:1/y > err.txt 2>&1
[ $? -eq 6 ] || { cat err.txt; fail "an unreachable PostgreSQL store: not exit 6"; }
grep -q '^postgresql://u:\*\*\*@127.0.0.1:1/y: error: cannot connect to the release store' err.txt ||
  { cat err.txt; fail "unreachable store message"; }
"$MLXC" predict out/cand.mlxm --release hold > err.txt 2>&1; [ $? -eq 2 ] || fail "--release on predict: not exit 2"
"$MLXC" serve out/cand.mlxm --store x.db > err.txt 2>&1; [ $? -eq 2 ] || fail "--store without --release: not exit 2"
exit 0
