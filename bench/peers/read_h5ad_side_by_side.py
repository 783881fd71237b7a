#!/usr/bin/python3
"""Side-by-side read time: `cellbench data info FILE` (Go, whole process:
reads obs/var and every row of X, and scans it for the scale verdict) versus
`python3 -c "import anndata; anndata.read_h5ad(FILE)"` (Debian's
python3-anndata, whole process). The two run in turn, N times each, on the
same file; medians and the ratio are printed as a markdown table.

Usage: bench/peers/read_h5ad_side_by_side.py BIN N FILE [FILE ...]
       bench/peers/read_h5ad_side_by_side.py --inprocess H5AD_TEST_BINARY ROUNDS FILE [FILE ...]
(H5AD_TEST_BINARY from `go test -c -o h5ad.test ./data/h5ad`; run from data/h5ad's directory)
"""
import statistics, subprocess, sys, time

def timed(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t

def main():
    binary, n, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    print("| file | cellbench data info (s, median of %d) | anndata read_h5ad (s, median of %d) | anndata / cellbench |" % (n, n))
    print("|---|---|---|---|")
    for f in files:
        go, py = [], []
        for _ in range(n):
            go.append(timed([binary, "data", "info", f]))
            py.append(timed(["/usr/bin/python3", "-c", "import anndata, sys; anndata.read_h5ad(sys.argv[1])", f]))
        g, p = statistics.median(go), statistics.median(py)
        print("| %s | %.3f | %.3f | %.1f× |" % (f.split("/")[-1], g, p, p / g))

if __name__ == "__main__" and sys.argv[1:2] != ["--inprocess"]:
    main()


def inprocess(test_binary, rounds, files):
    """In-process read time, alternating: the compiled data/h5ad benchmark
    (h5ad.Read, 10 iterations) and anndata.read_h5ad in one python process
    (10 reads after a warm-up), `rounds` times; medians of per-round means."""
    import re
    import anndata
    print("| file | h5ad.Read in-process (ms) | anndata.read_h5ad in-process (ms) | anndata / cellbench |")
    print("|---|---|---|---|")
    for f in files:
        name = f.split("/")[-1]
        go, py = [], []
        anndata.read_h5ad(f)
        for _ in range(rounds):
            out = subprocess.run([test_binary, "-test.run", "^$", "-test.bench", "Read/file=" + name,
                                  "-test.benchtime", "10x"], check=True, capture_output=True, text=True).stdout
            go.append(float(re.search(r"\s(\d+) ns/op", out).group(1)) / 1e6)
            t = time.perf_counter()
            for _ in range(10):
                anndata.read_h5ad(f)
            py.append((time.perf_counter() - t) / 10 * 1e3)
        g, p = statistics.median(go), statistics.median(py)
        print("| %s | %.1f | %.1f | %.2f× |" % (name, g, p, p / g))


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--inprocess":
    inprocess(sys.argv[2], int(sys.argv[3]), sys.argv[4:])
