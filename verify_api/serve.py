"""`xcert serve`: run the verify service under uvicorn.

The signed trust list is verified once here first, so a missing or broken one is a clean CLI error
instead of a traceback per worker. Each worker builds its app with `create_app` from the
settings carried by `ServiceConfig` (uvicorn pickles the config into the worker processes it
spawns), so one worker and many run the same code path and nothing goes through os.environ:
environment variables are read only at the edges, by `xcert serve`'s options and by
`verify_api.app.app_from_env` for a bare `uvicorn verify_api.app:app`. uvicorn's "auto" HTTP
and loop settings pick httptools and uvloop (project dependencies) when they are installed,
and h11 and asyncio otherwise.

Slow clients: a connection that has not sent a whole request head within the header
timeout is closed (uvicorn itself has no such timeout; `HeaderTimeoutProtocol` adds one to
its httptools protocol), a request body must arrive within the body timeout (408, in
verify_api.middleware.Guard), idle keep-alive connections close after `keep_alive`
seconds, and past `limit_concurrency` open connections new requests get 503. In
production a reverse proxy in front enforces the same (deploy/nginx.conf).
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
from typing import Any

import click
import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

from xcert.trust import TrustListError
from xcert.tufclient import is_url

from .app import create_app
from .trust_store import load_store

HEADER_TIMEOUT = 10.0  # seconds for a request head (xcert serve --header-timeout)


class ServiceConfig(uvicorn.Config):
    """uvicorn's configuration plus the service's: `settings` (create_app's arguments, plain
    values, as the config is pickled into each worker) and the header timeout."""

    def __init__(self, settings: dict[str, Any], header_timeout: float, **options: Any) -> None:
        super().__init__("verify_api.app:create_app", factory=True, **options)
        self.settings = settings
        self.header_timeout = header_timeout

    def load_app(self) -> Any:
        # uvicorn's hook for the app factory (it calls the result once, in each worker)
        return functools.partial(create_app, **self.settings)


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request head is not complete
    within the config's header timeout of the connection or of the request's first byte
    (a slow-loris client holds nothing for long)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # uvicorn's own arguments, passed on
        super().__init__(*args, **kwargs)
        self.header_timeout: float = getattr(self.config, "header_timeout", HEADER_TIMEOUT)
        self.header_timer: asyncio.TimerHandle | None = None

    # uvicorn narrows asyncio.Protocol's BaseTransport to Transport, and ignores the same error
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
    state_dir: str | None = None,
    *,
    poll_seconds: float = 30.0,
    max_stale_seconds: float = 86400.0,
    limit_concurrency: int = 1000,
    keep_alive: int = 5,
    header_timeout: float = HEADER_TIMEOUT,
    body_timeout: float = 10.0,
) -> None:
    try:
        store = load_store(trust, root, state_dir)
    except TrustListError as e:
        raise click.ClickException(f"cannot start the verify service: {e}") from None
    settings: dict[str, Any] = {
        "trust_source": trust if is_url(trust) else os.path.abspath(trust),
        "root": os.path.abspath(root),
        "state_dir": str(store.client.state_dir.resolve()),
        "poll_seconds": poll_seconds,
        "max_stale_seconds": max_stale_seconds,
        "body_timeout": body_timeout,
    }
    config = ServiceConfig(
        settings,
        header_timeout,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # verify_api.middleware.Guard logs without the path (it holds names)
        server_header=False,
        proxy_headers=False,
        http=HeaderTimeoutProtocol,
        limit_concurrency=limit_concurrency,
        timeout_keep_alive=keep_alive,
        log_level="info",
    )
    server = uvicorn.Server(config)
    try:  # as uvicorn.run does with an import string
        if workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server.run()
    except KeyboardInterrupt:
        pass
    if workers == 1 and not server.started:
        sys.exit(STARTUP_FAILURE)
