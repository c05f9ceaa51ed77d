# serve_admin.sh — a served release's POST /feedback (a label for a
# one-row request, into its arm's window: /metrics counts it, the next
# check journals live.labelled and accuracy; unknown ids 404, duplicates
# 409, bad labels 400) and its admin endpoints POST /release/promote,
# /rollback, /abort: 401 without the bearer token, 403 when the server has
# none, journaled with who and why when allowed, refused (409) by the state.
. tests/serve/lib.inc
case $MLXC in /*) ;; *) MLXC=$PWD/$MLXC ;; esac
sh tests/release/setup.inc "$T" || fail "setup failed"
cd "$T" || exit 1
cat > s.mlx <<'SPEC'
import "train.mlx"

release adm {
  candidate cand
  baseline "out/weak.mlxm"
  check every 1s min 3 requests
  step 50% manual
  step 80% manual
  step 100%
  promote when live.error_rate <= 0.99
}
SPEC
"$MLXC" release s.mlx adm start > cmd.log 2>&1 || { cat cmd.log; fail "start"; }
printf 'sekrit\n' > token
start_server s.mlx --release adm --admin-token-file token
row='{"amount":5000,"income":40000,"age":30,"history_years":5,"accounts":3,"late_payments":0}'
# send ID: one row with X-Request-Id ID; the answer in $T/resp
send() {
  curl -s --noproxy '*' -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
    -H "X-Request-Id: $1" --data-binary "$row" "$URL/predict"
}
# call PATH DATA [CURL ARGS]: POST, the body to $T/resp, the status printed
call() {
  p=$1 d=$2; shift 2
  curl -s --noproxy '*' -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "$d" "$@" "$URL$p"
}
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do [ "$(send "req$i")" = 200 ] || fail "predict req$i"; done
[ "$(call /feedback '{"request_id":"req1","label":"Y"}')" = 200 ] || { cat "$T/resp"; fail "feedback"; }
jq -e '.feedback == "req1" and (.arm == "candidate" or .arm == "baseline")' "$T/resp" > /dev/null ||
  { cat "$T/resp"; fail "feedback answer"; }
[ "$(call /feedback '{"request_id":"req2","label":"N"}')" = 200 ] || fail "feedback 2"
[ "$(call /feedback '{"request_id":"req1","label":"N"}')" = 409 ] || fail "duplicate feedback is not 409"
[ "$(call /feedback '{"request_id":"nosuch","label":"N"}')" = 404 ] || fail "unknown id is not 404"
[ "$(call /feedback '{"request_id":"req3","label":"maybe"}')" = 400 ] || fail "bad label is not 400"
[ "$(call /feedback '[1]')" = 400 ] || fail "not an object is not 400"
[ "$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' "$URL/feedback")" = 405 ] || fail "GET /feedback is not 405"
curl -s --noproxy '*' "$URL/metrics" > m.txt
l=$(sed -n 's/^mlxc_release_labels_total{release="adm",arm="[a-z]*"} //p' m.txt | awk '{ s += $1 } END { print s }')
[ "$l" = 2 ] || { grep labels m.txt; fail "/metrics labels: $l"; }
# the next check journals the labels
checks() { curl -s --noproxy '*' "$URL/metrics" | sed -n 's/^mlxc_release_checks_total{release="adm"} //p'; }
c0=$(checks) n=0
while [ "$(checks)" = "$c0" ]; do
  n=$((n + 1))
  [ $n -le 3000 ] || fail "no check after the feedback"
  sleep 0.1
done
# admin: no token, a wrong one, then the right one
[ "$(call /release/promote '{}')" = 401 ] || fail "promote without a token is not 401"
[ "$(call /release/promote '{}' -H 'Authorization: Bearer wrong')" = 401 ] || fail "a wrong token is not 401"
[ "$(call /release/promote '{"who":"ci","why":"canary ok"}' -H 'Authorization: Bearer sekrit')" = 200 ] ||
  { cat "$T/resp"; fail "promote"; }
jq -e '.state == "step" and .step == 2 and .percent == 80' "$T/resp" > /dev/null || { cat "$T/resp"; fail "promote answer"; }
grep -q '^mlxc_release_percent{release="adm"} 80$' <<EOF || fail "/metrics percent after promote"
$(curl -s --noproxy '*' "$URL/metrics")
EOF
[ "$(call /release/abort '' -H 'Authorization: Bearer sekrit')" = 200 ] || { cat "$T/resp"; fail "abort"; }
[ "$(call /release/rollback '' -H 'Authorization: Bearer sekrit')" = 409 ] || fail "rollback after abort is not 409"
grep -q "cannot be rolled back: it was aborted" "$T/resp" || { cat "$T/resp"; fail "refusal message"; }
[ "$(send after)" = 200 ] && grep -q '"arm":"baseline"' "$T/resp" || fail "after abort a request reached the candidate"
stop_server
[ "$SRV_EXIT" -eq 0 ] || { cat "$T/serve.log"; fail "server exited $SRV_EXIT"; }
"$MLXC" release s.mlx adm history > hist.txt || fail "history"
grep -q ' step_advanced  by ci  why "canary ok"' hist.txt || { cat hist.txt; fail "promote not journaled by ci"; }
grep -q ' aborted  by admin ' hist.txt || { cat hist.txt; fail "abort not journaled"; }
grep -q '"labelled":[12],' hist.txt || { cat hist.txt; fail "no observation counted the labels"; }
# a server without a token: 403
unset MLXC_ADMIN_TOKEN
"$MLXC" release s.mlx adm start --store two.db > cmd.log 2>&1 || { cat cmd.log; fail "start 2"; }
start_server s.mlx --release adm --store two.db
[ "$(call /release/rollback '' -H 'Authorization: Bearer sekrit')" = 403 ] || fail "no token configured is not 403"
stop_server
export MLXC_ADMIN_TOKEN=tok2
start_server s.mlx --release adm --store two.db
unset MLXC_ADMIN_TOKEN
[ "$(call /release/rollback '' -H 'Authorization: Bearer tok2')" = 200 ] || { cat "$T/resp"; fail "rollback with MLXC_ADMIN_TOKEN"; }
stop_server
"$MLXC" serve s.mlx --release adm --admin-token-file nosuch > err.txt 2>&1; [ $? -eq 6 ] || fail "missing token file is not exit 6"
"$MLXC" serve out/cand.mlxm --admin-token-file token > err.txt 2>&1; [ $? -eq 2 ] || fail "--admin-token-file without --release is not exit 2"
exit 0
