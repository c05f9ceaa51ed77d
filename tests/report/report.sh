# report.sh — `mlxc run --report FILE.html`: a binary, a regression and a
# multiclass train and a search on a generated CSV give one self-contained
# page whose charts, metrics, ROC and confusion matrices match the
# NAME.metrics.json files; headless Chromium renders it (DOM and a
# screenshot with the series colours in it). Also the refusals: a report
# path that cannot be written is exit 6 before anything trains.
. tests/e2e/lib.inc
# 400 rows from a fixed LCG: x1, x2, a binary label, a number, three classes
awk 'BEGIN {
  s = 12345; print "x1,x2,y,z,c"
  for (i = 0; i < 400; i++) {
    s = (s * 1103515245 + 12345) % 2147483648; a = s / 2147483648 * 4 - 2
    s = (s * 1103515245 + 12345) % 2147483648; b = s / 2147483648 * 4 - 2
    s = (s * 1103515245 + 12345) % 2147483648; n = s / 2147483648 - 0.5
    y = (a + 0.5 * b + 1.5 * n > 0) ? "Y" : "N"
    c = a + n < -0.6 ? "lo" : (a + n < 0.6 ? "mid" : "hi")
    printf "%.4f,%.4f,%s,%.4f,%s\n", a, b, y, 3 * a - b + n, c
  }
}' > "$T/d.csv"
cat > "$T/r.mlx" <<'EOF'
dataset bin {
  source csv("d.csv")
  drop column z
  drop column c
  feature * = standardize(*)
  label y = { "N": 0, "Y": 1 }
  split train 60%, val 20%, test 20% seed 3
}
dataset reg {
  source csv("d.csv")
  drop column y
  drop column c
  feature * = standardize(*)
  label z
  split train 60%, val 20%, test 20% seed 3
}
dataset three {
  source csv("d.csv")
  drop column y
  drop column z
  feature * = standardize(*)
  label c = { "lo": 0, "mid": 1, "hi": 2 }
  split train 60%, val 20%, test 20% seed 3
}
model logit(hidden: int = 4) {
  dense hidden relu
  dense 1 sigmoid
  loss bce
}
model lin {
  dense 1 identity
  loss mse
}
model soft {
  dense 3 softmax
  loss cross_entropy
}
train b {
  model logit
  data bin
  optimizer adam(lr = 0.02)
  schedule cosine(end = 0.002)
  epochs 7
  batch 16
  seed 1
}
train r {
  model lin
  data reg
  optimizer sgd(lr = 0.05)
  epochs 5
  batch 16
  seed 1
}
train m {
  model soft
  data three
  optimizer adam(lr = 0.05)
  epochs 6
  batch 16
  seed 1
}
search s {
  train b
  vary model.hidden in [2, 4]
  pick max val.auc
}
EOF
page=$T/page.html
expect_exit 0 $MLXC run "$T/r.mlx" --out "$T/o" --report "$page"
grep -q "^wrote $page\$" "$T/out" || fail "no 'wrote $page' line"
[ -s "$page" ] || fail "no page"
[ -e "$page.tmp" ] && fail "$page.tmp left behind"

# 1. structure: one <svg> per chart (binary 5: loss, val accuracy, val auc, lr,
# roc; regression and multiclass 4 each; the search's winner is binary)
n=$(grep -c '<svg ' "$page")
[ "$n" -eq 18 ] || fail "$n <svg> elements, expected 18"
for b in b r m s; do
  grep -q "<section id=\"b[0-9]\" data-block=\"$b\">" "$page" || fail "no section for $b"
done
for id in b1-loss b1-val-accuracy b1-val-auc b1-lr b1-roc b2-loss b2-val-rmse b2-val-r2 b2-lr \
          b3-loss b3-val-accuracy b3-val-f1 b3-lr b4-loss b4-roc; do
  grep -q "<svg id=\"$id\"" "$page" || fail "no chart $id"
done
grep -q '<title>' "$page" || fail "no chart titles"
grep -q 'class="tick"' "$page" || fail "no tick labels"
grep -q 'class="legend"' "$page" || fail "no legends"
# self-contained: nothing to fetch, no script
grep -Eiq '<script|<link|src=|@import|url\(|href="(https?:)?//' "$page" && fail "the page refers outside itself"
# each loss polyline has one point per epoch of that train's history
awk '/<svg id="/ { match($0, /id="[^"]*"/); svg = substr($0, RSTART + 4, RLENGTH - 5) }
     /data-series="(train|val) loss"/ {
       match($0, /data-series="[^"]*"/); name = substr($0, RSTART + 13, RLENGTH - 14)
       match($0, / points="[^"]*"/); p = substr($0, RSTART + 9, RLENGTH - 10)
       print svg, name, split(p, parts, " ")
     }' "$page" > "$T/loss_pts"
[ "$(wc -l < "$T/loss_pts")" -eq 8 ] || { cat "$T/loss_pts"; fail "expected 8 loss polylines"; }
i=0
for b in b r m s; do
  i=$((i + 1))
  ne=$(json "$T/o/$b.metrics.json" '.history | length')
  for series in "train loss" "val loss"; do
    got=$(awk -v id="b$i-loss" -v s="$series" '$1 == id && $2 " " $3 == s { print $4 }' "$T/loss_pts")
    [ "$got" = "$ne" ] || fail "$b: $series has $got points, $ne epochs"
  done
done
# the metrics table: every value equals metrics.json (10 significant digits)
awk '/<section id=/ { match($0, /data-block="[^"]*"/); blk = substr($0, RSTART + 12, RLENGTH - 13) }
     { while (match($0, /data-split="[^"]*" data-metric="[^"]*" data-value="[^"]*"/)) {
         t = substr($0, RSTART, RLENGTH); $0 = substr($0, RSTART + RLENGTH)
         split(t, q, "\""); print blk, q[2], q[4], q[6] } }' "$page" > "$T/cells"
[ "$(wc -l < "$T/cells")" -ge 60 ] || fail "only $(wc -l < "$T/cells") metric cells"
while read -r blk split metric v; do
  want=$(json "$T/o/$blk.metrics.json" ".splits.$split.$metric")
  awk -v a="$v" -v b="$want" 'BEGIN { d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b
                                       exit !(d <= 1e-9 * (m > 1 ? m : 1)) }' ||
    fail "$blk $split.$metric: page $v, metrics.json $want"
done < "$T/cells"
# the ROC points: at most 200, from (0,0) to (1,1), trapezoid area = test auc
for i in 1 4; do
  blk=$(sed -n "s/.*<section id=\"b$i\" data-block=\"\([^\"]*\)\".*/\1/p" "$page")
  sed -n "/<svg id=\"b$i-roc\"/,/<\/svg>/p" "$page" |
    sed -n 's/.*<desc class="roc-points"[^>]*>\([^<]*\)<.*/\1/p' > "$T/roc"
  [ -s "$T/roc" ] || fail "b$i: no ROC points"
  auc=$(json "$T/o/$blk.metrics.json" .splits.test.auc)
  awk -v want="$auc" '{ n = split($0, p, " "); if (n > 200 || n < 2) { print "points " n; exit 1 }
      split(p[1], a, ","); split(p[n], z, ",")
      if (a[1] != 0 || a[2] != 0 || z[1] != 1 || z[2] != 1) { print "ends"; exit 1 }
      s = 0; px = 0; py = 0
      for (k = 2; k <= n; k++) { split(p[k], c, ","); s += (c[1] - px) * (c[2] + py) / 2; px = c[1]; py = c[2] }
      d = s - want; if (d < 0) d = -d
      printf "roc: %d points, area %.9f, auc %s\n", n, s, want; exit !(d < 1e-6) }' "$T/roc" ||
    fail "b$i: ROC area differs from test auc $auc"
done
# confusion matrices: the test one of train b equals metrics.json
want=$(json "$T/o/b.metrics.json" '[.splits.test.confusion[][]] | map(tostring) | join(" ")')
got=$(sed -n '/<section id="b1"/,/<\/section>/p' "$page" |
      sed -n '/<table class="confusion" data-split="test">/,/<\/table>/p' |
      grep -o '>[0-9]*</td>' | tr -dc '0-9\n>' | tr -d '>' | tr '\n' ' ' | sed 's/ $//')
[ "$got" = "$want" ] || fail "test confusion of b: page '$got', metrics.json '$want'"
[ "$(grep -c '<table class="confusion"' "$page")" -eq 9 ] || fail "expected 9 confusion tables"
# gates: the trains name none (run refuses gate lines until gates are evaluated)
[ "$(grep -c 'names no gate' "$page")" -eq 4 ] || fail "gates section missing"
grep -q '>Learning rate per epoch<' "$page" || fail "no lr chart title"
# the search's trials: a row each, the winner marked as in s.search.json
sed -n '/<section id="b4"/,/<\/section>/p' "$page" > "$T/sec4"
[ "$(grep -c '^<tr><td>\|^<tr class="winner"><td>' "$T/sec4")" -eq 2 ] || fail "expected 2 trial rows"
wt=$(json "$T/o/s.search.json" .winner.trial)
grep -q "^<tr class=\"winner\"><td>$wt (winner)</td>" "$T/sec4" || fail "winner $wt not marked"

# 2. headless Chromium: the DOM holds the charts, a screenshot shows the series
command -v chromium > /dev/null || fail "chromium is not installed (make installs Debian's chromium)"
export HOME=$T   # chromium writes its profile under HOME
ch="chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars --user-data-dir=$T/prof"
$ch --dump-dom "file://$page" > "$T/dom" 2> "$T/dom.err" || { cat "$T/dom.err"; fail "chromium --dump-dom failed"; }
n=$(grep -o '<svg ' "$T/dom" | wc -l)
[ "$n" -eq 18 ] || fail "the rendered DOM holds $n svg elements, expected 18"
grep -q 'data-series="train loss"' "$T/dom" || fail "no loss curve in the rendered DOM"
$ch --window-size=1250,1300 --screenshot="$T/shot.png" "file://$page" > "$T/shot.err" 2>&1 ||
  { cat "$T/shot.err"; fail "chromium --screenshot failed"; }
[ -s "$T/shot.png" ] || fail "no screenshot"
for c in 1f77b4 ff7f0e 2ca02c; do   # train, val, lr series
  px=$(/usr/bin/python3 tests/report/png_color.py "$T/shot.png" $c 12) || fail "cannot read the PNG"
  echo "pixels of #$c: $px"
  [ "$px" -gt 0 ] || fail "no #$c pixels in the screenshot"
done

# 3. refusals, before anything trains
expect_exit 6 $MLXC run "$T/r.mlx" --out "$T/o2" --report /dev/null/dir/x.html
grep -q '/dev/null/dir: error: cannot create output directory: Not a directory' "$T/out" || fail "unclear error: $(cat "$T/out")"
grep -q '^epoch' "$T/out" && fail "trained before refusing the report path"
[ -e "$T/o2" ] && fail "made the output directory before refusing the report path"
expect_exit 6 $MLXC run "$T/r.mlx" --out "$T/o2" --report "$T"
grep -q 'it is a directory' "$T/out" || fail "a directory as the report: $(cat "$T/out")"
expect_exit 2 $MLXC check "$T/r.mlx" --report "$T/x.html"
expect_exit 2 $MLXC run "$T/r.mlx" --report
# an existing page is replaced whole
expect_exit 0 $MLXC run "$T/r.mlx" r --out "$T/o" --report "$page"
[ "$(grep -c '<svg ' "$page")" -eq 4 ] || fail "the page was not replaced"
exit 0
