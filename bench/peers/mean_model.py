#!/usr/bin/env python3
"""A minimal external perturbation model for cellbench: numpy + anndata only.

cellbench runs it once per cell of a suite (docs/external-models.md):

  models:
    - name: mean-shift
      command: [python3, mean_model.py, --train, "{train}", --requests, "{requests}", --out, "{out}"]

{train} holds the training cells (X log1p; obs: the perturbation column and,
if the dataset has contexts, the context column). {requests} holds, for each
requested (context, perturbation), that context's training control cells;
obs says which perturbation (and context) to predict, how many cells
("n_cells") and the request's index ("request"). Write to {out} an .h5ad of
exactly n_cells predicted cells per request, X log1p with the genes of
{train} in the same order, obs with the perturbation (and context) column.

This model predicts a control cell of the request (drawn with a seeded RNG)
plus the perturbation's mean shift in the training cells (perturbed mean
minus control mean, averaged over the contexts where it was seen; zero for a
perturbation never seen), clipped at 0. Copy the file and replace fit() and
predict() with your model.
"""
import argparse
import os
import zlib

import anndata as ad
import numpy as np
import pandas as pd


def dense(x):
    return np.asarray(x.toarray() if hasattr(x, "toarray") else x, dtype=np.float64)


def labels(adata, col):
    if not col:
        return np.full(adata.n_obs, "", dtype=object)
    return adata.obs[col].astype(str).to_numpy()


def fit(train, pert_col, context_col, control):
    """Returns {perturbation: mean shift (genes,)} from the training cells."""
    x = dense(train.X)
    perts, ctxs = labels(train, pert_col), labels(train, context_col)
    shifts = {}
    for c in np.unique(ctxs):
        ctrl = (ctxs == c) & (perts == control)
        if not ctrl.any():
            continue
        base = x[ctrl].mean(axis=0)
        for p in np.unique(perts[(ctxs == c) & (perts != control)]):
            shifts.setdefault(p, []).append(x[(ctxs == c) & (perts == p)].mean(axis=0) - base)
    return {p: np.mean(s, axis=0) for p, s in shifts.items()}


def predict(model, requests, pert_col, context_col, seed):
    """Returns an AnnData of n_cells predicted cells per request."""
    x = dense(requests.X)
    perts, ctxs = labels(requests, pert_col), labels(requests, context_col)
    req = requests.obs["request"].to_numpy()
    n_cells = requests.obs["n_cells"].to_numpy()
    blocks, out_perts, out_ctxs = [], [], []
    for r in np.unique(req):
        rows = np.flatnonzero(req == r)
        p, c, n = perts[rows[0]], ctxs[rows[0]], int(n_cells[rows[0]])
        rng = np.random.default_rng([seed, zlib.crc32(f"{c}\0{p}".encode())])
        pick = rng.choice(rows, size=n, replace=n > len(rows))
        blocks.append(np.clip(x[pick] + model.get(p, 0.0), 0.0, None))
        out_perts += [p] * n
        out_ctxs += [c] * n
    obs = pd.DataFrame({pert_col: pd.Categorical(out_perts)}, index=[f"pred{i}" for i in range(len(out_perts))])
    if context_col:
        obs[context_col] = pd.Categorical(out_ctxs)
    return ad.AnnData(X=np.vstack(blocks).astype(np.float32), obs=obs, var=pd.DataFrame(index=requests.var_names))


def main():
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", required=True)
    ap.add_argument("--requests", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=int(env("CELLBENCH_SEED", "0")))
    ap.add_argument("--pert-col", default=env("CELLBENCH_PERT_COL"))
    ap.add_argument("--context-col", default=env("CELLBENCH_CONTEXT_COL", ""))
    ap.add_argument("--control", default=env("CELLBENCH_CONTROL"))
    a = ap.parse_args()
    train, requests = ad.read_h5ad(a.train), ad.read_h5ad(a.requests)
    model = fit(train, a.pert_col, a.context_col, a.control)
    predict(model, requests, a.pert_col, a.context_col, a.seed).write_h5ad(a.out)


if __name__ == "__main__":
    main()
