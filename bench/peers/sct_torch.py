#!/usr/bin/env python3
"""PyTorch twin of cellbench's sCT-style model (model/sct), for the
training-step comparison and the memory figures of bench/reports/sct-speed.md.

Same layers and shapes as model/sct/arch.go (sct-reference.md §7): token
embedding (bins + pad + mask) -> stem Conv1d(k15) + GELU(tanh) -> d levels of
[shared LN over the genes of each cell -> Conv1d(k5) -> GELU; + (shared LN ->
Conv1d(k1) -> GELU); average pool 2] -> L pre-LN transformer blocks (biased
q/k/v/o, rotary positions with GPT-NeoX half split, GLU FFN with SiLU and no
biases) -> d levels of [shared LN -> ConvTranspose1d(k5, s2) -> GELU; + (shared
LN -> Conv1d(k1) -> GELU); + skip] -> GELU -> Linear(ted->E) -> GELU ->
Linear(E->7). The "shared" layer norm has statistics over the genes of each
(sequence, cell, channel) and a learned scale/offset per gene position. The
transposed convolution reproduces JAX's SAME alignment (3 before, 2 after) by
zero-stuffing and a valid Conv1d, as the Go graph computes it. Parameter
counts equal the Go model's (printed; 79,204,163 at the paper config and
19,965 genes).

Step: fixed random tokens (bins 0-4 with ~10 % non-zero, pad tokens beyond
the gene panel), a fixed stratified mask (1 % of zeros, 15 % of non-zeros),
cross-entropy over masked positions, backward, Adam lr 1e-3 (the Go side:
AdamW without decay + global-norm clipping at 1 — clipping is included here
too). Median step time after warm-up; peak memory.

  # CPU, Debian python3-torch 1.13, 2 threads:
  /usr/bin/python3 bench/peers/sct_torch.py --config default --genes 1024 --cells 50 --batch 2 --steps 10
  # GPU (paper setting):
  python3 bench/peers/sct_torch.py --config paper --genes 19965 --cells 50 --batch 1 --device cuda --steps 10
Prints one JSON line.
"""
import argparse, json, math, statistics, time
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {  # model/sct/params.go
    "tiny": dict(ted=16, embed=32, ffn=64, layers=1, heads=2, down=3, mult=8, stem=7, conv=5),
    "default": dict(ted=32, embed=128, ffn=256, layers=2, heads=4, down=4, mult=16, stem=15, conv=5),
    "paper": dict(ted=64, embed=1024, ffn=2048, layers=4, heads=16, down=8, mult=32, stem=15, conv=5),
}

p = argparse.ArgumentParser()
p.add_argument("--config", default="default", choices=sorted(CONFIGS))
p.add_argument("--genes", type=int, default=1024)
p.add_argument("--cells", type=int, default=50)
p.add_argument("--batch", type=int, default=2)
p.add_argument("--steps", type=int, default=10)
p.add_argument("--warmup", type=int, default=3)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--device", default="cpu")
p.add_argument("--tf32", action="store_true")
p.add_argument("--params-only", action="store_true")
a = p.parse_args()
c = CONFIGS[a.config]
torch.set_num_threads(a.threads)
torch.manual_seed(0)
if a.tf32:
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
dev = torch.device(a.device)
BINS, VOCAB = 5, 7
unit = 2 ** c["down"]
GP = (a.genes + unit - 1) // unit * unit
K, B = a.cells, a.batch
L = K * GP
filters = [int(math.ceil((c["ted"] + (c["embed"] - c["ted"]) * i / c["down"]) / c["mult"])) * c["mult"] for i in range(c["down"] + 1)]
filters[0] = c["ted"]


class SharedLN(nn.Module):
    def __init__(s, g):
        super().__init__()
        s.g = g
        s.weight = nn.Parameter(torch.ones(g))
        s.bias = nn.Parameter(torch.zeros(g))

    def forward(s, x):  # x [B, C, K*g]
        b, ch, l = x.shape
        xr = x.view(b, ch, l // s.g, s.g)
        m = xr.mean(-1, keepdim=True)
        v = xr.var(-1, unbiased=False, keepdim=True)
        y = (xr - m) / torch.sqrt(v + 1e-5) * s.weight + s.bias
        return y.view(b, ch, l)


def gelu(x):
    return F.gelu(x, approximate="tanh")


class ConvBlock(nn.Module):  # LN -> conv k -> gelu
    def __init__(s, cin, cout, k, g):
        super().__init__()
        s.ln, s.conv = SharedLN(g), nn.Conv1d(cin, cout, k, padding=k // 2)

    def forward(s, x):
        return gelu(s.conv(s.ln(x)))


class DeconvBlock(nn.Module):  # LN -> transposed conv k5 s2 (JAX SAME alignment) -> gelu
    def __init__(s, cin, cout, k, g):
        super().__init__()
        s.ln, s.k = SharedLN(g), k
        s.conv = nn.Conv1d(cin, cout, k)  # weights of the transposed conv, applied to the zero-stuffed input
        pad_len = k + 2 - 2
        s.pad_a = k - 1 if 2 > k - 1 else math.ceil(pad_len / 2)
        s.pad_b = pad_len - s.pad_a

    def forward(s, x):
        x = s.ln(x)
        b, ch, l = x.shape
        z = x.new_zeros(b, ch, 2 * l - 1)
        z[:, :, ::2] = x
        z = F.pad(z, (s.pad_a, s.pad_b))
        return gelu(s.conv(z))


def rotary(x):  # x [B, H, T, D], GPT-NeoX half split, base 10000
    d = x.shape[-1]
    inv = 1.0 / (10000 ** (torch.arange(0, d, 2, device=x.device, dtype=torch.float32) / d))
    t = torch.arange(x.shape[-2], device=x.device, dtype=torch.float32)
    f = torch.outer(t, inv)
    emb = torch.cat([f, f], -1)
    x1, x2 = x[..., : d // 2], x[..., d // 2 :]
    return x * emb.cos() + torch.cat([-x2, x1], -1) * emb.sin()


class Block(nn.Module):
    def __init__(s, e, ffn, heads):
        super().__init__()
        s.h = heads
        s.ln1, s.ln2 = nn.LayerNorm(e), nn.LayerNorm(e)
        s.q, s.k, s.v, s.o = (nn.Linear(e, e) for _ in range(4))
        s.fc1, s.fc2 = nn.Linear(e, 2 * ffn, bias=False), nn.Linear(ffn, e, bias=False)
        s.ffn = ffn

    def forward(s, x):
        b, t, e = x.shape
        y = s.ln1(x)
        sh = lambda z: z.view(b, t, s.h, e // s.h).transpose(1, 2)
        q, k, v = rotary(sh(s.q(y))), rotary(sh(s.k(y))), sh(s.v(y))
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(e // s.h), -1)  # materialised, as the Go graph (unfused)
        x = x + s.o((att @ v).transpose(1, 2).reshape(b, t, e))
        h = s.fc1(s.ln2(x))
        h = F.silu(h[..., : s.ffn]) * h[..., s.ffn :]
        return x + s.fc2(h)


class SCT(nn.Module):
    def __init__(s):
        super().__init__()
        d = c["down"]
        s.embed = nn.Embedding(VOCAB, c["ted"])
        s.stem = nn.Conv1d(c["ted"], c["ted"], c["stem"], padding=c["stem"] // 2)
        g = GP
        s.convs, s.res = nn.ModuleList(), nn.ModuleList()
        for i in range(d):
            s.convs.append(ConvBlock(filters[i], filters[i + 1], c["conv"], g))
            s.res.append(ConvBlock(filters[i + 1], filters[i + 1], 1, g))
            g //= 2
        s.blocks = nn.ModuleList(Block(c["embed"], c["ffn"], c["heads"]) for _ in range(c["layers"]))
        s.deconvs, s.dres = nn.ModuleList(), nn.ModuleList()
        for j in range(d):
            cout = filters[d - 1 - j]
            s.deconvs.append(DeconvBlock(filters[d - j], cout, c["conv"], g))
            g *= 2
            s.dres.append(ConvBlock(cout, cout, 1, g))
        s.head1, s.head2 = nn.Linear(c["ted"], c["embed"]), nn.Linear(c["embed"], VOCAB)

    def forward(s, tok):
        x = s.embed(tok).transpose(1, 2)  # [B, C, L]
        x = gelu(s.stem(x))
        skips = []
        for conv, res in zip(s.convs, s.res):
            skips.append(x)
            x = conv(x)
            x = x + res(x)
            x = F.avg_pool1d(x, 2)
        x = x.transpose(1, 2)
        for blk in s.blocks:
            x = blk(x)
        x = x.transpose(1, 2)
        for j, (dc, res) in enumerate(zip(s.deconvs, s.dres)):
            x = dc(x)
            x = x + res(x)
            x = x + skips[-1 - j]
        h = gelu(x.transpose(1, 2))
        return s.head2(gelu(s.head1(h)))


model = SCT().to(dev)
nparams = sum(q.numel() for q in model.parameters())
if a.params_only:
    print(json.dumps({"config": a.config, "genes": a.genes, "params": nparams}))
    raise SystemExit
g = torch.Generator().manual_seed(1)
bins = torch.where(torch.rand(B, K, GP, generator=g) < 0.1, torch.randint(1, BINS, (B, K, GP), generator=g), torch.zeros(B, K, GP, dtype=torch.long))
tok = bins.clone()
tok[:, :, a.genes :] = BINS  # pad
u = torch.rand(B, K, GP, generator=g)
mask = torch.where(bins == 0, u < 0.01, u < 0.15)
mask[:, :, a.genes :] = False
tok[mask] = BINS + 1
tok, bins, mask = tok.view(B, L).to(dev), bins.view(B, L).to(dev), mask.view(B, L).to(dev)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)


def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize()


times = []
for step in range(a.warmup + a.steps):
    sync()
    t0 = time.perf_counter()
    logits = model(tok)
    loss = F.cross_entropy(logits[mask], bins[mask])
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sync()
    if step >= a.warmup:
        times.append(time.perf_counter() - t0)
out = {"config": a.config, "genes": a.genes, "genes_pad": GP, "cells": K, "batch": B, "positions": B * L,
       "params": nparams, "device": a.device, "threads": a.threads, "tf32": a.tf32, "torch": torch.__version__,
       "median_step_s": statistics.median(times), "steps": a.steps, "loss": float(loss)}
if dev.type == "cuda":
    out["peak_mem_gib"] = torch.cuda.max_memory_allocated() / 2**30
    out["gpu"] = torch.cuda.get_device_name()
print(json.dumps(out))
