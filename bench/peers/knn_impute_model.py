#!/usr/bin/env python3
"""The imputation baseline knn as an external model: numpy + pandas + anndata only.

cellbench runs it once per cell of an imputation task (docs/external-models.md,
"Imputation models"):

  models:
    - name: knn-py
      kind: imputation
      command: [python3, knn_impute_model.py, --train, "{train}", --requests, "{requests}",
                --masked, "{masked}", --out, "{out}"]

It reimplements the contract of the Go baseline (the doc of
baselines/impute_knn.go: Wagner et al. 2017 kNN smoothing, k = 5, as the sCT
paper's "k-NN estimator"), not its code:

  Fit: PCA (pca_dim = 50 components, capped at training cells - 1 and genes;
  here numpy's exact SVD of the centred matrix) of the training cells'
  log1p(CP10k) (stored as float32, as cellbench's normalisation does).
  Gene masking: a test cell's observed genes O(c) are normalised to CP10k over
  O(c) and log1p'd, its masked genes take the training mean; it is projected
  on the training PCA and its k nearest training cells (Euclidean, ties by
  row) are its neighbours. The prediction at a masked gene g is the
  neighbours' mean count rescaled to c's depth,
      c_g = mean_n x[n, g] * (sum_{h in O(c)} x[c, h]) / (sum_{h in O(c)} x[n, h])
  (factor 1 when either sum is 0), written as a count.
  Whole-cell masking (every gene of c masked): spatial data (coordinate
  columns) - the mean counts of its k nearest spots by coordinate among the
  level's test cells that are not fully masked (ties by row); single-cell
  data - the mean counts of the bag's cells that are not fully masked; with no
  such cell, the training mean counts.

The PCA's last components may differ from cellbench's subspace iteration in
the last digits, so neighbours can differ where two candidates are nearly
tied: docs/external-models.md reports the measured difference.
"""
import argparse
import sys

import anndata as ad
import numpy as np
import pandas as pd

K = 5
PCA_DIM = 50
TARGET_SUM = 1e4


def dense(x):
    return (x.toarray() if hasattr(x, "toarray") else np.asarray(x)).astype(np.float64)


def log1p_cp10k(x):
    """float32(log1p(x * 1e4 / rowsum)) per row (rows with no counts stay 0)."""
    lib = x.sum(axis=1, keepdims=True)
    f = np.divide(TARGET_SUM, lib, out=np.zeros_like(lib), where=lib > 0)
    return np.log1p(x * f).astype(np.float32).astype(np.float64)


def fit(x):
    """Returns the training mean of log1p(CP10k), the loadings (genes x comps) and scores."""
    norm = log1p_cp10k(x)
    mean = norm.mean(axis=0)
    comps = min(PCA_DIM, x.shape[0] - 1, x.shape[1])
    _, _, vt = np.linalg.svd(norm - mean, full_matrices=False)
    v = vt[:comps].T
    sign = np.sign(v[np.argmax(np.abs(v), axis=0), np.arange(comps)])
    v = v * np.where(sign == 0, 1, sign)
    return mean, v, (norm - mean) @ v


def nearest(d, k):
    """Indices of the k smallest distances, ties by index."""
    return np.argsort(d, kind="stable")[:k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for f in ("train", "requests", "masked", "out"):
        ap.add_argument("--" + f, required=True)
    a = ap.parse_args()
    train, req = ad.read_h5ad(a.train), ad.read_h5ad(a.requests)
    # The coordinate columns (spatial data) are the obs columns besides the contract's.
    coord_cols = [c for c in req.obs.columns if c not in ("level", "mask_ratio", "cell", "bag")]
    xt = dense(train.X)
    if xt.shape[0] < 2:
        sys.exit("knn: need at least 2 training cells")
    mean, v, scores = fit(xt)
    mean_counts = xt.mean(axis=0)
    masked = pd.read_csv(a.masked, dtype={"cell": str, "gene": str}, keep_default_na=False)
    rows = req.obs_names.get_indexer(masked["level"].astype(str) + "/" + masked["cell"])
    genes = req.var_names.get_indexer(masked["gene"])
    if (rows < 0).any() or (genes < 0).any():
        sys.exit("knn: a position of --masked is not in --requests")
    x = dense(req.X)
    hidden = np.zeros(x.shape, dtype=bool)
    hidden[rows, genes] = True
    n_genes = x.shape[1]
    full = hidden.sum(axis=1) == n_genes
    level, bag = req.obs["level"].to_numpy(), req.obs["bag"].to_numpy()
    xy = req.obs[coord_cols].to_numpy(dtype=np.float64) if coord_cols else None
    pred = np.zeros(len(masked))
    for r in np.unique(rows):
        at = np.flatnonzero(rows == r)
        g = genes[at]
        if full[r]:
            same = np.flatnonzero((level == level[r]) & ~full)
            if xy is not None:
                d = np.hypot(xy[same, 0] - xy[r, 0], xy[same, 1] - xy[r, 1])
                src = same[nearest(d, K)]
            else:
                src = same[bag[same] == bag[r]]
            pred[at] = x[np.ix_(src, g)].mean(axis=0) if len(src) else mean_counts[g]
            continue
        obs = ~hidden[r]
        lib = x[r, obs].sum()
        val = np.zeros(n_genes)
        if lib > 0:
            val[obs] = np.log1p(x[r, obs] * TARGET_SUM / lib)
        dv = np.where(obs, val - mean, 0.0)
        z = dv @ v
        nb = nearest(((scores - z) ** 2).sum(axis=1), K)
        s = xt[np.ix_(nb, np.flatnonzero(obs))].sum(axis=1)
        factor = np.where((s > 0) & (lib > 0), lib / np.where(s > 0, s, 1), 1.0)
        pred[at] = (xt[np.ix_(nb, g)] * factor[:, None]).mean(axis=0)
    masked["count"] = pred
    masked.to_csv(a.out, index=False, float_format="%.17g")


if __name__ == "__main__":
    main()
