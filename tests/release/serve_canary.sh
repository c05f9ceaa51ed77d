# serve_canary.sh — `mlxc serve FILE --release NAME` on loopback: a healthy
# candidate advances step by step to promoted by its own checks (2 s
# windows), each answer names its arm, a bucket key that reached the
# candidate stays there while the percent grows, /metrics shows the arms
# and the state, and the journal's history has the step_advanced and
# promoted events the server decided (who empty).
. tests/serve/lib.inc
case $MLXC in /*) ;; *) MLXC=$PWD/$MLXC ;; esac
sh tests/release/setup.inc "$T" || fail "setup failed"
cd "$T" || exit 1
cat > s.mlx <<'SPEC'
import "train.mlx"

release canary {
  candidate cand
  baseline "out/weak.mlxm"
  bucket by request.user_id salt "s1"
  check every 2s min 5 requests
  step 20% for 10 requests
  step 60% for 10 requests
  step 100%
  promote when live.error_rate <= 0.9
  rollback when live.error_rate > 0.95
}
SPEC
"$MLXC" release s.mlx canary start --why test > start.log 2>&1 || { cat start.log; fail "start"; }
start_server s.mlx --release canary
row='"amount":5000,"income":40000,"age":30,"history_years":5,"accounts":3,"late_payments":0'
until_promoted s.mlx canary
# sticky: user u(i mod 40) was request i; once a key got the candidate it keeps it
awk '{ u = (NR - 1) % 40; c = index($0, "\"arm\":\"candidate\"") > 0
       if (seen[u] && !c) { print "key u" u " went back to the baseline at answer " NR; bad = 1 }
       if (c) seen[u] = 1 }
     END { exit bad }' answers.txt || fail "a bucket left the candidate while the percent grew"
# after the promotion every request goes to the candidate
tail -n 20 answers.txt | grep -q '"arm":"baseline"' && fail "a request reached the baseline after the promotion"
"$MLXC" release s.mlx canary history > hist.txt || fail "history"
[ "$(grep -c ' step_advanced ' hist.txt)" -eq 1 ] || { cat hist.txt; fail "expected one step_advanced"; }
[ "$(grep -c ' promoted ' hist.txt)" -eq 1 ] || { cat hist.txt; fail "expected one promoted"; }
grep -q ' observation .*"conclusive":true,"promote":true' hist.txt || fail "no conclusive observation journaled"
grep ' step_advanced ' hist.txt | grep -q 'by ' && fail "a decision of the rules names a user"
"$MLXC" release s.mlx canary status --json > st.json || fail "status"
[ "$(jq -r .state st.json)" = promoted ] || { cat st.json; fail "status is not promoted"; }
curl -s --noproxy '*' "$URL/metrics" > m.txt
grep -q '^mlxc_release_percent{release="canary"} 100$' m.txt || fail "/metrics percent"
c=$(sed -n 's/^mlxc_release_requests_total{release="canary",arm="candidate",outcome="ok"} //p' m.txt)
b=$(sed -n 's/^mlxc_release_requests_total{release="canary",arm="baseline",outcome="ok"} //p' m.txt)
[ "$((c + b))" -eq "$(grep -c . answers.txt)" ] || fail "/metrics arms ($c + $b) do not add up to the requests"
stop_server
[ "$SRV_EXIT" -eq 0 ] || { cat "$T/serve.log"; fail "server exited $SRV_EXIT"; }
grep -q "release 'canary': promoted" "$T/serve.log" || { cat "$T/serve.log"; fail "the server did not say it promoted"; }
exit 0
