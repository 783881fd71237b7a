"""sklearn peer of `cellbench score embed` for speed comparison (measurement only).

Runs the sklearn path equivalent to cellbench's silhouette + k-means NMI/ARI +
exact kNN on one embedding CSV and prints one JSON line with the values and
the wall time of each step (in-process, after the CSV is loaded):

  silhouette  sklearn.metrics.silhouette_score(X, labels)  (Euclidean, all cells)
  kmeans      sklearn.cluster.KMeans(n_clusters=#labels, n_init=1, random_state=0,
              algorithm="lloyd") + normalized_mutual_info_score + adjusted_rand_score
  knn         sklearn.neighbors.NearestNeighbors(n_neighbors=90, algorithm="brute")
              .kneighbors(X)  (exact, self included, as cellbench)

Usage (Debian python3: numpy 1.24, scikit-learn 1.2.1):
  /usr/bin/python3 bench/peers/scib_sklearn.py E.csv 'scviDim_*' CellType_predict
Cells whose label is missing ("NA"/empty) are dropped, as cellbench's --drop-missing.
Threads: OMP/OPENBLAS threads are whatever the caller sets (the harness sets 2).
"""
import fnmatch
import json
import sys
import time

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score
from sklearn.neighbors import NearestNeighbors


def main():
    path, glob, label_col = sys.argv[1], sys.argv[2], sys.argv[3]
    t_load = time.perf_counter()
    df = pd.read_csv(path)
    df = df[df[label_col].notna() & (df[label_col].astype(str) != "")]
    cols = [c for c in df.columns if fnmatch.fnmatchcase(c, glob)]
    X = df[cols].to_numpy(dtype=np.float64)
    labels = df[label_col].astype(str).to_numpy()
    t = {"load": time.perf_counter() - t_load}
    out = {"cells": int(X.shape[0]), "dims": int(X.shape[1])}

    t0 = time.perf_counter()
    asw = silhouette_score(X, labels)
    t["silhouette"] = time.perf_counter() - t0
    out["silhouette_label"] = (asw + 1) / 2

    t0 = time.perf_counter()
    k = len(np.unique(labels))
    km = KMeans(n_clusters=k, n_init=1, random_state=0, algorithm="lloyd").fit(X)
    out["nmi_kmeans"] = normalized_mutual_info_score(labels, km.labels_)
    out["ari_kmeans"] = adjusted_rand_score(labels, km.labels_)
    t["kmeans"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    NearestNeighbors(n_neighbors=min(90, X.shape[0]), algorithm="brute").fit(X).kneighbors(X)
    t["knn"] = time.perf_counter() - t0

    t["compute"] = t["silhouette"] + t["kmeans"] + t["knn"]
    out["seconds"] = t
    print(json.dumps(out))


if __name__ == "__main__":
    main()
