#!/usr/bin/python3
"""Plot STACK pre-training loss curves (masked NB NLL and the sliced-
Wasserstein term, as logged per step in each checkpoint's history.json) and
print a table of 50-step window means.

Usage: stack_loss_curves.py OUT.png LABEL=CKPT_DIR [LABEL=CKPT_DIR ...]
(Debian python3 with matplotlib 3.6.)"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def load(d):
    h = json.load(open(d + "/history.json"))
    steps = [r["step"] for r in h["records"]]
    nll = [r["terms"]["nb_nll"] for r in h["records"]]
    sw = [r["terms"]["sw"] for r in h["records"]]
    return steps, nll, sw, h.get("train_seconds", float("nan"))


def window(v, w=50):
    return [sum(v[i:i + w]) / len(v[i:i + w]) for i in range(0, len(v), w)]


out = sys.argv[1]
runs = [a.split("=", 1) for a in sys.argv[2:]]
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for label, d in runs:
    steps, nll, sw, secs = load(d)
    axes[0].plot(steps, nll, lw=0.6, alpha=0.8, label=label)
    axes[1].plot(steps, sw, lw=0.6, alpha=0.8, label=label)
axes[0].set_title("masked NB negative log-likelihood")
axes[1].set_title("sliced-Wasserstein term (unweighted; loss adds 0.01x)")
for ax in axes:
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
axes[0].set_ylabel("per masked entry (nats)")
axes[0].legend(fontsize=7)
fig.tight_layout()
fig.savefig(out, dpi=110)

print("| run | " + " | ".join("steps %d–%d" % (i * 50 + 1, i * 50 + 50) for i in range(12)) + " |")
for label, d in runs:
    steps, nll, sw, secs = load(d)
    print("| %s NB NLL | " % label + " | ".join("%.3f" % v for v in window(nll)) + " |")
for label, d in runs:
    steps, nll, sw, secs = load(d)
    print("| %s SW | " % label + " | ".join("%.3f" % v for v in window(sw)) + " |")
for label, d in runs:
    steps, nll, sw, secs = load(d)
    print("%s: %d steps, %.0f s of training wall time" % (label, steps[-1], secs))
