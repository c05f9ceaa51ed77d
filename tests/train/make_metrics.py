# make_metrics.py — the fixture of tests/metrics_sklearn.c: predictions and
# labels, and scikit-learn's value of every metric on them. Run once, from
# the repository root, with Debian's python3-sklearn:
#   /usr/bin/python3 tests/train/make_metrics.py > tests/train/metrics_sklearn.txt
# Predictions are float32 (what the kernels write), printed with 9 digits so
# the C side reads back the very values scikit-learn was given.
import numpy as np
import sklearn
from sklearn.metrics import (accuracy_score, f1_score, log_loss, mean_absolute_error,
                             mean_squared_error, precision_score, r2_score, recall_score,
                             roc_auc_score)

rng = np.random.default_rng(20261124)
print("# made by: /usr/bin/python3 tests/train/make_metrics.py > tests/train/metrics_sklearn.txt")
print("# scikit-learn %s, numpy %s" % (sklearn.__version__, np.__version__))


def emit(name, task, k, y, p, exp):
    n = len(y)
    print("case %s %s %d %d" % (name, task, k, n))
    for i in range(n):
        row = p[i] if p.ndim == 2 else [p[i]]
        print("%.9g %s" % (y[i], " ".join("%.9g" % v for v in row)))
    for key, v in exp.items():
        print("expect %s %.17g" % (key, v))
    print("end")


def binary(name, y, p):
    p = np.asarray(p, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    yhat = (p >= np.float32(0.5)).astype(np.int64)
    pd = p.astype(np.float64)
    exp = {"accuracy": accuracy_score(y, yhat),
           "precision": precision_score(y, yhat, zero_division=0),
           "recall": recall_score(y, yhat, zero_division=0),
           "f1": f1_score(y, yhat, zero_division=0),
           "log_loss": log_loss(y, pd, labels=[0, 1]),
           "auc": roc_auc_score(y, pd) if 0 < y.sum() < len(y) else float("nan")}
    emit(name, "binary", 2, y, p, exp)


def multiclass(name, k, y, p):
    p = np.asarray(p, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    yhat = np.argmax(p, axis=1)
    pd = p.astype(np.float64)
    exp = {"accuracy": accuracy_score(y, yhat),
           "log_loss": log_loss(y, pd / pd.sum(axis=1, keepdims=True), labels=list(range(k)))}
    for avg, suf in (("macro", ""), ("weighted", "_weighted")):
        exp["precision" + suf] = precision_score(y, yhat, average=avg, zero_division=0)
        exp["recall" + suf] = recall_score(y, yhat, average=avg, zero_division=0)
        exp["f1" + suf] = f1_score(y, yhat, average=avg, zero_division=0)
    emit(name, "multiclass", k, y, p, exp)


def regression(name, y, p):
    y = np.asarray(y, dtype=np.float32)
    p = np.asarray(p, dtype=np.float32)
    yd, pd = y.astype(np.float64), p.astype(np.float64)
    mse = mean_squared_error(yd, pd)
    exp = {"mse": mse, "rmse": mean_squared_error(yd, pd, squared=False),
           "mae": mean_absolute_error(yd, pd), "r2": r2_score(yd, pd)}
    emit(name, "regression", 1, y, p, exp)


# binary: smooth scores, scores on a coarse grid (many ties, some exactly 0.5),
# one score for every row, no predicted positives, one class only
y = rng.integers(0, 2, 300)
binary("bin_smooth", y, np.clip(0.5 + 0.25 * (2 * y - 1) + rng.normal(0, 0.25, 300), 0.01, 0.99))
y = rng.integers(0, 2, 200)
binary("bin_ties", y, np.clip(np.round((0.5 + 0.2 * (2 * y - 1) + rng.normal(0, 0.3, 200)) * 20) / 20,
                              0.05, 0.95))
binary("bin_all_tied", rng.integers(0, 2, 40), np.full(40, 0.3))
y = rng.integers(0, 2, 50)
binary("bin_no_pos_pred", y, rng.uniform(0.05, 0.45, 50))
binary("bin_one_class", np.ones(20, dtype=np.int64), rng.uniform(0.05, 0.95, 20))
y = np.array([0, 0, 1, 1, 0, 1, 1, 0, 1, 0])
binary("bin_small", y, [0.1, 0.4, 0.35, 0.8, 0.5, 0.5, 0.9, 0.65, 0.35, 0.2])

# multiclass: softmax-like rows, rows with tied maxima, a class never seen
def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)

y = rng.integers(0, 3, 240)
multiclass("multi3", 3, y, softmax(rng.normal(0, 1, (240, 3)) + 1.2 * np.eye(3)[y]))
y = rng.integers(0, 5, 400)
multiclass("multi5", 5, y, softmax(rng.normal(0, 1, (400, 5)) + 0.8 * np.eye(5)[y]))
y = rng.integers(0, 3, 60)   # class 3 of 4 appears in neither labels nor predictions
z = rng.normal(0, 1, (60, 4)) + 1.5 * np.eye(4)[y]
z[:, 3] = -10
multiclass("multi4_unseen", 4, y, softmax(z))
y = rng.integers(0, 3, 30)
p = np.tile([[0.4, 0.4, 0.2]], (30, 1))   # every row ties: the first largest wins
p[::3] = [0.25, 0.25, 0.5]
multiclass("multi3_ties", 3, y, p)

# regression: noisy fit, a constant target predicted exactly and not
y = rng.normal(3, 2, 200)
regression("reg_noisy", y, y + rng.normal(0, 0.7, 200))
regression("reg_const_exact", np.full(10, 2.5), np.full(10, 2.5))
regression("reg_const_off", np.full(10, 2.5), np.linspace(2, 3, 10))
