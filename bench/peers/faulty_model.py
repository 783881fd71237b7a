#!/usr/bin/env python3
"""bench/peers/mean_model.py with one injected fault, for the failure demo of
external models (suites/external-faults.yaml, docs/external-models.md).

While the environment variable CELLBENCH_DEMO_FAULT is set (non-empty), the
fault chosen with --fault happens:
  crash          raise an exception (non-zero exit, a traceback on stderr)
  gene-order     write the genes in reverse order
  missing-group  leave out the cells of the first request
  timeout        sleep for an hour (the suite's timeout kills it)
  counts         write raw counts (integers) instead of log1p values
  nan            put a NaN into the prediction
Without it the script is mean_model.py, so `cellbench run --resume` after
unsetting it completes the run.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mean_model  # noqa: E402

import numpy as np  # noqa: E402


def main():
    fault = None
    argv = sys.argv[1:]
    if "--fault" in argv:
        i = argv.index("--fault")
        fault = argv[i + 1]
        del argv[i:i + 2]
    if not os.environ.get("CELLBENCH_DEMO_FAULT"):
        fault = None
    sys.argv = [sys.argv[0]] + argv
    if fault == "crash":
        raise RuntimeError("injected crash (CELLBENCH_DEMO_FAULT is set)")
    if fault == "timeout":
        time.sleep(3600)
    if fault is None:
        return mean_model.main()
    real_predict = mean_model.predict

    def faulty(*args):
        pred = real_predict(*args)
        if fault == "gene-order":
            pred = pred[:, pred.var_names[::-1]].copy()
        elif fault == "missing-group":
            first = pred.obs.iloc[0]
            keep = ~(pred.obs.astype(str) == first.astype(str)).all(axis=1).to_numpy()
            pred = pred[keep].copy()
        elif fault == "counts":
            pred.X = np.round(np.expm1(pred.X) * 10).astype(np.float32)
        elif fault == "nan":
            pred.X[0, 0] = np.nan
        else:
            raise SystemExit(f"faulty_model.py: unknown --fault {fault!r}")
        return pred

    mean_model.predict = faulty
    mean_model.main()


if __name__ == "__main__":
    main()
