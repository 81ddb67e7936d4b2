#!/usr/bin/env bash
# Make the project's virtual environment, .venv, hold exactly what uv.lock says.
#
# Works on a fresh Debian 12 machine with Debian's own python3 and no venv active: it never
# installs into the system Python (PEP 668), and installs Debian's python3-venv if it is
# missing. uv itself is installed, hash-checked, into .uv/ from scripts/uv-requirements.txt.
#
# Usage: bash scripts/bootstrap.sh [--dev]      (--dev adds the test and lint tools)
# Then:  .venv/bin/xcert …, .venv/bin/python build.py …  (or `source .venv/bin/activate`)
set -euo pipefail
cd "$(dirname "$0")/.."

python=$(command -v python3 || true)
if [ -z "$python" ] || ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "bootstrap: need python3 >= 3.11 on PATH (Debian 12: apt-get install python3)" >&2
  exit 1
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

if [ ! -x .uv/bin/uv ]; then
  if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv
  fi
  rm -rf .uv
  "$python" -m venv .uv
  .uv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
    -r scripts/uv-requirements.txt
fi

# --frozen: install what uv.lock says, never re-resolve. Never download a Python of uv's own.
# Without --dev, keep dev tools a previous test.sh installed (--inexact) rather than churn.
extras=(--inexact)
[ "${1:-}" = "--dev" ] && extras=(--extra dev)
UV_PROJECT_ENVIRONMENT=.venv UV_PYTHON_DOWNLOADS=never \
  .uv/bin/uv sync --frozen --quiet --python "$python" "${extras[@]}"
