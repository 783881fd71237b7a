#!/usr/bin/python3
"""Markdown tables of bench/reports/sct-impute.md from merged run records.

  /usr/bin/python3 bench/reports/sct_tables.py RUN_DIR/results.jsonl [--ablation]
  /usr/bin/python3 bench/reports/sct_tables.py bench/reports/sct-impute-records.jsonl.gz [--ablation]
  /usr/bin/python3 bench/reports/sct_tables.py bench/reports/sct-impute-records.jsonl.gz \
      bench/reports/stack-impute-records.jsonl.gz --stack

Reads the tidy records (results.Record JSON lines) of an imputation run and
prints, per task, one table per masking ratio: rows = dataset × model,
columns = mcc, mcc_expressed, mae_counts as "mean ± sd (n seeds)" over the
seeds present (sd with ddof 1; "—" for one seed). With --ablation: one row
per model of the ablation suite at its single masking ratio, plus the seed
values. With --stack: per task and metric, one table of rows = dataset ×
masking ratio and columns = mode, knn, sct, stack, plus (mcc table) the
fraction of masked positions STACK predicted itself (the rest got its mode
fallback), read from the note in the records' warnings ("STACK predicted X
of Y masked positions"; 100 % when no note). Only records of suite
impute-tables (or, with --ablation, impute-ablation) are read; several
record files may be given, and a record present in two (same task,
dataset, model, seed, metric, ratio: the baselines re-run beside STACK)
must have the same value and is kept once. Values are the records' own
numbers; nothing is recomputed.
"""
import gzip, json, sys, math, re
import pandas as pd

paths = [a for a in sys.argv[1:] if not a.startswith("--")]
ablation = "--ablation" in sys.argv
stack = "--stack" in sys.argv
rows = {}
cover = re.compile(r"STACK predicted (\d+) of (\d+) masked positions")
for path in paths:
    for line in (gzip.open(path, "rt") if path.endswith(".gz") else open(path)):
        r = json.loads(line)
        if r["suite"] != ("impute-ablation" if ablation else "impute-tables"):
            continue
        v = r["value"]
        v = float("nan") if isinstance(v, str) else v
        row = dict(task=r["task"], dataset=r["dataset"], model=r["model"], seed=r["seed"],
                   metric=r["metric"], value=v, ratio=r.get("mask_ratio", 0.0), n=r["n"], coverage=float("nan"))
        if r["model"] == "stack":
            row["coverage"] = 1.0
            for own, total in cover.findall(r.get("warnings", "")):
                if int(total) == r["n"] and r["metric"] != "mcc_expressed":
                    row["coverage"] = int(own) / int(total)
        key = tuple(row[k] for k in ("task", "dataset", "model", "seed", "metric", "ratio"))
        if key in rows:
            old = rows[key]["value"]
            if not (old == v or (math.isnan(old) and math.isnan(v))):
                sys.exit(f"{path}: {key} = {v}, {old} in an earlier file")
            continue
        rows[key] = row
df = pd.DataFrame(list(rows.values()))


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
if stack:
    models = ["mode", "knn", "sct", "stack"]
    for task, gt in df.groupby("task"):
        for metric in metrics:
            print(f"\n**{task}, {metric}** — mean ± sd (seeds)\n")
            extra = " | STACK's own positions |" if metric == "mcc" else " |"
            print("| dataset | mask ratio | positions | " + " | ".join(models) + extra)
            print("|---|---|---|" + "---|" * (len(models) + (metric == "mcc")))
            for (ds, ratio), g in gt.groupby(["dataset", "ratio"]):
                h = g[g.metric == metric]
                cells = [fmt(list(h[h.model == m].sort_values("seed").value)) if (h.model == m).any() else "—" for m in models]
                line = f"| {ds} | {ratio:g} | {int(h.n.median())} | " + " | ".join(cells) + " |"
                if metric == "mcc":
                    c = h[h.model == "stack"].coverage
                    line += f" {100 * c.mean():.1f} % |" if len(c) else " — |"
                print(line)
    sys.exit()
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
