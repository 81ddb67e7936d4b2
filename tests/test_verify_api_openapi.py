"""/openapi.json (verify_api/openapi.py): a valid OpenAPI 3.1 document, and real answers match it."""

from __future__ import annotations

from typing import Any

import httpx
from conftest import (
    token,
)

from xcert.token import to_digits


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
