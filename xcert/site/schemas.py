"""JSON Schemas (draft 2020-12) of every open data file the site publishes."""

from __future__ import annotations

from typing import Any

from .opendata import CSV_COLUMNS

BASE = "https://json-schema.org/draft/2020-12/schema"
STR = {"type": "string"}
OPT_STR = {"type": ["string", "null"]}
DAY = {"type": "string", "format": "date"}
OPT_DAY = {"type": ["string", "null"], "format": "date"}
BOOL = {"type": "boolean"}
LEVELS = {"type": "array", "items": {"enum": [1, 2, 3]}}
STRS = {"type": "array", "items": STR}
TEXT = {
    "type": "object",
    "properties": {"zh": STR, "en": OPT_STR},
    "required": ["zh", "en"],
    "additionalProperties": False,
}


def _obj(props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": sorted(props), "additionalProperties": False}


# not-after: `since` is the latest the day can be (不晚于); not-before: the earliest (不早于)
BOUND = {"enum": ["not-after", "not-before", None]}
HISTORY = {
    "type": "array",
    "items": _obj(
        {
            "status": STR,
            "since": DAY,
            "bound": BOUND,
            "reason": OPT_STR,
            "batch": {"type": ["integer", "null"]},
        }
    ),
}
STAMP = {"version": STR, "commit": OPT_STR, "generated_at": {"type": "string", "format": "date-time"}}

KEY = _obj(
    {
        "kid": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
        "fingerprint": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "public_key": {"type": "string", "pattern": "^[A-Za-z0-9_-]{43}$"},
        "not_before": DAY,
        "sign_until": OPT_DAY,
        "status": {"enum": ["active", "retired", "compromised"]},
        "retired_on": OPT_DAY,
        "compromised_on": OPT_DAY,
        "note": OPT_STR,
    }
)
ORGANIZATION = _obj(
    {
        "id": STR,
        "name": TEXT,
        "uscc": OPT_STR,
        "kind": STR,
        "province": {"type": "string", "pattern": "^[0-9]{2}$"},
        "website": OPT_STR,
        "parent": {"oneOf": [TEXT, {"type": "null"}]},
        "status": HISTORY,
        "keys": {"type": "array", "items": KEY},
        "sandbox": BOOL,
        "example": BOOL,
        "sources": STRS,
    }
)
CERTIFICATE = _obj(
    {
        "code": STR,
        "name": TEXT,
        "organization": STR,
        "field": STR,
        "levels": LEVELS,
        "standard": OPT_STR,
        "batch": {"type": ["integer", "null"]},
        "status": HISTORY,
        "validity_years": {"type": ["integer", "null"]},
        "credits": {"type": "object", "additionalProperties": {"type": "number"}},
        "majors": STRS,
        "example": BOOL,
        "sources": STRS,
    }
)
STANDARD = _obj(
    {
        "id": STR,
        "title": TEXT,
        "version": STR,
        "organization": STR,
        "certificate": STR,
        "published": DAY,
        "levels": {
            "type": "array",
            "items": _obj(
                {
                    "level": {"enum": [1, 2, 3]},
                    "summary": STR,
                    "work_areas": STRS,
                    "tasks": STRS,
                    "skills": STRS,
                }
            ),
        },
        "url": OPT_STR,
        "sha256": OPT_STR,
        "example": BOOL,
        "sources": STRS,
    }
)
COLLEGE = _obj(
    {
        "id": STR,
        "province": {"type": "string", "pattern": "^[0-9]{2}$"},
        "code": OPT_STR,
        "name": TEXT,
        "city": OPT_STR,
        "kind": {"type": "string", "description": "高职, 中职, …; 考核站点: a site, not a college"},
        "pilots": {
            "type": "array",
            "items": _obj(
                {"certificate": STR, "levels": LEVELS, "since": DAY, "bound": BOUND, "ended": OPT_DAY}
            ),
        },
        "sites": {
            "type": "array",
            "items": _obj(
                {"certificate": STR, "levels": LEVELS, "since": DAY, "status": STR, "ended": OPT_DAY}
            ),
        },
        "example": BOOL,
        "sources": STRS,
    }
)
NOTICE = _obj(
    {
        "slug": STR,
        "date": DAY,
        "title": TEXT,
        "kind": STR,
        "related": {"type": "object", "additionalProperties": STRS},
        "body_markdown": STR,
        "example": BOOL,
        "sources": STRS,
    }
)
REVOCATIONS = _obj(
    {
        "organization": STR,
        "revoked": {
            "type": "array",
            "items": _obj({"serial": STR, "date": DAY, "reason": STR, "certificate": OPT_STR}),
        },
    }
)
ENTITIES = {
    "organization": ORGANIZATION,
    "certificate": CERTIFICATE,
    "standard": STANDARD,
    "college": COLLEGE,
    "notice": NOTICE,
}


INSTANT = {"type": "string", "format": "date-time"}
OPT_INSTANT = {"type": ["string", "null"], "format": "date-time"}
SINCE = {"type": "array", "items": _obj({"status": STR, "since": INSTANT})}
TRUST_LIST = _obj(
    {
        "format": {"const": "xcert-trust-list/2"},
        "version": STR,
        "registry": _obj({"name": TEXT, "site_url": STR, "verify_url": STR}),
        "organizations": {
            "type": "array",
            "items": _obj(
                {
                    "id": STR,
                    "name": TEXT,
                    "sandbox": BOOL,
                    "example": BOOL,
                    "status": SINCE,
                    "keys": {
                        "type": "array",
                        "items": _obj(
                            {
                                "kid": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
                                "alg": {"const": "EdDSA"},
                                "crv": {"const": "Ed25519"},
                                "public_key": {"type": "string", "pattern": "^[A-Za-z0-9_-]{43}$"},
                                "status": {"enum": ["active", "retired", "compromised"]},
                                "sign_from": INSTANT,
                                "sign_before": OPT_INSTANT,
                                "retired_at": OPT_INSTANT,
                                "compromised_at": OPT_INSTANT,
                            }
                        ),
                    },
                    "certificates": {
                        "type": "array",
                        "items": _obj(
                            {
                                "code": STR,
                                "name": TEXT,
                                "levels": LEVELS,
                                "status": SINCE,
                                "validity_years": {"type": ["integer", "null"]},
                            }
                        ),
                    },
                    "revocations": {
                        "type": "array",
                        "items": _obj({"serial": STR, "date": DAY, "reason": STR, "certificate": OPT_STR}),
                    },
                }
            ),
        },
    }
)


def _doc(base: str, name: str, title: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"$schema": BASE, "$id": f"{base}/data/schema/{name}", "title": title, **schema}


def all_schemas(site_url: str) -> dict[str, dict[str, Any]]:
    """Schemas of the published files, by file name under /data/schema/."""
    base = site_url.rstrip("/")
    out = {
        "keys.schema.json": _doc(base, "keys.schema.json", "/keys.json: the trust list", TRUST_LIST),
        "registry.schema.json": _doc(
            base,
            "registry.schema.json",
            "/data/registry.json: the whole registry",
            _obj(
                {
                    "format": {"const": "xcert-registry/1"},
                    **STAMP,
                    "settings": _obj(
                        {
                            "name": TEXT,
                            "site_url": STR,
                            "verify_url": STR,
                            "fields": {"type": "array", "items": _obj({"id": STR, "zh": STR, "en": STR})},
                        }
                    ),
                    "organizations": {"type": "array", "items": ORGANIZATION},
                    "certificates": {"type": "array", "items": CERTIFICATE},
                    "standards": {"type": "array", "items": STANDARD},
                    "colleges": {"type": "array", "items": COLLEGE},
                    "revocations": {"type": "array", "items": REVOCATIONS},
                    "notices": {"type": "array", "items": NOTICE},
                }
            ),
        ),
    }
    for kind, schema in ENTITIES.items():
        out[f"{kind}.schema.json"] = _doc(
            base, f"{kind}.schema.json", f"/data/{kind}s/<id>.json: one {kind}", _obj({**STAMP, kind: schema})
        )
    for kind, columns in CSV_COLUMNS.items():
        out[f"{kind}.csv.schema.json"] = _doc(
            base,
            f"{kind}.csv.schema.json",
            f"/data/{kind}.csv: one row, as a header-keyed object of strings (UTF-8 with BOM)",
            _obj({c: STR for c in columns}),
        )
    return out
