# models.sh — every model of std/models checks and trains on a dataset of its
# task (credit: binary, sensors: 4 classes, housing: regression), with the
# shapes its parameters give (--dump=plan's parameter count), and a wrong
# module name suggests the right one.
. tests/e2e/lib.inc
case $MLXC in /*) ;; *) MLXC=$PWD/$MLXC ;; esac
D=$PWD/examples/data
LOANS=$(credit_loans 3)
cd "$T" || exit 1
cat > s.mlx <<SPEC
import "std/models"

$LOANS
dataset readings {
  source csv("$D/sensors.csv")
  feature * = standardize(*)
  label state
  split train 70%, val 15%, test 15% seed 3
}
dataset homes {
  source csv("$D/housing.csv")
  feature * = standardize(*)
  label price
  split train 70%, val 15%, test 15% seed 3
}

train t_logistic {
  model logistic
  data loans
  epochs 1
}
train t_mlp {
  model mlp(hidden = 8)
  data loans
  epochs 1
}
train t_mlp2 {
  model mlp2
  data loans
  epochs 1
}
train t_softmax {
  model softmax(classes = 4)
  data readings
  epochs 1
}
train t_mlp_softmax {
  model mlp_softmax(hidden = 16, classes = 4)
  data readings
  epochs 1
}
train t_linear {
  model linear
  data homes
  epochs 1
}
train t_mlp_regressor {
  model mlp_regressor(hidden = 4)
  data homes
  epochs 1
}
SPEC
"$MLXC" check s.mlx > check.log 2>&1 || { cat check.log; fail "check"; }
"$MLXC" run s.mlx > run.log 2>&1 || { cat run.log; fail "run"; }
for t in t_logistic t_mlp t_mlp2 t_softmax t_mlp_softmax t_linear t_mlp_regressor; do
  [ -f "out/$t.mlxm" ] || fail "no out/$t.mlxm"
done
# parameters: credit has 6 inputs, sensors 6, housing as its header says
nh=$(($(head -n 1 "$D/housing.csv" | tr ',' '\n' | wc -l) - 1))
params() { "$MLXC" --dump=plan s.mlx "$1" | sed -n 's/^plan [a-z_0-9]*: f32, batch [0-9]*, \([0-9]*\) params.*/\1/p'; }
[ "$(params t_logistic)" = 7 ] || fail "logistic: $(params t_logistic) params, expected 7"
[ "$(params t_mlp)" = 65 ] || fail "mlp(hidden = 8): $(params t_mlp), expected 65"
[ "$(params t_mlp2)" = 2561 ] || fail "mlp2: $(params t_mlp2), expected 2561"
[ "$(params t_softmax)" = 28 ] || fail "softmax(classes = 4): $(params t_softmax), expected 28"
[ "$(params t_mlp_softmax)" = 180 ] || fail "mlp_softmax: $(params t_mlp_softmax), expected 180"
[ "$(params t_linear)" = $((nh + 1)) ] || fail "linear: $(params t_linear), expected $((nh + 1))"
[ "$(params t_mlp_regressor)" = $((nh * 4 + 4 + 5)) ] || fail "mlp_regressor: $(params t_mlp_regressor)"
# a multiclass model with the wrong class count is the data's error at the layer
sed 's/softmax(classes = 4)/softmax(classes = 3)/' s.mlx > wrong.mlx
"$MLXC" run wrong.mlx t_softmax > wrong.log 2>&1
[ $? -eq 1 ] && grep -q "the last layer has 3 units but the label 'state' has 4 classes" wrong.log ||
  { cat wrong.log; fail "classes = 3 on 4 classes"; }
printf 'import "std/model"\n' > bad.mlx
"$MLXC" check bad.mlx > bad.log 2>&1
[ $? -eq 1 ] && grep -q "unknown module 'std/model'" bad.log && grep -q "std/models" bad.log ||
  { cat bad.log; fail "unknown module suggestion"; }
exit 0
