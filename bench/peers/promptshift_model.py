#!/usr/bin/env python3
"""The in-context baseline prompt-shift as an external model: numpy + anndata only.

cellbench runs it once per cell of an incontext task (docs/external-models.md,
"In-context models"):

  models:
    - name: prompt-shift-py
      kind: incontext
      command: [python3, promptshift_model.py, --train, "{train}", --requests, "{requests}", --out, "{out}"]

{train} holds the split's training cells (X log1p; obs: the perturbation and
context columns). {requests} holds, for each request (a tested perturbation
under one prompt variant), its prompt cells then its query cells; obs says
the request's index ("request"), each row's role ("prompt" or "query"), the
perturbation to predict, the variant, the request's prompt and query contexts
("prompt_context", "query_context") and how many cells to predict
("n_cells", one per query cell). Write to {out} an .h5ad of exactly n_cells
predicted cells per request (the j-th for its j-th query cell), X log1p with
the genes of {train} in the same order, obs column "request".

The model is the Go baseline prompt-shift (baselines/promptshift.go): for
query cell q of a request with prompt context A,

    prediction = max(0, q + mean(prompt cells) - mean(A's training controls))

gene-wise on log1p values; a request without prompt cells returns its query
cells unchanged. A prompt context without training controls is an error.
"""
import argparse
import os
import sys

import anndata as ad
import numpy as np
import pandas as pd


def read(path):
    """Reads an .h5ad; a CSR X gets one index dtype (cellbench writes int64
    indptr and int32 indices, which this scipy's row indexing refuses)."""
    a = ad.read_h5ad(path)
    if hasattr(a.X, "indptr"):
        a.X.indices = a.X.indices.astype(a.X.indptr.dtype)
    return a


def row_mean(x, rows):
    """The float64 mean of rows of x (scipy sparse or dense), shape (genes,)."""
    sub = x[rows]
    sub = sub.toarray() if hasattr(sub, "toarray") else np.asarray(sub)
    return sub.astype(np.float64).mean(axis=0)


def fit(train, pert_col, context_col, control):
    """Returns {context: mean of its training control cells} (float64)."""
    perts = train.obs[pert_col].astype(str).to_numpy()
    ctxs = train.obs[context_col].astype(str).to_numpy()
    means = {}
    for c in np.unique(ctxs):
        rows = np.flatnonzero((ctxs == c) & (perts == control))
        if len(rows):
            means[c] = row_mean(train.X, rows)
    if not means:
        sys.exit(f"prompt-shift: no {control!r} cells in the training data")
    return means


def predict(ctrl_means, requests):
    """Returns an AnnData of n_cells predicted cells per request."""
    obs = requests.obs
    req = obs["request"].to_numpy()
    role = obs["role"].astype(str).to_numpy()
    pctx = obs["prompt_context"].astype(str).to_numpy()
    n_cells = obs["n_cells"].to_numpy()
    blocks, ids = [], []
    for r in np.unique(req):
        rows = req == r
        query = np.flatnonzero(rows & (role == "query"))
        prompt = np.flatnonzero(rows & (role == "prompt"))
        n = int(n_cells[query[0]])
        if n != len(query):
            sys.exit(f"request {r}: n_cells {n} but {len(query)} query cells")
        q = requests.X[query]
        q = (q.toarray() if hasattr(q, "toarray") else np.asarray(q)).astype(np.float64)
        if len(prompt):
            a = pctx[prompt[0]]
            if a not in ctrl_means:
                sys.exit(f"request {r}: prompt context {a!r} has no training control cells")
            q = q + (row_mean(requests.X, prompt) - ctrl_means[a])
        blocks.append(np.maximum(q, 0.0).astype(np.float32))
        ids += [int(r)] * n
    out_obs = pd.DataFrame({"request": np.asarray(ids, dtype=np.int64)}, index=[f"pred{i}" for i in range(len(ids))])
    return ad.AnnData(X=np.vstack(blocks), obs=out_obs, var=pd.DataFrame(index=requests.var_names))


def main():
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", required=True)
    ap.add_argument("--requests", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--pert-col", default=env("CELLBENCH_PERT_COL"))
    ap.add_argument("--context-col", default=env("CELLBENCH_CONTEXT_COL"))
    ap.add_argument("--control", default=env("CELLBENCH_CONTROL"))
    a = ap.parse_args()
    if not (a.pert_col and a.context_col and a.control):
        sys.exit("prompt-shift: --pert-col, --context-col and --control (or CELLBENCH_*) are required")
    ctrl_means = fit(read(a.train), a.pert_col, a.context_col, a.control)
    predict(ctrl_means, read(a.requests)).write_h5ad(a.out)


if __name__ == "__main__":
    main()
