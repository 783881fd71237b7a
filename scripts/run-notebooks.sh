#!/usr/bin/env bash
# run-notebooks.sh — execute every GoNB notebook under notebooks/ headless
# (jupyter nbconvert --to notebook --execute) and fail on the first failing
# cell. Executed copies go to a temporary directory (or $NOTEBOOK_OUT), so the
# committed notebooks stay output-free. Before executing, it checks that the
# committed notebooks carry no outputs (scripts/check-notebooks-clean.py).
#
# Usage: scripts/run-notebooks.sh [notebooks/01-score-predictions.ipynb ...]
# Needs: scripts/setup-gonb.sh run once (Jupyter, gonb, goimports, kernel).
# Environment: CELLBENCH_DATA (default ../shared/data from the repo root),
#   NOTEBOOK_TIMEOUT seconds per cell (default 900), NOTEBOOK_OUT.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

# The kernel inherits this environment: Go version from go.mod, SIMD for GoMLX.
export GOTOOLCHAIN=go1.27.4
export GOEXPERIMENT=simd
export CELLBENCH_ROOT="$ROOT"
export CELLBENCH_DATA="${CELLBENCH_DATA:-$(cd "$ROOT/.." && pwd)/shared/data}"
export PATH="$(go env GOPATH)/bin:$PATH"
# Debian's python3 runs Jupyter; a pyenv python3 earlier on PATH lacks it.
PY=/usr/bin/python3

for tool in gonb goimports; do
  command -v "$tool" >/dev/null || { echo "run-notebooks: $tool not found; run scripts/setup-gonb.sh first" >&2; exit 1; }
done
kernels="$($PY -m jupyter kernelspec list 2>/dev/null || true)"
grep -qw gonb <<<"$kernels" || { echo "run-notebooks: no gonb kernel; run scripts/setup-gonb.sh first" >&2; exit 1; }

if [ $# -gt 0 ]; then
  notebooks=("$@")
else
  notebooks=(notebooks/*.ipynb)
fi
$PY scripts/check-notebooks-clean.py "${notebooks[@]}"

OUT="${NOTEBOOK_OUT:-$(mktemp -d -t cellbench-notebooks.XXXXXX)}"
mkdir -p "$OUT"
status=0
for nb in "${notebooks[@]}"; do
  name="$(basename "$nb")"
  echo "=== $nb" >&2
  start=$(date +%s)
  # The kernel runs in the notebook's own directory (notebooks/), so relative
  # paths in cells resolve against it; the executed copy goes to $OUT.
  if $PY -m jupyter nbconvert --to notebook --execute \
      --ExecutePreprocessor.kernel_name=gonb \
      --ExecutePreprocessor.timeout="${NOTEBOOK_TIMEOUT:-900}" \
      --output-dir "$OUT" --output "$name" "$nb"; then
    echo "=== ok $nb ($(( $(date +%s) - start )) s) -> $OUT/$name" >&2
  else
    echo "=== FAILED $nb ($(( $(date +%s) - start )) s); partial output in $OUT" >&2
    status=1
    break
  fi
done
exit $status
