#!/usr/bin/env bash
# Build the public site from registry/ and serve it beside the verify service.
#   site:           http://127.0.0.1:8000
#   verify service: http://127.0.0.1:8001  (the verify_url in registry/registry.yaml)
# Usage: bash run.sh          (makes .venv from uv.lock first; see scripts/bootstrap.sh)
set -euo pipefail
cd "$(dirname "$0")"

bash scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
python build.py site --registry registry --out site

# http.server that sends the build's pre-compressed .br/.gz copies, as production does
python -m xcert.site.serve --bind 127.0.0.1 --directory site 8000 &
site_pid=$!
trap 'kill $site_pid 2>/dev/null || true' EXIT
echo "site:   http://127.0.0.1:8000/"
echo "verify: http://127.0.0.1:8001/"
xcert serve --trust site/keys.json --host 127.0.0.1 --port 8001
