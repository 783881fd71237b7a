#!/usr/bin/env python3
"""The imputation baseline mode as an external model: numpy + pandas + anndata only.

cellbench runs it once per cell of an imputation task (docs/external-models.md,
"Imputation models"):

  models:
    - name: mode-py
      kind: imputation
      command: [python3, mode_impute_model.py, --train, "{train}", --masked, "{masked}", --out, "{out}"]

{train} holds the training cells (raw counts, the task's gene panel). {masked}
lists the positions to predict (level, cell, gene). Write to {out} a CSV with
columns level, cell, gene, p0 ... p4: the bin probabilities of each position.
The model reads nothing of the test cells, so it does not need {requests}.

The model is the sCT paper's "most-common" baseline (App. C.2), as the doc of
baselines/impute_mode.go states it: bin every training cell (the binning of
metrics/recon, SPEC-metrics.md "Reconstruction metrics": bin 0 = not
expressed; 4 uniform bins from the cell's smallest to its largest non-zero
log1p count, numpy linspace edges, last edge + 0.01, np.digitize; a cell whose
non-zero values are all equal puts them in bin 1) and answer every masked
position of gene g with the frequencies of the bins of g over the training
cells. The predicted bin is then g's most frequent bin and the predicted count
the frequency-weighted bin medians of the test cell (cellbench scores it).
"""
import argparse
import sys

import anndata as ad
import numpy as np
import pandas as pd

BINS = 5
LAST_EDGE_BUMP = 0.01


def cell_bins(x):
    """The bin of every entry of one cell's log1p counts x (float64 array)."""
    out = np.zeros(len(x), dtype=np.int64)
    nz = x > 0
    if not nz.any():
        return out
    lo, hi = x[nz].min(), x[nz].max()
    if lo == hi:
        out[nz] = 1
        return out
    edges = np.linspace(lo, hi, BINS)
    edges[-1] += LAST_EDGE_BUMP
    out[nz] = np.clip(np.digitize(x[nz], edges), 0, BINS - 1)
    return out


def fit(train):
    """Per gene, the frequency of each bin over the training cells (genes × BINS)."""
    x = train.X
    x = x.toarray() if hasattr(x, "toarray") else np.asarray(x)
    x = np.log1p(x.astype(np.float64))
    counts = np.zeros((x.shape[1], BINS))
    genes = np.arange(x.shape[1])
    for row in x:
        np.add.at(counts, (genes, cell_bins(row)), 1)
    return counts / x.shape[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", required=True)
    ap.add_argument("--masked", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    train = ad.read_h5ad(a.train)
    if train.n_obs == 0:
        sys.exit("mode: no training cells")
    freq = fit(train)
    masked = pd.read_csv(a.masked, dtype={"cell": str, "gene": str}, keep_default_na=False)
    g = train.var_names.get_indexer(masked["gene"])
    if (g < 0).any():
        sys.exit(f"mode: gene {masked['gene'][np.argmax(g < 0)]!r} of {a.masked} is not in {a.train}")
    for b in range(BINS):
        masked[f"p{b}"] = freq[g, b]
    masked.to_csv(a.out, index=False, float_format="%.17g")


if __name__ == "__main__":
    main()
