#!/usr/bin/python3
"""Generates values.csv and the scikit-learn reference values_expected.csv
that tests/xform_values.c compares mlxc's transforms against (to 1e-6).

Run once, from the repository root, with Debian's python3-sklearn:
    /usr/bin/python3 tests/xform/make_expected.py
The outputs are committed; the test itself needs no Python.

Every row is fitted on (the driver sets the split to train 100%), so the
statistics are those of the whole file after the median fill of `a`."""
import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler

rng = np.random.default_rng(7)
n = 200
a = rng.normal(40.0, 12.0, n).round(3)
b = rng.lognormal(2.0, 0.9, n).round(4)
colors = np.array(["red", "green", "blue", "Blue", "green yellow"])
color = colors[rng.integers(0, len(colors), n)]
miss = rng.random(n) < 0.1
c = rng.uniform(-5.0, 5.0, n).round(2)
cmiss = rng.random(n) < 0.15
shades = np.array(["dark", "light", "mid"])
shade = shades[rng.choice(3, n, p=[0.5, 0.3, 0.2])]
smiss = rng.random(n) < 0.1
z = rng.uniform(0.0, 10.0, n).round(1)
zmiss = rng.random(n) < 0.1
def cell(v, m):
    return "" if m else repr(float(v))
with open("tests/xform/values.csv", "w") as f:
    f.write("rowid,a,b,color,c,shade,z\n")
    for i in range(n):
        f.write(f"{i},{cell(a[i], miss[i])},{b[i]!r},{color[i]},{cell(c[i], cmiss[i])},"
                f"{'' if smiss[i] else shade[i]},{cell(z[i], zmiss[i])}\n")

A = np.array([np.nan if miss[i] else float(repr(float(a[i]))) for i in range(n)]).reshape(-1, 1)
B = b.reshape(-1, 1)
cols, names = [], []
fa = StandardScaler().fit_transform(SimpleImputer(strategy="median").fit_transform(A))
cols.append(fa); names.append("fa")
cols.append(MinMaxScaler().fit_transform(B)); names.append("fb")
cols.append(StandardScaler().fit_transform(np.log1p(B))); names.append("fl")
enc = OneHotEncoder(handle_unknown="ignore")
oh = enc.fit_transform(color.reshape(-1, 1)).toarray()
cols.append(oh); names += [f"color={c}" for c in enc.categories_[0]]
cols.append(np.clip(B, 1, 50)); names.append("fc")
cols.append(np.digitize(B, [3, 7.5, 20]).astype(float)); names.append("fk")
cols.append(MinMaxScaler().fit_transform(B * B / 100 + 1)); names.append("q")
C = np.where(cmiss, np.nan, c).reshape(-1, 1)
cols.append(StandardScaler().fit_transform(SimpleImputer(strategy="mean").fit_transform(C)))
names.append("fm")
S = np.where(smiss, np.nan, shade.astype(object)).reshape(-1, 1)
S = SimpleImputer(strategy="most_frequent", missing_values=np.nan).fit_transform(S)
enc = OneHotEncoder(handle_unknown="ignore")
cols.append(enc.fit_transform(S).toarray()); names += [f"shade={v}" for v in enc.categories_[0]]
cols.append(np.zeros((n, 1))); names.append("shade=<other>")   # unseen = other: none in train
Z = np.where(zmiss, np.nan, z).reshape(-1, 1)
cols.append(MinMaxScaler().fit_transform(
    SimpleImputer(strategy="constant", fill_value=-1).fit_transform(Z)))
names.append("fz")
X = np.hstack(cols)
with open("tests/xform/values_expected.csv", "w") as f:
    f.write("rowid," + ",".join(names) + "\n")
    for i in range(n):
        f.write(str(i) + "," + ",".join(f"{v:.12g}" for v in X[i]) + "\n")
