#!/usr/bin/env python3
"""Generates the example datasets deterministically (Python standard library only).

    python3 examples/data/gen.py      # rewrites examples/data/*.csv

credit.csv   binary: does a loan default (N/Y), from amount, income, age, ...
sensors.csv  multiclass: which of 4 machine states, from 6 sensor readings
housing.csv  regression: price from rooms, area, age, distance
The data is synthetic and free of any licence restriction.
"""
import math
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))


def credit(rng, n=4000):
    rows = []
    for i in range(n):
        amount = math.exp(rng.gauss(9.0, 0.8))
        income = max(8000.0, rng.gauss(52000, 18000))
        age = min(80, max(18, int(rng.gauss(41, 12))))
        history = max(0, int(rng.gauss(9, 6)))
        accounts = max(1, int(rng.gauss(4, 2)))
        late = max(0, int(rng.expovariate(0.7)))
        z = (1.6 * math.log(amount / income * 10 + 1e-9) - 0.04 * (age - 40)
             - 0.10 * history + 0.55 * late + 0.08 * accounts + rng.gauss(0, 0.9) - 0.3)
        y = "Y" if z > 0.4 else "N"
        rows.append([i + 1, round(amount, 2), round(income, 2), age, history,
                     accounts, late, y])
    return ["id", "amount", "income", "age", "history_years", "accounts",
            "late_payments", "defaulted"], rows


def sensors(rng, n=3000):
    states = ["idle", "normal", "overload", "fault"]
    rows = []
    for i in range(n):
        k = rng.randrange(4)
        t = rng.uniform(0, 2 * math.pi)
        r = 1.0 + k * 0.9 + rng.gauss(0, 0.35)
        temp = 40 + 12 * r * math.cos(t) + rng.gauss(0, 2)
        vib = 3 + 2.5 * r * math.sin(t) + rng.gauss(0, 0.5)
        load = 20 * k + rng.gauss(50, 18)
        rpm = 1500 + 300 * math.sin(t + k) + rng.gauss(0, 60)
        volt = 230 + rng.gauss(0, 4) - 2 * (k == 3)
        noise = rng.gauss(0, 1)
        rows.append([round(temp, 3), round(vib, 3), round(load, 3), round(rpm, 2),
                     round(volt, 2), round(noise, 4), states[k]])
    return ["temperature", "vibration", "load", "rpm", "voltage", "noise", "state"], rows


def housing(rng, n=3000):
    rows = []
    for _ in range(n):
        rooms = rng.randint(1, 8)
        area = max(20.0, rooms * 18 + rng.gauss(10, 15))
        age = rng.uniform(0, 90)
        dist = rng.expovariate(1 / 8.0)
        price = (60 + 2.1 * area + 15 * math.sqrt(rooms) - 0.9 * age
                 + 80 * math.exp(-dist / 5) + rng.gauss(0, 12))
        rows.append([rooms, round(area, 1), round(age, 1), round(dist, 3),
                     round(price, 2)])
    return ["rooms", "area", "age", "distance_km", "price"], rows


def write(name, header, rows):
    with open(os.path.join(HERE, name), "w", newline="") as f:
        f.write(",".join(header) + "\n")
        for r in rows:
            f.write(",".join(str(v) for v in r) + "\n")


if __name__ == "__main__":
    write("credit.csv", *credit(random.Random(20261124)))
    write("sensors.csv", *sensors(random.Random(7)))
    write("housing.csv", *housing(random.Random(11)))
