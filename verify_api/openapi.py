"""The OpenAPI 3.1 document of the service, written by hand (tests validate it and fuzz against it)."""

from __future__ import annotations

from typing import Any

from xcert.verify import CHECKS, EXPIRED, INVALID, MALFORMED, REVOKED, TEST, VALID, WARNINGS

STATUSES = [VALID, INVALID, REVOKED, EXPIRED, MALFORMED, TEST]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_NAME = {
    "type": "object",
    "properties": {"zh": {"type": ["string", "null"]}, "en": {"type": ["string", "null"]}},
    "required": ["zh"],
}

_SCHEMAS: dict[str, Any] = {
    "Check": {
        "type": "object",
        "required": ["code", "ok", "detail"],
        "additionalProperties": False,
        "properties": {
            "code": {"type": "string", "enum": list(CHECKS)},
            "ok": {"type": "boolean"},
            "detail": {"type": "string"},
        },
    },
    "Reason": {
        "type": "object",
        "description": "A failed check in plain words (Chinese and English).",
        "required": ["code", "zh", "en"],
        "additionalProperties": False,
        "properties": {
            "code": {"type": "string", "enum": list(CHECKS)},
            "zh": {"type": "string"},
            "en": {"type": "string"},
        },
    },
    "Claims": {
        "type": "object",
        "description": "The signed certificate content; present only once the signature verified.",
        "required": [
            "certificate",
            "level",
            "level_name",
            "serial",
            "holder_name",
            "id_tail",
            "college",
            "issued_at",
            "expires_at",
        ],
        "additionalProperties": False,
        "properties": {
            "certificate": {"type": "string"},
            "level": {"type": "integer", "enum": [1, 2, 3]},
            "level_name": _NAME,
            "serial": {"type": "string"},
            "holder_name": {"type": "string"},
            "id_tail": {"type": "string", "pattern": "^[0-9]{3}[0-9X]$"},
            "college": {"type": ["string", "null"]},
            "issued_at": {"type": "string", "format": "date-time"},
            "expires_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "Issuer": {
        "type": "object",
        "required": ["id", "name", "sandbox"],
        "additionalProperties": False,
        "properties": {"id": {"type": "string"}, "name": _NAME, "sandbox": {"type": "boolean"}},
    },
    "Certificate": {
        "type": "object",
        "required": ["code", "name"],
        "additionalProperties": False,
        "properties": {"code": {"type": "string"}, "name": _NAME},
    },
    "Key": {
        "type": "object",
        "description": "The key that signed the token, as the trust list describes it now.",
        "required": ["kid", "status", "retired_at", "compromised_at"],
        "additionalProperties": False,
        "properties": {
            "kid": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
            "status": {"type": "string", "enum": ["active", "retired", "compromised"]},
            "retired_at": {"type": ["string", "null"], "format": "date-time"},
            "compromised_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "Record": {
        "type": "object",
        "description": "The earliest published issuance record holding this token "
        "(docs/issuance-records.md). `published` is the first signed trust-list version that "
        "carried it, never a date the organization wrote.",
        "required": ["organization", "batch", "published", "tree_hash"],
        "additionalProperties": False,
        "properties": {
            "organization": {"type": "string"},
            "batch": {"type": "string"},
            "published": {"type": "string", "format": "date-time"},
            "tree_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        },
    },
    "Warning": {
        "type": "object",
        "description": "Something a careful reader should know; never changes the status.",
        "required": ["code", "detail"],
        "additionalProperties": False,
        "properties": {"code": {"type": "string", "enum": list(WARNINGS)}, "detail": {"type": "string"}},
    },
    "Trust": {
        "type": "object",
        "description": "The signed trust list the result was reached with, who vouched for it, and how "
        "fresh it is. While `test_root` is true the whole chain rests on TEST-ONLY keys published in the "
        "source repository: nothing verified by it is real.",
        "required": ["version", "loaded_at", "age_seconds", "stale", "expired", "last_error"],
        "additionalProperties": False,
        "properties": {
            "loaded": {"type": "boolean"},
            "source": {"type": "string", "enum": ["file", "url"]},
            "version": {"type": "string", "description": "Digest of the trust content (keys.json)."},
            "root_version": {"type": "integer", "minimum": 1},
            "test_root": {"type": "boolean", "description": "The TEST-ONLY development root is in use."},
            "targets_version": {"type": "integer", "minimum": 1},
            "signed_by": {
                "type": "array",
                "items": {"type": "string"},
                "description": "The security reviewers whose signatures over keys.json verified.",
            },
            "threshold": {"type": "integer", "minimum": 1},
            "snapshot_version": {"type": "integer", "minimum": 1},
            "timestamp_version": {"type": "integer", "minimum": 1},
            "expires": {
                "type": "string",
                "format": "date-time",
                "description": "After this instant (the signed timestamp's expiry) nothing is valid.",
            },
            "loaded_at": {"type": "string", "format": "date-time"},
            "age_seconds": {
                "type": "integer",
                "minimum": 0,
                "description": "Seconds since the source was last confirmed current; grows while "
                "updates fail.",
            },
            "stale": {"type": "boolean", "description": "The last update failed, or the list expired."},
            "expired": {"type": "boolean", "description": "The signed timestamp has expired."},
            "last_error": {"type": ["string", "null"]},
            "last_error_at": {"type": ["string", "null"], "format": "date-time"},
            "records": {"type": "integer", "minimum": 0, "description": "Issuance records in use."},
            "record_problems": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Issuance records refused (changed, retroactive, unsigned), in plain words.",
            },
        },
    },
    "Result": {
        "type": "object",
        "required": [
            "status",
            "test",
            "verified_at",
            "checks",
            "reasons",
            "claims",
            "issuer",
            "certificate",
            "key",
            "record",
            "warnings",
            "trust",
        ],
        "additionalProperties": False,
        "properties": {
            "status": {
                "type": "string",
                "enum": STATUSES,
                "description": "Only `valid` means a real, genuine certificate. `test`: every check "
                "passed but it was signed with the public sandbox key, which anyone can use: never "
                "accept it as a certificate.",
            },
            "test": {"type": "boolean", "description": "Signed with the public sandbox key: not real."},
            "verified_at": {"type": "string", "format": "date-time"},
            "checks": {"type": "array", "items": _ref("Check"), "minItems": 1},
            "reasons": {"type": "array", "items": _ref("Reason")},
            "claims": {"oneOf": [_ref("Claims"), {"type": "null"}]},
            "issuer": {"oneOf": [_ref("Issuer"), {"type": "null"}]},
            "certificate": {"oneOf": [_ref("Certificate"), {"type": "null"}]},
            "key": {"oneOf": [_ref("Key"), {"type": "null"}]},
            "record": {"oneOf": [_ref("Record"), {"type": "null"}]},
            "warnings": {"type": "array", "items": _ref("Warning")},
            "trust": _ref("Trust"),
        },
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "additionalProperties": False,
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            }
        },
    },
    "VerifyRequest": {
        "type": "object",
        "required": ["token"],
        "additionalProperties": False,
        "properties": {
            "token": {
                "type": "string",
                "description": "A verify URL (…/c/<digits>), the digits, or the token in hex.",
            }
        },
    },
    "Ready": {
        "type": "object",
        "required": ["ready", "trust"],
        "properties": {"ready": {"type": "boolean"}, "trust": _ref("Trust")},
    },
}

_RESULT_RESPONSES = {
    "200": _json(_ref("Result"), "Verified: status is valid, invalid, revoked or expired."),
    "400": _json(_ref("Error"), "The request itself is wrong (missing token, bad JSON, wrong shape)."),
    "422": _json(_ref("Result"), "The token is malformed (status `malformed`), with the reason."),
}

_TOKEN_PARAM = {
    "name": "token",
    "in": "query",
    "required": True,
    "description": "A verify URL, the digits of one, or the token in hex.",
    "schema": {"type": "string"},
}


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "1+X certificate verification",
            "version": "1",
            "description": "Checks a 1+X vocational skill certificate token against the published "
            "trust list. Every result lists each check with a stable code.",
        },
        "paths": {
            "/c/{digits}": {
                "get": {
                    "operationId": "resultPage",
                    "summary": "The page a certificate's QR code opens (HTML, no JavaScript).",
                    "parameters": [
                        {
                            "name": "digits",
                            "in": "path",
                            "required": True,
                            "description": "The token as digits (docs/token-format.md).",
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {"description": "The verdict page.", "content": {"text/html": {}}},
                        "400": {"description": "The malformed-token page.", "content": {"text/html": {}}},
                    },
                }
            },
            "/api/v1/verify": {
                "get": {
                    "operationId": "verifyGet",
                    "summary": "Verify a token given in the query string.",
                    "parameters": [_TOKEN_PARAM],
                    "responses": _RESULT_RESPONSES,
                },
                "post": {
                    "operationId": "verifyPost",
                    "summary": "Verify a token given in a JSON body.",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("VerifyRequest")}},
                    },
                    "responses": {
                        **_RESULT_RESPONSES,
                        "413": _json(_ref("Error"), "The body is larger than any token request."),
                    },
                },
            },
            "/healthz": {
                "get": {
                    "operationId": "health",
                    "summary": "The process is up.",
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["status"],
                                "properties": {"status": {"const": "ok"}},
                            },
                            "Alive.",
                        )
                    },
                }
            },
            "/readyz": {
                "get": {
                    "operationId": "ready",
                    "summary": "Serving, with the trust list's version, age and last reload error.",
                    "responses": {
                        "200": _json(_ref("Ready"), "Ready (possibly with stale data: see trust.stale)."),
                        "503": _json(_ref("Ready"), "The trust list is older than the allowed maximum."),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document.",
                    "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1 document.")},
                }
            },
        },
        "components": {"schemas": _SCHEMAS},
    }
