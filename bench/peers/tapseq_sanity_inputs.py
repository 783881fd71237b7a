#!/usr/bin/python3
"""Build the TAP-seq sanity inputs for `cellbench score pert` (bench/reports/score-pert.md).

    /usr/bin/python3 bench/peers/tapseq_sanity_inputs.py ../shared/data/tapseq_schraivogel2020_crispat.h5ad /tmp/tapseq

Cells labelled "multiple"/"unassigned" are dropped; the rest are split at
random (numpy default_rng(0)) into two halves within each perturbation.
Writes real_half.h5ad (half A), pred_half.h5ad (half B: real cells, a
different half -> PDiscNorm should be high) and pred_controls.h5ad (half B's
labels, but every cell's expression is a random non-targeting cell of half B
-> a prediction that knows nothing: PDiscNorm ≈ 0). X stays raw counts
(cellbench detects the scale and normalises).
"""
import sys, os
import numpy as np
import anndata as ad

src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
a = ad.read_h5ad(src)
a = a[~a.obs["perturbation"].isin(["multiple", "unassigned"])].copy()
a.obs["perturbation"] = a.obs["perturbation"].astype(str).astype("category")
rng = np.random.default_rng(0)
half = np.zeros(a.n_obs, bool)
for p, idx in a.obs.groupby("perturbation").indices.items():
    sel = rng.permutation(idx)[: len(idx) // 2]
    half[sel] = True
keep = ["perturbation", "target"]
A = ad.AnnData(X=a.X[half], obs=a.obs.loc[half, keep].copy(), var=a.var[[]].copy())
B = ad.AnnData(X=a.X[~half], obs=a.obs.loc[~half, keep].copy(), var=a.var[[]].copy())
A.write_h5ad(os.path.join(out, "real_half.h5ad"))
B.write_h5ad(os.path.join(out, "pred_half.h5ad"))
ctrl = np.where(B.obs["perturbation"].values == "non-targeting")[0]
pick = rng.choice(ctrl, size=B.n_obs, replace=True)
C = ad.AnnData(X=B.X[pick], obs=B.obs.copy(), var=B.var.copy())
C.obs_names = B.obs_names
C.write_h5ad(os.path.join(out, "pred_controls.h5ad"))
print(A.shape, B.shape, C.shape)
