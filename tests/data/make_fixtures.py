#!/usr/bin/env python3
"""make_fixtures.py — regenerates the CSV fixtures in tests/data (deterministic;
run from this directory). The runtime tests and end-to-end specs read them.
The small broken files beside them (ragged.csv, missing.csv, bad_utf8.csv,
unterminated.csv) are written by hand for the err_*.mlx golden tests."""
import math
import random

def rows_to_csv(path, header, rows, eol="\n"):
    with open(path, "w", newline="") as f:
        f.write(",".join(header) + eol)
        for r in rows:
            f.write(",".join(r) + eol)

def binary():
    rnd = random.Random(1)
    rows = []
    for i in range(200):
        x1 = rnd.gauss(0, 2)
        x2 = rnd.gauss(1, 3)
        y = "Y" if x1 + 0.5 * (x2 - 1) + rnd.gauss(0, 0.5) > 0 else "N"
        note = '"row %d, ok"' % i if i % 7 == 0 else "r%d" % i
        rows.append([str(1000 + i), "%.4f" % x1, "%.4f" % x2, note, y])
    rows_to_csv("binary.csv", ["id", "x1", "x2", "note", "y"], rows)

def regression():
    rnd = random.Random(2)
    rows = []
    for _ in range(200):
        x = [rnd.uniform(-3, 3) for _ in range(3)]
        t = 2 * x[0] - x[1] + 0.5 * x[2] + 1 + rnd.gauss(0, 0.1)
        rows.append(["%.4f" % v for v in x] + ["%.4f" % t])
    rows_to_csv("regression.csv", ["x1", "x2", "x3", "target"], rows)

def multiclass():
    rnd = random.Random(3)
    centers = {"setosa": (0, 0), "versicolor": (4, 0), "virginica": (2, 4)}
    rows = []
    for i in range(150):
        name = list(centers)[i % 3]
        cx, cy = centers[name]
        rows.append(["%.3f" % rnd.gauss(cx, 0.8), "%.3f" % rnd.gauss(cy, 0.8), name])
    rows_to_csv("multiclass.csv", ["f1", "f2", "species"], rows)

def quoted():
    # BOM, CRLF, a quoted header name, doubled quotes, an embedded newline,
    # a blank line and no newline at the end.
    text = ("\ufeffname,\"note, with comma\",value\r\n"
            "alpha,\"he said \"\"hi\"\"\",1.5\r\n"
            "\"beta\",\"two\nlines\",-2\r\n"
            "\r\n"
            "gamma,,3e2")
    with open("quoted.csv", "w", newline="", encoding="utf-8") as f:
        f.write(text)

binary(); regression(); multiclass(); quoted()
