#!/bin/bash
# bench/gpu/stack-paper.sh — STACK `paper` config step time on one GPU (XLA
# through JAX's CUDA PJRT plugin, as ../shared/GPU.md describes), next to
# the PyTorch twin on the same GPU. Runs on the lent device machine, in the
# repository root, with the binary built here:
#
#   export GOTOOLCHAIN=go1.27.4 GOEXPERIMENT=simd
#   go build -o bench/gpu/bin/stackpaper ./cmd/stackpaper   # cgo + XLA, links only libc
#
# then (device tool): run command "bash bench/gpu/stack-paper.sh",
# carry ["bench/gpu/bin"], timeout_s 480. Everything it measures goes to
# $OUT: stack-paper.json (GoMLX: first/compile step, 20 timed steps, median,
# memory estimate), torch-paper.jsonl (twin), gpu-mem.csv (nvidia-smi every
# 0.5 s), log.txt. Budget: XLA compiles the paper step once (~45-90 s), then
# 20 steps; the twin needs no compile. If the paper batch (32 sets × 256
# cells = 8,192 cells, ~70 GiB estimated) fails, it retries with 16 sets.
# Set STACK_GPU_DEFAULT=1 to also time the default config (one more compile).
set -uo pipefail
OUT=${OUT:-$(mktemp -d)}
exec > >(tee -a "$OUT/log.txt") 2>&1
BIN=bench/gpu/bin/stackpaper
[ -x "$BIN" ] || { echo "stack-paper: $BIN missing: build it here first (see the header)"; exit 2; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
PLUGIN=$(python3 -c 'import jax_plugins.xla_cuda13 as m, os; print(os.path.dirname(m.__file__))' 2>/dev/null) ||
  { echo "stack-paper: jax_plugins.xla_cuda13 not importable"; exit 2; }
SITE=$(dirname "$(dirname "$PLUGIN")")
W=$(mktemp -d)
mkdir -p "$W/pjrt"
ln -sf "$PLUGIN/xla_cuda_plugin.so" "$W/pjrt/pjrt_c_api_cuda_plugin.so"
ln -sfn "$SITE/nvidia" "$W/nvidia"
export PJRT_PLUGIN_LIBRARY_PATH=$W/pjrt GOMLX_BACKEND=xla:cuda
export LD_LIBRARY_PATH=$(ls -d "$SITE"/nvidia/*/lib 2>/dev/null | tr '\n' ':')${LD_LIBRARY_PATH:-}
nvidia-smi --query-gpu=timestamp,memory.used --format=csv -lms 500 > "$OUT/gpu-mem.csv" &
SMI=$!
trap 'kill $SMI 2>/dev/null' EXIT

echo "== GoMLX xla:cuda, paper config, 15,012 genes"
if ! "$BIN" -config paper -steps 20 -out "$OUT"; then
  echo "== paper batch failed; retrying with 16 sets per step"
  "$BIN" -config paper -set batch_size=16 -steps 20 -out "$OUT"
fi
if [ "${STACK_GPU_DEFAULT:-0}" = 1 ]; then
  echo "== GoMLX xla:cuda, default config, 1,724 genes"
  "$BIN" -config default -genes 1724 -steps 50 -out "$OUT"
fi
echo "== PyTorch twin (fp32, eager), paper config"
python3 bench/peers/stack_torch.py --bench --config paper --device cuda --warmup 3 --steps 20 > "$OUT/torch-paper.jsonl" ||
  python3 bench/peers/stack_torch.py --bench --config paper --batch 16 --device cuda --warmup 3 --steps 20 > "$OUT/torch-paper.jsonl"
if [ "${STACK_GPU_DEFAULT:-0}" = 1 ]; then
  python3 bench/peers/stack_torch.py --bench --config default --device cuda --warmup 3 --steps 50 > "$OUT/torch-default.jsonl"
fi
python3 - "$OUT" <<'PY'
import json, statistics, sys, glob, os
out = sys.argv[1]
for f in sorted(glob.glob(os.path.join(out, "stack-*.json"))):
    r = json.load(open(f))
    print("GoMLX %-8s %s: first step %.1f s, median %.1f ms/step, %d cells/step, est. memory %.1f GiB" % (
        r["config"], r["set"], r["first_step_s"], r["median_step_ms"], r["cells_per_step"], r["memory_estimate_gib"]["total"]))
for f in sorted(glob.glob(os.path.join(out, "torch-*.jsonl"))):
    for line in open(f):
        r = json.loads(line)
        print("torch %-8s B=%d: median %.1f ms/step, max allocated %.1f GiB (%s)" % (
            r["config"], r["batch"], statistics.median(r["ms"]), r.get("max_memory_allocated_gib", float("nan")), r.get("gpu", "")))
mem = [int(l.split(",")[1].split()[0]) for l in open(os.path.join(out, "gpu-mem.csv")).readlines()[1:] if "MiB" in l]
if mem:
    print("nvidia-smi peak memory.used: %.1f GiB" % (max(mem) / 1024))
PY
