#!/usr/bin/env bash
# The one GPU session behind bench/reports/sct-impute.md and sct-speed.md
# (a lent NVIDIA H100/H200 with JAX's CUDA PJRT plugin and PyTorch, GPU.md).
# Everything it runs was built on the CPU machine and carried in $G/:
#   cellbench.xz   `make build` binary (cgo, XLA), sct.test.xz (`go test -c
#   ./model/sct`), libs.tar.xz (the binary's Debian shared libraries: libhdf5
#   and its dependencies), data.tar.xz (the five datasets of
#   suites/impute-tables.yaml, from ../shared/data), suites/*.yaml (that suite
#   and suites/impute-ablation.yaml cut into one file per dataset or sCT
#   variant, sCT only, so that ten runs compile and train in parallel: XLA
#   compilation is CPU-bound and there are 16 cores).
# Phases, all writing under $OUT: (1) the paper setting's memory: one sCT
# training step at the paper config on 19,965 genes × 50 cells, GoMLX on
# XLA (tf32 off) and the PyTorch twin (fp32, then TF32), per-process GPU
# memory from nvidia-smi; (2) the suites, each into its own run directory;
# (3) a CPU step ratio on 2 pinned cores (GoMLX go backend vs PyTorch, 2
# threads) at the default config. It stops itself before the device limit.
set -u
G=${SCT_GPU_DIR:-out/gpu}   # the prepared folder (a carried, git-ignored path of the checkout that travels)
T0=$(date +%s)
LIMIT=${SCT_GPU_LIMIT:-520}
el() { echo $(( $(date +%s) - T0 )); }
S=$PWD/$G/out; mkdir -p "$S/logs" "$S/runs"   # packed into $OUT/sct-gpu.tar.xz (8 files at most come back)
X=$PWD/$G/x
TWIN=bench/peers/sct_torch.py; [ -f "$G/sct_torch.py" ] && TWIN=$G/sct_torch.py
mkdir -p "$X/libs" "$X/data"
xz -dc $G/cellbench.xz > "$X/cellbench" && xz -dc $G/sct.test.xz > "$X/sct.test" && chmod +x "$X/cellbench" "$X/sct.test"
xz -dc $G/libs.tar.xz | tar -C "$X/libs" -xf -
xz -dc $G/data.tar.xz | tar -C "$X/data" -xf -
SO=$(python3 -c 'import jax_plugins.xla_cuda13 as m, os; print(os.path.join(os.path.dirname(m.__file__), "xla_cuda_plugin.so"))' 2>/dev/null)
[ -f "$SO" ] || SO=$(find / -name xla_cuda_plugin.so -path '*site-packages*' 2>/dev/null | head -1)
SITE=$(dirname "$(dirname "$(dirname "$SO")")")
W=$PWD/$G/w; mkdir -p "$W/pjrt"
ln -sf "$SO" "$W/pjrt/pjrt_c_api_cuda_plugin.so"
ln -sfn "$SITE/nvidia" "$W/nvidia"
export PJRT_PLUGIN_LIBRARY_PATH=$W/pjrt
export LD_LIBRARY_PATH=$(ls -d "$SITE"/nvidia/*/lib | tr '\n' ':')$X/libs
export PATH=/usr/local/cuda/bin:$PATH
export CELLBENCH_DATA=$X/data
export XLA_FLAGS="--xla_gpu_per_fusion_autotune_cache_dir=$PWD/$G/autotune"
{ nvidia-smi; nproc; free -g; python3 -c 'import torch; print("torch", torch.__version__)'; } > "$S/logs/machine.txt" 2>&1
# per-process GPU memory, every 0.5 s
( while true; do echo "t=$(el) $(nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits | tr '\n' ';')"; sleep 0.5; done ) > "$S/logs/gpu_mem.log" 2>&1 &
POLL=$!

# (1) paper setting: GoMLX (XLA, fp32) then the PyTorch twin; in the background
(
  echo "start $(el)"
  GOMLX_BACKEND="xla:cuda,preallocate=false,tf32=false" SCT_PROBE=paper:19965:50:1:4 timeout 240 "$X/sct.test" -test.run StepProbe -test.v -test.timeout 300s > "$S/logs/probe-paper-gomlx.log" 2>&1 &
  P=$!; echo "gomlx pid $P"; wait $P; echo "gomlx rc $? at $(el)"
  timeout 120 python3 "$TWIN" --config paper --genes 19965 --cells 50 --batch 1 --device cuda --steps 4 --warmup 1 > "$S/logs/probe-paper-torch-fp32.json" 2>&1
  echo "torch fp32 at $(el)"
  timeout 90 python3 "$TWIN" --config paper --genes 19965 --cells 50 --batch 1 --device cuda --steps 4 --warmup 1 --tf32 > "$S/logs/probe-paper-torch-tf32.json" 2>&1
  echo "torch tf32 at $(el)"
) > "$S/logs/probe-phase.log" 2>&1 &

# (2) suites: one process per file
export GOMLX_BACKEND="xla:cuda,preallocate=false"
PIDS=()
for s in $G/suites/*.yaml; do
  n=$(basename "$s" .yaml)
  GOMAXPROCS=4 timeout $((LIMIT - 40)) "$X/cellbench" run "$s" --out "$G/runs/$n" > "$S/logs/run-$n.log" 2>&1 &
  PIDS+=($!)
done

# (3) CPU step ratio on cores 14-15 (go backend vs PyTorch, 2 threads), after a pause for the compiles
sleep 5
(
  GOMLX_BACKEND=go GOMAXPROCS=2 SCT_PROBE=default:512:50:2:5 timeout 200 taskset -c 14,15 "$X/sct.test" -test.run StepProbe -test.v > "$S/logs/cpu-gomlx-default.log" 2>&1
  timeout 150 taskset -c 14,15 python3 "$TWIN" --config default --genes 512 --cells 50 --batch 2 --threads 2 --steps 4 --warmup 1 > "$S/logs/cpu-torch-default.json" 2>&1
) &

pack() {
  for d in $G/runs/*/; do n=$(basename "$d"); mkdir -p "$S/runs/$n"; cp -r "$d/journal" "$d/suite.yaml" "$S/runs/$n/" 2>/dev/null; cp "$d/results.jsonl" "$S/runs/$n/" 2>/dev/null; done
  tar -C "$S" -cJf "$OUT/partial.tar.xz" . && mv "$OUT/partial.tar.xz" "$OUT/sct-gpu.tar.xz"
}
# pack journals and logs every 20 s; stop at the limit
while [ "$(el)" -lt "$LIMIT" ]; do
  alive=0; for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
  pack
  [ $alive = 0 ] && break
  sleep 20
done
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
sleep 3
kill $POLL 2>/dev/null
echo "done at $(el) s; plugin $SO" > "$S/logs/done.txt"
pack
