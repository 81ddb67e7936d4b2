#!/bin/sh
# The verify service container's command (deploy/Containerfile); also runs as is on a VM.
# Configuration comes from the environment only:
#   XCERT_TRUST      (required) https URL (or path) of the published keys.json; tuf/ beside it
#   XCERT_ROOT       (required) the pinned TUF root.json, delivered out of band (never from XCERT_TRUST's host)
#   XCERT_STATE_DIR  (required) writable directory for verified metadata (rollback protection)
#   XCERT_HOST, XCERT_PORT (0.0.0.0, 8080), XCERT_WORKERS (1: scale with replicas instead)
#   XCERT_POLL_SECONDS (30), XCERT_MAX_STALE_SECONDS (86400): read by the service itself
# Probes: GET /healthz (the process answers) and GET /readyz (503 until a signed, unexpired
# trust list is loaded and confirmed within XCERT_MAX_STALE_SECONDS).
set -eu
: "${XCERT_TRUST:?set XCERT_TRUST to the published trust list, e.g. https://registry.example.cn/keys.json}"
: "${XCERT_ROOT:?set XCERT_ROOT to the pinned root.json (mounted from your deployment, not fetched)}"
: "${XCERT_STATE_DIR:?set XCERT_STATE_DIR to a writable directory (an emptyDir volume will do)}"
exec xcert serve --trust "$XCERT_TRUST" --root "$XCERT_ROOT" --state "$XCERT_STATE_DIR" \
  --host "${XCERT_HOST:-0.0.0.0}" --port "${XCERT_PORT:-8080}" --workers "${XCERT_WORKERS:-1}"
