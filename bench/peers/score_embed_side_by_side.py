"""Side-by-side timing of `cellbench score embed` and the sklearn peer.

Measurement harness only. Alternates, `--repeats` times in one run:
  (a) cellbench score embed --metrics silhouette_label,nmi_kmeans,ari_kmeans,knn_accuracy
      (the same work as the peer: silhouette, k-means++ NMI/ARI, exact 90-NN)
  (b) /usr/bin/python3 bench/peers/scib_sklearn.py (sklearn 1.2.1)
  (c) cellbench score embed with every metric (the full suite)
both limited to 2 cores (GOMAXPROCS=2; OMP/OPENBLAS/MKL threads = 2), and
prints the medians of whole-process wall time and of in-process compute time
(Go: sum of results.json step seconds; Python: silhouette + kmeans + knn).

Usage (from the repository root, after building the binary as the Makefile does, with
the vector distance kernels: `GOTOOLCHAIN=go1.27.4 GOEXPERIMENT=simd go build -o /tmp/cellbench
./cmd/cellbench`; without GOEXPERIMENT=simd the scalar kernels are used):
  /usr/bin/python3 bench/peers/score_embed_side_by_side.py --bin /tmp/cellbench \
      --csv ../shared/data/embedding_scpop_sceiad_retina.csv --cols 'scviDim_*' \
      --label CellType_predict --batch batch --repeats 5
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import tempfile
import time


def run(cmd, env):
    """Runs cmd; returns (wall s, cpu s = user+sys of the child, stdout)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed: {p.stderr}")
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return wall, cpu, p.stdout


def go_compute(out_dir):
    with open(os.path.join(out_dir, "results.json")) as f:
        js = json.load(f)
    return sum(float(v) for v in js["embeddings"][0]["seconds"].values()), js


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--cols", required=True)
    ap.add_argument("--label", required=True)
    ap.add_argument("--batch", required=True)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    env = dict(os.environ, GOMAXPROCS="2", OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2", MKL_NUM_THREADS="2")
    here = os.path.dirname(os.path.abspath(__file__))
    tmp = tempfile.mkdtemp(prefix="score-embed-bench-")
    common = ["score", "embed", "--embed", a.csv, "--embed-cols", a.cols, "--label-col", a.label,
              "--batch-col", a.batch, "--drop-missing", "--threads", "2"]
    res = {"go_subset_wall": [], "go_subset_cpu": [], "go_subset_compute": [], "py_wall": [], "py_cpu": [],
           "py_compute": [], "go_full_wall": [], "go_full_cpu": [], "go_full_compute": []}
    values = {}
    for r in range(a.repeats):
        out = os.path.join(tmp, f"sub{r}")
        w, cpu, _ = run([a.bin] + common + ["--metrics", "silhouette_label,nmi_kmeans,ari_kmeans,knn_accuracy", "--out", out], env)
        c, js = go_compute(out)
        res["go_subset_wall"].append(w)
        res["go_subset_cpu"].append(cpu)
        res["go_subset_compute"].append(c)
        values["go"] = {m["name"]: m["value"] for m in js["embeddings"][0]["metrics"]}
        w, cpu, stdout = run(["/usr/bin/python3", os.path.join(here, "scib_sklearn.py"), a.csv, a.cols, a.label], env)
        py = json.loads(stdout)
        res["py_wall"].append(w)
        res["py_cpu"].append(cpu)
        res["py_compute"].append(py["seconds"]["compute"])
        values["sklearn"] = {k: v for k, v in py.items() if k != "seconds"}
        values["sklearn_steps"] = py["seconds"]
        out = os.path.join(tmp, f"full{r}")
        w, cpu, _ = run([a.bin] + common + ["--out", out], env)
        c, js = go_compute(out)
        res["go_full_wall"].append(w)
        res["go_full_cpu"].append(cpu)
        res["go_full_compute"].append(c)
        values["go_full_steps"] = js["embeddings"][0]["seconds"]
    med = {k: statistics.median(v) for k, v in res.items()}
    print(json.dumps({"repeats": a.repeats, "medians_s": med, "all_s": res,
                      "ratio_wall": med["py_wall"] / med["go_subset_wall"],
                      "ratio_compute": med["py_compute"] / med["go_subset_compute"],
                      "ratio_cpu": med["py_cpu"] / med["go_subset_cpu"],
                      "load_average": os.getloadavg(),
                      "values": values}, indent=1))


if __name__ == "__main__":
    main()
