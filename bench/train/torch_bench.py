"""torch_bench.py — the PyTorch CPU and scikit-learn side of bench/train/run.sh.

Trains the models of bench/train/train.mlx on the same CSV: logistic regression
with SGD and a 64-128-64-1 MLP with Adam, batch 256, at 1 and 2 threads, and a
scikit-learn SGDClassifier (log loss, partial_fit once per epoch) for reference.
Like mlxc, 98% of the rows (a seeded shuffle) are trained on, standardized with
the train split's mean and deviation; the holdout CSV measures accuracy. Each
epoch is timed from the shuffle to the last step (the same span as mlxc's
`--verbose` epoch line). Writes one JSON object to stdout.

    python3 torch_bench.py TRAIN.csv HOLDOUT.csv LR_EPOCHS MLP_EPOCHS
"""
import ctypes
import json
import sys
import time

import numpy as np
import pandas as pd
import torch
import sklearn
from sklearn.linear_model import SGDClassifier

train_csv, holdout_csv = sys.argv[1], sys.argv[2]
lr_epochs, mlp_epochs = int(sys.argv[3]), int(sys.argv[4])
BATCH = 256


def load(path):
    df = pd.read_csv(path, dtype=np.float32, engine="c")
    y = df.pop("y").to_numpy(np.float32)
    return np.ascontiguousarray(df.to_numpy(np.float32)), y


t0 = time.perf_counter()
X, Y = load(train_csv)
H, HY = load(holdout_csv)
load_s = time.perf_counter() - t0
rng = np.random.default_rng(1)
order = rng.permutation(len(X))
n_train = int(round(len(X) * 0.98))
X, Y = X[order[:n_train]], Y[order[:n_train]]
mu, sd = X.mean(0), X.std(0)
sd[sd == 0] = 1
X = np.ascontiguousarray((X - mu) / sd, dtype=np.float32)
H = np.ascontiguousarray((H - mu) / sd, dtype=np.float32)
Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y).reshape(-1, 1)
Ht = torch.from_numpy(H)


def logistic():
    return torch.nn.Linear(64, 1)


def mlp():
    return torch.nn.Sequential(
        torch.nn.Linear(64, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 1))


def blas_threads(n):
    # OpenBLAS (run.sh puts Debian's first on LD_LIBRARY_PATH) keeps its own pool
    try:
        ctypes.CDLL("libblas.so.3").openblas_set_num_threads(n)
    except (OSError, AttributeError):
        pass


def blas_name():
    for line in open("/proc/self/maps"):
        if "libblas.so" in line or "libopenblas" in line:
            return line.split()[-1]
    return "none"


def train_torch(make, opt_name, lr, epochs, threads):
    torch.set_num_threads(threads)
    blas_threads(threads)
    torch.manual_seed(1)
    model = make()
    if opt_name == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=lr)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=lr)
    lossf = torch.nn.BCEWithLogitsLoss()
    n = Xt.shape[0]
    times = []
    for _ in range(epochs):
        t = time.perf_counter()
        perm = torch.randperm(n)
        for at in range(0, n, BATCH):
            idx = perm[at:at + BATCH]
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(Xt[idx]), Yt[idx])
            loss.backward()
            opt.step()
        times.append((time.perf_counter() - t) * 1e3)
    with torch.no_grad():
        acc = float(((model(Ht).reshape(-1) > 0).float().numpy() == HY).mean())
    return {"threads": threads, "epoch_ms": times, "holdout_accuracy": acc}


out = {"torch_version": torch.__version__, "sklearn_version": sklearn.__version__,
       "numpy_version": np.__version__, "blas": blas_name(), "rows": int(len(X)), "load_s": load_s,
       "lr_sgd": [], "mlp_adam": []}
for th in (1, 2):
    out["lr_sgd"].append(train_torch(logistic, "sgd", 0.05, lr_epochs, th))
    print("torch lr_sgd threads=%d epoch_ms=%s" % (th, out["lr_sgd"][-1]["epoch_ms"]),
          file=sys.stderr, flush=True)
for th in (1, 2):
    out["mlp_adam"].append(train_torch(mlp, "adam", 1e-3, mlp_epochs, th))
    print("torch mlp_adam threads=%d epoch_ms=%s" % (th, out["mlp_adam"][-1]["epoch_ms"]),
          file=sys.stderr, flush=True)

# scikit-learn: per-row SGD (it has no mini-batches), one partial_fit per epoch
clf = SGDClassifier(loss="log_loss", penalty=None, learning_rate="constant", eta0=0.05,
                    random_state=1)
times = []
for _ in range(lr_epochs):
    t = time.perf_counter()
    clf.partial_fit(X, Y, classes=np.array([0.0, 1.0], dtype=np.float32))
    times.append((time.perf_counter() - t) * 1e3)
out["sklearn_sgd"] = {"epoch_ms": times,
                      "holdout_accuracy": float((clf.predict(H) == HY).mean())}
print("sklearn sgd epoch_ms=%s" % times, file=sys.stderr, flush=True)
json.dump(out, sys.stdout)
print()
