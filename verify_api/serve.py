"""`xcert serve`: run the verify service under uvicorn.

The signed trust list is verified once here first, so a missing or broken one is a clean CLI error
instead of a traceback per worker. Workers get their configuration through the same
environment variables `uvicorn verify_api.app:app` reads (uvicorn needs an import string to
start more than one), so one worker and many run the same code path. uvicorn's "auto" HTTP
and loop settings pick httptools and uvloop (project dependencies) when they are installed,
and h11 and asyncio otherwise.

Slow clients: a connection that has not sent a whole request head within the header
timeout is closed (uvicorn itself has no such timeout; `HeaderTimeoutProtocol` adds one to
its httptools protocol), a request body must arrive within the body timeout (408, in
verify_api.middleware.BodyLimit), idle keep-alive connections close after `keep_alive`
seconds, and past `limit_concurrency` open connections new requests get 503. In
production a reverse proxy in front enforces the same (deploy/nginx.conf).
"""

from __future__ import annotations

import asyncio
import os

import click
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from xcert.trust import TrustListError
from xcert.tufclient import is_url

from .trust_store import load_store

HEADER_TIMEOUT = 10.0  # seconds for a request head (the default of XCERT_HEADER_TIMEOUT)


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request head is not complete
    within XCERT_HEADER_TIMEOUT seconds of the connection or of the request's first byte
    (a slow-loris client holds nothing for long)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.header_timeout = float(os.environ.get("XCERT_HEADER_TIMEOUT") or HEADER_TIMEOUT)
        self.header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self.header_timer = self.loop.call_later(self.header_timeout, self._expire)

    def _disarm(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def _expire(self) -> None:
        self.header_timer = None
        if not self.transport.is_closing():
            self.transport.close()


def serve(
    trust: str,
    root: str,
    host: str,
    port: int,
    workers: int,
    poll_seconds: float | None = None,
    state_dir: str | None = None,
    *,
    limit_concurrency: int = 1000,
    keep_alive: int = 5,
    header_timeout: float = HEADER_TIMEOUT,
    body_timeout: float = 10.0,
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
    os.environ["XCERT_HEADER_TIMEOUT"] = str(header_timeout)
    os.environ["XCERT_BODY_TIMEOUT"] = str(body_timeout)
    uvicorn.run(
        "verify_api.app:app",
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # verify_api.middleware.AccessLog logs without the path (it holds names)
        server_header=False,
        proxy_headers=False,
        http=HeaderTimeoutProtocol,
        limit_concurrency=limit_concurrency,
        timeout_keep_alive=keep_alive,
        log_level="info",
    )
