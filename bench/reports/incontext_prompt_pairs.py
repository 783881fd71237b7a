#!/usr/bin/python3
"""Paired prompt effects of an in-context model, from a suite's records.

For each dataset and metric, the difference matched − none and
matched − wrong of one model's prompt variants, paired by (seed,
perturbation) (per-perturbation records; pdisc_norm, which has only an
aggregate per seed, is paired by seed). Prints the mean difference, a 95 %
percentile bootstrap interval over the pairs (10,000 resamples, numpy PCG64
seed 0) and how many pairs favour the matched prompt. It also prints the
model's gene-coverage notes (the warnings that say how many of the
dataset's genes the checkpoint knows).

Run with Debian's python3 (numpy):

    /usr/bin/python3 bench/reports/incontext_prompt_pairs.py runs/models/results.jsonl [MODEL]

MODEL defaults to "stack". bench/reports/incontext.md quotes its output.
"""
import json
import math
import re
import sys
from collections import defaultdict

import numpy as np

METRICS = ["pearson_delta", "overlap_at_N", "pdisc_norm", "mae"]


def main():
    path = sys.argv[1]
    model = sys.argv[2] if len(sys.argv) > 2 else "stack"
    vals = defaultdict(dict)  # (dataset, metric, seed, pert) -> prompt -> value
    notes = defaultdict(set)
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r.get("task") != "incontext" or r.get("model") != model:
                continue
            v = r["value"]
            v = float("nan") if isinstance(v, str) else float(v)
            m = r["metric"]
            if m not in METRICS:
                continue
            agg = r["perturbation"] == "_agg"
            if (m == "pdisc_norm") != agg:
                continue  # per-perturbation rows, except pdisc_norm (aggregate only)
            vals[(r["dataset"], m, r["seed"], r["perturbation"])][r["prompt"]] = v
            for w in r.get("warnings", "").split("; "):
                if "checkpoint's gene universe" in w:
                    notes[r["dataset"]].add("seed %d: %s" % (r["seed"], w))
    rng = np.random.Generator(np.random.PCG64(0))
    print("| dataset | metric | pairs | matched − none [95 % CI] | matched better | matched − wrong [95 % CI] | matched better |")
    print("|---|---|---|---|---|---|---|")
    for ds in sorted({k[0] for k in vals}):
        for m in METRICS:
            cells = [p for k, p in sorted(vals.items()) if k[0] == ds and k[1] == m]
            row = ["%s" % ds, m, str(len(cells))]
            for other in ("none", "wrong"):
                d = np.array([c["matched"] - c[other] for c in cells
                              if "matched" in c and other in c and not math.isnan(c["matched"] - c[other])])
                if len(d) == 0:
                    row += ["NaN (no finite pair)", "—"]
                    continue
                boot = rng.choice(d, size=(10000, len(d)), replace=True).mean(axis=1)
                lo, hi = np.percentile(boot, [2.5, 97.5])
                better = np.sum(d < 0) if m == "mae" else np.sum(d > 0)
                row += ["%+.4f [%+.4f, %+.4f]" % (d.mean(), lo, hi), "%d of %d" % (better, len(d))]
            print("| " + " | ".join(row) + " |")
    for ds in sorted(notes):
        for n in sorted(notes[ds]):
            print("%s: %s" % (ds, n))


if __name__ == "__main__":
    main()
