"""The service's middleware (verify_api/middleware.py): security headers and CORS, the body cap,
and an access log that never holds a token, a name or an ID tail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from conftest import (
    InProcess,
    Server,
    app_for,
    publish_signed,
    raw_status,
    token,
)

from xcert.token import to_digits
from xcert.verify import VALID


def test_security_headers_on_results(http: httpx.Client) -> None:
    digits = to_digits(token())
    for path in (f"/c/{digits}", f"/api/v1/verify?token={digits}", "/c/123"):
        headers = http.get(path).headers
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["cache-control"] == "no-store"
        csp = dict(part.strip().split(" ", 1) for part in headers["content-security-policy"].split(";"))
        assert csp["default-src"] == "'none'"
        assert csp["style-src"].startswith("'sha256-")
        assert csp["img-src"] == "'self' data:"
        assert (csp["frame-ancestors"], csp["base-uri"], csp["form-action"]) == ("'none'",) * 3
        assert "script-src" not in csp
        assert "server" not in headers


def test_cors_is_open_for_the_api_only(http: httpx.Client) -> None:
    digits = to_digits(token())
    api = http.get("/api/v1/verify", params={"token": digits}, headers={"Origin": "https://hr.example"})
    assert api.headers["access-control-allow-origin"] == "*"
    preflight = http.options(
        "/api/v1/verify",
        headers={
            "Origin": "https://hr.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "content-type" in preflight.headers["access-control-allow-headers"]
    for path in (f"/c/{digits}", "/healthz", "/readyz", "/openapi.json"):
        response = http.get(path, headers={"Origin": "https://hr.example"})
        assert "access-control-allow-origin" not in response.headers, path
    assert http.options(f"/c/{digits}").status_code == 405


def test_huge_declared_length_is_refused_before_reading(server: Server) -> None:
    request = (
        b"POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 999999999999\r\n\r\n{"
    )
    assert raw_status(server.port, request) == b"HTTP/1.1 413 Request Entity Too Large"


def test_logs_hold_no_token_name_or_id_tail(rules_data: dict[str, Any], tmp_path: Path) -> None:
    publish_signed(tmp_path / "keys.json", rules_data)
    srv = Server(tmp_path / "keys.json", tmp_path / "server.log")
    secret: dict[str, Any] = {
        "holder_name": "隐私测试人",
        "id_tail": "731X",
        "serial": "PRIV-77310",
        "college": "priv-college",
    }
    raw = token(**secret)
    digits = to_digits(raw)
    try:
        with httpx.Client(base_url=srv.url, timeout=10) as client:
            assert client.get(f"/c/{digits}").status_code == 200
            assert client.get("/api/v1/verify", params={"token": digits}).json()["status"] == VALID
            assert client.post("/api/v1/verify", json={"token": raw.hex()}).json()["status"] == VALID
            assert client.get(f"/c/{digits[:-3]}").status_code == 400
    finally:
        srv.stop()
    log = srv.output()
    assert "GET /c/{digits} 200" in log and "POST /api/v1/verify 200" in log and "GET /c/{digits} 400" in log
    for value in [*secret.values(), digits[:40], digits[-40:], raw.hex()[:40]]:
        assert value not in log, value


def test_access_log_goes_through_logging_when_the_host_configures_it(
    rules_data: dict[str, Any], tmp_path: Path
) -> None:
    """A host application's own handler gets the same privacy-safe lines."""
    import logging

    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    publish_signed(tmp_path / "keys.json", rules_data)
    logger = logging.getLogger("verify_api.access")
    handler = Collect()
    logger.addHandler(handler)
    raw = token(holder_name="日志测试", id_tail="555X")
    client = InProcess(app_for(tmp_path / "keys.json", poll_seconds=0))
    try:
        assert client.get(f"/c/{to_digits(raw)}").status_code == 200
        assert client.get("/api/v1/verify", params={"token": raw.hex()}).status_code == 200
        assert client.get("/nowhere/123X").status_code == 404
    finally:
        client.close()
        logger.removeHandler(handler)
    lines = [r.getMessage() for r in records]
    assert [line.rsplit(" ", 1)[0] for line in lines] == [
        "GET /c/{digits} 200",
        "GET /api/v1/verify 200",
        "GET - 404",
    ]
    for secret in ("日志测试", "555X", to_digits(raw)[:30], raw.hex()[:30], "nowhere", "123X"):
        assert not any(secret in line for line in lines), secret


def test_refusals_and_preflight_carry_the_headers_and_a_log_line(
    rules_data: dict[str, Any], tmp_path: Path
) -> None:
    """What the one middleware answers itself (413, 400, 204) still gets the security headers
    and its access line, as an app's own answer does."""
    import logging

    from verify_api.app import MAX_BODY

    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    publish_signed(tmp_path / "keys.json", rules_data)
    logger = logging.getLogger("verify_api.access")
    handler = Collect()
    logger.addHandler(handler)
    client = InProcess(app_for(tmp_path / "keys.json", poll_seconds=0))
    try:
        too_large = client.request("POST", "/api/v1/verify", content=b"x" * (MAX_BODY + 1))
        bad_length = client.request("POST", "/api/v1/verify", content=b"{}", headers={"content-length": "x2"})
        preflight = client.request("OPTIONS", "/api/v1/verify")
    finally:
        client.close()
        logger.removeHandler(handler)
    assert (too_large.status_code, bad_length.status_code, preflight.status_code) == (413, 400, 204)
    for response in (too_large, bad_length, preflight):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["access-control-allow-origin"] == "*"
        assert "'sha256-" in response.headers["content-security-policy"]
    assert too_large.headers["cache-control"] == bad_length.headers["cache-control"] == "no-store"
    assert preflight.headers["cache-control"] == "max-age=86400"
    lines = [r.getMessage().rsplit(" ", 1)[0] for r in records]
    assert lines == ["POST - 413", "POST - 400", "OPTIONS - 204"]
