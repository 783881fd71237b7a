#!/usr/bin/env bash
# setup-web.sh — what the web tests (make webtest) need on a fresh Debian
# (bookworm) machine. Idempotent: each step checks first.
#
#  1. Debian's chromium (headless browser of the tests; never Playwright's
#     own download) and fonts-liberation (the page's and figures' fonts).
#  2. Node.js ≥ 18 and npm: Debian's nodejs/npm when no node is installed.
#  3. web/node_modules from web/package-lock.json (npm ci): playwright-core,
#     pinned to 1.61.0, the last release that runs on Debian's Node 18.
#
# The page itself needs none of this: it is static files and WebAssembly.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "setup-web: $*" >&2; }

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
apt_install() {
  log "apt-get install $*"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 "$@" >/dev/null
}

missing=()
for p in chromium fonts-liberation; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}"
else
  log "chromium, fonts and node present"
fi

major=$(node -e 'console.log(process.versions.node.split(".")[0])')
if [ "$major" -lt 18 ]; then
  log "node $(node --version) is too old: the tests need Node.js ≥ 18"
  exit 1
fi

want=$(node -e 'console.log(require("./web/package-lock.json").packages["node_modules/playwright-core"].version)')
have=$(node -e 'try { console.log(require("./web/node_modules/playwright-core/package.json").version) } catch { console.log("") }')
if [ "$want" != "$have" ]; then
  log "npm ci (playwright-core $want)"
  (cd web && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
else
  log "playwright-core $have present"
fi
log "done ($(chromium --version 2>/dev/null | head -1), node $(node --version))"
