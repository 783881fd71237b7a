#!/usr/bin/env bash
# Second GPU session of bench/reports/sct-gpu.sh (same preparation, same
# carried folder): the runs of the first session (journals in $G/prev) are
# resumed — done cells are skipped — with the remaining cells ordered so that
# each (dataset, seed) trains once for both tasks: suites2/<name>.1 (seed 1,
# both tasks), .2 (impute-cells seed 0), .3 (seed 2), run one after the
# other per dataset, and the ablation variants' remaining seeds. XLA
# autotuning is off (--xla_gpu_autotune_level=0): the first session spent most
# of its time compiling ten graphs at once.
set -u
G=${SCT_GPU_DIR:-out/gpu}
T0=$(date +%s); LIMIT=${SCT_GPU_LIMIT:-240}
el() { echo $(( $(date +%s) - T0 )); }
S=$PWD/$G/out; mkdir -p "$S/logs" "$S/runs"
X=$PWD/$G/x; mkdir -p "$X/libs" "$X/data"
xz -dc $G/cellbench.xz > "$X/cellbench"; chmod +x "$X/cellbench"
xz -dc $G/libs.tar.xz | tar -C "$X/libs" -xf -
xz -dc $G/data.tar.xz | tar -C "$X/data" -xf -
SO=$(find / -name xla_cuda_plugin.so -path '*site-packages*' 2>/dev/null | head -1)
SITE=$(dirname "$(dirname "$(dirname "$SO")")")
W=$PWD/$G/w; mkdir -p "$W/pjrt"; ln -sf "$SO" "$W/pjrt/pjrt_c_api_cuda_plugin.so"; ln -sfn "$SITE/nvidia" "$W/nvidia"
export PJRT_PLUGIN_LIBRARY_PATH=$W/pjrt LD_LIBRARY_PATH=$(ls -d "$SITE"/nvidia/*/lib | tr '\n' ':')$X/libs PATH=/usr/local/cuda/bin:$PATH
export CELLBENCH_DATA=$X/data GOMLX_BACKEND="xla:cuda,preallocate=false" XLA_FLAGS="--xla_gpu_autotune_level=0"
mkdir -p $G/runs; cp -r $G/prev/* $G/runs/
PIDS=()
for n in $(ls $G/suites2 | sed 's/\.[0-9]\.yaml$//' | sort -u); do
  ( for s in $G/suites2/$n.*.yaml; do GOMAXPROCS=3 timeout $((LIMIT - 15 - $(el))) "$X/cellbench" run "$s" --out "$G/runs/$n" --resume >> "$S/logs/run-$n.log" 2>&1; done ) &
  PIDS+=($!)
done
pack() {
  for d in $G/runs/*/; do n=$(basename "$d"); mkdir -p "$S/runs/$n"; cp -r "$d/journal" "$S/runs/$n/" 2>/dev/null; done
  tar -C "$S" -cJf "$OUT/partial.tar.xz" . && mv "$OUT/partial.tar.xz" "$OUT/sct-gpu2.tar.xz"
}
while [ "$(el)" -lt "$LIMIT" ]; do
  alive=0; for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
  pack; [ $alive = 0 ] && break; sleep 15
done
echo "done at $(el) s" > "$S/logs/done.txt"; pack
