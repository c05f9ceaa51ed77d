# predict.sh — `mlxc serve` answers every row of each example as `mlxc
# predict --json` does (same transforms, same kernel): each row's object
# equal, every number exact; one object in, one object out; /health names
# the model.
. tests/serve/lib.inc
for ex in credit:scorer_mlp sensors:sensor_state housing:house_price; do
  spec=${ex%%:*} name=${ex#*:}
  expect_exit 0 $MLXC run "examples/$spec.mlx" "$name" --out "$T/o"
  expect_exit 0 $MLXC predict "$T/o/$name.mlxm" "examples/data/$spec.csv" --json
  jq -c . "$T/out" > "$T/want.jsonl"
  csv_json "examples/data/$spec.csv" > "$T/rows.json"
  start_server "$T/o/$name.mlxm"
  code=$(post "@$T/rows.json")
  [ "$code" = 200 ] || { head -c 500 "$T/resp"; fail "$spec: status $code"; }
  jq -c '.predictions[]' "$T/resp" > "$T/got.jsonl"
  [ -s "$T/got.jsonl" ] || fail "$spec: no predictions"
  cmp "$T/got.jsonl" "$T/want.jsonl" || fail "$spec: served predictions differ from mlxc predict --json"
  # one object in, one object out, with the request id echoed
  row=$(jq -c '.[0]' "$T/rows.json")
  code=$(post "$row")
  [ "$code" = 200 ] || fail "$spec: single row status $code"
  [ "$(jq -r .request_id "$T/resp")" = t ] || fail "$spec: request id not echoed"
  jq -e 'has("predictions") | not' "$T/resp" > /dev/null || fail "$spec: single row answered as an array"
  curl -s --noproxy '*' "$URL/health" > "$T/health"
  [ "$(jq -r .status "$T/health")" = ok ] || fail "$spec: health"
  jq -e --arg h "$(jq -r .spec_hash "$T/o/$name.metrics.json")" '.spec_hash == $h' "$T/health" > /dev/null ||
    fail "$spec: health spec_hash"
  stop_server
  [ "$SRV_EXIT" -eq 0 ] || { cat "$T/serve.log"; fail "$spec: server exited $SRV_EXIT"; }
done
exit 0
