"""Reference values for metrics/scib tests.

Run with Debian's python3 (numpy 1.24.2, scipy 1.10.1, scikit-learn 1.2.1):

    /usr/bin/python3 testdata/scib/make_reference.py

It writes testdata/scib/fixture.csv (a small synthetic embedding: 4 labels x
3 batches, 8 dims, 240 cells, numpy default_rng(7)) and
testdata/scib/reference.json with the values each Go test compares to.
Sources: sklearn.metrics silhouette_score / silhouette_samples /
normalized_mutual_info_score / adjusted_rand_score / balanced_accuracy_score,
sklearn.cluster.KMeans(init=<fixed centres>, n_init=1, algorithm="lloyd"),
sklearn.neighbors.NearestNeighbors (brute, euclidean), sklearn PCA +
LinearRegression for PCR, scipy.sparse.csgraph.connected_components,
scipy.stats.chi2, and a direct numpy port of scib-metrics' LISI perplexity
calibration (utils/_lisi.py) written below.
"""
import json
import os

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.stats import chi2
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression
from sklearn.metrics import (adjusted_rand_score, balanced_accuracy_score,
                             normalized_mutual_info_score, silhouette_samples,
                             silhouette_score)
from sklearn.neighbors import NearestNeighbors

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(7)
n_labels, n_batches, dims = 4, 3, 8
labels, batches, rows = [], [], []
centres = rng.normal(scale=1.2, size=(n_labels, dims))
shifts = rng.normal(scale=0.5, size=(n_batches, dims))
for l in range(n_labels):
    for b in range(n_batches):
        m = 20
        if l == 3 and b > 0:
            continue  # label 3 only in batch 0: an isolated label
        if l == 3:
            m = 60
        x = centres[l] + shifts[b] + rng.normal(size=(m, dims))
        rows.append(x)
        labels += [f"type{l}"] * m
        batches += [f"b{b}"] * m
X = np.vstack(rows)
labels = np.array(labels)
batches = np.array(batches)
n = X.shape[0]
with open(os.path.join(here, "fixture.csv"), "w") as f:
    f.write("cell,cell_type,batch," + ",".join(f"X{j+1}" for j in range(dims)) + "\n")
    for i in range(n):
        f.write(f"c{i},{labels[i]},{batches[i]}," + ",".join(repr(float(v)) for v in X[i]) + "\n")

ref = {}
# Silhouette.
ref["silhouette_score_labels"] = float(silhouette_score(X, labels))
s_all = silhouette_samples(X, labels)
ref["silhouette_samples_labels_first5"] = [float(v) for v in s_all[:5]]
# silhouette_batch as scib-metrics (per label, batch silhouette, 1-|s|).
per = []
for l in np.unique(labels):
    m = labels == l
    nb = len(np.unique(batches[m]))
    if nb == 1 or nb == m.sum():
        continue
    s = silhouette_samples(X[m], batches[m])
    per.append(np.mean(1 - np.abs(s)))
ref["silhouette_batch"] = float(np.mean(per))
# isolated labels: labels in min #batches; mean of (s+1)/2 over their cells.
bpl = {l: len(np.unique(batches[labels == l])) for l in np.unique(labels)}
mn = min(bpl.values())
iso = [l for l in sorted(bpl) if bpl[l] <= mn]
ref["isolated_labels_names"] = iso
ref["isolated_labels"] = float(np.mean([np.mean((s_all[labels == l] + 1) / 2) for l in iso]))

# KMeans from fixed initial centres (rows 0, 70, 130, 200).
init_rows = [0, 70, 130, 200]
km = KMeans(n_clusters=4, init=X[init_rows], n_init=1, algorithm="lloyd", max_iter=300, tol=1e-4).fit(X)
ref["kmeans_init_rows"] = init_rows
ref["kmeans_labels"] = [int(v) for v in km.labels_]
ref["kmeans_inertia"] = float(km.inertia_)
ref["kmeans_n_iter"] = int(km.n_iter_)
# A second, harder start: all four centres inside label 0's batch-0 block.
init2 = [0, 1, 2, 3]
km2 = KMeans(n_clusters=4, init=X[init2], n_init=1, algorithm="lloyd", max_iter=300, tol=1e-4).fit(X)
ref["kmeans2_init_rows"] = init2
ref["kmeans2_labels"] = [int(v) for v in km2.labels_]
ref["kmeans2_inertia"] = float(km2.inertia_)
ref["nmi_labels_vs_batches"] = float(normalized_mutual_info_score(labels, batches))
ref["ari_labels_vs_batches"] = float(adjusted_rand_score(labels, batches))
ref["nmi_labels_vs_kmeans2"] = float(normalized_mutual_info_score(labels, km2.labels_))
ref["ari_labels_vs_kmeans2"] = float(adjusted_rand_score(labels, km2.labels_))

# Exact kNN, k = 10 (self included: sklearn returns it first at distance 0).
k = 10
nn = NearestNeighbors(n_neighbors=k, algorithm="brute", metric="euclidean").fit(X)
dist, idx = nn.kneighbors(X)
ref["knn10_indices"] = idx.tolist()
ref["knn10_distances"] = dist.tolist()


# LISI: numpy port of scib-metrics utils/_lisi.py (perplexity floor(k/3)).
def lisi_row(d, nbr_labels, self_mask, perplexity, n_cat, tol=1e-5):
    def hbeta(beta):
        P = np.where(self_mask, np.exp(-d * beta), 0.0)
        sP = P.sum()
        if sP == 0:
            return 0.0, np.zeros_like(P)
        H = np.log(sP) + beta * np.sum(d * P) / sP
        return H, P / sP
    beta, bmin, bmax = 1.0, -np.inf, np.inf
    H, P = hbeta(beta)
    Hdiff = H - np.log(perplexity)
    for _ in range(50):
        if abs(Hdiff) < tol:
            break
        if Hdiff > 0:
            bmin = beta
            beta = beta * 2 if np.isinf(bmax) else (beta + bmax) / 2
        else:
            bmax = beta
            beta = beta / 2 if np.isinf(bmin) else (beta + bmin) / 2
        H, P = hbeta(beta)
        Hdiff = H - np.log(perplexity)
    sums = np.bincount(nbr_labels, weights=P, minlength=n_cat)
    return 1.0 / np.dot(sums, sums)


def lisi(codes, n_cat):
    perplexity = np.floor(k / 3)
    out = []
    for i in range(n):
        out.append(lisi_row(dist[i], codes[idx[i]], idx[i] != i, perplexity, n_cat))
    return np.array(out)


lab_codes = np.unique(labels, return_inverse=True)[1]
bat_codes = np.unique(batches, return_inverse=True)[1]
lisi_lab = lisi(lab_codes, n_labels)
lisi_bat = lisi(bat_codes, n_batches)
ref["lisi10_labels_first5"] = lisi_lab[:5].tolist()
ref["lisi10_batches_first5"] = lisi_bat[:5].tolist()
ref["clisi10"] = float((n_labels - np.median(lisi_lab)) / (n_labels - 1))
ref["ilisi10"] = float((np.median(lisi_bat) - 1) / (n_batches - 1))

# Graph connectivity on the 10-NN directed graph (strong components per label).
indptr = np.arange(0, n * k + 1, k)
G = csr_matrix((dist.ravel(), idx.ravel(), indptr), shape=(n, n))
gc = []
for l in np.unique(labels):
    m = labels == l
    _, comps = connected_components(G[m][:, m], connection="strong")
    gc.append(np.bincount(comps).max() / m.sum())
ref["graph_connectivity10"] = float(np.mean(gc))

# PCR with all components: sklearn PCA + R^2 of each PC on one-hot batch.
def pcr(Xe):
    p = PCA(n_components=min(Xe.shape)).fit(Xe)
    pcs = p.transform(Xe)
    oh = np.eye(n_batches)[bat_codes]
    r2 = [max(0.0, LinearRegression(fit_intercept=False).fit(oh, pcs[:, i]).score(oh, pcs[:, i])) for i in range(pcs.shape[1])]
    return float(np.dot(r2, p.explained_variance_) / np.sum(p.explained_variance_))
ref["pcr_fixture"] = pcr(X)
# A "corrected" version: remove half of each batch's mean shift.
Xc = X.copy()
for b in range(n_batches):
    Xc[bat_codes == b] -= 0.5 * (Xc[bat_codes == b].mean(0) - X.mean(0))
ref["pcr_corrected"] = pcr(Xc)
ref["pcr_comparison"] = max(0.0, (ref["pcr_fixture"] - ref["pcr_corrected"]) / ref["pcr_fixture"])

# kBET acceptance for label type0 with exact kNN within the label
# (k0 = min(70, max(10, floor(mean batch size/4))) = 10): as scib-metrics'
# kbet, the k0 + 1 neighbours include the cell itself and all count; chi2
# vs the label's batch frequencies, alpha 0.05.
m = labels == "type0"
Xl, bl = X[m], bat_codes[m]
k0 = 10
_, li = NearestNeighbors(n_neighbors=k0 + 1, algorithm="brute").fit(Xl).kneighbors(Xl)
freq = np.bincount(bl) / len(bl)
obs = np.array([np.bincount(bl[r], minlength=len(freq)) for r in li])
stat = (((obs - freq * (k0 + 1)) ** 2) / (freq * (k0 + 1))).sum(1)
p = chi2.sf(stat, len(freq) - 1)
ref["kbet_type0_acceptance"] = float(np.mean(p >= 0.05))

# Zero-shot typing: LOO 5-NN vote (self excluded), ties to the nearest.
pred = []
for i in range(n):
    nbrs = [j for j in idx[i] if j != i][:5]
    votes = {}
    first = {}
    for r, j in enumerate(nbrs):
        votes[labels[j]] = votes.get(labels[j], 0) + 1
        first.setdefault(labels[j], r)
    pred.append(sorted(votes, key=lambda l: (-votes[l], first[l]))[0])
pred = np.array(pred)
ref["knn5_accuracy"] = float(np.mean(pred == labels))
ref["knn5_balanced_accuracy"] = float(balanced_accuracy_score(labels, pred))

with open(os.path.join(here, "reference.json"), "w") as f:
    json.dump(ref, f, indent=1)
print({k: v for k, v in ref.items() if not isinstance(v, list)})
