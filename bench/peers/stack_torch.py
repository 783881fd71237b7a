#!/usr/bin/python3
"""PyTorch twin of cellbench's STACK pre-training step (model/stack).

Same layers, initialisation scheme, loss and optimiser as the GoMLX graph
(model/stack/graph.go), written from the ArcInstitute/stack description in
docs/references/stack-reference.md §1, §2 and §7 (no code copied):

  log1p(counts) with masked genes set to 0 -> Linear(G, T*d) + GELU -> tokens
  L x [ xc = LN_d(xc + MHA_intra(xc + pos)); xg = LN_D(xg + MHA_inter(xg));
        x = LN_d(x + MLP(x)) ]                              (post-norm)
  decoder Linear(D, 2D) + GELU + Linear(2D, 2G) -> softmax(.)*lib, softplus(.)
  loss = mean NB NLL over masked genes + sw_weight * sliced W2(centred emb, N(0,I))
  AdamW(lr, weight_decay 3e-3), clip_grad_norm_(1.0)

Modes:
  --parity FILE.json   load the weights and one batch written by the Go test
                       TestTorchTwinParity, run forward, print a JSON of the
                       outputs (embedding, mu, theta, recon, sw).
  --bench              time training steps at a config's shapes: prints one
                       JSON line per round {"ms": [...], ...}.

Debian's python3 with torch 1.13 (no scaled_dot_product_attention: eager,
as the twin should be). Threads: --threads (default 2).
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn as tnn
import torch.nn.functional as F

CONFIGS = {
    # genes, tokens, token_dim, layers, heads, intra heads, set, batch, sw cells, sw proj
    "tiny": dict(G=200, T=4, d=8, L=1, H=2, Hi=8, C=16, B=2, K=8, P=8),
    "default": dict(G=1724, T=16, d=8, L=2, H=8, Hi=8, C=32, B=8, K=32, P=64),
    # paper-shaped cells (100 tokens x 16) at a CPU-sized set and batch
    "mid": dict(G=2000, T=100, d=16, L=2, H=8, Hi=8, C=64, B=2, K=32, P=64),
    "paper": dict(G=15012, T=100, d=16, L=9, H=8, Hi=8, C=256, B=32, K=128, P=64),
}


class MHA(tnn.Module):
    """Fused bias-free QKV projection, biased output projection."""

    def __init__(self, D, heads):
        super().__init__()
        self.h = heads
        self.qkv = tnn.Linear(D, 3 * D, bias=False)
        self.out = tnn.Linear(D, D)

    def forward(self, x, key_mask=None):
        N, S, D = x.shape
        dh = D // self.h
        qkv = self.qkv(x).reshape(N, S, 3, self.h, dh)
        q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
        scores = torch.einsum("nshd,nthd->nhst", q, k) / math.sqrt(dh)
        if key_mask is not None:
            scores = scores.masked_fill(~key_mask[:, None, None, :], float("-inf"))
        p = scores.softmax(-1)
        ctx = torch.einsum("nhst,nthd->nshd", p, v).reshape(N, S, D)
        return self.out(ctx)


class Layer(tnn.Module):
    def __init__(self, T, d, heads, intra_heads, mlp_ratio=4):
        super().__init__()
        self.T, self.d = T, d
        D = T * d
        self.cell_attn = MHA(d, intra_heads)
        self.cell_norm = tnn.LayerNorm(d)
        self.gene_attn = MHA(D, heads)
        self.gene_norm = tnn.LayerNorm(D)
        self.mlp_up = tnn.Linear(d, mlp_ratio * d)
        self.mlp_down = tnn.Linear(mlp_ratio * d, d)
        self.mlp_norm = tnn.LayerNorm(d)

    def forward(self, x, pos, cells):
        B, C, T, d = x.shape
        xc = x.reshape(B * C, T, d)
        xc = self.cell_norm(xc + self.cell_attn(xc + pos))
        xg = xc.reshape(B, C, T * d)
        xg = self.gene_norm(xg + self.gene_attn(xg, cells))
        m = xg.reshape(-1, d)
        m = self.mlp_norm(m + self.mlp_down(F.gelu(self.mlp_up(m))))
        return m.reshape(B, C, T, d)


class Stack(tnn.Module):
    def __init__(self, G, T, d, L, H, Hi, **_):
        super().__init__()
        self.T, self.d, self.G = T, d, G
        D = T * d
        self.gene_reduction = tnn.Linear(G, D)
        self.gene_pos_embedding = tnn.Parameter(torch.randn(T, d))
        self.layers = tnn.ModuleList([Layer(T, d, H, Hi) for _ in range(L)])
        self.output_mlp_1 = tnn.Linear(D, 2 * D)
        self.output_mlp_2 = tnn.Linear(2 * D, 2 * G)
        for m in self.modules():
            if isinstance(m, tnn.Linear):
                tnn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    tnn.init.zeros_(m.bias)

    def encode(self, x, cells):
        B, C, _ = x.shape
        h = F.gelu(self.gene_reduction(x)).reshape(B, C, self.T, self.d)
        for layer in self.layers:
            h = layer(h, self.gene_pos_embedding, cells)
        return h.reshape(B, C, self.T * self.d)

    def decode(self, emb, lib, genes):
        B, C, _ = emb.shape
        out = self.output_mlp_2(F.gelu(self.output_mlp_1(emb))).reshape(B, C, self.G, 2)
        logits = out[..., 0].masked_fill(~genes[:, None, :], float("-inf"))
        mu = logits.softmax(-1) * lib[..., None]
        return mu, F.softplus(out[..., 1])


def nb_nll(y, mu, theta, eps=1e-8):
    """-log NB(y; mu, theta), scvi-tools log_nb_positive."""
    log_theta_mu = torch.log(theta + mu + eps)
    ll = (theta * (torch.log(theta + eps) - log_theta_mu) + y * (torch.log(mu + eps) - log_theta_mu)
          + torch.lgamma(y + theta) - torch.lgamma(theta) - torch.lgamma(y + 1))
    return -ll


def sliced_w2(x, y, proj):
    px = torch.einsum("bkd,dp->bpk", x, proj).sort(-1).values
    py = torch.einsum("bkd,dp->bpk", y, proj).sort(-1).values
    return ((px - py) ** 2).mean(dim=(1, 2))


def loss_fn(model, counts, cells, genes, masked, sw_idx, sw_proj, prior, sw_weight=0.01):
    B, C, G = counts.shape
    x = torch.log1p(counts).masked_fill(masked[:, None, :], 0.0)
    lib = counts.sum(-1)
    emb = model.encode(x, cells)
    mu, theta = model.decode(emb, lib, genes)
    nll = nb_nll(counts, mu, theta)
    entry = masked[:, None, :] & cells[:, :, None]
    recon = nll[entry].mean()
    sub = emb[:, sw_idx]
    sub = sub - sub.mean(1, keepdim=True)
    sw = sliced_w2(sub, prior, sw_proj).mean()
    return recon + sw_weight * sw, recon, sw, emb, mu, theta


def synthetic_batch(c, seed=2):
    g = torch.Generator().manual_seed(seed)
    B, C, G, D = c["B"], c["C"], c["G"], c["T"] * c["d"]
    occupied = torch.rand(B, C, G, generator=g) < 0.3
    counts = torch.where(occupied, torch.randint(1, 6, (B, C, G), generator=g).float(), torch.zeros(B, C, G))
    cells = torch.ones(B, C, dtype=torch.bool)
    genes = torch.ones(B, G, dtype=torch.bool)
    masked = torch.rand(B, G, generator=g) < 0.4
    sw_idx = torch.randperm(C, generator=g)[: c["K"]]
    proj = torch.randn(D, c["P"], generator=g)
    proj = proj / proj.norm(dim=0, keepdim=True)
    prior = torch.randn(B, c["K"], D, generator=g)
    return counts, cells, genes, masked, sw_idx, proj, prior


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def bench(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    c = CONFIGS[args.config]
    if args.batch:
        c = dict(c, B=args.batch)
    dev = torch.device(args.device)
    model = Stack(**c).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=3e-3)
    batch = [t.to(dev) for t in synthetic_batch(c)]
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model, *batch)[0]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sync()
        return loss

    for _ in range(args.warmup):
        step()
    for r in range(args.rounds):
        ms = []
        cpu = []
        for _ in range(args.steps):
            t0, c0 = time.perf_counter(), time.process_time()
            step()
            ms.append((time.perf_counter() - t0) * 1e3)
            cpu.append((time.process_time() - c0) * 1e3)
        rec = {"impl": "torch", "config": args.config, "batch": c["B"], "device": str(dev), "round": r, "ms": ms, "cpu_ms": cpu,
               "params": n_params(model), "torch": torch.__version__, "threads": torch.get_num_threads()}
        if dev.type == "cuda":
            rec["max_memory_allocated_gib"] = torch.cuda.max_memory_allocated() / 2**30
            rec["gpu"] = torch.cuda.get_device_name()
        print(json.dumps(rec), flush=True)


def parity(args):
    torch.set_num_threads(args.threads)
    spec = json.load(open(args.parity))
    c = spec["config"]
    model = Stack(**c)
    state = {}
    D = c["T"] * c["d"]

    def t(name, shape):
        v = spec["vars"][name]
        return torch.tensor(v, dtype=torch.float32).reshape(shape)

    def linear(mod, path, fin, fout, bias=True):
        mod.weight.data = t(path + "/dense/weights", (fin, fout)).T.contiguous()
        if bias:
            mod.bias.data = t(path + "/dense/biases", (fout,))

    def norm(mod, path, n):
        mod.weight.data = t(path + "/layer_normalization/gain", (n,))
        mod.bias.data = t(path + "/layer_normalization/offset", (n,))

    G, T, d = c["G"], c["T"], c["d"]
    linear(model.gene_reduction, "/gene_reduction", G, D)
    model.gene_pos_embedding.data = t("/gene_pos_embedding", (T, d))
    for i, layer in enumerate(model.layers):
        p = "/layer_%d" % i
        linear(layer.cell_attn.qkv, p + "/cell_attn/qkv", d, 3 * d, bias=False)
        linear(layer.cell_attn.out, p + "/cell_attn/out", d, d)
        norm(layer.cell_norm, p + "/cell_norm", d)
        linear(layer.gene_attn.qkv, p + "/gene_attn/qkv", D, 3 * D, bias=False)
        linear(layer.gene_attn.out, p + "/gene_attn/out", D, D)
        norm(layer.gene_norm, p + "/gene_norm", D)
        linear(layer.mlp_up, p + "/mlp_up", d, 4 * d)
        linear(layer.mlp_down, p + "/mlp_down", 4 * d, d)
        norm(layer.mlp_norm, p + "/mlp_norm", d)
    linear(model.output_mlp_1, "/output_mlp_1", D, 2 * D)
    linear(model.output_mlp_2, "/output_mlp_2", 2 * D, 2 * G)
    b = spec["batch"]
    B, C, K, P = c["B"], c["C"], c["K"], c["P"]
    counts = torch.tensor(b["counts"], dtype=torch.float32).reshape(B, C, G)
    cells = torch.tensor(b["cells"]).reshape(B, C)
    genes = torch.tensor(b["genes"]).reshape(B, G)
    masked = torch.tensor(b["masked"]).reshape(B, G)
    sw_idx = torch.tensor(b["sw_idx"], dtype=torch.long)
    proj = torch.tensor(b["sw_proj"], dtype=torch.float32).reshape(D, P)
    prior = torch.tensor(b["prior"], dtype=torch.float32).reshape(B, K, D)
    with torch.no_grad():
        loss, recon, sw, emb, mu, theta = loss_fn(model, counts, cells, genes, masked, sw_idx, proj, prior)
    json.dump({"loss": loss.item(), "recon": recon.item(), "sw": sw.item(), "emb": emb.flatten().tolist(),
               "mu": mu.flatten().tolist(), "theta": theta.flatten().tolist(), "params": n_params(model)}, sys.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parity", help="JSON written by the Go parity test")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--config", default="default", choices=sorted(CONFIGS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--batch", type=int, default=0, help="override the config's sets per step")
    args = ap.parse_args()
    if args.parity:
        parity(args)
    elif args.bench:
        bench(args)
    else:
        ap.error("give --parity FILE or --bench")


if __name__ == "__main__":
    main()
