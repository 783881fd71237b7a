#!/usr/bin/python3
"""Write small .h5ad files the way anndata 0.8 (Debian python3-anndata)
writes them, in every storage variant a user may bring, for the test that
both cellbench readers read them identically.

Usage: anndata_variants.py OUTDIR   (files go to OUTDIR only; seed 0)

Files: default.h5ad (write_h5ad), gzip.h5ad, lzf.h5ad (compression=...),
latest.h5ad (h5py libver="latest": superblock 3, extensible-array chunk
indexes, dense links), csc.h5ad (X stored as csc_matrix), dense.h5ad
(X as a dense float64 array), int64.h5ad (int64 counts). X's CSR rows are
stored unsorted (as a matrix whose has_sorted_indices is False is written).
"""
import sys, warnings
import numpy as np, pandas as pd, scipy.sparse as sp, h5py, anndata
from anndata.experimental import write_elem

warnings.filterwarnings("ignore")

def make(rng, n=300, g=120):
    dense = rng.poisson(0.4, size=(n, g)).astype(np.float32)
    X = sp.csr_matrix(dense)
    # Shuffle each row's entries: unsorted indices, as anndata may store them.
    for i in range(n):
        a, b = X.indptr[i], X.indptr[i + 1]
        p = rng.permutation(b - a)
        X.indices[a:b] = X.indices[a:b][p]
        X.data[a:b] = X.data[a:b][p]
    X.has_sorted_indices = False
    cats = np.array(["ctrl", "KO1", "KO2", None], dtype=object)[rng.integers(0, 4, n)]
    obs = pd.DataFrame({
        "perturbation": pd.Categorical(cats),
        "dose": pd.Categorical(rng.choice(["low", "mid", "high"], n), categories=["low", "mid", "high"], ordered=True),
        "many": pd.Categorical(["c%03d" % k for k in rng.integers(0, 200, n)]),
        "barcode": ["bc-%d-ü" % i for i in range(n)],
        "n_genes": rng.integers(0, 1000, n),
        "score": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
        "keep": rng.random(n) < 0.5,
        "nullable": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 9, n)), dtype="Int64"),
    }, index=["cell%04d" % i for i in range(n)])
    var = pd.DataFrame({"mean": dense.mean(axis=0).astype(np.float64)}, index=["gene%03d" % j for j in range(g)])
    a = anndata.AnnData(X=X, obs=obs, var=var)
    a.layers["counts_csc"] = sp.csc_matrix(dense)
    a.obsm["X_pca"] = rng.normal(size=(n, 5)).astype(np.float32)
    a.raw = anndata.AnnData(X=sp.csr_matrix(dense[:, :100]), var=var.iloc[:100].copy())
    return a

def main(out):
    rng = np.random.default_rng(0)
    a = make(rng)
    a.write_h5ad(out + "/default.h5ad")
    a.write_h5ad(out + "/gzip.h5ad", compression="gzip")
    a.write_h5ad(out + "/lzf.h5ad", compression="lzf")
    with h5py.File(out + "/latest.h5ad", "w", libver="latest") as f:
        f.attrs["encoding-type"] = "anndata"
        f.attrs["encoding-version"] = "0.1.0"
        for key in ("X", "obs", "var"):
            write_elem(f, key, getattr(a, key))
        for key in ("obsm", "layers", "uns", "obsp", "varm", "varp"):
            write_elem(f, key, dict(getattr(a, key)))
        write_elem(f, "raw", a.raw)
    b = a.copy()
    b.X = sp.csc_matrix(a.X)
    b.write_h5ad(out + "/csc.h5ad")
    b = a.copy()
    b.X = a.X.toarray().astype(np.float64)
    b.write_h5ad(out + "/dense.h5ad")
    b = a.copy()
    b.X = a.X.astype(np.int64)
    b.write_h5ad(out + "/int64.h5ad", compression="gzip")

if __name__ == "__main__":
    main(sys.argv[1])
