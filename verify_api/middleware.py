"""The service's pure ASGI middleware: a privacy-safe access log, response headers and CORS,
and a request body cap, in one layer.

Nothing here reads or writes the path, query string or body beyond what it must, so no
token, name or ID tail can reach a log line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("verify_api.access")

API_PREFIX = "/api/"
NO_STORE = (b"cache-control", b"no-store")


def _error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


async def send_json_error(send: Send, status: int, code: str, message: str) -> None:
    body = _error_body(code, message)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Guard:
    """The service's one middleware, in the order a request meets it:

    * the access log: one line per request, method, route template (never the path),
      status, milliseconds. The path of `/c/{digits}` and the query of
      `/api/v1/verify?token=` hold a signed name and ID tail, so neither is ever logged;
    * the security headers on every response, and open CORS (with its preflight) under
      /api/. `Cache-Control: no-store` is the default: results name a person and must not
      be kept by a shared phone's browser or a proxy. A response that sets its own
      Cache-Control keeps it;
    * the body cap: a body over `limit` bytes gets 413 before the app sees a byte; the
      body is read here (it is small by definition) and replayed to the app, so an endless
      body is cut off at the limit, a declared Content-Length over the limit is refused
      without reading anything, and the whole body must arrive within `timeout` (else 408).

    One layer, not three: each ASGI layer costs every request a coroutine and a wrapped
    `send` (issue 16 §5).
    """

    def __init__(self, app: ASGIApp, csp: str, limit: int, timeout: float = 10.0, log: bool = True) -> None:
        assert limit > 0, "body limit must be positive"
        assert timeout > 0, "body timeout must be positive"
        self.app = app
        self.limit = limit
        self.timeout = timeout
        self.log = log
        self.headers = [
            (b"content-security-policy", csp.encode()),
            (b"referrer-policy", b"no-referrer"),
            (b"x-content-type-options", b"nosniff"),
        ]  # framing is refused by CSP frame-ancestors
        self.api_headers = [*self.headers, (b"access-control-allow-origin", b"*")]
        self.preflight = [
            *self.api_headers,
            (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
            (b"access-control-allow-headers", b"content-type"),
            (b"access-control-max-age", b"86400"),
            (b"allow", b"GET, POST, OPTIONS"),
            (b"content-length", b"0"),
            (b"cache-control", b"max-age=86400"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        api = scope["path"].startswith(API_PREFIX)
        extra = self.api_headers if api else self.headers
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append(NO_STORE)
                headers += extra
                message["headers"] = headers
            await send(message)

        try:
            if api and scope["method"] == "OPTIONS":
                status = 204
                await send({"type": "http.response.start", "status": 204, "headers": self.preflight})
                await send({"type": "http.response.body", "body": b""})
            elif scope["method"] in ("GET", "HEAD", "OPTIONS"):
                await self.app(scope, receive, send_with_headers)
            else:
                body = await self._read_body(scope, receive, send_with_headers)
                if body is not None:
                    await self.app(scope, _replay(body, receive), send_with_headers)
        finally:
            if self.log:
                self._log(scope, status, start)

    async def _read_body(self, scope: Scope, receive: Receive, send: Send) -> bytes | None:
        """The whole body, or None once an error has been answered (or the client left)."""
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value) if len(value) <= 20 else self.limit + 1
                except ValueError:
                    await send_json_error(send, 400, "bad_request", "Content-Length is not a number")
                    return None
                if declared > self.limit:
                    await self._too_large(send)
                    return None
        chunks: list[bytes] = []
        size = 0
        deadline = asyncio.get_running_loop().time() + self.timeout
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                await send_json_error(
                    send, 408, "request_timeout", f"the body did not arrive within {self.timeout:g} s"
                )
                return None
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._too_large(send)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _too_large(self, send: Send) -> None:
        await send_json_error(
            send, 413, "body_too_large", f"request body over {self.limit} bytes; a token is far smaller"
        )

    @staticmethod
    def _log(scope: Scope, status: int, start: float) -> None:
        # the matched route's template ("/c/{digits:anytext}" logged as "/c/{digits}")
        route = getattr(scope.get("route"), "path", None) or "-"
        method = scope["method"] if len(scope["method"]) <= 16 else "?"
        elapsed_ms = (time.perf_counter() - start) * 1000
        access_log.info("%s %s %s %.1fms", method, route.replace(":anytext}", "}"), status, elapsed_ms)


def _replay(body: bytes, receive: Receive) -> Receive:
    """`receive` for the app: the body read already, then whatever the client sends next."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
