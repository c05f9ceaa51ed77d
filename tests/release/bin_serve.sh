# bin_serve.sh — `BIN serve --release NAME` of an executable `mlxc build`
# made from a spec that declares the release (built beside the spec, so
# the spec's relative paths and the default journal NAME.release.db are
# the same for BIN and mlxc): after `mlxc release ... start`, a healthy
# candidate advances and is promoted by BIN's own checks (2 s windows), as
# under `mlxc serve --release` (serve_canary.sh); every answer names its
# arm; `mlxc release` reads the decisions BIN journaled. A copy of BIN in
# another directory reads the spec's relative paths from there (its
# dataset's CSV missing: exit 4, unless --data names one) and shares the
# journal through --store. Also: `ldd BIN` names no LLVM; a wrong release
# name, a release without baseline, an arm of another shape than BIN's
# kernels and misplaced options are refused.
. tests/serve/lib.inc
case $MLXC in /*) ;; *) MLXC=$PWD/$MLXC ;; esac
mkdir "$T/w" && cp examples/data/credit.csv "$T/w/" && cd "$T/w" || exit 1   # $T/out is expect_exit's
cat > s.mlx <<SPEC
dataset loans {
  source csv("credit.csv")
  drop column id
  feature * = standardize(*)
  label defaulted = { "N": 0, "Y": 1 }
  split train 70%, val 15%, test 15% seed 3
}
model lr {
  dense 1 sigmoid
  loss bce
}
model mlp {
  dense 4 relu
  dense 1 sigmoid
  loss bce
}
gate ship {
  test.auc >= 0.5
}
train cand {
  model lr
  data loans
  epochs 1
  gate ship
}
train weak {
  model lr
  data loans
  epochs 2
}
train wide {
  model mlp
  data loans
  epochs 1
}
release canary {
  candidate cand
  baseline "out/weak.mlxm"
  gate ship
  bucket by request.user_id salt "s1"
  check every 2s min 5 requests
  step 20% for 10 requests
  step 60% for 10 requests
  step 100%
  promote when live.error_rate <= 0.9
  rollback when live.error_rate > 0.95
}
release nobase {
  candidate cand
  step 100%
  promote when live.error_rate <= 0.9
}
release shape {
  candidate cand
  baseline "out/wide.mlxm"
  step 100%
  promote when live.error_rate <= 0.9
}
SPEC
expect_exit 0 "$MLXC" run s.mlx
expect_exit 0 "$MLXC" build s.mlx cand -o "$T/w/s" --cpu native
B=$T/w/s
ldd "$B" > ldd.txt 2>&1
grep -qi llvm ldd.txt && { cat ldd.txt; fail "BIN links LLVM"; }
# refused: usage (2) and an arm BIN has no kernels for (4); NOSRV makes a
# server that wrongly starts exit (its port file cannot be written), not hang
NOSRV="--port 0 --port-file $T/nodir/port"
expect_exit 2 "$B" serve --release nope $NOSRV
grep -q "no release block named 'nope' (releases: canary, nobase, shape)" "$T/out" || fail "wrong name: $(cat "$T/out")"
expect_exit 2 "$B" serve --release nobase $NOSRV
grep -q "release 'nobase' cannot be served: it names no baseline" "$T/out" || fail "no baseline: $(cat "$T/out")"
expect_exit 4 "$B" serve --release shape $NOSRV
grep -q "its baseline '.*out/wide.mlxm' has another shape" "$T/out" || fail "shape: $(cat "$T/out")"
expect_exit 2 "$B" serve --release canary --model out/cand.mlxm $NOSRV
expect_exit 2 "$B" predict --release canary
expect_exit 2 "$B" serve --store x.db
expect_exit 2 "$B" serve --release canary --store "" $NOSRV
echo > empty.tok
expect_exit 2 "$B" serve --release canary --admin-token-file empty.tok $NOSRV
grep -q "admin token file 'empty.tok' is empty" "$T/out" || fail "empty token: $(cat "$T/out")"
expect_exit 6 "$B" serve --release canary --admin-token-file none.tok $NOSRV
grep -q "cannot read the admin token file 'none.tok'" "$T/out" || fail "no token file: $(cat "$T/out")"
"$MLXC" release s.mlx canary start --why test > start.log 2>&1 || { cat start.log; fail "start"; }
MLXC_SAVED=$MLXC
MLXC=$B
start_server --release canary
MLXC=$MLXC_SAVED
row='"amount":5000,"income":40000,"age":30,"history_years":5,"accounts":3,"late_payments":0'
until_promoted s.mlx canary
tail -n 20 answers.txt | grep -q '"arm":"baseline"' && fail "a request reached the baseline after the promotion"
# a body that is not JSON, or repeats a field, is the decoder's 400, with its arm
code=$(post '{"user_id":"u1",')
[ "$code" = 400 ] && grep -q '^{"arm":"candidate","request_id":"t","error":"malformed JSON' "$T/resp" ||
  fail "malformed body: $code $(cat "$T/resp")"
code=$(post "{\"user_id\":\"u1\",\"age\":3,$row}")
[ "$code" = 400 ] && grep -q '^{"arm":"candidate",.*"error":".*duplicate' "$T/resp" ||
  fail "a repeated field: $code $(cat "$T/resp")"
# the release server's 404 names its own endpoints too
curl -s --noproxy '*' "$URL/nope" > nf.json
grep -q 'POST /feedback, POST /release/promote' nf.json || fail "404: $(cat nf.json)"
"$MLXC" release s.mlx canary history > hist.txt || fail "history"
[ "$(grep -c ' step_advanced ' hist.txt)" -eq 1 ] || { cat hist.txt; fail "expected one step_advanced"; }
[ "$(grep -c ' promoted ' hist.txt)" -eq 1 ] || { cat hist.txt; fail "expected one promoted"; }
grep -q ' observation .*"conclusive":true,"promote":true' hist.txt || fail "no conclusive observation journaled"
grep ' \(step_advanced\|promoted\) ' hist.txt | grep -q 'by ' && fail "a decision of the rules names a user"
"$MLXC" release s.mlx canary status --json > st.json || fail "status"
[ "$(jq -r .state st.json)" = promoted ] || { cat st.json; fail "status is not promoted"; }
stop_server
[ "$SRV_EXIT" -eq 0 ] || { cat "$T/serve.log"; fail "BIN exited $SRV_EXIT"; }
grep -q "release 'canary': promoted (promoted by the rules" "$T/serve.log" || { cat "$T/serve.log"; fail "BIN did not say it promoted"; }
# BIN elsewhere: the spec's relative paths are read beside it
mkdir "$T/x" && cp "$B" "$T/x/s" && cp -r out "$T/x/" && cd "$T/x" || exit 1
expect_exit 4 ./s serve --release canary --store "$T/w/canary.release.db" $NOSRV
grep -q "$T/x/credit.csv" "$T/out" || fail "the dataset beside BIN: $(cat "$T/out")"
expect_exit 2 ./s predict --data "$T/w/credit.csv"
MLXC=$T/x/s
start_server --release canary --store "$T/w/canary.release.db" --data "$T/w/credit.csv"
MLXC=$MLXC_SAVED
[ "$(release_state)" = promoted ] || fail "BIN elsewhere does not read the shared journal: $(release_state)"
code=$(post "{\"user_id\":\"u1\",$row}")
[ "$code" = 200 ] && grep -q '^{"arm":"candidate"' "$T/resp" || fail "BIN elsewhere: $code $(cat "$T/resp")"
stop_server
[ "$SRV_EXIT" -eq 0 ] || { cat "$T/serve.log"; fail "BIN elsewhere exited $SRV_EXIT"; }
exit 0
