#!/usr/bin/env python3
"""A minimal external embedding model for cellbench (numpy + anndata only):
the PCA of the log1p most variable genes of {data}, written to {out} as a CSV
(first column: the cell names of {data}; then one column per component).

  models:
    - name: pca-py
      kind: embedding
      command: [python3, bench/peers/pca_embed_model.py, --data, "{data}", --out, "{out}"]

{data} holds the cells the scIB metrics score, X as stored in the dataset
(counts are normalised to 1e4 per cell and log1p'd here), obs = the batch
column only. Copy it and replace embed() with your model.
"""
import argparse

import anndata as ad
import numpy as np
import pandas as pd


def embed(x, n_comps, n_top):
    if np.all(np.mod(x, 1) == 0):  # counts
        lib = x.sum(axis=1, keepdims=True)
        x = np.log1p(x / np.where(lib > 0, lib, 1) * 1e4)
    top = np.argsort(-x.var(axis=0), kind="stable")[:n_top]
    x = x[:, top] - x[:, top].mean(axis=0)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    return u[:, :n_comps] * s[:n_comps]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--comps", type=int, default=10)
    ap.add_argument("--hvg", type=int, default=500)
    a = ap.parse_args()
    d = ad.read_h5ad(a.data)
    x = np.asarray(d.X.toarray() if hasattr(d.X, "toarray") else d.X, dtype=np.float64)
    z = embed(x, a.comps, a.hvg)
    pd.DataFrame(z, index=d.obs_names, columns=[f"pc{i + 1}" for i in range(z.shape[1])]).to_csv(a.out)


if __name__ == "__main__":
    main()
