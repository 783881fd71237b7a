#!/usr/bin/python3
"""Markdown tables of a stack-zeroshot run (results.jsonl): for each
dataset and model, the mean over seeds with a 95 % t-interval
(mean ± t(0.975, n-1)·sd/√n; n = 3 seeds → t = 4.303) of the scIB
aggregates and the kNN typing metrics, and the per-seed values.

Usage: stack_zeroshot_table.py RUN/results.jsonl"""
import collections
import json
import math
import statistics
import sys

T975 = {2: 12.706, 3: 4.303, 4: 3.182, 5: 2.776}
recs = [json.loads(l) for l in open(sys.argv[1])]
val = collections.defaultdict(dict)  # (task, dataset, model, context, metric) -> seed -> value
for r in recs:
    v = r["value"]
    v = float("nan") if isinstance(v, str) else v
    val[(r["task"], r["dataset"], r["model"], r["context"], r["metric"])][r["seed"]] = v


def cell(d):
    xs = [d[s] for s in sorted(d)]
    fin = [x for x in xs if x == x]
    if len(fin) < 2:
        return "NaN" if not fin else "%.3f" % fin[0]
    m, sd = statistics.mean(fin), statistics.stdev(fin)
    h = T975[len(fin)] * sd / math.sqrt(len(fin))
    return "%.3f [%.3f, %.3f]" % (m, m - h, m + h)


def seeds(d):
    return " / ".join("%.3f" % d[s] for s in sorted(d))


datasets = sorted({k[1] for k in val})
models = sorted({k[2] for k in val}, key=lambda m: (not m.startswith("stack"), m))
for ds in datasets:
    print("\n### %s\n" % ds)
    print("| embedding | scIB bio | scIB batch | scIB total | kNN acc. (leave-one-out) | kNN bal. acc. (leave-one-out) | kNN acc. across batches | kNN bal. acc. across batches |")
    print("|---|---|---|---|---|---|---|---|")
    for m in models:
        row = []
        for task, metric in [("embed-integration", "bio"), ("embed-integration", "batch"), ("embed-integration", "total"),
                             ("embed-integration", "knn_accuracy"), ("embed-integration", "knn_balanced_accuracy"),
                             ("celltype-zeroshot", "knn_accuracy"), ("celltype-zeroshot", "knn_balanced_accuracy")]:
            d = val.get((task, ds, m, "", metric))
            row.append(cell(d) if d else "–")
        if any(c != "–" for c in row):
            print("| %s | %s |" % (m, " | ".join(row)))
    print("\nPer seed (0 / 1 / 2):\n")
    print("| embedding | total | kNN acc. across batches | kNN bal. acc. across batches |")
    print("|---|---|---|---|")
    for m in models:
        t = val.get(("embed-integration", ds, m, "", "total"))
        a = val.get(("celltype-zeroshot", ds, m, "", "knn_accuracy"))
        b = val.get(("celltype-zeroshot", ds, m, "", "knn_balanced_accuracy"))
        if t:
            print("| %s | %s | %s | %s |" % (m, seeds(t), seeds(a) if a else "–", seeds(b) if b else "–"))
    batches = sorted({k[3] for k in val if k[0] == "celltype-zeroshot" and k[1] == ds and k[3]})
    print("\nCross-batch typing per held-out batch (balanced accuracy, mean over seeds):\n")
    print("| embedding | " + " | ".join(batches) + " |")
    print("|---|" + "---|" * len(batches))
    for m in models:
        cells = []
        for b in batches:
            d = val.get(("celltype-zeroshot", ds, m, b, "knn_balanced_accuracy"))
            cells.append("%.3f" % statistics.mean(d.values()) if d else "–")
        if any(c != "–" for c in cells):
            print("| %s | %s |" % (m, " | ".join(cells)))
