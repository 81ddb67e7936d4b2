#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine, then run it.
# Usage: bash test.sh [pytest args]     (makes .venv from uv.lock; see scripts/bootstrap.sh)
set -euo pipefail
cd "$(dirname "$0")"

bash scripts/bootstrap.sh --dev
export PATH="$PWD/.venv/bin:$PATH" VIRTUAL_ENV="$PWD/.venv"

# Headless Chromium for the browser tests, and CJK fonts so screenshots show Chinese.
need=()
command -v chromium >/dev/null || need+=(chromium)
[ -d /usr/share/fonts/opentype/noto ] || need+=(fonts-noto-cjk)
command -v npm >/dev/null || need+=(nodejs npm)  # axe-core for the accessibility tests
# nginx: tests/test_deploy_nginx.py runs deploy/nginx/ for real, on its own loopback port (on a
# machine with systemd, Debian also starts its default site on :80: systemctl disable --now nginx)
[ -x /usr/sbin/nginx ] || need+=(nginx)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# axe-core exactly as tests/a11y/package-lock.json pins it (npm checks its integrity hash);
# again only when the lock is newer than the last install.
if [ ! tests/a11y/node_modules/.package-lock.json -nt tests/a11y/package-lock.json ]; then
  (cd tests/a11y && npm ci --no-audit --no-fund --loglevel=error)
fi

python -m pytest "$@"
