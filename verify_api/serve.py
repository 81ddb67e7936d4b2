"""`xcert serve`: run the verify service under uvicorn.

The signed trust list is verified once here first, so a missing or broken one is a clean CLI error
instead of a traceback per worker. Workers get their configuration through the same
environment variables `uvicorn verify_api.app:app` reads (uvicorn needs an import string to
start more than one), so one worker and many run the same code path. uvicorn's "auto" HTTP
and loop settings pick httptools and uvloop (project dependencies) when they are installed,
and h11 and asyncio otherwise.
"""

from __future__ import annotations

import os

import click
import uvicorn

from xcert.trust import TrustListError
from xcert.tufclient import is_url

from .trust_store import load_store


def serve(
    trust: str,
    root: str,
    host: str,
    port: int,
    workers: int,
    poll_seconds: float | None = None,
    state_dir: str | None = None,
) -> None:
    try:
        store = load_store(trust, root, state_dir)
    except TrustListError as e:
        raise click.ClickException(f"cannot start the verify service: {e}") from None
    if not is_url(trust):
        trust = os.path.abspath(trust)
    os.environ["XCERT_TRUST"] = trust
    os.environ["XCERT_ROOT"] = os.path.abspath(root)
    os.environ["XCERT_STATE_DIR"] = str(store.client.state_dir.resolve())
    if poll_seconds is not None:
        os.environ["XCERT_POLL_SECONDS"] = str(poll_seconds)
    uvicorn.run(
        "verify_api.app:app",
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # verify_api.middleware.AccessLog logs without the path (it holds names)
        server_header=False,
        proxy_headers=False,
        timeout_keep_alive=5,
        log_level="info",
    )
