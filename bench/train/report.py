"""report.py — the table and build/bench/train.json of bench/train/run.sh.

    python3 report.py DIR ROWS
reads DIR/mlxc.err (`mlxc run --verbose`), DIR/mlxc_t2.err (the MLP with
--threads 2), DIR/machine.txt, DIR/torch.json,
DIR/acc_lr_sgd.txt and DIR/acc_mlp_adam.txt, DIR/load.txt; writes DIR/train.json.
"""
import json
import re
import sys

d, rows = sys.argv[1], int(sys.argv[2])
err = open(d + "/mlxc.err").read().splitlines()
mach = dict(kv.split("=") for kv in open(d + "/machine.txt").read().split())
tb = json.load(open(d + "/torch.json"))

# mlxc: the verbose lines of each train block, in the spec's order (lr_sgd, mlp_adam)
blocks, cur = [], None
for line in err:
    m = re.match(r"mlxc: (.*?)\s+([0-9.]+) ms$", line)
    if not m:
        continue
    name, ms = m.group(1).strip(), float(m.group(2))
    if name == "load data":
        cur = {"load_ms": ms, "epoch_ms": []}
        blocks.append(cur)
    elif cur is not None and name.startswith("epoch"):
        cur["epoch_ms"].append(ms)
    elif cur is not None:
        cur[name.replace(" ", "_") + "_ms"] = ms
names = ["lr_sgd", "mlp_adam"]
mlxc = {}
for n, b in zip(names, blocks):
    b["compile_ms"] = b.get("llvm_optimize_ms", 0) + b.get("jit_ms", 0)
    b["best_epoch_ms"] = min(b["epoch_ms"])
    b["holdout_accuracy"] = float(open("%s/acc_%s.txt" % (d, n)).read())
    mlxc[n] = b

# the MLP with --threads 2 (mlxc_t2.err): its best epoch
t2 = [float(m.group(1)) for m in (re.match(r"mlxc: epoch\s+\d+\s+([0-9.]+) ms$", l)
                                  for l in open(d + "/mlxc_t2.err").read().splitlines()) if m]
mlxc["mlp_adam_threads2"] = {"epoch_ms": t2, "best_epoch_ms": min(t2) if t2 else float("nan")}

n_train = tb["rows"]
triad = max(float(v) for k, v in mach.items() if k.startswith("triad_GBs"))
peak = max(float(v) for k, v in mach.items() if k.startswith("fma_GFLOPs"))
peak1 = float(mach["fma_GFLOPs_1t"])
# one epoch reads the train matrix once (float32): the memory bound
lr_bytes = n_train * 64 * 4
lr_flops = n_train * 4 * 64            # forward and gradient: two multiply-adds a weight
mlp_w = 64 * 128 + 128 * 64 + 64 * 1
mlp_flops = n_train * 6 * mlp_w        # forward 2, backward 4 flops a weight a row
bounds = {
    "lr_sgd": {"bytes": lr_bytes, "flops": lr_flops,
               "memory_ms": lr_bytes / triad / 1e6, "compute_ms": lr_flops / peak / 1e6},
    "mlp_adam": {"bytes": lr_bytes, "flops": mlp_flops,
                 "memory_ms": lr_bytes / triad / 1e6, "compute_ms": mlp_flops / peak / 1e6,
                 "compute_ms_1t": mlp_flops / peak1 / 1e6},
}


def best_torch(runs):
    b = min(runs, key=lambda r: min(r["epoch_ms"]))
    return min(b["epoch_ms"]), b["threads"]


res = {"rows_generated": rows, "rows_train": n_train, "batch": 256, "machine": mach,
       "mlxc": mlxc, "torch": tb, "bounds": bounds, "summary": {}}
print()
print("Training benchmark: %d rows x 64 features (%d trained), batch 256; best epoch, ms"
      % (rows, n_train))
print("  %-34s %10s %10s %10s %14s" % ("", "mlxc", "torch 1t", "torch 2t", "mlxc speed-up"))
for n, label in (("lr_sgd", "logistic regression, SGD"), ("mlp_adam", "MLP 64-128-64-1, Adam")):
    t1 = min(tb[n][0]["epoch_ms"])
    t2 = min(tb[n][1]["epoch_ms"])
    tbest, th = best_torch(tb[n])
    sp = tbest / mlxc[n]["best_epoch_ms"]
    res["summary"][n] = {"mlxc_ms": mlxc[n]["best_epoch_ms"], "torch_best_ms": tbest,
                         "torch_best_threads": th, "speedup": sp,
                         "mlxc_holdout_accuracy": mlxc[n]["holdout_accuracy"],
                         "torch_holdout_accuracy": tb[n][0]["holdout_accuracy"]}
    print("  %-34s %10.1f %10.1f %10.1f %13.2fx" % (label, mlxc[n]["best_epoch_ms"], t1, t2, sp))
    print("  %-34s %10.4f %10.4f %10.4f" % ("  holdout accuracy", mlxc[n]["holdout_accuracy"],
                                            tb[n][0]["holdout_accuracy"],
                                            tb[n][1]["holdout_accuracy"]))
tbest, th = best_torch(tb["mlp_adam"])
t2ms = mlxc["mlp_adam_threads2"]["best_epoch_ms"]
res["summary"]["mlp_adam_threads2"] = {"mlxc_ms": t2ms, "speedup": tbest / t2ms}
print("  %-34s %10.1f %32.2fx" % ("  mlxc --threads 2", t2ms, tbest / t2ms))
sk = min(tb["sklearn_sgd"]["epoch_ms"])
res["summary"]["sklearn_sgd"] = {"ms": sk, "holdout_accuracy": tb["sklearn_sgd"]["holdout_accuracy"],
                                 "mlxc_lr_speedup": sk / mlxc["lr_sgd"]["best_epoch_ms"]}
print("  %-34s %10.1f ms (per-row SGD, no batches), mlxc LR %.2fx faster; holdout %.4f"
      % ("scikit-learn SGDClassifier", sk, sk / mlxc["lr_sgd"]["best_epoch_ms"],
         tb["sklearn_sgd"]["holdout_accuracy"]))
print("  mlxc JIT compile (llvm optimize + jit): LR %.1f ms, MLP %.1f ms"
      % (mlxc["lr_sgd"]["compile_ms"], mlxc["mlp_adam"]["compile_ms"]))
print("  machine: triad %.1f GB/s (1 thread %.1f), FP32 FMA peak %.0f GFLOP/s (1 thread %.0f, %s-bit)"
      % (triad, float(mach["triad_GBs_1t"]), peak, peak1, mach["simd"]))
b = bounds["lr_sgd"]
print("  LR bound: read %.0f MB once = %.1f ms at triad bandwidth (%.1f MFLOP = %.2f ms at peak);"
      " mlxc at %.1fx the bound" % (b["bytes"] / 1e6, b["memory_ms"], b["flops"] / 1e6,
                                    b["compute_ms"], mlxc["lr_sgd"]["best_epoch_ms"] / b["memory_ms"]))
b = bounds["mlp_adam"]
print("  MLP bound: %.1f GFLOP = %.0f ms at 1-thread peak (%.0f ms at 2-thread peak);"
      " mlxc at %.1fx the 1-thread bound"
      % (b["flops"] / 1e9, b["compute_ms_1t"], b["compute_ms"],
         mlxc["mlp_adam"]["best_epoch_ms"] / b["compute_ms_1t"]))
print("  PyTorch %s (BLAS %s), scikit-learn %s, numpy %s"
      % (tb["torch_version"], tb["blas"], tb["sklearn_version"], tb["numpy_version"]))
json.dump(res, open(d + "/train.json", "w"), indent=1)
print("  wrote %s/train.json" % d)
