# serve.sh — a built executable serves its embedded model (and one named by
# --model) over HTTP like `mlxc serve`: /health, POST /predict answering as
# BIN predict does, SIGTERM ends it with exit 0. Uses tests/serve/lib.inc
# (its server is stopped on every way out).
. tests/serve/lib.inc
expect_exit 0 $MLXC run examples/credit.mlx scorer_mlp --out "$T/o"
m=$T/o/scorer_mlp.mlxm
B=$T/credit
expect_exit 0 $MLXC build examples/credit.mlx scorer_mlp -o "$B" --model "$m"
expect_exit 0 "$B" predict examples/data/credit.csv
awk 'NR > 1' "$T/out" > "$T/want.csv"
csv_json examples/data/credit.csv > "$T/rows.json"
MLXC_SAVED=$MLXC
for model in "" "$m"; do
  MLXC=$B
  if [ -n "$model" ]; then start_server --model "$model"; else start_server; fi
  MLXC=$MLXC_SAVED
  curl -s --noproxy '*' "$URL/health" > "$T/health"
  [ "$(jq -r .status "$T/health")" = ok ] || fail "health: $(cat "$T/health")"
  code=$(post "@$T/rows.json")
  [ "$code" = 200 ] || { head -c 500 "$T/resp"; fail "status $code"; }
  jq -r '.predictions[] | "\(.class),\(.probabilities.Y)"' "$T/resp" > "$T/got.csv"
  same_csv "$T/got.csv" "$T/want.csv" || fail "served predictions differ from BIN predict (model '$model')"
  stop_server
  [ "$SRV_EXIT" -eq 0 ] || { cat "$T/serve.log"; fail "BIN serve exited $SRV_EXIT"; }
done
exit 0
