"""torch_latency.py — PyTorch CPU's one-row predict latency on the same MLP
shapes as bench/predict/latency.c: layer widths from argv, one thread,
inference mode, each call on a (1, n_in) tensor of N(0, 1) values (the rows'
values do not change an MLP's work) timed alone with perf_counter_ns after a
warm-up. Prints one JSON object.
    torch_latency.py CALLS WIDTH... (input width first)"""
import json
import sys
import time

import numpy as np
import torch

calls, widths = int(sys.argv[1]), [int(w) for w in sys.argv[2:]]
torch.set_num_threads(1)
torch.manual_seed(1)
layers = []
for i in range(len(widths) - 1):
    layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
    layers.append(torch.nn.ReLU() if i < len(widths) - 2 else torch.nn.Sigmoid())
net = torch.nn.Sequential(*layers).eval()
x = np.random.default_rng(1).standard_normal((20000, widths[0]), dtype=np.float32)
rows = [torch.from_numpy(x[i:i + 1].copy()) for i in range(len(x))]
t = np.empty(calls, dtype=np.int64)
with torch.inference_mode():
    for r in rows[:10000]:
        net(r)
    t_all = time.perf_counter_ns()
    for i in range(calls):
        r = rows[i % len(rows)]
        t0 = time.perf_counter_ns()
        net(r)
        t[i] = time.perf_counter_ns() - t0
    t_all = time.perf_counter_ns() - t_all
t.sort()
print(json.dumps({"torch": torch.__version__, "calls": calls,
                  "p50_ns": int(t[calls // 2]), "p90_ns": int(t[calls * 9 // 10]),
                  "p99_ns": int(t[calls * 99 // 100]), "mean_ns": t_all / calls}))
