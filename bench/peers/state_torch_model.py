#!/usr/bin/env python3
"""The PyTorch twin of cellbench's ST (bench/peers/state_torch.py) as an
external perturbation model: trained on {train}, asked for {requests},
writes {out}; a suite runs it beside the Go ST (model/state) and the
baselines (suites/external-demo.yaml, docs/external-models.md).

  /usr/bin/python3 bench/peers/state_torch_model.py --train T.h5ad \
      --requests R.h5ad --out P.h5ad [--steps 300 --set 16 --batch 4 ...]

Training mirrors model/state: for each step, batch_size sets of cell_set_len
cells; a set is the cells of one training (context, perturbation) group
(drawn with replacement when the group is smaller), paired with as many
control cells of the same context drawn at random with replacement
(control groups map controls to controls); loss = energy distance between
the predicted and the observed set; AdamW (weight decay 5e-4), gradient
norm clipped at 10. The perturbation vocabulary is the training labels
(control included); an unseen "A+B" of seen singles is the sum of their
one-hots, any other unseen label the zero vector (as the Go ST). Prediction:
n_cells controls of the request (without replacement when enough, seeded by
seed and the request's context and perturbation), in sets of cell_set_len.
Defaults are the Go ST's "tiny" config except steps. Torch threads: 2, with
OMP_WAIT_POLICY=PASSIVE unless the environment sets it.
"""
import argparse
import os
import sys
import zlib

# OpenMP threads that spin while waiting starve each other on a loaded
# 2-core machine (a cell took > 10 min instead of ~20 s); must be set
# before torch loads its OpenMP runtime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import anndata as ad  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mean_model import dense, labels  # noqa: E402
from state_torch import ST, energy  # noqa: E402


def encode(p, vocab):
    v = np.zeros(len(vocab), dtype=np.float32)
    if p in vocab:
        v[vocab[p]] = 1
    elif "+" in p and all(q in vocab for q in p.split("+")):
        for q in p.split("+"):
            v[vocab[q]] = 1
    return v


def main():
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", required=True)
    ap.add_argument("--requests", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=int(env("CELLBENCH_SEED", "0")))
    ap.add_argument("--pert-col", default=env("CELLBENCH_PERT_COL"))
    ap.add_argument("--context-col", default=env("CELLBENCH_CONTEXT_COL", ""))
    ap.add_argument("--control", default=env("CELLBENCH_CONTROL"))
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--set", type=int, default=16, help="cell_set_len")
    ap.add_argument("--batch", type=int, default=4, help="sets per step")
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--enc-layers", type=int, default=1)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--mlp-ratio", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)

    train = ad.read_h5ad(a.train)
    x = dense(train.X).astype(np.float32)
    perts, ctxs = labels(train, a.pert_col), labels(train, a.context_col)
    vocab = {p: i for i, p in enumerate(sorted(set(perts)))}
    controls = {c: np.flatnonzero((ctxs == c) & (perts == a.control)) for c in np.unique(ctxs)}
    groups = [(c, p, np.flatnonzero((ctxs == c) & (perts == p)))
              for c in np.unique(ctxs) for p in np.unique(perts[ctxs == c]) if len(controls[c]) > 0]
    G, P, S, B = x.shape[1], len(vocab), a.set, a.batch
    print(f"state_torch_model: {x.shape[0]} training cells x {G} genes, {len(groups)} groups, {P} labels; "
          f"{a.steps} steps of {B} sets x {S} cells, torch {torch.__version__}, {torch.get_num_threads()} threads", file=sys.stderr)

    model = ST(G, P, a.hidden, a.enc_layers, a.layers, a.heads, a.mlp_ratio)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=5e-4)
    xt = torch.from_numpy(x)
    mask = torch.ones(B, S, dtype=torch.bool)
    for step in range(a.steps):
        picks = rng.integers(len(groups), size=B)
        ctrl_idx, tgt_idx, onehot = [], [], []
        for g in picks:
            c, p, rows = groups[g]
            tgt_idx.append(rng.choice(rows, size=S, replace=len(rows) < S))
            ctrl_idx.append(rng.choice(controls[c], size=S, replace=True))
            onehot.append(encode(p, vocab))
        ctrl = xt[torch.from_numpy(np.stack(ctrl_idx))]
        target = xt[torch.from_numpy(np.stack(tgt_idx))]
        pert = torch.from_numpy(np.stack(onehot))
        opt.zero_grad(set_to_none=True)
        loss = energy(model(ctrl, pert, mask), target, mask, mask).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        if step % 100 == 0 or step == a.steps - 1:
            print(f"state_torch_model: step {step + 1}/{a.steps} loss {loss.item():.4f}", file=sys.stderr)

    requests = ad.read_h5ad(a.requests)
    rx = dense(requests.X).astype(np.float32)
    rp, rc = labels(requests, a.pert_col), labels(requests, a.context_col)
    req, n_cells = requests.obs["request"].to_numpy(), requests.obs["n_cells"].to_numpy()
    blocks, out_p, out_c = [], [], []
    model.eval()
    with torch.no_grad():
        for r in np.unique(req):
            rows = np.flatnonzero(req == r)
            p, c, n = rp[rows[0]], rc[rows[0]], int(n_cells[rows[0]])
            prng = np.random.default_rng([a.seed, zlib.crc32(f"{c}\0{p}".encode())])
            drawn = prng.choice(rows, size=n, replace=n > len(rows))
            onehot = torch.from_numpy(encode(p, vocab))[None, :]
            pred = np.empty((n, G), dtype=np.float32)
            for start in range(0, n, S):
                chunk = drawn[start:start + S]
                ctrl = torch.from_numpy(rx[chunk])[None]
                pred[start:start + len(chunk)] = model(ctrl, onehot, torch.ones(1, len(chunk), dtype=torch.bool))[0].numpy()
            blocks.append(pred)
            out_p += [p] * n
            out_c += [c] * n
    obs = pd.DataFrame({a.pert_col: pd.Categorical(out_p)}, index=[f"pred{i}" for i in range(len(out_p))])
    if a.context_col:
        obs[a.context_col] = pd.Categorical(out_c)
    ad.AnnData(X=np.vstack(blocks), obs=obs, var=pd.DataFrame(index=requests.var_names)).write_h5ad(a.out)
    print(f"state_torch_model: wrote {len(out_p)} cells for {len(blocks)} requests", file=sys.stderr)


if __name__ == "__main__":
    main()
