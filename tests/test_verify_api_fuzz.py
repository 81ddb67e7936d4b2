"""Fuzzing the verify service in process: random input never becomes a 5xx.

Hypothesis drives 12,000 requests through the whole app (middleware, routing, the one
verification routine) with httpx's ASGI transport, and schemathesis checks every
operation of /openapi.json against its own schemas.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import cbor2
import pytest
import schemathesis
from conftest import RULES, InProcess, app_for, publish_signed, rules_trust, token
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from xcert.token import to_digits

pytestmark = pytest.mark.slow  # 12,000 requests and the schemathesis run: minutes on two cores

FUZZ = settings(
    max_examples=2000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
VALID_TOKENS = [token(**args) for _, args, _, _ in RULES]


@pytest.fixture(scope="module")
def trust_file(trust_json: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / "keys.json"
    publish_signed(path, rules_trust(trust_json))
    return path


@pytest.fixture(scope="module")
def client(trust_file: Path) -> Iterator[InProcess]:
    app = InProcess(app_for(trust_file, poll_seconds=0, log_requests=False))
    yield app
    app.close()


def page_ok(client: InProcess, digits: str) -> None:
    response = client.get("/c/" + quote(digits, safe=""))
    assert response.status_code in (200, 400), response.status_code
    assert '<h1 id="status">' in response.text
    if response.status_code == 400:
        assert "MALFORMED" in response.text


def api_ok(client: InProcess, text: str) -> None:
    response = client.request("POST", "/api/v1/verify", json={"token": text})
    assert response.status_code in (200, 422), response.status_code
    assert response.json()["status"] in ("valid", "invalid", "revoked", "expired", "malformed")


# CBOR values shaped a little like tokens, so the parser is exercised past its first byte.
cbor_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64 - 1)
    | st.binary(max_size=80)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.integers(-70000, 10) | st.text(max_size=3), inner, max_size=4)
    ),
    max_leaves=6,
)


def _cose_like(parts: list[Any], tag: int) -> bytes:
    try:
        return cbor2.dumps(cbor2.CBORTag(tag, parts))
    except (cbor2.CBORError, ValueError, TypeError):
        return b"\xd2"


@FUZZ
@given(digits=st.text(alphabet=string.digits, max_size=1300))
def test_random_digits(client: InProcess, digits: str) -> None:
    page_ok(client, digits)
    response = client.get("/api/v1/verify", params={"token": digits})
    assert response.status_code in (200, 422)


@FUZZ
@given(raw=st.binary(max_size=520))
def test_random_bytes_as_digits(client: InProcess, raw: bytes) -> None:
    page_ok(client, to_digits(raw))


@settings(FUZZ, max_examples=1000)
@given(parts=st.lists(cbor_values, max_size=5), tag=st.sampled_from([18, 18, 17, 98]))
def test_random_cose_like_structures(client: InProcess, parts: list[Any], tag: int) -> None:
    page_ok(client, to_digits(_cose_like(parts, tag)))


@FUZZ
@given(
    base=st.sampled_from(VALID_TOKENS),
    edits=st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(0, 255), st.sampled_from("xid")), max_size=4
    ),
)
def test_mutated_tokens(client: InProcess, base: bytes, edits: list[tuple[int, int, str]]) -> None:
    raw = bytearray(base)
    for position, value, kind in edits:
        i = position % (len(raw) + 1)
        if kind == "x" and i < len(raw):
            raw[i] ^= value or 1
        elif kind == "i":
            raw.insert(i, value)
        elif i < len(raw):
            del raw[i]
    page_ok(client, to_digits(bytes(raw)))


@FUZZ
@given(text=st.text(max_size=5000) | st.text(alphabet=string.hexdigits + "/:?#c", max_size=1300))
def test_random_token_text(client: InProcess, text: str) -> None:
    api_ok(client, text)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)


@settings(FUZZ, max_examples=1000)
@given(body=json_values | st.fixed_dictionaries({"token": json_values}))
def test_random_json_bodies(client: InProcess, body: Any) -> None:
    response = client.request("POST", "/api/v1/verify", content=json.dumps(body).encode())
    assert response.status_code in (200, 400, 422), response.status_code
    assert "error" in response.json() or "status" in response.json()


@settings(FUZZ, max_examples=1000)
@given(body=st.binary(max_size=20_000))
def test_random_byte_bodies(client: InProcess, body: bytes) -> None:
    response = client.request("POST", "/api/v1/verify", content=body)
    assert response.status_code in (200, 400, 413, 422), response.status_code


@settings(FUZZ, max_examples=1000)
@given(path=st.text(max_size=300), method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "OPTIONS", "TRACE"]))
def test_random_paths_and_methods(client: InProcess, path: str, method: str) -> None:
    response = client.request(method, "/" + quote(path, safe="/"))
    assert 200 <= response.status_code < 500, (path, method, response.status_code)


# ---------------------------------------------------------------- schemathesis


@pytest.fixture(scope="module")
def api_schema(trust_file: Path) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", app_for(trust_file, log_requests=False))


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_openapi_operations(case: Any) -> None:
    case.call_and_validate(
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ]
    )
