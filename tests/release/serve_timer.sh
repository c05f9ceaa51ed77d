# serve_timer.sh — when a release server checks, and what it journals:
# checks run `check every` after the current step began and every window
# after (not on a timer counted from the server's start): a server started
# before `mlxc release ... start`, and a step entered by `mlxc release ...
# promote` from another process, get their first observation a whole
# window after the step began. A window in which neither arm saw a
# request journals no observation, yet the rules still decide by time: an
# idle server rolls back at the timeout with no observation journaled.
. tests/serve/lib.inc
case $MLXC in /*) ;; *) MLXC=$PWD/$MLXC ;; esac
sh tests/release/setup.inc "$T" || fail "setup failed"
cd "$T" || exit 1
cat > s.mlx <<'SPEC'
import "train.mlx"

release tick {
  candidate cand
  baseline "out/weak.mlxm"
  bucket by request.user_id
  check every 2s min 1 requests
  step 20% manual
  step 50% manual
  step 100%
  promote when live.error_rate <= 0.9
}

release idle {
  candidate cand
  baseline "out/weak.mlxm"
  check every 1s
  step 50% for 1s
  step 100%
  promote when live.error_rate <= 0.9
  timeout 1s
}

release counted {
  candidate cand
  baseline "out/weak.mlxm"
  check every 1s
  step 50% manual
  step 100%
  promote when live.error_rate <= 0.9
  inconclusive rollback for 2 checks
}
SPEC
row='"amount":5000,"income":40000,"age":30,"history_years":5,"accounts":3,"late_payments":0'
batch() { users "$URL" 0 10 > /dev/null; }
# hist REL — the journal as "seq kind time_us step" lines
hist() { "$MLXC" release s.mlx "$1" history --json | jq -r '"\(.seq) \(.kind) \(.time_us) \(.detail.step)"'; }
# traffic_until_obs REL STEP — requests until an observation of step STEP is journaled
traffic_until_obs() {
  n=0
  until hist "$1" | grep -q "^[0-9]* observation [0-9]* $2\$"; do
    n=$((n + 1))
    [ $n -le 1000 ] || { cat "$T/serve.log"; hist "$1"; fail "no observation of step $2"; }
    batch
    sleep 0.05
  done
}

# the server starts first; the step begins about 1 s later
start_server s.mlx --release tick
sleep 1
"$MLXC" release s.mlx tick start > start.log 2>&1 || { cat start.log; fail "start"; }
traffic_until_obs tick 0
hist tick > h1.txt
t0=$(awk '$2 == "started" { print $3 }' h1.txt)
t1=$(awk '$2 == "observation" { print $3; exit }' h1.txt)
[ $((t1 - t0)) -ge 2000000 ] || { cat h1.txt; fail "the first check came $((t1 - t0)) us after the start, before a whole window"; }
# a step entered by a command from another process: its first check a window after it
"$MLXC" release s.mlx tick promote --why test > p.log 2>&1 || { cat p.log; fail "promote"; }
traffic_until_obs tick 1
hist tick > h2.txt
tp=$(awk '$2 == "step_advanced" { print $3 }' h2.txt)
t2=$(awk '$2 == "observation" && $4 == 1 { print $3; exit }' h2.txt)
[ $((t2 - tp)) -ge 2000000 ] || { cat h2.txt; fail "step 2's first check came $((t2 - tp)) us after it began"; }
stop_server
[ "$SRV_EXIT" -eq 0 ] || { cat "$T/serve.log"; fail "server exited $SRV_EXIT"; }

# idle: no request at all; the timeout still rolls the release back, and
# the journal holds no observation (a release whose `inconclusive` policy
# counts idle windows journals each as a short inconclusive observation)
"$MLXC" release s.mlx idle start > start2.log 2>&1 || { cat start2.log; fail "start idle"; }
start_server s.mlx --release idle
wait_state rolled_back 1200   # the idle release, at its timeout
hist idle > h3.txt
grep -q ' observation ' h3.txt && { cat h3.txt; fail "an idle window was journaled"; }
[ "$(awk '{ print $2 }' h3.txt | tr '\n' ' ')" = "started rolled_back " ] || { cat h3.txt; fail "expected started, rolled_back"; }
"$MLXC" release s.mlx idle history | grep ' rolled_back ' | grep -q 'not true within the timeout' ||
  fail "the rollback does not give the timeout as its reason"
stop_server
[ "$SRV_EXIT" -eq 0 ] || { cat "$T/serve.log"; fail "server exited $SRV_EXIT"; }
"$MLXC" release s.mlx counted start > start3.log 2>&1 || { cat start3.log; fail "start counted"; }
start_server s.mlx --release counted
wait_state rolled_back 1200
hist counted > h4.txt
[ "$(awk '{ print $2 }' h4.txt | tr '\n' ' ')" = "started observation observation rolled_back " ] ||
  { cat h4.txt; fail "expected two idle observations, then rolled_back"; }
"$MLXC" release s.mlx counted history --json | jq -e 'select(.kind == "observation") | .detail.live' |
  grep -qv null && fail "an idle observation has live figures"
stop_server
[ "$SRV_EXIT" -eq 0 ] || { cat "$T/serve.log"; fail "server exited $SRV_EXIT"; }
exit 0
