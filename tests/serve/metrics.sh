# metrics.sh — GET /metrics in Prometheus text format, and its counts move:
# requests by status, the /predict latency histogram, predictions by class.
. tests/serve/lib.inc
expect_exit 0 $MLXC run examples/credit.mlx scorer_logistic --out "$T/o"
start_server "$T/o/scorer_logistic.mlxm"
row='{"amount":13867.88,"income":27859.27,"age":58,"history_years":9,"accounts":3,"late_payments":1}'
# value NAME{LABELS} — one sample of the last scrape
value() { awk -v k="$1" '$1 == k { print $2 }' "$T/m"; }
curl -s --noproxy '*' "$URL/metrics" > "$T/m"
grep -q '^# TYPE mlxc_http_requests_total counter$' "$T/m" || fail "no TYPE line"
grep -q '^# TYPE mlxc_predict_duration_seconds histogram$' "$T/m" || fail "no histogram"
ok0=$(value 'mlxc_http_requests_total{code="200"}')
bad0=$(value 'mlxc_http_requests_total{code="400"}')
n0=$(value mlxc_predict_duration_seconds_count)
inf0=$(value 'mlxc_predict_duration_seconds_bucket{le="+Inf"}')
p0=$(( $(value 'mlxc_predictions_total{class="N"}') + $(value 'mlxc_predictions_total{class="Y"}') ))
for i in 1 2 3; do [ "$(post "$row")" = 200 ] || fail "good row"; done
[ "$(post "[$row,$row,$row,$row,$row]")" = 200 ] || fail "five rows"
[ "$(post '{"amount":1}')" = 400 ] || fail "a bad row"
[ "$(post 'nonsense')" = 400 ] || fail "bad JSON"
curl -s --noproxy '*' "$URL/metrics" > "$T/m"
# the first scrape's own 200 is counted after its text was made
[ "$(value 'mlxc_http_requests_total{code="200"}')" -eq $((ok0 + 5)) ] || fail "200s: $(cat "$T/m")"
[ "$(value 'mlxc_http_requests_total{code="400"}')" -eq $((bad0 + 2)) ] || fail "400s"
[ "$(value mlxc_predict_duration_seconds_count)" -eq $((n0 + 6)) ] || fail "latency count"
[ "$(value 'mlxc_predict_duration_seconds_bucket{le="+Inf"}')" -eq $((inf0 + 6)) ] || fail "+Inf bucket"
p1=$(( $(value 'mlxc_predictions_total{class="N"}') + $(value 'mlxc_predictions_total{class="Y"}') ))
[ "$p1" -eq $((p0 + 8)) ] || fail "predictions counted: $p0 then $p1"
# buckets are cumulative
awk '/^mlxc_predict_duration_seconds_bucket/ { if ($2 < last) exit 1; last = $2 }' "$T/m" ||
  fail "buckets not cumulative"
stop_server
[ "$SRV_EXIT" -eq 0 ] || fail "server exited $SRV_EXIT"
exit 0
