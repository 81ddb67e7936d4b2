"""The verify service's app (verify_api/app.py) through real HTTP: a uvicorn server (`xcert serve`)
on loopback over a signed trust list of the fixture registry plus an organization per rule
(tests/conftest.py), so every verdict an employer can meet is checked end to end, and bad
input never becomes a server error.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cbor2
import conftest
import httpx
import pytest
from conftest import (
    KID,
    REPO,
    ROOT,
    RULES,
    InProcess,
    Server,
    at,
    claims,
    cose,
    fixture_key,
    free_port,
    publish_signed,
    raw_digits,
    raw_status,
    token,
)

from verify_api.app import create_app
from verify_api.trust_store import Snapshot, TrustStore
from xcert.token import kid_of, to_digits
from xcert.trust import TrustList
from xcert.verify import CHECKS, INVALID, MALFORMED, VALID


@pytest.mark.parametrize(("name", "args", "status", "failing"), RULES, ids=[r[0] for r in RULES])
def test_rule_through_the_api(
    http: httpx.Client, name: str, args: dict[str, Any], status: str, failing: list[str]
) -> None:
    digits = to_digits(token(**args))
    response = http.get("/api/v1/verify", params={"token": digits})
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == status, data["checks"]
    assert [c["code"] for c in data["checks"] if not c["ok"]] == failing
    assert [r["code"] for r in data["reasons"]] == failing
    assert data["trust"]["version"] == "test" and data["trust"]["age_seconds"] >= 0


def test_times_at_the_calendars_end_get_a_verdict_never_a_500(http: httpx.Client) -> None:
    """Anyone can sign with the public sandbox key, so a token can carry any time: one past the
    last second China time can write is malformed, and one at it, whose validity years end
    past the calendar, gets a verdict (it was a 500: year 10000 is out of range)."""
    from xcert.token import MAX_TIME

    protected = cbor2.dumps({1: -8, 4: KID}, canonical=True)
    payload = cbor2.dumps({6: MAX_TIME + 1, -65537: [1, "old-care", 1, 1, "王小明", "123X"]}, canonical=True)
    signature = fixture_key(2).sign(cbor2.dumps(["Signature1", protected, b"", payload])).signature
    beyond = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]), canonical=True)
    last = token(certificate="old-care", issued_at=MAX_TIME)
    for raw, status, failing, code in (
        (beyond, "malformed", ["token.format"], 422),
        (last, "invalid", ["issued.not_future"], 200),
    ):
        response = http.get("/api/v1/verify", params={"token": to_digits(raw)})
        assert response.status_code == code
        data = response.json()
        assert data["status"] == status and [c["code"] for c in data["checks"] if not c["ok"]] == failing
        page = http.get("/c/" + to_digits(raw))
        assert page.status_code == (400 if status == "malformed" else 200)
        assert status.upper() in page.text


def test_post_accepts_url_digits_and_hex(http: httpx.Client) -> None:
    raw = token()
    for text in (f"https://verify.1x.example.cn/c/{to_digits(raw)}", to_digits(raw), raw.hex()):
        response = http.post("/api/v1/verify", json={"token": text})
        assert (response.status_code, response.json()["status"]) == (200, VALID)


def test_tampered_token_is_invalid_and_shows_no_claims(http: httpx.Client) -> None:
    raw = bytearray(token())
    raw[-1] ^= 1
    data = http.get("/api/v1/verify", params={"token": to_digits(bytes(raw))}).json()
    assert data["status"] == INVALID and data["claims"] is None
    assert [c["code"] for c in data["checks"] if not c["ok"]] == ["signature"]
    page = http.get(f"/c/{to_digits(bytes(raw))}").text
    assert "INVALID" in page and "王小明" not in page and CHECKS["signature"][0] in page


def test_sandbox_token_is_marked_test(http: httpx.Client) -> None:
    raw = token(key=6, certificate="sandbox-cert")
    data = http.get("/api/v1/verify", params={"token": to_digits(raw)}).json()
    # its own status: a program that checks status == "valid" cannot take it for real
    assert data["status"] == "test" and data["test"] is True and data["issuer"]["sandbox"] is True
    page = http.get(f"/c/{to_digits(raw)}").text
    assert '<span class="zh">测试</span> <span class="en">TEST</span>' in page
    assert 'id="test-banner"' in page


def test_kid_collision_tries_every_key(rules_data: dict[str, Any], tmp_path: Path) -> None:
    """Two published keys share a kid (forced: the file's kid is derived, so build the list)."""
    path = tmp_path / "keys.json"
    publish_signed(path, rules_data)
    store = TrustStore(str(path), REPO.root, tmp_path / "state")
    trust = store.load().trust
    kid2 = kid_of(bytes(fixture_key(2).verify_key))
    impostor = next(k for k in trust.organizations["logi-org"].keys)
    forced = type(impostor)(**{**{f: getattr(impostor, f) for f in impostor.__slots__}, "kid": kid2})
    orgs = dict(trust.organizations)
    logi = orgs["logi-org"]
    orgs["logi-org"] = type(logi)(**{**{f: getattr(logi, f) for f in logi.__slots__}, "keys": (forced,)})
    collided = TrustList(trust.version, trust.site_url, trust.verify_url, orgs, signed=trust.signed)
    assert len(collided.keys_for(kid2)) == 2
    loaded = store.snapshot
    assert loaded is not None
    store.snapshot = Snapshot(collided, loaded.loaded_at, loaded.loaded_mono)

    # logi-org's key 3 signs under care-org's kid: the service must try both keys.
    protected = cbor2.dumps({1: -8, 4: kid2}, canonical=True)
    from xcert.token import _sig_structure, encode_claims

    payload = encode_claims(claims(certificate="logistics", level=1, issued_at=at("2020-06-01")))
    signature = fixture_key(3).sign(_sig_structure(protected, payload)).signature
    forged = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]), canonical=True)
    client = InProcess(create_app(store, poll_seconds=0, log_requests=False))
    try:
        by_logi = client.get("/api/v1/verify", params={"token": to_digits(forged)}).json()
        by_care = client.get("/api/v1/verify", params={"token": to_digits(token())}).json()
    finally:
        client.close()
    # the signature verified with logi-org's key; it fails only because logi-org was suspended
    # after the issue date and the token is in no issuance record
    failing = [c["code"] for c in by_logi["checks"] if not c["ok"]]
    assert (by_logi["issuer"]["id"], failing) == ("logi-org", ["organization.not_suspended_since"])
    assert (by_care["status"], by_care["issuer"]["id"]) == (VALID, "care-org")


BAD_DIGITS: list[tuple[str, str]] = [
    ("empty", ""),
    ("one digit", "7"),
    ("5,000 digits", "9" * 5000),
    ("non-digits", "12345abc"),
    ("percent-encoded junk", "%00%ff%2e%2e"),
    ("spaces", "123%20456"),
    ("newline and control characters", "12%0A34%19%0D"),
    ("slashes", "12/34/../56"),
    ("leading zero", "0" + to_digits(b"\x00" * 10)),
    ("not CBOR", raw_digits(b"\xff\xfe\xfd" * 20)),
    ("wrong tag", raw_digits(cose({1: -8, 4: KID}, tag=17))),
    ("trailing bytes", raw_digits(token() + b"\x00")),
    ("wrong alg", raw_digits(cose({1: -7, 4: KID}))),
    ("deeply nested", raw_digits(b"\xd2" + b"\x81" * 450 + b"\x00")),
    ("truncated", raw_digits(token()[:-10])),
    ("huge CBOR length", raw_digits(b"\xd2\x84\x5b" + b"\xff" * 8)),
    ("no sentinel", str(int.from_bytes(b"\x02" + token(), "big"))),
]


@pytest.mark.parametrize(("name", "digits"), BAD_DIGITS, ids=[b[0] for b in BAD_DIGITS])
def test_bad_digits_are_malformed_not_errors(http: httpx.Client, name: str, digits: str) -> None:
    started = time.monotonic()
    page = http.get(f"/c/{digits}")
    assert page.status_code == 400, page.text[:200]
    assert "MALFORMED" in page.text and CHECKS["token.format"][0] in page.text
    api = http.get("/api/v1/verify", params={"token": digits})
    assert api.status_code == 422 and api.json()["status"] == MALFORMED
    posted = http.post("/api/v1/verify", json={"token": digits})
    assert posted.status_code == 422 and posted.json()["status"] == MALFORMED
    assert time.monotonic() - started < 2


BAD_REQUESTS: list[tuple[str, str, str, dict[str, Any], int, str]] = [
    # name, method, path, httpx arguments, status, error code
    ("no token", "GET", "/api/v1/verify", {}, 400, "bad_request"),
    ("two tokens", "GET", "/api/v1/verify?token=1&token=2", {}, 400, "bad_request"),
    ("bad JSON", "POST", "/api/v1/verify", {"content": b"{"}, 400, "bad_json"),
    ("not UTF-8", "POST", "/api/v1/verify", {"content": b'{"token": "\xff"}'}, 400, "bad_json"),
    ("empty body", "POST", "/api/v1/verify", {"content": b""}, 400, "bad_json"),
    ("JSON array", "POST", "/api/v1/verify", {"json": ["1"]}, 400, "bad_request"),
    ("token not a string", "POST", "/api/v1/verify", {"json": {"token": 5}}, 400, "bad_request"),
    ("token null", "POST", "/api/v1/verify", {"json": {"token": None}}, 400, "bad_request"),
    ("extra key", "POST", "/api/v1/verify", {"json": {"token": "1", "x": 1}}, 400, "bad_request"),
    ("deep JSON", "POST", "/api/v1/verify", {"content": b"[" * 15000}, 400, "bad_json"),
    ("huge body", "POST", "/api/v1/verify", {"content": b"{" * 1_000_000}, 413, "body_too_large"),
    ("PUT", "PUT", "/api/v1/verify", {}, 405, "method_not_allowed"),
    ("DELETE", "DELETE", "/api/v1/verify", {}, 405, "method_not_allowed"),
    ("PATCH", "PATCH", "/api/v1/verify", {"json": {"token": "1"}}, 405, "method_not_allowed"),
    ("POST on the page", "POST", "/c/123", {}, 405, "method_not_allowed"),
    ("POST on healthz", "POST", "/healthz", {}, 405, "method_not_allowed"),
    ("unknown path", "GET", "/admin", {}, 404, "not_found"),
]


@pytest.mark.parametrize(
    ("name", "method", "path", "kwargs", "status", "code"), BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS]
)
def test_bad_requests_get_json_errors(
    server: Server, name: str, method: str, path: str, kwargs: dict[str, Any], status: int, code: str
) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:  # a refused body may close the connection
        response = client.request(method, path, **kwargs)
    assert response.status_code == status, response.text[:200]
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == code
    if status == 405:
        assert response.headers["allow"]


def test_long_urls_are_4xx(server: Server, http: httpx.Client) -> None:
    assert http.get("/c/" + "1" * 10_000).status_code == 400  # malformed page: over the digit cap
    assert http.get("/api/v1/verify", params={"token": "1" * 10_000}).status_code == 422
    status = raw_status(server.port, b"GET /c/" + b"1" * 200_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 4"), status


def test_server_survived_the_bad_input(http: httpx.Client, server: Server) -> None:
    assert http.get("/healthz").status_code == 200
    assert "Traceback" not in server.output() and " 500 " not in server.output()


def test_plain_uvicorn_needs_xcert_trust() -> None:
    env = {k: v for k, v in os.environ.items() if k != "XCERT_TRUST"}
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "verify_api.app:app", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode != 0 and "set XCERT_TRUST" in result.stderr


def test_plain_uvicorn_does_not_log_paths(rules_data: dict[str, Any], tmp_path: Path) -> None:
    """`uvicorn verify_api.app:app` (its own access log on by default) must not log the path."""
    path = tmp_path / "keys.json"
    publish_signed(path, rules_data)
    port = free_port()
    env = {**os.environ, "XCERT_TRUST": str(path), "XCERT_ROOT": str(REPO.root), "PYTHONUNBUFFERED": "1"}
    env["XCERT_STATE_DIR"] = str(tmp_path / "state")
    log = (tmp_path / "uvicorn.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "verify_api.app:app", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=ROOT,
    )
    digits = to_digits(token())
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/c/{digits}", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.1)
        assert response.status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
    output = (tmp_path / "uvicorn.log").read_text()
    assert "GET /c/{digits} 200" in output and digits[:30] not in output


# test_tuf.py and test_a11y_verify.py import these from this module; they live in conftest.py
_run, rules_data, rules_trust, server = (
    conftest.run_command,
    conftest.rules_data,
    conftest.rules_trust,
    conftest.server,
)
