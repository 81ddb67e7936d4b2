"""The verify service through real HTTP: a uvicorn server (`xcert serve`) on loopback.

The server runs over a trust list built from the fixture registry plus a few organizations
added for the rules (one token per rule), so every verdict an employer can meet is checked
end to end: rules, page, JSON, headers, CORS, reload, startup refusal, privacy, bad input.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cbor2
import httpx
import pytest
from conftest import CST, SignedRepo, at, claims, fixture_key

from verify_api.app import create_app
from verify_api.trust_store import Snapshot, TrustStore
from xcert import codes
from xcert.token import kid_of, sign, to_digits
from xcert.trust import TrustList
from xcert.verify import CHECKS, EXPIRED, INVALID, MALFORMED, REVOKED, VALID

ROOT = Path(__file__).resolve().parent.parent
TODAY = dt.datetime.now(CST).date()
RECENT = (TODAY - dt.timedelta(days=200)).isoformat()
YESTERDAY = (TODAY - dt.timedelta(days=1)).isoformat()
SINCE_2019 = "2019-04-10T00:00:00+08:00"

# ---------------------------------------------------------------- trust list for the rules


def _key(n: int, status: str = "active", **times: str | None) -> dict[str, Any]:
    public = bytes(fixture_key(n).verify_key)
    return {
        "kid": kid_of(public).hex(),
        "alg": "EdDSA",
        "crv": "Ed25519",
        "public_key": codes.encode_b64url(public),
        "status": status,
        "sign_from": times.get("sign_from", SINCE_2019),
        "sign_before": times.get("sign_before"),
        "retired_at": times.get("retired_at"),
        "compromised_at": times.get("compromised_at"),
    }


def _cert(code: str, levels: list[int], status: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "code": code,
        "name": {"zh": f"{code} 证书", "en": f"{code} certificate"},
        "levels": levels,
        "status": status or [{"status": "active", "since": SINCE_2019}],
        "validity_years": None,
    }


def _org(
    org_id: str, keys: list[dict[str, Any]], certs: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    return {
        "id": org_id,
        "name": {"zh": f"{org_id} 组织", "en": f"{org_id} organization"},
        "sandbox": extra.get("sandbox", False),
        "example": True,
        "status": extra.get("status", [{"status": "approved", "since": SINCE_2019}]),
        "keys": keys,
        "certificates": certs,
        "revocations": [],
    }


def rules_trust(base: dict[str, Any]) -> dict[str, Any]:
    """The fixture trust list plus what the rule cases need (see RULES)."""
    data = copy.deepcopy(base)
    orgs = {o["id"]: o for o in data["organizations"]}
    care, logi = orgs["care-org"], orgs["logi-org"]
    care["certificates"] += [
        _cert("care-assist", [1, 2, 3]),  # no validity years: old tokens do not expire
        _cert(
            "withdrawn-care",
            [1, 2, 3],
            [
                {"status": "active", "since": SINCE_2019},
                {"status": "withdrawn", "since": "2022-01-01T00:00:00+08:00"},
            ],
        ),
    ]
    care["revocations"].append(
        {"serial": "R2025000001", "date": RECENT, "reason": "考核舞弊", "certificate": "old-care"}
    )
    logi["keys"] = [_key(3)]  # logi-org: approved 2019-04-10, suspended from 2021-03-01
    data["organizations"] += [
        _org(
            "comp-org",
            [_key(4, "compromised", compromised_at="2022-09-01T00:00:00+08:00")],
            [_cert("comp-cert", [1, 2, 3])],
        ),
        _org(
            "gone-org",
            [_key(5)],
            [_cert("gone-cert", [1, 2, 3])],
            status=[
                {"status": "approved", "since": SINCE_2019},
                {"status": "withdrawn", "since": "2021-01-01T00:00:00+08:00"},
            ],
        ),
        _org("sandbox-org", [_key(6)], [_cert("sandbox-cert", [1, 2, 3])], sandbox=True),
    ]
    return data


def token(key: int = 2, **overrides: Any) -> bytes:
    overrides.setdefault("issued_at", at(RECENT))
    return sign(claims(**overrides), fixture_key(key))


def now_plus(seconds: int) -> int:
    return int(time.time()) + seconds


# name, token arguments, expected status, failing checks
RULES: list[tuple[str, dict[str, Any], str, list[str]]] = [
    ("valid", {}, VALID, []),
    (
        "retired key, signed before retirement",
        {"key": 1, "certificate": "care-assist", "issued_at": at("2022-03-01")},
        VALID,
        [],
    ),
    (
        "retired key, signed after retirement",
        {"key": 1, "certificate": "care-assist", "issued_at": at("2022-07-01")},
        INVALID,
        ["key.window"],
    ),
    (
        "compromised key, signed before the compromise",
        {"key": 4, "certificate": "comp-cert", "issued_at": at("2022-03-01")},
        INVALID,
        ["key.not_compromised"],
    ),
    (
        "key used before its window",
        {"certificate": "care-assist", "issued_at": at("2022-05-01")},
        INVALID,
        ["key.window"],
    ),
    (
        "organization suspended on the issue date",
        {"key": 3, "certificate": "logistics", "level": 1, "issued_at": at("2022-01-10")},
        INVALID,
        ["organization.approved"],
    ),
    (
        "organization withdrawn on the issue date",
        {"key": 5, "certificate": "gone-cert", "issued_at": at("2021-06-01")},
        INVALID,
        ["organization.approved"],
    ),
    ("certificate type withdrawn", {"certificate": "withdrawn-care"}, INVALID, ["certificate.active"]),
    (
        "organization is not the type's owner",
        {"certificate": "logistics", "level": 1},
        INVALID,
        ["certificate.owner"],
    ),
    (
        "level not offered",
        {"key": 3, "certificate": "logistics", "level": 3, "issued_at": at("2020-06-01")},
        INVALID,
        ["certificate.level"],
    ),
    ("revoked serial", {"serial": "R2025000001"}, REVOKED, ["revocation"]),
    ("expired by validity years", {"key": 1, "issued_at": at("2020-01-05")}, EXPIRED, ["expiry"]),
    ("expired by the token's exp", {"expires_at": at(YESTERDAY)}, EXPIRED, ["expiry"]),
    ("issued an hour in the future", {"issued_at": now_plus(3600)}, INVALID, ["issued.not_future"]),
    ("issued within the clock skew", {"issued_at": now_plus(120)}, VALID, []),
    ("unknown key", {"key": 7}, INVALID, ["key.known"]),
]

# ---------------------------------------------------------------- a real server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`xcert serve` in a subprocess on a free loopback port; its output goes to a log file."""

    def __init__(
        self,
        trust: Path | str,
        log: Path,
        workers: int = 1,
        poll: float = 0.2,
        root: Path | None = None,
        state: Path | None = None,
        header_timeout: float | None = None,
        body_timeout: float | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = {**os.environ, "XCERT_POLL_SECONDS": str(poll), "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, "-m", "xcert.cli", "serve", "--trust", str(trust), "--port", str(self.port)]
        cmd += ["--workers", str(workers), "--root", str(root or REPO.root)]
        cmd += ["--state", str(state or log.parent / "state")]
        if header_timeout:
            cmd += [
                "--header-timeout",
                str(header_timeout),
                "--body-timeout",
                str(body_timeout or header_timeout),
            ]
        self._out = log.open("wb")
        self.proc = subprocess.Popen(cmd, stdout=self._out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}: {self.output()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"server did not start: {self.output()}"
            time.sleep(0.1)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self._out.close()


class InProcess:
    """The app called in this process through httpx's ASGI transport, on one event loop."""

    def __init__(self, app: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://verify.test")

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.client.request(method, path, **kwargs))

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


# One throwaway signed repository for the module: every trust list a test serves is
# published as keys.json with TUF metadata, and verified from this root, as in production.
REPO = SignedRepo(Path(tempfile.mkdtemp(prefix="xcert-test-repo-")))


def publish_signed(path: Path, data: Any) -> None:
    """Publish `data` as a signed keys.json (+ tuf/) at `path` (a keys.json path)."""
    REPO.publish(data, path.parent)


def app_for(path: Path, **kwargs: Any) -> Any:
    """The app over a published keys.json, verified from REPO's root with its own state."""
    return create_app(str(path), root=REPO.root, state_dir=path.parent / "state", **kwargs)


@pytest.fixture(scope="module")
def rules_data(trust_json: dict[str, Any]) -> dict[str, Any]:
    return rules_trust(trust_json)


@pytest.fixture(scope="module")
def server(rules_data: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("verify-server")
    publish_signed(directory / "keys.json", rules_data)
    srv = Server(directory / "keys.json", directory / "server.log")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


# ---------------------------------------------------------------- the rules, one token each


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


@pytest.mark.parametrize(("name", "args", "status", "failing"), RULES, ids=[r[0] for r in RULES])
def test_rule_on_the_page(
    http: httpx.Client, name: str, args: dict[str, Any], status: str, failing: list[str]
) -> None:
    response = http.get(f"/c/{to_digits(token(**args))}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    words = {VALID: "有效", INVALID: "无效", REVOKED: "已撤销", EXPIRED: "已过期"}[status]
    assert f'<span class="zh">{words}</span> <span class="en">{status.upper()}</span>' in response.text
    for code in failing:  # says why, in plain words from the routine's explanations
        zh, en = CHECKS[code]
        assert zh in response.text and en.replace("'", "&#39;") in response.text


def test_valid_page_shows_what_the_employer_compares(http: httpx.Client) -> None:
    page = http.get(f"/c/{to_digits(token())}").text
    for text in (
        "王小明",
        '<dd class="big mono" id="id-tail">123X</dd>',
        "老年照护",
        "Elderly Care",
        "中级",
        "测试养老培训评价组织",
        f"<dd>{RECENT}</dd>",
        "2023000000000001",
        "test-care-college",
        'href="http://127.0.0.1:8000/certificates/old-care/"',
        'href="http://127.0.0.1:8000/organizations/care-org/"',
    ):
        assert text in page, text
    assert "<script" not in page.lower()


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


def test_markup_in_signed_text_is_escaped(http: httpx.Client) -> None:
    """A signed name is the signer's text: shown as text, never as markup."""
    name = '<img src=x onerror="alert(1)">&amp;'
    page = http.get(f"/c/{to_digits(token(holder_name=name))}").text
    assert "<img" not in page and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;&amp;amp;" in page
    assert (
        http.get("/api/v1/verify", params={"token": to_digits(token(holder_name=name))}).json()["claims"][
            "holder_name"
        ]
        == name
    )


def test_markup_in_a_malformed_tokens_detail_is_escaped(http: httpx.Client) -> None:
    from xcert.token import CLAIM_1X

    payload = cbor2.dumps(
        {6: at(RECENT), CLAIM_1X: [1, "old-care", 2, "S1", "<b>bad</b> ", "123X"]}, canonical=True
    )
    digits = _raw_digits(_cose({1: -8, 4: KID}, payload))
    page = http.get(f"/c/{digits}")
    assert page.status_code == 400 and "holder_name" in page.text
    assert "<b>" not in page.text and "&lt;b&gt;bad&lt;/b&gt;" in page.text


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
    store.snapshot = Snapshot(collided, store.snapshot.loaded_at, store.snapshot.loaded_mono)  # type: ignore[union-attr]

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
    assert (by_logi["status"], by_logi["issuer"]["id"]) == (VALID, "logi-org")
    assert (by_care["status"], by_care["issuer"]["id"]) == (VALID, "care-org")


# ---------------------------------------------------------------- headers and CORS


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


def test_inline_css_matches_its_csp_hash(http: httpx.Client) -> None:
    import base64
    import hashlib
    import re

    response = http.get(f"/c/{to_digits(token())}")
    css = re.search(r"<style>(.*?)</style>", response.text, re.S)
    assert css is not None
    digest = base64.b64encode(hashlib.sha256(css.group(1).encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in response.headers["content-security-policy"]


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


def test_health_ready_and_openapi(http: httpx.Client) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz").json()
    assert ready["ready"] is True and ready["trust"]["version"] == "test"
    assert ready["trust"]["stale"] is False and ready["trust"]["last_error"] is None
    doc = http.get("/openapi.json").json()
    from openapi_spec_validator import validate

    validate(doc)
    assert doc["openapi"].startswith("3.1") and "/api/v1/verify" in doc["paths"]


def test_results_match_the_openapi_schemas(http: httpx.Client) -> None:
    import jsonschema

    doc = http.get("/openapi.json").json()

    def schema(name: str) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}

    for args in ({}, {"serial": "R2025000001"}, {"key": 7}):
        data = http.get("/api/v1/verify", params={"token": to_digits(token(**args))}).json()
        jsonschema.validate(data, schema("Result"))
    malformed = http.get("/api/v1/verify", params={"token": "12x"})
    assert malformed.status_code == 422
    jsonschema.validate(malformed.json(), schema("Result"))
    jsonschema.validate(http.get("/api/v1/verify").json(), schema("Error"))
    jsonschema.validate(http.get("/readyz").json(), schema("Ready"))


# ---------------------------------------------------------------- bad input


def _raw_digits(raw: bytes) -> str:
    return str(int.from_bytes(b"\x01" + raw, "big"))


def _cose(protected: dict[int, Any], payload: bytes = b"\xa0", tag: int = 18) -> bytes:
    return cbor2.dumps(
        cbor2.CBORTag(tag, [cbor2.dumps(protected, canonical=True), {}, payload, b"\0" * 64]), canonical=True
    )


KID = kid_of(bytes(fixture_key(2).verify_key))
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
    ("not CBOR", _raw_digits(b"\xff\xfe\xfd" * 20)),
    ("wrong tag", _raw_digits(_cose({1: -8, 4: KID}, tag=17))),
    ("trailing bytes", _raw_digits(token() + b"\x00")),
    ("wrong alg", _raw_digits(_cose({1: -7, 4: KID}))),
    ("deeply nested", _raw_digits(b"\xd2" + b"\x81" * 450 + b"\x00")),
    ("truncated", _raw_digits(token()[:-10])),
    ("huge CBOR length", _raw_digits(b"\xd2\x84\x5b" + b"\xff" * 8)),
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


def raw_status(port: int, request: bytes) -> bytes:
    """Send bytes no well-behaved client would, and return the status line."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        return sock.recv(65536).split(b"\r\n", 1)[0]


def test_huge_declared_length_is_refused_before_reading(server: Server) -> None:
    request = (
        b"POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 999999999999\r\n\r\n{"
    )
    assert raw_status(server.port, request) == b"HTTP/1.1 413 Request Entity Too Large"


def test_long_urls_are_4xx(server: Server, http: httpx.Client) -> None:
    assert http.get("/c/" + "1" * 10_000).status_code == 400  # malformed page: over the digit cap
    assert http.get("/api/v1/verify", params={"token": "1" * 10_000}).status_code == 422
    status = raw_status(server.port, b"GET /c/" + b"1" * 200_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 4"), status


def test_server_survived_the_bad_input(http: httpx.Client, server: Server) -> None:
    assert http.get("/healthz").status_code == 200
    assert "Traceback" not in server.output() and " 500 " not in server.output()


# ---------------------------------------------------------------- privacy


def test_logs_hold_no_token_name_or_id_tail(rules_data: dict[str, Any], tmp_path: Path) -> None:
    publish_signed(tmp_path / "keys.json", rules_data)
    srv = Server(tmp_path / "keys.json", tmp_path / "server.log")
    secret = {
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


# ---------------------------------------------------------------- reload, workers, startup


def test_reload_keeps_serving_and_keeps_the_last_good_list(
    rules_data: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "keys.json"
    publish_signed(path, rules_data)
    srv = Server(path, tmp_path / "server.log", workers=2, poll=0.2)
    digits = to_digits(token())

    def versions(client: httpx.Client, n: int = 12) -> set[str]:
        return {
            client.get("/api/v1/verify", params={"token": digits}).json()["trust"]["version"]
            for _ in range(n)
        }

    def wait_for(check: Any) -> None:
        deadline = time.monotonic() + 10
        while not check():
            assert time.monotonic() < deadline, srv.output()
            time.sleep(0.1)

    try:
        with httpx.Client(base_url=srv.url, timeout=10) as client:
            assert versions(client) == {"test"}
            # A new list: every worker picks it up; revoking the serial changes the verdict.
            changed = copy.deepcopy(rules_data)
            changed["version"] = "v2"
            care = next(o for o in changed["organizations"] if o["id"] == "care-org")
            care["revocations"].append(
                {"serial": "2023000000000001", "date": RECENT, "reason": "测试", "certificate": None}
            )
            publish_signed(path, changed)
            wait_for(lambda: versions(client) == {"v2"})
            assert client.get("/api/v1/verify", params={"token": digits}).json()["status"] == REVOKED

            # A garbled publication: the last good list stays, and /readyz and every result
            # say so, without details that could carry secrets. (A garbled keys.json alone is
            # never even fetched again: the verified copy is kept until the metadata changes.)
            (path.parent / "tuf" / "timestamp.json").write_bytes(b"{not json")
            wait_for(lambda: all(client.get("/readyz").json()["trust"]["stale"] for _ in range(6)))
            ready = client.get("/readyz").json()
            assert ready["ready"] is True and "last update failed at" in ready["trust"]["last_error"]
            result = client.get("/api/v1/verify", params={"token": digits}).json()
            assert result["status"] == REVOKED and result["trust"]["version"] == "v2"
            assert result["trust"]["stale"] is True and result["trust"]["age_seconds"] >= 0
            time.sleep(1.2)
            assert client.get("/readyz").json()["trust"]["age_seconds"] >= 1  # grows while failing
            assert "信任列表更新失败" in client.get(f"/c/{digits}").text

            # The original list again: fresh data, no error.
            publish_signed(path, rules_data)
            wait_for(lambda: versions(client) == {"test"})
            assert not client.get("/readyz").json()["trust"]["stale"]
    finally:
        srv.stop()
    assert "trust update failed" in srv.output()


def test_two_workers_answer_like_one(server: Server, rules_data: dict[str, Any], tmp_path: Path) -> None:
    publish_signed(tmp_path / "keys.json", rules_data)
    two = Server(tmp_path / "keys.json", tmp_path / "two.log", workers=2)
    tokens = [to_digits(token(**args)) for _, args, _, _ in RULES[:8]]

    def answers(url: str) -> list[tuple[str, list[str]]]:
        out = []
        with httpx.Client(base_url=url, timeout=10) as client:
            for digits in tokens * 3:
                data = client.get("/api/v1/verify", params={"token": digits}).json()
                out.append((data["status"], [c["code"] for c in data["checks"]]))
        return out

    try:
        assert answers(two.url) == answers(server.url)
    finally:
        two.stop()


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, timeout=60, cwd=ROOT, env={**os.environ, **(env or {})}
    )


@pytest.mark.parametrize(
    "damage",
    ["no metadata", "tampered keys.json", "unsigned"],
)
def test_refuses_to_start_without_valid_signed_trust_data(
    tmp_path: Path, rules_data: dict[str, Any], damage: str
) -> None:
    path = tmp_path / "keys.json"
    if damage == "no metadata":
        path.write_text(json.dumps(rules_data), encoding="utf-8")
    else:
        REPO.publish(rules_data, tmp_path, reviewers=[] if damage == "unsigned" else None)
        if damage == "tampered keys.json":
            path.write_bytes(path.read_bytes().replace(b'"care-org"', b'"evil-org"'))
    root, state = str(REPO.root), str(tmp_path / "state")
    cli = _run(
        [sys.executable, "-m", "xcert.cli", "serve", "--trust", str(path), "--root", root, "--state", state]
    )
    assert cli.returncode == 1 and "trust update from" in cli.stderr and "refused" in cli.stderr, cli.stderr
    assert "Traceback" not in cli.stderr
    env = {"XCERT_TRUST": str(path), "XCERT_ROOT": root, "XCERT_STATE_DIR": state}
    plain = _run([sys.executable, "-m", "uvicorn", "verify_api.app:app", "--port", str(free_port())], env)
    assert plain.returncode != 0 and "verify_api: cannot start: " in plain.stderr, plain.stderr
    assert "Traceback" not in plain.stderr


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


def test_trust_store_keeps_the_last_good_state_and_recovers(
    rules_data: dict[str, Any], tmp_path: Path
) -> None:
    """Metadata gone (a broken deploy): the last good list stays in use and the failure is
    reported without details; the same metadata back makes it current again."""
    path = tmp_path / "site" / "keys.json"
    path.parent.mkdir()
    publish_signed(path, rules_data)
    store = TrustStore(str(path), REPO.root, tmp_path / "state")
    store.load()
    assert store.status()["stale"] is False and store.status()["signed_by"] == ["reviewer-1", "reviewer-2"]
    os.replace(path.parent / "tuf", tmp_path / "away")
    assert asyncio.run(store.refresh()) is False
    status = store.status()
    assert status["stale"] is True and status["version"] == "test"
    assert "last update failed at" in str(status["last_error"]) and str(tmp_path) not in str(
        status["last_error"]
    )
    os.replace(tmp_path / "away", path.parent / "tuf")
    assert asyncio.run(store.refresh()) is False  # same content: nothing new installed
    assert store.status()["stale"] is False and store.status()["last_error"] is None


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


def test_valid_until_shows_the_last_valid_day(http: httpx.Client) -> None:
    """A certificate that expires at 2030-03-01 00:00 China time is valid until 2030-02-28."""
    raw = token(certificate="care-assist", expires_at=at("2030-03-01", hour=0))
    page = http.get(f"/c/{to_digits(raw)}").text
    assert "<dt>有效期至 Valid until</dt><dd>2030-02-28</dd>" in page


# ---------------------------------------------------------------- slow clients (raw sockets)


def test_slow_clients_cannot_hold_connections(rules_data: dict[str, Any], tmp_path: Path) -> None:
    """20 connections sending partial headers, and a POST declaring 100 bytes and sending 1,
    held connections for 40 s and 20 s before; now the header and body timeouts end them."""
    publish_signed(tmp_path / "keys.json", rules_data)
    srv = Server(tmp_path / "keys.json", tmp_path / "server.log", header_timeout=1.0, body_timeout=1.0)
    try:
        loris = [socket.create_connection(("127.0.0.1", srv.port), timeout=10) for _ in range(20)]
        for sock in loris:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        post = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        post.sendall(b"POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
        post.sendall(b"Content-Length: 100\r\n\r\n{")
        started = time.monotonic()
        assert b"408" in post.recv(4096).split(b"\r\n", 1)[0]
        for sock in loris:
            assert sock.recv(4096) == b""  # closed by the server, not answered
        assert time.monotonic() - started < 8
        for sock in [*loris, post]:
            sock.close()
        assert httpx.get(srv.url + "/healthz", timeout=5).status_code == 200  # still serving
    finally:
        srv.stop()
