"""Effect sizes and their transfer between contexts in the incontext data.

Why a prompt can or cannot help (bench/reports/incontext.md): for each
dataset of the incontext task, normalised as the runner does (counts ->
1e4 per cell over the file's genes -> log1p), this prints per context

  * the size of each perturbation's pseudobulk delta (delta = mean(log1p
    cells of p in c) - mean(log1p controls of c)): its mean |delta| over
    genes and its signal-to-noise ratio SNR = ||delta||_2 / sqrt(sum_g
    (s2_p,g / n_p + s2_c,g / n_c)), the L2 norm over the norm that sampling
    noise alone gives in expectation (s2 = per-gene sample variances, n =
    cell counts); SNR near 1 means the delta is indistinguishable from
    noise;

and per ordered pair of contexts (A prompts B)

  * r_same: Pearson over genes of delta(A, p) and delta(B, p), the
    information a prompt of p's cells in A carries about p in B;
  * r_wrong: the mean over q != p of Pearson(delta(A, q), delta(B, p)), the
    same for another perturbation's prompt.

Run with Debian's python3 (numpy, scipy, anndata 0.8):

    /usr/bin/python3 bench/reports/incontext_effects.py [DATA_DIR]
"""

import itertools
import os
import sys

import anndata
import numpy as np
import scipy.sparse as sp

DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")

DATASETS = [
    # name, file, perturbation column, context column, control, shared_only
    ("perturbench-shared", "perturbench_devel_norman19_mcfaline23.h5ad", "perturbation", "cell_type", "control", True),
    ("kang", "kang_muscat_example_sce.h5ad", "group_id", "cluster_id", "ctrl", False),
]


def log1p_norm(x):
    x = sp.csr_matrix(x, dtype=np.float64)
    tot = np.asarray(x.sum(axis=1)).ravel()
    tot[tot == 0] = 1
    return np.log1p(sp.diags(1e4 / tot) @ x).toarray()


def main():
    for name, f, pcol, ccol, ctrl, shared in DATASETS:
        a = anndata.read_h5ad(os.path.join(DATA, f))
        perts = a.obs[pcol].astype(str).to_numpy()
        ctxs = a.obs[ccol].astype(str).to_numpy()
        contexts = sorted(set(ctxs))
        labels = sorted(set(perts) - {ctrl})
        if shared:
            labels = [p for p in labels if all(((perts == p) & (ctxs == c)).any() for c in contexts)]
        keep = np.isin(perts, labels + [ctrl])
        x = log1p_norm(a.X[keep])
        perts, ctxs = perts[keep], ctxs[keep]
        print(f"## {name}: {x.shape[0]} cells x {x.shape[1]} genes, {len(labels)} perturbations, {len(contexts)} contexts\n")
        delta = {}
        print("| context | perturbation | cells | mean abs delta | SNR |")
        print("|---|---|---:|---:|---:|")
        snrs = []
        for c in contexts:
            ctl = x[(ctxs == c) & (perts == ctrl)]
            for p in labels:
                cells = x[(ctxs == c) & (perts == p)]
                d = cells.mean(0) - ctl.mean(0)
                delta[c, p] = d
                noise = np.sqrt((cells.var(0, ddof=1) / len(cells) + ctl.var(0, ddof=1) / len(ctl)).sum())
                snr = float(np.linalg.norm(d) / noise)
                snrs.append(snr)
                print(f"| {c} | {p} | {len(cells)} | {np.abs(d).mean():.4f} | {snr:.2f} |")
        print(f"\nSNR median {np.median(snrs):.2f}, range {min(snrs):.2f}-{max(snrs):.2f}\n")

        def r(u, v):
            return float(np.corrcoef(u, v)[0, 1])

        print("| prompt A | query B | r_same (mean over p) | r_wrong (mean over q != p) |")
        print("|---|---|---:|---:|")
        all_same, all_wrong = [], []
        for a_, b_ in itertools.permutations(contexts, 2):
            same = [r(delta[a_, p], delta[b_, p]) for p in labels]
            wrong = [r(delta[a_, q], delta[b_, p]) for p in labels for q in labels if q != p]
            all_same += same
            all_wrong += wrong
            w = f"{np.mean(wrong):.3f}" if wrong else "— (one perturbation)"
            print(f"| {a_} | {b_} | {np.mean(same):.3f} | {w} |")
        w = f"{np.mean(all_wrong):.3f}" if all_wrong else "—"
        print(f"\nall pairs: r_same {np.mean(all_same):.3f}, r_wrong {w}\n")


if __name__ == "__main__":
    main()
