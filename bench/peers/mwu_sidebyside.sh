#!/bin/sh
# Side-by-side timing of the DE step: cellbench metrics/de vs a scipy
# mannwhitneyu loop on the same real data, alternating in one run.
#   bench/peers/mwu_sidebyside.sh [ROUNDS]      (from the repository root)
# Each round runs the scipy loop once per dataset, then the Go benchmark
# (compiled once) for 1 s per case. Quote medians over rounds.
set -e
ROUNDS=${1:-5}
DATA=${CELLBENCH_DATA:-../shared/data}
export GOTOOLCHAIN=go1.27.4
go test -c -o /tmp/cellbench-de.test ./metrics/de
for r in $(seq "$ROUNDS"); do
  echo "# round $r"
  /usr/bin/python3 bench/peers/mwu_scipy.py "$DATA" 1
  (cd metrics/de && /tmp/cellbench-de.test -test.run '^$' -test.bench 'MannWhitneyReal' -test.benchtime 1s | grep Benchmark)
done
