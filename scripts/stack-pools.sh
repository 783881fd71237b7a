#!/usr/bin/env bash
# stack-pools.sh [OUT]: pre-train STACK (`default` config) once per
# (evaluated dataset, seed) on the shared pool of real count datasets
# WITHOUT that dataset, into OUT/excl-<dataset>-s<seed> (default OUT:
# runs/stack-pools). suites/models.yaml reads these checkpoints
# (checkpoint: "runs/stack-pools/excl-{file}-s{seed}"), so that STACK is
# evaluated zero-shot on every dataset: in-context on perturbench-devel and
# kang-muscat, embeddings of pbmc-symphony and pancreas-baron.
#
# suites/impute-tables.yaml reads them too, for pbmc3k-sct as well
# (STACK_EXCL=pbmc3k-sct) and for datasets in no pool (the spatial ones):
# any pool checkpoint is zero-shot there, so STACK_EXCL=<x> for an <x> not
# in the pool links excl-<x>-s<seed> to excl-pbmc3k-sct-s<seed> (trained
# first when missing) instead of training another model.
#
# Each run takes ≈ 4 CPU-minutes (600 steps; 7–35 min of wall time on the
# shared 2 cores, depending on load). Finished directories are skipped and
# unfinished ones resume. STACK_EXCL and STACK_SEEDS restrict the work,
# STACK_JOBS runs that many trainings at once (default 1).
#   scripts/stack-pools.sh                       # all 12 checkpoints
#   STACK_EXCL=kang-muscat STACK_SEEDS=0 scripts/stack-pools.sh
#   STACK_EXCL="pbmc3k-sct spatial-mob spatial-visium" scripts/stack-pools.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/stack-pools}
POOL=(perturbench-devel tapseq kang-muscat pbmc3k-sct pbmc-symphony pancreas-baron)
EXCL=${STACK_EXCL:-perturbench-devel kang-muscat pbmc-symphony pancreas-baron}
SEEDS=${STACK_SEEDS:-0 1 2}
JOBS=${STACK_JOBS:-1}
BIN=${CELLBENCH:-bin/cellbench}
[ -x "$BIN" ] || make build
mkdir -p "$OUT"
LINK_TO=pbmc3k-sct # the checkpoint of datasets in no pool
TRAIN="" OUTSIDE=""
for x in $EXCL; do
  case " ${POOL[*]} " in
    *" $x "*) TRAIN="$TRAIN $x" ;;
    *) OUTSIDE="$OUTSIDE $x"; case " $TRAIN $EXCL " in *" $LINK_TO "*) ;; *) TRAIN="$TRAIN $LINK_TO" ;; esac ;;
  esac
done
for x in $TRAIN; do
  data=""
  for d in "${POOL[@]}"; do
    [ "$d" = "$x" ] || data="${data:+$data,}$d"
  done
  for s in $SEEDS; do
    dir="$OUT/excl-$x-s$s"
    if [ -f "$dir/stack_meta.json" ]; then
      echo "stack-pools: $dir is finished" >&2
      continue
    fi
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
    echo "stack-pools: $dir ← $data (seed $s)" >&2
    nice "$BIN" train --model stack --config default --data "$data" --seed "$s" --out "$dir" --quiet > "$dir.log" 2>&1 &
  done
done
wait
for x in $OUTSIDE; do
  for s in $SEEDS; do
    [ -e "$OUT/excl-$x-s$s" ] || ln -s "excl-$LINK_TO-s$s" "$OUT/excl-$x-s$s"
    echo "stack-pools: $OUT/excl-$x-s$s → excl-$LINK_TO-s$s ($x is in no pool)" >&2
  done
done
