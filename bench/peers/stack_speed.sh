#!/bin/bash
# Side-by-side step time of STACK pre-training: GoMLX (go backend,
# GOEXPERIMENT=simd, BenchmarkPretrainStep) vs the PyTorch twin
# (bench/peers/stack_torch.py, Debian torch 1.13, 2 threads), same shapes
# and synthetic batch, rounds interleaved so both see the same machine load.
# Usage: bench/peers/stack_speed.sh [config=default] [rounds=5] [steps=10]
# Prints one line per round and implementation; summarise with
# bench/peers/stack_speed_summary.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
CFG=${1:-default}
ROUNDS=${2:-5}
STEPS=${3:-10}
export GOTOOLCHAIN=go1.27.4 GOEXPERIMENT=simd
BIN=$(mktemp -d)/stack.test
go test -c -o "$BIN" ./model/stack/
for r in $(seq 1 "$ROUNDS"); do
  (cd model/stack && GOMAXPROCS=2 "$BIN" -test.run '^$' -test.bench "PretrainStep/config=$CFG" \
      -test.benchtime "${STEPS}x" -test.count 1 | grep Benchmark | sed "s/^/go round=$r /")
  /usr/bin/python3 bench/peers/stack_torch.py --bench --config "$CFG" --threads 2 --warmup 2 --steps "$STEPS" --rounds 1 \
      | sed "s/^/torch round=$r /"
done
