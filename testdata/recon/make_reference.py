#!/usr/bin/python3
"""Reference values for metrics/recon tests.

Run with Debian bookworm's python3 (numpy 1.24.2, scikit-learn 1.2.1) from the
repository root:

    /usr/bin/python3 testdata/recon/make_reference.py testdata/recon

It writes
  mcc_reference.csv      case, k, truth, pred (space-separated int labels),
                         mcc = sklearn.metrics.matthews_corrcoef(truth, pred)
                         (labels drawn with numpy default_rng(seed 7); cases
                         cover random, correlated, perfect, inverted,
                         single-class truth/prediction, imbalanced and
                         absent-class inputs).
  bins_reference.csv     cell, counts (space-separated), bins: InstaDeep's
                         get_paper_dataset.py rule on log1p of the non-zero
                         counts, edges = np.linspace(min, max, 5),
                         edges[-1] += 0.01, np.digitize; zeros stay 0
                         (cells of Poisson/negative-binomial counts, rng seed 11).
  positions_reference.csv  for every positions file given after the output
                         directory (positions.csv files written by
                         `cellbench impute`): file, n, mcc =
                         matthews_corrcoef over all rows, mcc_expressed over
                         rows with true_bin >= 1, mae_counts = mean
                         |pred_count - true_count|.
  positions_synthetic.csv  a synthetic positions file (rng seed 5: 600 rows,
                         NB counts, bins of a noisy predictor) that is always
                         scored and listed in positions_reference.csv.
Real-data positions are not committed (they hold real counts); their
reference values are, and the tests regenerate the files with
(CELLBENCH_DATA=../shared/data):

    cellbench impute --model knn --data pbmc3k-sct --max-genes 200 --task impute-genes \
        --mask-ratio 0.15 --seed 0 --out /tmp/k
    cellbench impute --model mode --data spatial-mob --coords x,y --max-genes 100 --task impute-cells \
        --mask-ratio 0.2 --seed 1 --out /tmp/m
    cp /tmp/k/positions.csv /tmp/positions_pbmc3k_knn.csv; cp /tmp/m/positions.csv /tmp/positions_mob_mode.csv
    /usr/bin/python3 testdata/recon/make_reference.py testdata/recon \
        /tmp/positions_pbmc3k_knn.csv /tmp/positions_mob_mode.csv
"""
import sys, os, csv
import numpy as np
from sklearn.metrics import matthews_corrcoef

out = sys.argv[1]
rng = np.random.default_rng(7)
cases = []
n = 300
t = rng.integers(0, 5, n)
cases.append(("random", 5, t, rng.integers(0, 5, n)))
p = np.where(rng.random(n) < 0.6, t, rng.integers(0, 5, n))
cases.append(("correlated", 5, t, p))
cases.append(("perfect", 5, t, t.copy()))
t2 = rng.integers(0, 2, 50)
cases.append(("inverted", 2, t2, 1 - t2))
cases.append(("single_pred", 5, t, np.zeros(n, dtype=int)))
cases.append(("single_truth", 5, np.full(n, 3), rng.integers(0, 5, n)))
ti = np.where(rng.random(1000) < 0.85, 0, rng.integers(1, 5, 1000))
pi = np.where(rng.random(1000) < 0.7, ti, np.where(rng.random(1000) < 0.8, 0, rng.integers(1, 5, 1000)))
cases.append(("imbalanced", 5, ti, pi))
ta = rng.choice([0, 2, 4], 120)
pa = np.where(rng.random(120) < 0.5, ta, rng.choice([0, 2, 4], 120))
cases.append(("absent_classes", 5, ta, pa))
cases.append(("one_position", 5, np.array([2]), np.array([2])))
with open(os.path.join(out, "mcc_reference.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["case", "k", "truth", "pred", "mcc"])
    for name, k, a, b in cases:
        w.writerow([name, k, " ".join(map(str, a)), " ".join(map(str, b)), repr(float(matthews_corrcoef(a, b)))])

rng = np.random.default_rng(11)
with open(os.path.join(out, "bins_reference.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["cell", "counts", "bins"])
    for c in range(12):
        if c < 6:
            x = rng.poisson(rng.uniform(0.1, 3.0), 60)
        else:
            x = rng.negative_binomial(1, rng.uniform(0.05, 0.5), 60)
        if c == 11:
            x = np.where(rng.random(60) < 0.5, 0, 7)  # all non-zero values equal: notebook rule (1), see doc
        nz = x > 0
        bins = np.zeros(60, dtype=int)
        v = np.log1p(x[nz].astype(np.float64))
        if nz.any():
            edges = np.linspace(v.min(), v.max(), 5)
            edges[-1] += 0.01
            b = np.digitize(v, edges)
            if v.min() == v.max():
                b = np.ones_like(b)
            bins[nz] = b
        w.writerow([c, " ".join(map(str, x)), " ".join(map(str, bins))])

rng = np.random.default_rng(5)
syn = os.path.join(out, "positions_synthetic.csv")
with open(syn, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["cell", "gene", "true_count", "true_bin", "pred_bin", "pred_count", "extra"])
    for i in range(600):
        c = int(rng.negative_binomial(1, 0.3)) if rng.random() < 0.4 else 0
        tb = 0 if c == 0 else int(min(4, 1 + np.floor(np.log1p(c))))
        pb = tb if rng.random() < 0.55 else int(rng.integers(0, 5))
        pc = float(np.round(max(0.0, c + rng.normal(0, 1.5)), 3))
        w.writerow(["cell%d" % (i // 20), "gene%d" % (i % 20), c, tb, pb, pc, "ignored"])
if True:
    with open(os.path.join(out, "positions_reference.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "n", "mcc", "mcc_expressed", "mae_counts"])
        for path in [syn] + sys.argv[2:]:
            tb, pb, tc, pc = [], [], [], []
            with open(path) as g:
                for r in csv.DictReader(g):
                    tb.append(int(r["true_bin"])); pb.append(int(r["pred_bin"]))
                    tc.append(float(r["true_count"])); pc.append(float(r["pred_count"]))
            tb, pb, tc, pc = map(np.array, (tb, pb, tc, pc))
            e = tb >= 1
            w.writerow([os.path.basename(path), len(tb), repr(float(matthews_corrcoef(tb, pb))),
                        repr(float(matthews_corrcoef(tb[e], pb[e]))), repr(float(np.mean(np.abs(pc - tc))))])
