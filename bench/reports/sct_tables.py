#!/usr/bin/python3
"""Markdown tables of bench/reports/sct-impute.md from merged run records.

  /usr/bin/python3 bench/reports/sct_tables.py RUN_DIR/results.jsonl [--ablation]
  /usr/bin/python3 bench/reports/sct_tables.py bench/reports/sct-impute-records.jsonl.gz [--ablation]

Reads the tidy records (results.Record JSON lines) of an imputation run and
prints, per task, one table per masking ratio: rows = dataset × model,
columns = mcc, mcc_expressed, mae_counts as "mean ± sd (n seeds)" over the
seeds present (sd with ddof 1; "—" for one seed). With --ablation: one row
per model of the ablation suite at its single masking ratio, plus the seed
values. Only records of suite impute-tables (or, with --ablation,
impute-ablation) are read. Values are the records' own numbers; nothing is recomputed.
"""
import gzip, json, sys, math
import pandas as pd

path = sys.argv[1]
ablation = "--ablation" in sys.argv
rows = []
for line in (gzip.open(path, "rt") if path.endswith(".gz") else open(path)):
    r = json.loads(line)
    if r["suite"] != ("impute-ablation" if ablation else "impute-tables"):
        continue
    v = r["value"]
    v = float("nan") if isinstance(v, str) else v
    rows.append(dict(task=r["task"], dataset=r["dataset"], model=r["model"], seed=r["seed"],
                     metric=r["metric"], value=v, ratio=r.get("mask_ratio", 0.0), n=r["n"]))
df = pd.DataFrame(rows)


def fmt(vals):
    vals = [v for v in vals if not math.isnan(v)]
    if not vals:
        return "NaN"
    m = sum(vals) / len(vals)
    if len(vals) == 1:
        return f"{m:.3f} (1)"
    sd = pd.Series(vals).std(ddof=1)
    return f"{m:.3f} ± {sd:.3f} ({len(vals)})"


metrics = ["mcc", "mcc_expressed", "mae_counts"]
order = {"mode": 0, "knn": 1}
if ablation:
    for (task, ds, ratio), g in df.groupby(["task", "dataset", "ratio"]):
        print(f"\n**{task}, {ds}, mask ratio {ratio:g}** — mean ± sd (seeds)\n")
        print("| model | " + " | ".join(metrics) + " | mcc per seed |")
        print("|---|" + "---|" * (len(metrics) + 1))
        for model, h in sorted(g.groupby("model"), key=lambda x: (order.get(x[0], 2), x[0])):
            cells = [fmt(list(h[h.metric == m].sort_values("seed").value)) for m in metrics]
            per = ", ".join(f"s{int(s)}={v:.3f}" for s, v in h[h.metric == "mcc"].sort_values("seed")[["seed", "value"]].values)
            print(f"| {model} | " + " | ".join(cells) + f" | {per} |")
    sys.exit()
for task, gt in df.groupby("task"):
    for ratio, g in gt.groupby("ratio"):
        print(f"\n**{task}, mask ratio {ratio:g}** — mean ± sd (seeds)\n")
        print("| dataset | model | " + " | ".join(metrics) + " | positions |")
        print("|---|---|" + "---|" * (len(metrics) + 1))
        for ds, h in g.groupby("dataset"):
            for model, k in sorted(h.groupby("model"), key=lambda x: (order.get(x[0], 2), x[0])):
                cells = [fmt(list(k[k.metric == m].sort_values("seed").value)) for m in metrics]
                npos = int(k[k.metric == "mcc"].n.median())
                print(f"| {ds} | {model} | " + " | ".join(cells) + f" | {npos} |")
