#!/usr/bin/python3
"""Tiny hand-made .h5ad files for cmd/cellbench score pert tests.

    /usr/bin/python3 testdata/pert/make_tiny.py testdata/pert

tiny_real.h5ad: 6 cells × 3 genes of log1p values, target_gene =
non-targeting ×2, A ×2, B ×2 (the CLI defaults). tiny_pred_nan.h5ad: the same
with one NaN in X (a prediction a scorer must refuse).
"""
import sys, os
import numpy as np
import pandas as pd
import anndata as ad
import scipy.sparse as sp

out = sys.argv[1]
X = np.array([[1, 1, 1], [1, 1, 1.5], [2, 1, 1], [2.5, 1, 1], [1, 1, 3], [1, 0, 3]], dtype=np.float32) * 0.5
obs = pd.DataFrame({"target_gene": pd.Categorical(["non-targeting"] * 2 + ["A"] * 2 + ["B"] * 2)},
                   index=[f"c{i}" for i in range(6)])
var = pd.DataFrame(index=["g0", "g1", "g2"])
ad.AnnData(X=sp.csr_matrix(X), obs=obs, var=var).write_h5ad(os.path.join(out, "tiny_real.h5ad"))
Xn = X.copy()
Xn[3, 0] = np.nan
ad.AnnData(X=sp.csr_matrix(Xn), obs=obs, var=var).write_h5ad(os.path.join(out, "tiny_pred_nan.h5ad"))
