"""Reference values of scib-metrics 0.6's bras and kbet_per_label on the four
shared embeddings, for metrics/scib/benchmarker_test.go.

scib-metrics needs JAX, umap-learn and pynndescent, which Debian does not
ship; this script re-implements its formulas in numpy/scipy, reading the
v0.6.0 sources (YosefLab/scib-metrics, tag v0.6.0):

  bras            metrics/_silhouette.py bras -> silhouette_batch(metric="cosine",
                  between_cluster_distances="mean_other"); utils/_silhouette.py
                  _silhouette_reduce ("mean_other" branch) and silhouette_samples
                  (nan_to_num); utils/_dist.py _cosine_distance (clip to [0, 2]).
  silhouette_batch  the same with sklearn 1.2.1 silhouette_samples (Euclidean,
                  nearest other batch), as scib-metrics' default branch.
  kbet_per_label  metrics/_kbet.py kbet_per_label and kbet: the label loop in
                  np.unique order, k0, the size_max rule, connected components
                  (connection="strong"), the 3*k0 / 75 % rule, the running
                  minimum of diffusion_n_comps (the variable is reassigned
                  inside the loop), kbet's chi^2 with self among the k0+1
                  neighbours, p = 1 - gammainc(dof/2, stat/2), nanmean.
                  utils/_diffusion_nn.py: _compute_transitions (density
                  normalisation), _compute_eigen (scipy eigsh which="LM",
                  results cast to float32, reversed), evals += 1e-8,
                  e/(1-e) scaling.
  connectivities  nearest_neighbors/_dataclass.py knn_graph_connectivities ->
                  umap-learn 0.5 fuzzy_simplicial_set (smooth_knn_dist,
                  compute_membership_strengths, fuzzy union), ported below in
                  float64 on the exact 50-NN table.

Where scib-metrics calls pynndescent (approximate), exact neighbours are
used (self first, then by distance, ties by index), as cellbench does. The
scib-metrics computations done in JAX float32 (silhouette sums, chi^2) are
done in float64 here.

Solver invariance: eigsh (ARPACK) and a dense solver give different but
equally valid eigenvectors (signs, bases of repeated eigenvalues). The
quantities compared by the Go test are invariant to that: eigenvalues, and
the kBET scores (which depend only on distances in the diffusion map). The
script also recomputes every label's kBET with a dense eigh (labels up to
2,000 cells) and with float32 connectivities (umap-learn's dtype) and
records how many label scores change, to show that invariance on real data.

Run with Debian's python3 (numpy 1.24.2, scipy 1.10.1, scikit-learn 1.2.1),
after exporting the two PCA embeddings that `cellbench score embed --pca 50`
scores (they are computed by cellbench; the CSVs stay outside the repo):

    go run testdata/scib/export_pca.go -out /tmp/scib-pca
    /usr/bin/python3 testdata/scib/make_benchmarker_reference.py \
        --data ../shared/data --pca /tmp/scib-pca

It writes testdata/scib/benchmarker_reference.json.
"""
import argparse
import fnmatch
import json
import os
import time

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg
from scipy.sparse.csgraph import connected_components
from scipy.special import gammainc
from sklearn.metrics import silhouette_samples

here = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------- neighbours
def exact_knn(X, k):
    """Exact k nearest rows of X (Euclidean), self first, then by distance,
    ties by index; distances sqrt(sum((x - y)^2)) summed in column order."""
    n = X.shape[0]
    idx = np.empty((n, k), dtype=np.int64)
    dist = np.empty((n, k))
    order = np.arange(n)
    for i in range(n):
        d2 = np.zeros(n)
        for c in range(X.shape[1]):
            u = X[i, c] - X[:, c]
            d2 += u * u
        d = np.sqrt(d2)
        key = d.copy()
        key[i] = -1.0  # self first
        o = np.lexsort((order, key))[:k]
        idx[i] = o
        dist[i] = d[o]
        dist[i, 0] = 0.0
    return idx, dist


# ------------------------------------------------ umap fuzzy simplicial set
def smooth_knn_dist(distances, k, n_iter=64, tol=1e-5):
    target = np.log2(k)
    n = distances.shape[0]
    rho = np.zeros(n)
    sigma = np.zeros(n)
    mean_all = distances.mean()
    for i in range(n):
        d = distances[i]
        nz = d[d > 0.0]
        if nz.shape[0] >= 1:
            rho[i] = nz[0]
        lo, hi, mid = 0.0, np.inf, 1.0
        for _ in range(n_iter):
            dd = d[1:] - rho[i]
            psum = np.sum(np.where(dd > 0, np.exp(-np.maximum(dd, 0) / mid), 1.0))
            if abs(psum - target) < tol:
                break
            if psum > target:
                hi = mid
                mid = (lo + hi) / 2.0
            else:
                lo = mid
                mid = mid * 2 if hi == np.inf else (lo + hi) / 2.0
        sigma[i] = mid
        if rho[i] > 0.0:
            sigma[i] = max(sigma[i], 1e-3 * d.mean())
        else:
            sigma[i] = max(sigma[i], 1e-3 * mean_all)
    return sigma, rho


def fuzzy_connectivities(idx, dist):
    n, k = idx.shape
    sigma, rho = smooth_knn_dist(dist, k)
    rows = np.repeat(np.arange(n), k)
    cols = idx.ravel()
    d = dist - rho[:, None]
    vals = np.where((d <= 0) | (sigma[:, None] == 0), 1.0, np.exp(-np.maximum(d, 0) / sigma[:, None]))
    vals[idx == np.arange(n)[:, None]] = 0.0
    A = scipy.sparse.coo_matrix((vals.ravel(), (rows, cols)), shape=(n, n)).tocsr()
    A.eliminate_zeros()
    At = A.transpose().tocsr()
    G = (A + At - A.multiply(At)).tocsr()
    G.eliminate_zeros()
    G.sort_indices()
    return G


# --------------------------------------------------------------------- kBET
def transitions(W):
    q = np.asarray(W.sum(axis=0)).ravel()
    Q = scipy.sparse.spdiags(1.0 / q, 0, W.shape[0], W.shape[0])
    K = Q @ W @ Q
    z = np.sqrt(np.asarray(K.sum(axis=0)).ravel())
    Z = scipy.sparse.spdiags(1.0 / z, 0, K.shape[0], K.shape[0])
    return Z @ K @ Z


def diffusion_embedding(W, n_comps, solver="arpack"):
    T = transitions(W)
    n_comps = min(T.shape[0] - 1, n_comps)
    if solver == "arpack":
        evals, evecs = scipy.sparse.linalg.eigsh(T.astype(np.float64), k=n_comps, which="LM")
    else:  # dense, the same selection by magnitude
        ev, V = scipy.linalg.eigh(T.toarray())
        o = np.argsort(-np.abs(ev), kind="stable")[:n_comps]
        o = o[np.argsort(ev[o], kind="stable")]  # ascending, as eigsh returns
        evals, evecs = ev[o], V[:, o]
    evals, evecs = evals.astype(np.float32), evecs.astype(np.float32)
    evals, evecs = evals[::-1], evecs[:, ::-1]
    evals = evals + np.float32(1e-8)
    scaled = np.array([e if e == 1 else e / (1 - e) for e in evals], dtype=np.float32)
    return evals, evecs * scaled


def kbet_acceptance(knn_idx, batches, alpha=0.05):
    codes = pd.Categorical(batches).codes
    nb = len(np.unique(codes))
    freq = np.bincount(codes, minlength=nb) / len(codes)
    obs = np.stack([np.bincount(codes[r], minlength=nb) for r in knn_idx])
    exp = freq * knn_idx.shape[1]
    stat = np.sum((obs - exp) ** 2 / exp, axis=1)
    p = 1 - gammainc((nb - 1) / 2, stat / 2)
    return float(np.mean(p >= alpha))


def kbet_per_label(conn, X, batches, labels, alpha=0.05, diffusion_n_comps=100, search="diffusion",
                   solver="arpack", dense_max=None):
    size_max = 2**31 - 1
    out = []
    for clus in np.unique(labels):
        mask = labels == clus
        sub = conn[mask, :][:, mask]
        sub.sort_indices()
        n_obs = sub.shape[0]
        b_sub = batches[mask]
        rec = {"label": str(clus), "cells": int(n_obs)}
        if n_obs < 10 or len(np.unique(b_sub)) == 1:
            rec["score"] = None
            out.append(rec)
            continue
        quarter_mean = np.floor(np.mean(pd.Series(b_sub).value_counts()) / 4).astype("int")
        k0 = int(np.min([70, np.max([10, quarter_mean])]))
        if k0 * n_obs >= size_max:
            k0 = int(np.floor(size_max / n_obs))
        rec["k0"] = k0
        n_comp, labs = connected_components(sub, connection="strong")
        rec["components"] = int(n_comp)
        keep = np.arange(n_obs)
        if n_comp > 1:
            comp_size = pd.Series(labs).value_counts()
            keep = np.flatnonzero(np.isin(labs, comp_size[comp_size >= 3 * k0].index))
            if len(keep) / len(labs) < 0.75:
                rec["score"] = 0.0
                rec["rule"] = "components"
                out.append(rec)
                continue
        W = sub[keep, :][:, keep]
        W.sort_indices()
        rec["tested"] = int(len(keep))
        if search == "diffusion":
            diffusion_n_comps = int(np.min([diffusion_n_comps, W.shape[0] - 1]))
            rec["comps"] = diffusion_n_comps
            if solver == "dense" and dense_max is not None and W.shape[0] > dense_max:
                rec["score"] = None
                rec["skipped"] = "too large for the dense check"
                out.append(rec)
                continue
            evals, emb = diffusion_embedding(W, diffusion_n_comps, solver)
            rec["evals_first10"] = [float(v) for v in evals[:10]]
            rec["evals_last"] = float(evals[-1])
            space = emb.astype(np.float64)
        else:
            space = X[mask][keep]
        k = min(k0 + 1, len(keep))
        idx, _ = exact_knn(space, k)
        rec["score"] = kbet_acceptance(idx, b_sub[keep], alpha)
        out.append(rec)
    scores = [r["score"] for r in out if r["score"] is not None]
    return (float(np.mean(scores)) if scores else None), out


# --------------------------------------------------------------------- BRAS
def cosine_cdist(A, B):
    xy = A @ B.T
    xx = np.sum(A * A, axis=1)[:, None]
    yy = np.sum(B * B, axis=1)[None, :]
    return np.clip(1.0 - xy / np.sqrt(xx * yy), 0.0, 2.0)


def bras(X, labels, batches):
    per = {}
    for l in np.unique(labels):
        m = labels == l
        Xs, bs = X[m], pd.Categorical(batches[m]).codes
        nb = len(np.unique(bs))
        if nb == 1 or nb == Xs.shape[0]:
            continue
        freqs = np.bincount(bs)
        D = cosine_cdist(Xs, Xs)
        sums = np.stack([D[:, bs == b].sum(1) for b in range(len(freqs))], axis=1)
        intra = sums[np.arange(len(bs)), bs]
        inter = (sums.sum(1) - intra) / (freqs.sum() - freqs[bs])
        with np.errstate(invalid="ignore", divide="ignore"):
            intra = intra / (freqs[bs] - 1)
            s = (inter - intra) / np.maximum(intra, inter)
        s = np.nan_to_num(s)
        per[str(l)] = float(np.mean(1 - np.abs(s)))
    return float(np.mean(list(per.values()))), per


def silhouette_batch(X, labels, batches):
    per = []
    for l in np.unique(labels):
        m = labels == l
        nb = len(np.unique(batches[m]))
        if nb == 1 or nb == m.sum():
            continue
        per.append(np.mean(1 - np.abs(silhouette_samples(X[m], batches[m]))))
    return float(np.mean(per))


# --------------------------------------------------------------------- main
def load(path, glob, label, batch):
    df = pd.read_csv(path)
    df = df[df[label].notna() & (df[label].astype(str) != "") & (df[label].astype(str) != "NA")]
    cols = [c for c in df.columns if fnmatch.fnmatchcase(c, glob)]
    return (df[cols].to_numpy(dtype=np.float64), df[label].astype(str).to_numpy(),
            df[batch].astype(str).to_numpy())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--pca", required=True)
    a = ap.parse_args()
    sets = [
        ("sceiad_retina", os.path.join(a.data, "embedding_scpop_sceiad_retina.csv"), "scviDim_*", "CellType_predict", "batch"),
        ("harmony_cell_lines", os.path.join(a.data, "embedding_harmony_cell_lines.csv"), "X*", "cell_type", "dataset"),
        ("pbmc_symphony_pca50", os.path.join(a.pca, "pbmc-symphony_pca50.csv"), "PC*", "label", "batch"),
        ("pancreas_baron_pca50", os.path.join(a.pca, "pancreas-baron_pca50.csv"), "PC*", "label", "batch"),
    ]
    ref = {"versions": {"numpy": np.__version__, "scipy": scipy.__version__, "pandas": pd.__version__},
           "embeddings": {}}
    for name, path, glob, label, batch in sets:
        t0 = time.time()
        X, labels, batches = load(path, glob, label, batch)
        e = {"cells": int(X.shape[0]), "dims": int(X.shape[1])}
        e["bras"], e["bras_per_label"] = bras(X, labels, batches)
        e["silhouette_batch"] = silhouette_batch(X, labels, batches)
        idx, dist = exact_knn(X, min(50, X.shape[0]))
        conn = fuzzy_connectivities(idx, dist)
        e["kbet_per_label"], e["kbet_labels"] = kbet_per_label(conn, X, batches, labels)
        e["kbet_embedding"], e["kbet_embedding_labels"] = kbet_per_label(conn, X, batches, labels, search="embedding")
        # Solver invariance: dense eigh instead of ARPACK (labels <= 2000 cells).
        _, dense = kbet_per_label(conn, X, batches, labels, solver="dense", dense_max=2000)
        changed = [d["label"] for d, r in zip(dense, e["kbet_labels"])
                   if d.get("score") is not None and r.get("score") is not None and d["score"] != r["score"]]
        e["dense_solver_check"] = {"labels_compared": sum(1 for d in dense if d.get("score") is not None and "evals_first10" in d),
                                   "scores_changed": changed}
        # Precision invariance: connectivities rounded to float32 (umap-learn's dtype).
        conn32 = conn.astype(np.float32).astype(np.float64)
        v32, per32 = kbet_per_label(conn32, X, batches, labels)
        e["float32_connectivities_check"] = {"kbet_per_label": v32, "scores_changed": [
            d["label"] for d, r in zip(per32, e["kbet_labels"]) if d.get("score") != r.get("score")]}
        e["seconds"] = round(time.time() - t0, 1)
        ref["embeddings"][name] = e
        print(name, {k: v for k, v in e.items() if not isinstance(v, (list, dict))}, e["dense_solver_check"],
              e["float32_connectivities_check"], flush=True)
    with open(os.path.join(here, "benchmarker_reference.json"), "w") as f:
        json.dump(ref, f, indent=1)


if __name__ == "__main__":
    main()
