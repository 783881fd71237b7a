#!/usr/bin/env bash
# setup.sh — install everything a fresh Debian (bookworm) machine needs to
# build, test and demo cellbench. Idempotent: each step checks first.
#
#  1. Debian packages: libhdf5-dev + pkg-config (the .h5ad reader is cgo over
#     libhdf5), gcc, and Debian's python3 stack that the tests and the
#     benchmarks use as peers (anndata reads our files back; scipy/sklearn/
#     statsmodels produce reference values and side-by-side timings).
#  2. The Go toolchain go1.27.4 (through GOTOOLCHAIN, from the module proxy).
#  3. Go modules (go mod download).
#  4. GoNB and Jupyter for the notebooks (scripts/setup-gonb.sh), unless
#     CELLBENCH_SKIP_GONB=1.
#  5. Chromium, Node.js and playwright-core for the web tests
#     (scripts/setup-web.sh), unless CELLBENCH_SKIP_WEB=1.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=go1.27.4
log() { echo "setup: $*" >&2; }

PKGS=(libhdf5-dev pkg-config gcc python3-anndata python3-scipy python3-sklearn
      python3-statsmodels python3-pandas python3-h5py python3-numpy python3-torch)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  log "apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${missing[@]}" >/dev/null
else
  log "Debian packages present"
fi

log "Go toolchain: $(go version)"   # downloads go1.27.4 on first use
go mod download

if [ "${CELLBENCH_SKIP_GONB:-0}" != 1 ] && [ -x scripts/setup-gonb.sh ]; then
  scripts/setup-gonb.sh
fi
if [ "${CELLBENCH_SKIP_WEB:-0}" != 1 ] && [ -x scripts/setup-web.sh ]; then
  scripts/setup-web.sh
fi
log "done"
