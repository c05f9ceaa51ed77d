# drain.sh — SIGTERM while requests are in flight loses none: 12 clients
# upload a body slowly (curl --limit-rate), the server is signalled once
# /metrics shows all of them begun, and every one still gets its 200; the
# server then exits 0 and no longer accepts connections.
. tests/serve/lib.inc
expect_exit 0 $MLXC run examples/credit.mlx scorer_logistic --out "$T/o"
head -n 401 examples/data/credit.csv > "$T/rows.csv"
csv_json "$T/rows.csv" > "$T/rows.json"          # about 55 KB: 400 rows
start_server "$T/o/scorer_logistic.mlxm" --threads 2
N=12
pids=""
i=0
while [ $i -lt $N ]; do
  curl -s --noproxy '*' -o "$T/resp.$i" -w '%{http_code}' --limit-rate 20k \
    -H 'Content-Type: application/json' --data-binary "@$T/rows.json" "$URL/predict" \
    > "$T/code.$i" 2>&1 &
  pids="$pids $!"
  i=$((i + 1))
done
# every client has begun: in flight (less the /metrics request itself) or,
# on a very slow machine, already answered
while :; do
  n=$(curl -s --noproxy '*' "$URL/metrics" | awk '$1 == "mlxc_requests_in_flight" { print $2 - 1 }')
  done_=0
  for f in "$T"/code.*; do [ -s "$f" ] && done_=$((done_ + 1)); done
  [ $((${n:-0} + done_)) -ge $N ] && break
  sleep 0.05
done
kill -TERM "$SRV_PID"
for p in $pids; do wait "$p" || fail "a client failed (curl exit $?)"; done
wait "$SRV_PID"
SRV_EXIT=$?
SRV_PID=""
[ "$SRV_EXIT" -eq 0 ] || { cat "$T/serve.log"; fail "server exited $SRV_EXIT"; }
i=0
while [ $i -lt $N ]; do
  [ "$(cat "$T/code.$i")" = 200 ] || fail "client $i got $(cat "$T/code.$i")"
  [ "$(jq '.predictions | length' "$T/resp.$i")" -eq 400 ] || fail "client $i: not 400 predictions"
  i=$((i + 1))
done
curl -s --noproxy '*' "$URL/health" > /dev/null && fail "still accepting after the drain"
grep -q "stopped after" "$T/serve.log" || { cat "$T/serve.log"; fail "no closing line"; }
exit 0
