#!/usr/bin/env bash
# stack-impute-own.sh [OUT]: the cells of bench/reports/stack-impute-suite.yaml
# once more through `cellbench impute` (the same task set-up as the suite
# runner), for stack, knn and mode, keeping every masked position
# (positions.csv) in OUT/<task>/<dataset>/<ratio>/s<seed>/<model> (default
# OUT: runs/stack-impute-own; SEEDS="0 1 2"). stack_own_positions.py then scores the three
# models on the positions STACK predicts itself (genes of its checkpoint's
# universe) — the suite's records pool them with the mode fallback.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-runs/stack-impute-own}
BIN=${CELLBENCH:-bin/cellbench}
SEEDS=${SEEDS:-0 1 2}
declare -A COORDS=([spatial-mob]=x,y [spatial-visium]=array_col,array_row)
for task in impute-genes impute-cells; do
  ratios="0.15 0.3 0.8"; [ $task = impute-cells ] && ratios="0.02 0.2 0.4 0.8"
  for ds in pancreas-baron pbmc-symphony pbmc3k-sct spatial-mob spatial-visium; do
    co=${COORDS[$ds]:-}
    for r in $ratios; do
      for s in $SEEDS; do
        for m in stack knn mode; do
          dir="$OUT/$task/$ds/$r/s$s/$m"
          [ -f "$dir/positions.csv" ] && continue
          args=(--model "$m" --data "$ds" --task "$task" --mask-ratio "$r" --seed "$s" --max-genes 512 --out "$dir" --quiet --force)
          [ -n "$co" ] && args+=(--coords "$co")
          if [ $m = stack ]; then
            ck="runs/stack-pools/excl-$ds-s$s"
            [ -f "$ck/stack_meta.json" ] || { echo "stack-impute-own: $ck is not a finished checkpoint (scripts/stack-pools.sh)" >&2; exit 2; }
            args+=(--ckpt "$ck")
          fi
          mkdir -p "$(dirname "$dir")"
          "$BIN" impute "${args[@]}" > "$dir.txt" 2>&1 || { cat "$dir.txt" >&2; exit 1; }
        done
      done
    done
  done
done
