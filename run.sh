#!/usr/bin/env bash
# Build the public site from registry/ and serve it beside the verify service.
#   site:           http://127.0.0.1:8000
#   verify service: http://127.0.0.1:8001  (the verify_url in registry/registry.yaml)
# Usage: bash run.sh
set -euo pipefail
cd "$(dirname "$0")"

python3 -m pip install --quiet --disable-pip-version-check -e .
python3 build.py site --registry registry --out site

python3 -m http.server --bind 127.0.0.1 --directory site 8000 &
site_pid=$!
trap 'kill $site_pid 2>/dev/null || true' EXIT
echo "site:   http://127.0.0.1:8000/"
echo "verify: http://127.0.0.1:8001/"
xcert serve --trust site/keys.json --host 127.0.0.1 --port 8001
