"""The verify service: what an employer's phone opens after scanning a certificate's QR code.

`create_app(trust_source)` builds the Starlette app over one :class:`TrustStore`;
`uvicorn verify_api.app:app` builds it from environment variables:

* ``XCERT_TRUST`` (required): path or https URL of the published trust list (/keys.json);
  its TUF metadata is read from ``tuf/`` beside it
* ``XCERT_ROOT`` (default ``registry/trust/root.json``): the pinned TUF root
* ``XCERT_STATE_DIR``: where verified metadata is kept (rollback protection across restarts)
* ``XCERT_POLL_SECONDS`` (default 30): how often to look for a new trust list (0: never)
* ``XCERT_BODY_TIMEOUT`` (default 10): seconds for a request body to arrive (else 408)
* ``XCERT_MAX_STALE_SECONDS`` (default 86400): /readyz answers 503 once the data has not
  been confirmed current for this long

Every verdict comes from :func:`xcert.verify.verify`; this module only turns requests into
calls of it and results into HTML or JSON. The service keeps no state besides the trust
list, so any number of workers behave like one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from xcert.trust import TrustListError
from xcert.verify import CHECKS, MALFORMED, Result, verify

from .middleware import Guard
from .openapi import openapi_document
from .page import Pages
from .trust_store import TrustStore

DEFAULT_ROOT = "registry/trust/root.json"  # the registry's own root, when run from a checkout
MAX_BODY = 16 * 1024  # a token request is {"token": "<at most 4,096 characters>"}
JSON_TYPE = "application/json"
HTML_TYPE = "text/html; charset=utf-8"


class AnyText(Convertor[str]):
    """Everything after /c/, newlines included: Starlette's `path` stops at a newline, and a
    scanned or pasted token with junk in it must still get the malformed page, not a 404."""

    regex = r"[\s\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("anytext", AnyText())


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    # orjson writes the same bytes as json.dumps(ensure_ascii=False, separators=(",", ":")) in
    # about a tenth of the time (3 µs instead of 35 µs for a result); text it refuses (a lone
    # surrogate) goes the slow way, escaped.
    try:
        body = orjson.dumps(data)
    except orjson.JSONEncodeError:
        body = json.dumps(data, separators=(",", ":")).encode()
    return Response(body, status, headers, JSON_TYPE)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return _json({"error": {"code": code, "message": message}}, status, headers)


def _configure_logging() -> None:
    """The service's loggers (access lines, trust updates) write to stderr, unless the host
    application has configured them already.

    Plain logging, written on the event loop: its line costs a JSON answer about 29 µs of
    the ~205 µs of CPU it takes under wrk (bench/verify_load.py's setup, access log on vs
    off). A QueueHandler with a QueueListener thread was measured and cost more: 317 µs
    against 247 per answer, and fewer answers a second (the thread's formatting and the
    hand-offs under the GIL outweigh the write it moves off the loop)."""
    log = logging.getLogger("verify_api")
    if log.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def _csp(style_src: str) -> str:
    return (
        "default-src 'none'; "
        f"style-src {style_src}; "
        "img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


def create_app(
    trust_source: str | TrustStore,
    *,
    root: str | Path = DEFAULT_ROOT,
    state_dir: str | Path | None = None,
    poll_seconds: float = 30.0,
    max_stale_seconds: float = 86400.0,
    log_requests: bool = True,
    body_timeout: float = 10.0,
) -> Starlette:
    """The service over a published keys.json path/URL, proven from the pinned `root` (loaded
    now: raises TrustListError), or over a loaded store."""
    assert poll_seconds >= 0, "poll_seconds must be >= 0 (0 turns polling off)"
    assert max_stale_seconds > 0, "max_stale_seconds must be positive"
    store = (
        trust_source if isinstance(trust_source, TrustStore) else TrustStore(trust_source, root, state_dir)
    )
    if store.snapshot is None:
        store.load()
    pages = Pages()
    openapi_body = json.dumps(openapi_document(), ensure_ascii=False).encode()
    _configure_logging()

    def trust_info() -> dict[str, Any]:
        return store.status()

    def result_json(result: Result) -> Response:
        data = result.to_dict()
        data["reasons"] = [
            {"code": c.code, "zh": CHECKS[c.code][0], "en": CHECKS[c.code][1]} for c in result.failures
        ]
        data["trust"] = trust_info()
        return _json(data, 422 if result.status == MALFORMED else 200)

    async def result_page(request: Request) -> Response:
        snapshot = store.snapshot
        assert snapshot is not None
        result = verify(request.path_params["digits"], snapshot.trust)
        page = pages.render(result, snapshot.trust.site_url, trust_info())
        return Response(page.body, page.status_code, media_type=HTML_TYPE)

    async def verify_endpoint(request: Request) -> Response:
        if request.method == "POST":
            body = await request.body()
            try:
                data = json.loads(body)
            except (ValueError, RecursionError):
                return _error(400, "bad_json", "the body is not valid JSON")
            if not isinstance(data, dict) or set(data) != {"token"}:
                return _error(400, "bad_request", 'expected a JSON object {"token": "..."}')
            text = data["token"]
        else:
            query: bytes = request.scope["query_string"]
            if query.startswith(b"token=") and not any(c in query for c in b"&%+;"):
                values = [query[6:].decode("latin-1")]  # the QR/CLI case: plain digits, nothing to unquote
            else:
                values = request.query_params.getlist("token")
            if len(values) != 1:
                return _error(400, "bad_request", "expected exactly one token query parameter")
            text = values[0]
        if not isinstance(text, str):
            return _error(400, "bad_request", "token must be a string")
        snapshot = store.snapshot
        assert snapshot is not None
        return result_json(verify(text, snapshot.trust))

    async def healthz(_request: Request) -> Response:
        return _json({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        info = trust_info()
        age = info["age_seconds"]
        ready = isinstance(age, int) and age <= max_stale_seconds and not info["expired"]
        return _json({"ready": ready, "trust": info}, 200 if ready else 503)

    async def openapi(_request: Request) -> Response:
        return Response(openapi_body, 200, {"cache-control": "no-cache"}, JSON_TYPE)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, exc.detail, dict(exc.headers or {}))

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with store.polling(poll_seconds):
            yield

    guard = Middleware(
        Guard, csp=_csp(pages.style_src), limit=MAX_BODY, timeout=body_timeout, log=log_requests
    )
    app = Starlette(
        routes=[
            Route("/c/{digits:anytext}", result_page, methods=["GET"]),
            Route("/api/v1/verify", verify_endpoint, methods=["GET", "POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
        ],
        middleware=[guard],
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.store = store
    return app


# ---------------------------------------------------------------- configured from the environment


def _env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < 10**9:
        raise SystemExit(f"verify_api: {name}={raw!r} is not a number of seconds")
    return value


def app_from_env() -> Starlette:
    """The app `uvicorn verify_api.app:app` runs; exits with a clear message when misconfigured."""
    source = os.environ.get("XCERT_TRUST", "").strip()
    if not source:
        raise SystemExit(
            "verify_api: set XCERT_TRUST to the trust list (a path or an https URL of keys.json), "
            "e.g. XCERT_TRUST=site/keys.json XCERT_ROOT=registry/trust/root.json uvicorn verify_api.app:app"
        )
    # uvicorn's own access log writes the request path, which holds a person's name and ID
    # tail: the service logs its own privacy-safe line instead (middleware.Guard).
    logging.getLogger("uvicorn.access").disabled = True
    try:
        return create_app(
            source,
            root=os.environ.get("XCERT_ROOT", "").strip() or DEFAULT_ROOT,
            state_dir=os.environ.get("XCERT_STATE_DIR", "").strip() or None,
            poll_seconds=_env_seconds("XCERT_POLL_SECONDS", 30.0),
            max_stale_seconds=_env_seconds("XCERT_MAX_STALE_SECONDS", 86400.0) or 86400.0,
            body_timeout=_env_seconds("XCERT_BODY_TIMEOUT", 10.0) or 10.0,
        )
    except TrustListError as e:
        raise SystemExit(f"verify_api: cannot start: {e}") from None


def __getattr__(name: str) -> Any:
    # `app` is built on first access, so importing create_app needs no environment.
    if name == "app":
        app = app_from_env()
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
