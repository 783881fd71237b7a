#!/usr/bin/python3
"""scipy peer of metrics/de BenchmarkMannWhitneyReal (bench/reports/score-pert.md).

    /usr/bin/python3 bench/peers/mwu_scipy.py ../shared/data REPS

Times the naive loop a Python user writes: for every target and gene,
scipy.stats.mannwhitneyu(target[:, g], control[:, g], alternative="two-sided",
method="asymptotic", use_continuity=True). Inputs are prepared (dense
float32 columns, log1p) outside the timed region, so only the tests are
timed. Datasets as in the Go benchmark: TAP-seq normalised to 1e4 + log1p
(26 targets × 72 genes vs 7,760 non-targeting cells) and perturbench k562
(log1p as shipped; 33 perturbations × 500 genes vs 100 controls).
Prints one line per dataset and repetition: "scipy <name> <seconds>".
"""
import sys, os, time
import numpy as np
import anndata as ad
from scipy.stats import mannwhitneyu

datadir, reps = sys.argv[1], int(sys.argv[2])


def tapseq():
    a = ad.read_h5ad(os.path.join(datadir, "tapseq_schraivogel2020_crispat.h5ad"))
    X = a.X.astype(np.float64)
    lib = np.asarray(X.sum(axis=1)).ravel()
    X = X.multiply(1e4 / lib[:, None]).tocsr()
    X.data = np.log1p(X.data)
    X = X.astype(np.float32).toarray()
    lab = a.obs["perturbation"].astype(str).values
    ctrl = X[lab == "non-targeting"]
    groups = [X[lab == t] for t in dict.fromkeys(lab) if t not in ("non-targeting", "multiple", "unassigned")]
    return "tapseq", ctrl, groups


def perturbench():
    a = ad.read_h5ad(os.path.join(datadir, "upstream", "perturbench_devel_as_shipped.h5ad"))
    k = a.obs["cell_type"].astype(str).values == "k562"
    X = a.X[k].astype(np.float32).toarray()
    lab = a.obs["perturbation"].astype(str).values[k]
    ctrl = X[lab == "control"]
    groups = [X[lab == t] for t in dict.fromkeys(lab) if t != "control"]
    return "perturbench_k562", ctrl, groups


cases = [tapseq(), perturbench()]
for _ in range(reps):
    for name, ctrl, groups in cases:
        t0 = time.perf_counter()
        n = 0
        for g in groups:
            for j in range(ctrl.shape[1]):
                mannwhitneyu(g[:, j], ctrl[:, j], alternative="two-sided", method="asymptotic", use_continuity=True)
                n += 1
        print(f"scipy {name} {time.perf_counter() - t0:.6f} tests={n} groups={len(groups)} controls={ctrl.shape[0]}", flush=True)
