#!/usr/bin/python3
"""stack_native.py — the native side of the browser's STACK equality check
(scripts/web-examples.sh, make webtest), with Debian's python3 + anndata.

  stack_native.py subset SRC PERT_COL CONTEXT_COL OUT:CONTEXT:LABEL…
      writes the cells of (CONTEXT, LABEL) of SRC to OUT (.h5ad): the
      --prompt and --query files of cellbench predict.
  stack_native.py csv PRED.h5ad OUT.csv
      writes the generated cells of cellbench predict --prompt/--query's
      output (the rows after its query cells) in the page's download
      format (web/app PredictedCellsCSV): cell_id, query_cell, gen_logit,
      then one log1p CP10k column per gene.

The page cannot write .h5ad and cellbench has no cell-subset command, so
these two steps are done here; the numbers compared are cellbench's own.
"""
import csv
import sys

import anndata as ad
import numpy as np


def subset(src, pert_col, ctx_col, specs):
    a = ad.read_h5ad(src)
    for spec in specs:
        out, ctx, label = spec.split(":")
        m = (a.obs[ctx_col].astype(str) == ctx).values & (a.obs[pert_col].astype(str) == label).values
        if not m.any():
            sys.exit(f"stack_native: no cells of {label!r} in {ctx_col} {ctx!r}")
        a[m].copy().write_h5ad(out)


def to_csv(pred, out):
    a = ad.read_h5ad(pred)
    n = a.n_obs // 2
    x = a.X.toarray() if hasattr(a.X, "toarray") else np.asarray(a.X)
    x = x.astype(np.float32)
    names = list(a.obs_names)
    with open(out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["cell_id", "query_cell", "gen_logit"] + list(a.var_names))
        for i in range(n, a.n_obs):
            # float32 values in their shortest round-trip spelling (numpy's
            # Dragon4), as Go's strconv.FormatFloat(v, 'g', -1, 32) writes them.
            w.writerow([names[i], names[i - n], repr(float(a.obs["gen_logit"].iloc[i]))] +
                       [np.format_float_positional(v, unique=True, trim="-") for v in x[i]])


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "subset":
        subset(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    elif len(sys.argv) == 4 and sys.argv[1] == "csv":
        to_csv(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
