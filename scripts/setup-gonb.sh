#!/usr/bin/env bash
# setup-gonb.sh — install what `make notebooks` needs to execute the GoNB
# notebooks headless: Debian's Jupyter (notebook, nbconvert, ipykernel), GoNB
# v0.11.4, goimports v0.52.0, and the GoNB kernel spec.
#
# Idempotent: every step checks first and is skipped when already done, so
# running it twice costs a few seconds. Versions are pinned (see
# ../shared/TOOLCHAIN.md): `go install github.com/janpfeifer/gonb@v0.11.4`
# fails behind this module proxy, so GoNB is built inside a small tools module
# with `go get` + `go build`.
#
# Environment:
#   GOTOOLCHAIN       Go toolchain to build with (default go1.27.4)
#   CELLBENCH_TOOLS   where the tools modules live (default ~/.cache/cellbench-tools)
#   GOBIN             where binaries go (default $(go env GOPATH)/bin)
set -euo pipefail

GONB_VERSION=v0.11.4
GOIMPORTS_VERSION=v0.52.0
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.4}"
if [ "$GOTOOLCHAIN" = local ]; then export GOTOOLCHAIN=go1.27.4; fi
TOOLS="${CELLBENCH_TOOLS:-$HOME/.cache/cellbench-tools}"
GOBIN="${GOBIN:-$(go env GOPATH)/bin}"
export GOBIN
export PATH="$GOBIN:$PATH"

log() { echo "setup-gonb: $*" >&2; }

# 1. Debian Jupyter packages (apt is the system package manager; wait for the
#    dpkg lock instead of failing when another apt run holds it).
APT_PKGS=(jupyter-notebook python3-nbconvert jupyter-nbconvert python3-ipykernel jupyter-client python3-nbclient)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  log "apt-get install ${missing[*]}"
  for attempt in $(seq 1 60); do
    if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=120 "${missing[@]}"; then
      break
    fi
    if [ "$attempt" -eq 1 ]; then
      $SUDO apt-get update || true
    fi
    [ "$attempt" -eq 60 ] && { log "apt-get install failed"; exit 1; }
    sleep 10
  done
else
  log "Debian Jupyter packages present"
fi

# 2. goimports (GoNB formats and completes cells with it).
if [ -x "$GOBIN/goimports" ] && [ -f "$GOBIN/.goimports-$GOIMPORTS_VERSION" ]; then
  log "goimports $GOIMPORTS_VERSION present"
else
  log "building goimports $GOIMPORTS_VERSION"
  d="$TOOLS/goimports"
  mkdir -p "$d"
  (
    cd "$d"
    [ -f go.mod ] || go mod init cellbench.local/tools/goimports >/dev/null 2>&1
    go get "golang.org/x/tools/cmd/goimports@$GOIMPORTS_VERSION"
    go build -o "$GOBIN/goimports" golang.org/x/tools/cmd/goimports
  )
  touch "$GOBIN/.goimports-$GOIMPORTS_VERSION"
fi

# 3. GoNB, built in its own tools module (go install @version fails here).
if [ -x "$GOBIN/gonb" ] && [ -f "$GOBIN/.gonb-$GONB_VERSION" ]; then
  log "gonb $GONB_VERSION present"
else
  log "building gonb $GONB_VERSION"
  d="$TOOLS/gonb"
  mkdir -p "$d"
  (
    cd "$d"
    [ -f go.mod ] || go mod init cellbench.local/tools/gonb >/dev/null 2>&1
    go get "github.com/janpfeifer/gonb@$GONB_VERSION"
    go build -o "$GOBIN/gonb" github.com/janpfeifer/gonb
  )
  touch "$GOBIN/.gonb-$GONB_VERSION"
fi

# 4. Kernel spec. --force_deps: we installed goimports ourselves and gopls is
#    optional (only used for completion, not for executing cells).
kernels="$(/usr/bin/python3 -m jupyter kernelspec list 2>/dev/null || true)"
kdir="$(awk '$1=="gonb"{print $2}' <<<"$kernels")"
if [ -n "$kdir" ] && grep -q "$GOBIN/gonb" "$kdir/kernel.json" 2>/dev/null; then
  log "gonb kernel spec present"
else
  log "gonb --install --force_deps"
  "$GOBIN/gonb" --install --force_deps
fi

log "ok: gonb $GONB_VERSION (module; its --version string may lag), goimports $GOIMPORTS_VERSION, kernel spec in place"
