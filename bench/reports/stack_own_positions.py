#!/usr/bin/python3
"""STACK vs knn vs mode on the masked positions STACK predicts itself.

  /usr/bin/python3 bench/reports/stack_own_positions.py [OUT] [RUN/results.jsonl]

Reads OUT/<task>/<dataset>/<ratio>/s<seed>/<model>/positions.csv written
by bench/reports/stack-impute-own.sh (default OUT: runs/stack-impute-own)
and, per task, prints one table of rows = dataset × masking ratio: the
share of masked positions whose gene is in the STACK checkpoint's gene
universe (upper-cased names, stack_meta.json of
runs/stack-pools/excl-<dataset>-s<seed>), and mcc, mcc_expressed,
mae_counts of stack, knn and mode on those positions only, mean ± sd over
the 3 seeds (ddof 1). MCC is sklearn's matthews_corrcoef (Debian
python3-sklearn), the definition metrics/recon is tested against;
mcc_expressed = the same over true bin ≥ 1; mae_counts = mean |pred_count
− true_count|. With a results.jsonl of the suite run, it first checks that
the CLI's scores over all positions equal the suite's records. Last, a
diagnostic of impute-genes at 15 % on the same positions: Σ predicted /
Σ true counts (is the library scale right?) and the Spearman correlation
of predicted and true counts (scipy; is the gene/cell ranking right?),
mean over seeds.
"""
import csv, glob, json, math, os, sys
import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import matthews_corrcoef

out = sys.argv[1] if len(sys.argv) > 1 else "runs/stack-impute-own"
models = ["stack", "knn", "mode"]


def read(path):
    with open(path) as f:
        r = list(csv.DictReader(f))
    return ([x["gene"] for x in r], np.array([int(x["true_bin"]) for x in r]), np.array([int(x["pred_bin"]) for x in r]),
            np.array([float(x["true_count"]) for x in r]), np.array([float(x["pred_count"]) for x in r]))


def scores(tb, pb, tc, pc):
    e = tb >= 1
    return (matthews_corrcoef(tb, pb), matthews_corrcoef(tb[e], pb[e]) if e.any() else math.nan, float(np.mean(np.abs(pc - tc))))


if len(sys.argv) > 2:
    recs = {}
    for line in open(sys.argv[2]):
        r = json.loads(line)
        v = r["value"]
        recs[(r["task"], r["dataset"], r["model"], r["seed"], r["mask_ratio"], r["metric"])] = float("nan") if isinstance(v, str) else v
    worst = 0.0
    for p in glob.glob(os.path.join(out, "*/*/*/s*/*/positions.csv")):
        task, ds, ratio, seed, model = p.split(os.sep)[-6:-1]
        full = scores(*read(p)[1:])
        for name, v in zip(["mcc", "mcc_expressed", "mae_counts"], full):
            w = recs.get((task, ds, model, int(seed[1:]), float(ratio), name))
            if w is not None and not (math.isnan(v) and math.isnan(w)):
                worst = max(worst, abs(v - w))
    print(f"CLI vs suite records over all positions: largest |difference| {worst:.2e}\n")

rows = {}
for p in sorted(glob.glob(os.path.join(out, "*/*/*/s*/stack/positions.csv"))):
    task, ds, ratio, seed = p.split(os.sep)[-6:-2]
    s = int(seed[1:])
    meta = json.load(open(f"runs/stack-pools/excl-{ds}-s{s}/stack_meta.json"))
    universe = set(meta["genes"])
    genes = read(p)[0]
    own = np.array([g.upper() in universe for g in genes])
    res = {"cover": own.mean()}
    for m in models:
        g, tb, pb, tc, pc = read(os.path.join(os.path.dirname(os.path.dirname(p)), m, "positions.csv"))
        assert g == genes, f"{p}: {m} positions differ"
        res[m] = scores(tb[own], pb[own], tc[own], pc[own])
        res[m + " calib"] = (pc[own].sum() / tc[own].sum(), spearmanr(pc[own], tc[own]).correlation)
    rows.setdefault(task, {}).setdefault((ds, float(ratio)), []).append(res)


def fmt(vals):
    vals = [v for v in vals if not math.isnan(v)]
    if not vals:
        return "NaN"
    if len(vals) == 1:
        return f"{vals[0]:.3f} (1)"
    return f"{np.mean(vals):.3f} ± {np.std(vals, ddof=1):.3f}"


for task in sorted(rows):
    print(f"\n**{task}, positions of genes in STACK's universe** — mean ± sd over seeds\n")
    head = [f"{k} {m}" for k in ["mcc", "mcc_expressed", "mae_counts"] for m in models]
    print("| dataset | mask ratio | seeds | share of positions | " + " | ".join(head) + " |")
    print("|---|---|---|---|" + "---|" * len(head))
    for (ds, ratio), rs in sorted(rows[task].items()):
        cells = [fmt([r[m][k] for r in rs]) for k in range(3) for m in models]
        print(f"| {ds} | {ratio:g} | {len(rs)} | {100 * np.mean([r['cover'] for r in rs]):.1f} % | " + " | ".join(cells) + " |")

print("\n**impute-genes 15 %, positions of genes in STACK's universe: scale and ranking** — mean over seeds\n")
print("| dataset | " + " | ".join(f"Σpred/Σtrue {m}" for m in models) + " | " + " | ".join(f"Spearman {m}" for m in models) + " |")
print("|---|" + "---|" * (2 * len(models)))
for (ds, ratio), rs in sorted(rows.get("impute-genes", {}).items()):
    if ratio != 0.15:
        continue
    cells = [f"{np.mean([r[m + ' calib'][k] for r in rs]):.2f}" for k in range(2) for m in models]
    print(f"| {ds} | " + " | ".join(cells) + " |")
