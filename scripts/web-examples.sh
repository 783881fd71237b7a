#!/usr/bin/env bash
# web-examples.sh — make the page's example run with the native binary
# (bin/cellbench): what `make serve` serves at /examples/ and what the web
# tests compare the browser and Node against. Real data only: the shared
# 300-cell perturbation fixture, found through the data registry.
#
#   scripts/web-examples.sh [OUT]     (default runs/web-examples)
#
# OUT/ckpt/               a tiny ST checkpoint (cellbench train --config tiny)
# OUT/stack/              a tiny STACK checkpoint post-trained for in-context
#                         prediction (cellbench train --model stack, twice)
# OUT/pred_state_tiny.h5ad  its prediction of every fixture group (cellbench predict)
# OUT/results.jsonl       a small suite run (web/examples/suite.yaml)
# OUT/index.json          the manifest the page reads
# OUT/native/             cellbench score pert of the prediction (reference for the tests)
# OUT/report/             cellbench report of the run (reference leaderboard.md)
# OUT/native/stack_*      cellbench predict --prompt/--query of the STACK
#                         checkpoint (prompt: k562 SGK1 cells; query: A172
#                         controls; seed 3) and its generated cells as the
#                         page's CSV (web/test/stack_native.py: Debian python3
#                         with anndata cuts the files and writes the CSV)
#
# Written into a staging folder and renamed into place, so a failure leaves
# the previous examples (or none), never half of them.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/web-examples}
BIN=${CELLBENCH_BIN:-bin/cellbench}
[ -x "$BIN" ] || { echo "web-examples: $BIN missing (make build)" >&2; exit 1; }
mkdir -p "$(dirname "$OUT")"
STAGE=$(mktemp -d "$(dirname "$OUT")/.web-examples.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
log() { echo "web-examples: $*" >&2; }
# quiet runs a command with its output in a log, shown only if it fails.
quiet() { "$@" >"$STAGE/.log" 2>&1 || { cat "$STAGE/.log" >&2; log "failed: $*"; exit 1; }; }

COLS=(--pert-col perturbation --context-col cell_type --control control)
log "training a tiny ST on fixture-perturbation"
quiet "$BIN" train --model state --config tiny --data fixture-perturbation "${COLS[@]}" --out "$STAGE/ckpt" --quiet
# The checkpoint the page loads: the files the model needs (its marker
# file and the newest GoMLX checkpoint), not the training history.
rm -f "$STAGE/ckpt/history.json" "$STAGE/ckpt/state_train_start.json"
log "predicting every fixture group"
quiet "$BIN" predict --model state --ckpt "$STAGE/ckpt" --data fixture-perturbation "${COLS[@]}" --out "$STAGE/pred_state_tiny.h5ad"
REAL=$("$BIN" data fetch fixture-perturbation) # the registry's path, checksum verified
log "scoring it natively ($REAL)"
quiet "$BIN" score pert --real "$REAL" --pred "$STAGE/pred_state_tiny.h5ad" "${COLS[@]}" --control-ref real --profile full \
  --out "$STAGE/native"
log "training a tiny STACK on fixture-perturbation (pre-training, then in-context post-training)"
quiet "$BIN" train --model stack --config tiny --quiet --data fixture-perturbation --out "$STAGE/stack-pre"
quiet "$BIN" train --model stack --stage incontext --init "$STAGE/stack-pre" --quiet --data fixture-perturbation \
  --split pert-fewshot:A172 -set ic_steps=10 --out "$STAGE/stack"
rm -rf "$STAGE/stack-pre"
rm -f "$STAGE/stack/history.json" "$STAGE/stack/stack_train_start.json"
if /usr/bin/python3 -c "import anndata" 2>/dev/null; then
  log "predicting A172 SGK1 from k562 SGK1 with STACK natively"
  quiet /usr/bin/python3 web/test/stack_native.py subset "$REAL" perturbation cell_type \
    "$STAGE/native/stack_prompt.h5ad:k562:SGK1" "$STAGE/native/stack_query.h5ad:A172:control"
  quiet "$BIN" predict --model stack --ckpt "$STAGE/stack" --prompt "$STAGE/native/stack_prompt.h5ad" \
    --query "$STAGE/native/stack_query.h5ad" --pert-col perturbation --control control --seed 3 --out "$STAGE/native/stack_pred.h5ad"
  quiet /usr/bin/python3 web/test/stack_native.py csv "$STAGE/native/stack_pred.h5ad" "$STAGE/native/stack_pred.csv"
else
  log "no Debian python3 with anndata: no native STACK reference (its web test fails)"
fi
log "running web/examples/suite.yaml"
quiet "$BIN" run web/examples/suite.yaml --out "$STAGE/run"
cp "$STAGE/run/results.jsonl" "$STAGE/results.jsonl"
quiet "$BIN" report "$STAGE/run" --out "$STAGE/report" --title "Leaderboard — results.jsonl"
rm -rf "$STAGE/run" "$STAGE/.log"

ckpt_files=$(cd "$STAGE/ckpt" && ls | sed 's/.*/"ckpt\/&"/' | paste -sd, -)
stack_files=$(cd "$STAGE/stack" && ls | sed 's/.*/"stack\/&"/' | paste -sd, -)
cat > "$STAGE/index.json" <<EOF
{
  "made_by": "scripts/web-examples.sh at git $(git rev-parse --short HEAD 2>/dev/null || echo unknown)",
  "score": [
    {"name": "fixture vs tiny ST prediction", "real_example": "fixture-perturbation",
     "pred": "pred_state_tiny.h5ad", "pert_col": "perturbation", "context_col": "cell_type",
     "control": "control", "control_ref": "real"}
  ],
  "leaderboard": [{"name": "web-example suite on the fixture (2 tasks, 5 models, 2 seeds)", "file": "results.jsonl"}],
  "checkpoints": [{"name": "ST tiny, trained on fixture-perturbation", "model": "state",
                   "dataset": "fixture-perturbation", "files": [$ckpt_files]},
                  {"name": "STACK tiny, in-context, trained on fixture-perturbation", "model": "stack",
                   "dataset": "fixture-perturbation", "files": [$stack_files]}]
}
EOF
rm -rf "$OUT.old"
[ -e "$OUT" ] && mv "$OUT" "$OUT.old"
mv "$STAGE" "$OUT"
rm -rf "$OUT.old"
trap - EXIT
log "wrote $OUT"
