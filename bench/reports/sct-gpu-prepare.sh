#!/usr/bin/env bash
# Prepares out/gpu/ (git-ignored) for bench/reports/sct-gpu.sh: the binaries,
# the shared libraries the cellbench binary links (libhdf5 and its Debian
# dependencies, so that it runs on the GPU machine), the five datasets, and
# suites/impute-tables.yaml and suites/impute-ablation.yaml cut into one
# sCT-only suite per dataset / per variant. The cut suites keep
# the suite names, datasets, task settings and model params, so their cells
# have the same keys as the full suites' and `cellbench merge` joins them with
# a CPU run of the baselines. Run from the repository root:
#   bench/reports/sct-gpu-prepare.sh && (device) bash bench/reports/sct-gpu.sh
# with carry ["out/gpu"], the command run from the repository root. The device
# tool sends the checkout its session started in: from a helper's worktree (as
# for the recorded sessions) copy out/gpu/* and sct-gpu.sh, sct-gpu-resume.sh,
# bench/peers/sct_torch.py into that checkout's git-ignored out/sct-gpu/, carry
# "out/sct-gpu" and run `SCT_GPU_DIR=out/sct-gpu bash out/sct-gpu/sct-gpu.sh`;
# delete the folder afterwards.
set -euo pipefail
export GOTOOLCHAIN=go1.27.4 GOEXPERIMENT=simd
G=out/gpu
rm -rf "$G" && mkdir -p "$G/suites"
go build -o "$G/cellbench" ./cmd/cellbench
go test -c -o "$G/sct.test" ./model/sct
xz -T2 -6 "$G/cellbench" "$G/sct.test"
mkdir -p "$G/libs"
go build -o /tmp/cellbench-ldd ./cmd/cellbench
ldd /tmp/cellbench-ldd | awk '/=>/{print $3}' | grep -v -e 'libc\.so' -e 'libm\.so' -e 'ld-linux' -e 'libresolv' | while read -r l; do cp -L "$l" "$G/libs/"; done
tar -C "$G/libs" -cf - . | xz -T2 -6 > "$G/libs.tar.xz" && rm -rf "$G/libs"
D=${CELLBENCH_DATA:-../shared/data}
tar -C "$D" -cf - pancreas_baron_cider_human_mouse.h5ad pbmc_symphony_3batches.h5ad pbmc3k_sctransform_283cells.h5ad \
  spatial_mouse_olfactory_bulb_st.h5ad spatial_visium_seurat_testdata.h5ad | xz -T2 -6 > "$G/data.tar.xz"
/usr/bin/python3 - "$G/suites" <<'EOF'
import sys, yaml, copy
out = sys.argv[1]
t = yaml.safe_load(open("suites/impute-tables.yaml"))
for d in t["datasets"]:  # one process per dataset (its 3 seeds in order)
    u = copy.deepcopy(t)
    u["datasets"] = [d]
    for task in u["tasks"]:
        task["datasets"] = [d["name"]]
    u["models"] = [m for m in t["models"] if (m if isinstance(m, str) else m["name"]) == "sct"]
    yaml.safe_dump(u, open(f"{out}/tables-{d['name']}.yaml", "w"), sort_keys=False)
a = yaml.safe_load(open("suites/impute-ablation.yaml"))
for m in a["models"]:  # one process per sCT variant (its 3 seeds in order)
    if isinstance(m, str):
        continue
    u = copy.deepcopy(a)
    u["models"] = [m]
    yaml.safe_dump(u, open(f"{out}/ablation-{m['label']}.yaml", "w"), sort_keys=False)
EOF
ls -la "$G" "$G/suites" | head -60
du -sh "$G"
