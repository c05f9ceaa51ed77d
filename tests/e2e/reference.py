#!/usr/bin/python3
"""Computes the scikit-learn references in tests/e2e/reference.txt.

    /usr/bin/python3 tests/e2e/reference.py > tests/e2e/reference.txt

Needs Debian's python3-sklearn. It reproduces mlxc's split exactly (xoshiro256**
seeded by splitmix64, Fisher-Yates from the back with Lemire's unbiased bounded
draw: runtime/rt_rand.c; train takes round(n*p) rows, val round(n*p), test the
rest), standardizes with train statistics as `standardize` does, and fits
scikit-learn models of the same shape as the example specs.
"""
import csv
import warnings
import math
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, mean_squared_error
from sklearn.neural_network import MLPClassifier, MLPRegressor

M64 = (1 << 64) - 1


class Rand:
    def __init__(self, seed):
        x = seed
        self.s = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & M64
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            self.s.append(z ^ (z >> 31))

    def next(self):
        s = self.s
        rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & M64
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def below(self, n):
        m = self.next() * n
        lo = m & M64
        if lo < n:
            floor = ((1 << 64) - n) % n
            while lo < floor:
                m = self.next() * n
                lo = m & M64
        return m >> 64

    def shuffle(self, idx):
        for i in range(len(idx) - 1, 0, -1):
            j = self.below(i + 1)
            idx[i], idx[j] = idx[j], idx[i]


def split(n, fracs, seed):
    idx = list(range(n))
    Rand(seed).shuffle(idx)
    ntr = math.floor(n * fracs[0] + 0.5)
    nva = math.floor(n * fracs[1] + 0.5)
    return idx[:ntr], idx[ntr:ntr + nva], idx[ntr + nva:]


def load(path, label, drop=()):
    with open(path) as f:
        rows = list(csv.reader(f))
    head = rows[0]
    feats = [c for c in head if c != label and c not in drop]
    x = np.array([[float(r[head.index(c)]) for c in feats] for r in rows[1:]])
    y = [r[head.index(label)] for r in rows[1:]]
    return x, y


def standardize(x, tr):
    mu = x[tr].mean(axis=0)
    sd = x[tr].std(axis=0)
    sd[sd == 0] = 1
    return (x - mu) / sd


def main():
    warnings.simplefilter("ignore")
    out = sys.stdout
    x, y = load("examples/data/credit.csv", "defaulted", drop=("id",))
    y = np.array([1 if v == "Y" else 0 for v in y])
    tr, va, te = split(len(y), (0.70, 0.15, 0.15), 42)
    xs = standardize(x, tr)
    lr = LogisticRegression(max_iter=1000).fit(xs[tr], y[tr])
    out.write("credit_logistic %.4f  # LogisticRegression(max_iter=1000), test accuracy\n"
              % accuracy_score(y[te], lr.predict(xs[te])))
    mlp = MLPClassifier((32, 32), learning_rate_init=3e-3, batch_size=32, max_iter=30,
                        random_state=7).fit(xs[tr], y[tr])
    out.write("credit_mlp %.4f  # MLPClassifier((32, 32), adam lr 3e-3, batch 32, 30 epochs)\n"
              % accuracy_score(y[te], mlp.predict(xs[te])))

    x, y = load("examples/data/sensors.csv", "state")
    classes = sorted(set(y))
    y = np.array([classes.index(v) for v in y])
    tr, va, te = split(len(y), (0.70, 0.15, 0.15), 3)
    xs = standardize(x, tr)
    mlp = MLPClassifier((48, 48), learning_rate_init=2e-3, batch_size=64, max_iter=40,
                        random_state=1).fit(xs[tr], y[tr])
    out.write("sensors_mlp %.4f  # MLPClassifier((48, 48), adam lr 2e-3, batch 64, 40 epochs)\n"
              % accuracy_score(y[te], mlp.predict(xs[te])))

    x, y = load("examples/data/housing.csv", "price")
    y = np.array([float(v) for v in y])
    tr, va, te = split(len(y), (0.80, 0.10, 0.10), 5)
    xs = standardize(x, tr)
    reg = MLPRegressor((32,), learning_rate_init=5e-3, batch_size=32, max_iter=60,
                       random_state=2).fit(xs[tr], y[tr])
    out.write("housing_mse %.4f  # MLPRegressor((32,), adam lr 5e-3, batch 32, 60 epochs), test mse\n"
              % mean_squared_error(y[te], reg.predict(xs[te])))
    out.write("# computed by: /usr/bin/python3 tests/e2e/reference.py > tests/e2e/reference.txt\n")


if __name__ == "__main__":
    main()
