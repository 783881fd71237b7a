#!/usr/bin/python3
"""Side-by-side read time of .h5ad files: cellbench's two readers (libhdf5
through cgo, and the pure-Go reader) against anndata (Debian's
python3-anndata 0.8), on the same files, in turn; medians.

Usage:
  read_h5ad_side_by_side.py BIN N FILE [FILE ...]
      whole process: `cellbench data info FILE` (reads obs/var and every
      row of X, scans X for the scale verdict) against
      `python3 -c "import anndata; anndata.read_h5ad(FILE)"`, N runs each.
  read_h5ad_side_by_side.py --inprocess H5AD_TEST_BINARY ROUNDS FILE [FILE ...]
      in process: the compiled data/h5ad benchmark BenchmarkRead (h5ad.Read
      through libhdf5, and through the pure-Go reader; X, obs, var, full
      validation incl. sorting unsorted rows and the finite check) against
      anndata.read_h5ad in one warm python process; ROUNDS alternating
      rounds, medians of per-round means. Build the binary with
      `go test -c -o h5ad.test ./data/h5ad` and run from data/h5ad's
      directory; files outside the shared data reach the benchmark through
      CELLBENCH_BENCH_H5AD (set by this script).
  read_h5ad_side_by_side.py --make-unsorted OUT [CELLS GENES NNZ_PER_CELL SEED]
      write a synthetic counts matrix (default 85,000 cells x 18,000 genes,
      500-1,500 stored entries per cell, seed 0) whose CSR rows are NOT
      sorted, with anndata.write_h5ad (uncompressed, as anndata writes by
      default), for the hardening issue's reader-speed comparison. OUT
      belongs in /tmp: never commit it.
"""
import os, re, statistics, subprocess, sys, time

def timed(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t

def whole_process(binary, n, files):
    print("| file | cellbench data info (s, median of %d) | anndata read_h5ad (s, median of %d) | anndata / cellbench |" % (n, n))
    print("|---|---|---|---|")
    for f in files:
        go, py = [], []
        for _ in range(n):
            go.append(timed([binary, "data", "info", f]))
            py.append(timed(["/usr/bin/python3", "-c", "import anndata, sys; anndata.read_h5ad(sys.argv[1])", f]))
        g, p = statistics.median(go), statistics.median(py)
        print("| %s | %.3f | %.3f | %.1f× |" % (f.split("/")[-1], g, p, p / g))

def go_bench(test_binary, reader, name, iters, env):
    out = subprocess.run([test_binary, "-test.run", "^$", "-test.bench", "^BenchmarkRead$/^reader=%s$/^file=%s$" % (reader, re.escape(name)),
                          "-test.benchtime", "%dx" % iters], check=True, capture_output=True, text=True, env=env).stdout
    m = re.search(r"\s(\d+) ns/op", out)
    if not m:
        raise SystemExit("benchmark reader=%s file=%s did not run:\n%s" % (reader, name, out))
    return float(m.group(1)) / 1e6

def inprocess(test_binary, rounds, files):
    import anndata
    env = dict(os.environ, CELLBENCH_BENCH_H5AD=os.pathsep.join(os.path.abspath(f) for f in files))
    print("| file | h5ad.Read libhdf5 (ms) | h5ad.Read pure Go (ms) | anndata.read_h5ad (ms) | libhdf5 / anndata | pure Go / anndata |")
    print("|---|---|---|---|---|---|")
    for f in files:
        name = f.split("/")[-1]
        size = os.path.getsize(f)
        iters = 3 if size > 100 << 20 else 10
        lib, pure, py = [], [], []
        anndata.read_h5ad(f)
        for _ in range(rounds):
            lib.append(go_bench(test_binary, "libhdf5", name, iters, env))
            pure.append(go_bench(test_binary, "purego", name, iters, env))
            t = time.perf_counter()
            for _ in range(iters):
                anndata.read_h5ad(f)
            py.append((time.perf_counter() - t) / iters * 1e3)
        l, g, p = statistics.median(lib), statistics.median(pure), statistics.median(py)
        print("| %s | %.1f | %.1f | %.1f | %.2f× | %.2f× |" % (name, l, g, p, l / p, g / p), flush=True)

def make_unsorted(out, cells=85000, genes=18000, per_cell=1000, seed=0):
    import numpy as np, scipy.sparse as sp, pandas as pd, anndata
    rng = np.random.default_rng(seed)
    counts = rng.integers(per_cell // 2, per_cell * 3 // 2 + 1, size=cells)
    indptr = np.zeros(cells + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    indices = np.empty(indptr[-1], dtype=np.int32)
    for i in range(cells):
        # choice without replacement returns the genes in random order:
        # the rows are unsorted, as anndata stores a matrix whose
        # has_sorted_indices is False.
        indices[indptr[i]:indptr[i + 1]] = rng.choice(genes, size=counts[i], replace=False)
    data = (rng.geometric(0.3, size=indptr[-1])).astype(np.float32)
    X = sp.csr_matrix((data, indices, indptr), shape=(cells, genes))
    assert not X.has_sorted_indices
    obs = pd.DataFrame({"batch": pd.Categorical(rng.choice(["b%d" % k for k in range(8)], size=cells))},
                       index=["cell%06d" % i for i in range(cells)])
    var = pd.DataFrame(index=["gene%05d" % j for j in range(genes)])
    anndata.AnnData(X=X, obs=obs, var=var).write_h5ad(out)
    print("wrote %s: %d x %d, %d stored entries, unsorted rows" % (out, cells, genes, indptr[-1]))

if __name__ == "__main__":
    if sys.argv[1:2] == ["--inprocess"]:
        inprocess(sys.argv[2], int(sys.argv[3]), sys.argv[4:])
    elif sys.argv[1:2] == ["--make-unsorted"]:
        make_unsorted(sys.argv[2], *[int(a) for a in sys.argv[3:]])
    else:
        whole_process(sys.argv[1], int(sys.argv[2]), sys.argv[3:])
