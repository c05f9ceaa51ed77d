# malformed.sh — the server against its corpus of bad requests
# (tests/serve/bad/*.json, each POSTed to /predict) and wrong methods,
# paths, content types and sizes: each answer's status and JSON body must
# match tests/serve/malformed.out (GOLDEN=1 rewrites it for review), and
# the server must still be up and answer a good request afterwards.
. tests/serve/lib.inc
mkdir -p "$T/d"
messy_spec "$T/d" 'optimizer adam(lr = 0.05)'   # history: good, bad
expect_exit 0 $MLXC run "$T/d/spec.mlx" --out "$T/o"
start_server "$T/o/messy.mlxm" --threads 2
got=$T/got
: > "$got"
# record NAME STATUS — appends one case's status and body
record() { printf '== %s\n%s\n%s\n' "$1" "$2" "$(cat "$T/resp")" >> "$got"; }
for f in tests/serve/bad/*.json; do
  record "$(basename "$f" .json)" "$(post "@$f")"
done
# request ($1 name) with curl arguments
other() {
  name=$1; shift
  code=$(curl -s --noproxy '*' -o "$T/resp" -w '%{http_code}' -H 'X-Request-Id: t' "$@")
  record "$name" "$code"
}
other get_predict "$URL/predict"
other post_health -d '{}' "$URL/health"
other delete_metrics -X DELETE "$URL/metrics"
other no_such_path "$URL/nope"
other root_path "$URL/"
other text_plain -H 'Content-Type: text/plain' --data-binary @tests/serve/bad/ok.json "$URL/predict"
other form_default -d 'amount=1' "$URL/predict"
head -c 1100000 /dev/zero | tr '\0' ' ' > "$T/big.json"
other body_over_limit -H 'Content-Type: application/json' --data-binary "@$T/big.json" "$URL/predict"
# a client's X-Request-Id is echoed only when it is 1-64 of [A-Za-z0-9._:-]
code=$(curl -s --noproxy '*' -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
  -H 'X-Request-Id: a"b' --data-binary @tests/serve/bad/ok.json "$URL/predict")
record bad_request_id "$code"
# the made-up id is random: keep its shape only
sed -i 's/"request_id":"[0-9a-f]\{8\}-[0-9a-f]\{8\}"/"request_id":"GENERATED"/' "$got"
if [ -n "${GOLDEN:-}" ]; then
  cp "$got" tests/serve/malformed.out
else
  diff -u tests/serve/malformed.out "$got" || fail "answers differ from tests/serve/malformed.out"
fi
[ "$(post @tests/serve/bad/ok.json)" = 200 ] || fail "the server stopped answering"
stop_server
[ "$SRV_EXIT" -eq 0 ] || { cat "$T/serve.log"; fail "server exited $SRV_EXIT"; }
exit 0
