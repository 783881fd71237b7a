#!/usr/bin/env python3
"""PyTorch twin of cellbench's STATE-style ST model (model/state), for the
training-speed comparison in bench/reports/state-speed.md and, through
bench/peers/state_torch_model.py, as an external (command) model of a suite.

Same architecture and shapes as the Go default config: basal MLP and one-hot
perturbation MLP (Linear -> LayerNorm -> GELU, n_encoder_layers times, then
Linear to h), summed; n_layers pre-norm transformer blocks over the set (no
positional encoding, key-padding mask); final LayerNorm; residual
ReLU(ctrl + Linear(h -> G)); energy-distance loss (E|X-Y| - 1/2 E|X-X'| -
1/2 E|Y-Y'|, sqrt(d2 + 1e-8)); AdamW + global-norm clipping.

Run with Debian's python3-torch (1.13), 2 threads:
  /usr/bin/python3 bench/peers/state_torch.py --batch 8 --set 32 --genes 500 --steps 60
Prints one JSON line with the median step time after warm-up.
"""
import argparse, json, statistics, time
import torch
import torch.nn as nn


def mlp(inp, hidden, enc_layers):
    layers, d = [], inp
    for _ in range(enc_layers):
        layers += [nn.Linear(d, hidden), nn.LayerNorm(hidden), nn.GELU()]
        d = hidden
    layers.append(nn.Linear(d, hidden))
    return nn.Sequential(*layers)


class Block(nn.Module):
    def __init__(s, hidden, heads, mlp_ratio):
        super().__init__()
        s.n1, s.n2 = nn.LayerNorm(hidden), nn.LayerNorm(hidden)
        s.attn = nn.MultiheadAttention(hidden, heads, batch_first=True)
        s.mlp = nn.Sequential(nn.Linear(hidden, mlp_ratio * hidden), nn.GELU(), nn.Linear(mlp_ratio * hidden, hidden))

    def forward(s, h, pad):
        y = s.n1(h)
        h = h + s.attn(y, y, y, key_padding_mask=pad, need_weights=False)[0]
        return h + s.mlp(s.n2(h))


class ST(nn.Module):
    """ctrl (B, S, G), pert one-hot (B, P), mask (B, S) True = real cell -> (B, S, G)."""

    def __init__(s, genes, perts, hidden=128, enc_layers=2, layers=2, heads=4, mlp_ratio=4):
        super().__init__()
        s.basal, s.pert = mlp(genes, hidden, enc_layers), mlp(perts, hidden, enc_layers)
        s.blocks = nn.ModuleList([Block(hidden, heads, mlp_ratio) for _ in range(layers)])
        s.fn, s.out = nn.LayerNorm(hidden), nn.Linear(hidden, genes)

    def forward(s, ctrl, pert, mask):
        h = s.basal(ctrl) + s.pert(pert)[:, None, :]
        for blk in s.blocks:
            h = blk(h, ~mask)
        return torch.relu(ctrl + s.out(s.fn(h)))


def pair_mean(x, y, mx, my):
    xx = (x * x).sum(-1)
    yy = (y * y).sum(-1)
    d2 = (xx[:, :, None] + yy[:, None, :] - 2 * x @ y.transpose(1, 2)).clamp_min(0)
    d = torch.sqrt(d2 + 1e-8)
    m = (mx[:, :, None] & my[:, None, :]).float()
    return (d * m).sum((1, 2)) / m.sum((1, 2))


def energy(x, y, mx, my):
    """Energy distance per set (B,): E|X-Y| - 1/2 E|X-X'| - 1/2 E|Y-Y'|."""
    return pair_mean(x, y, mx, my) - 0.5 * pair_mean(x, x, mx, mx) - 0.5 * pair_mean(y, y, my, my)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--set", type=int, default=32)
    p.add_argument("--genes", type=int, default=500)
    p.add_argument("--perts", type=int, default=10)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--enc-layers", type=int, default=2)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--mlp-ratio", type=int, default=4)
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    B, S, G, P, H = a.batch, a.set, a.genes, a.perts, a.hidden

    model = ST(G, P, H, a.enc_layers, a.layers, a.heads, a.mlp_ratio)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=5e-4)
    g = torch.Generator().manual_seed(1)
    ctrl = torch.rand(B, S, G, generator=g) * 3
    target = torch.rand(B, S, G, generator=g) * 3
    pert = torch.zeros(B, P)
    pert[torch.arange(B), torch.arange(B) % P] = 1
    mask = torch.ones(B, S, dtype=torch.bool)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = energy(model(ctrl, pert, mask), target, mask, mask).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        return loss.item()

    times = []
    for i in range(a.warmup + a.steps):
        t = time.perf_counter()
        loss = step()
        if i >= a.warmup:
            times.append(time.perf_counter() - t)
    print(json.dumps({"peer": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "batch": B, "set": S, "genes": G, "hidden": H, "layers": a.layers,
                      "params": sum(p.numel() for p in model.parameters()),
                      "median_step_ms": 1e3 * statistics.median(times), "steps": len(times), "last_loss": loss}))


if __name__ == "__main__":
    main()
