"""What the site's open data publishes, declared once: each entity's fields and each CSV's
columns, with their JSON Schemas (draft 2020-12) and how each is read from the model.
xcert.site.opendata writes the files from these declarations."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from operator import attrgetter
from typing import Any, NamedTuple

from ..codes import encode_b64url
from ..model import Key, Organization, Status, Text

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


class Field(NamedTuple):
    """One published field: its name, its JSON Schema, and how to read it from the model.

    Each entity's open data JSON and its JSON Schema are both made from one list of these,
    and each CSV's header, rows and schema from one list of columns, so a field is declared
    once (issue 16 §2)."""

    name: str
    schema: dict[str, Any]
    get: Callable[[Any], Any]


def obj_schema(fields: list[Field]) -> dict[str, Any]:
    return _obj({f.name: f.schema for f in fields})


def record(fields: list[Field], item: Any) -> dict[str, Any]:
    """The open data JSON object of `item`, as `fields` declare it."""
    return {f.name: f.get(item) for f in fields}


def _text(t: Text | None) -> dict[str, str | None] | None:
    return {"zh": t.zh, "en": t.en} if t else None


def _day(d: Any) -> str | None:
    return d.isoformat() if d else None


def _history(h: Iterable[Status]) -> list[dict[str, Any]]:
    return [
        {
            "status": s.status,
            "since": s.since.isoformat(),
            "bound": s.bound,
            "reason": s.reason,
            "batch": s.batch,
        }
        for s in h
    ]


def _items(fields: list[Field], items: Iterable[Any]) -> list[dict[str, Any]]:
    return [record(fields, item) for item in items]


def _list(fields: list[Field]) -> dict[str, Any]:
    return {"type": "array", "items": obj_schema(fields)}


def _field(name: str, schema: dict[str, Any]) -> Field:
    """A field read as the model's attribute of the same name."""
    return Field(name, schema, attrgetter(name))


def _strs(name: str) -> Field:
    return Field(name, STRS, lambda x: list(getattr(x, name)))


def _levels_field() -> Field:
    return Field("levels", LEVELS, lambda x: list(x.levels))


EXAMPLE = _field("example", BOOL)
SOURCES = _strs("sources")
PROVINCE = {"type": "string", "pattern": "^[0-9]{2}$"}

KEY_FIELDS = [
    Field("kid", {"type": "string", "pattern": "^[0-9a-f]{16}$"}, lambda k: k.kid.hex()),
    # the full SHA-256 as plain hex (machine form); pages show model.Key.fingerprint
    Field("fingerprint", {"type": "string", "pattern": "^[0-9a-f]{64}$"}, lambda k: k.sha256),
    Field(
        "public_key",
        {"type": "string", "pattern": "^[A-Za-z0-9_-]{43}$"},
        lambda k: encode_b64url(k.public_key),
    ),
    Field("not_before", DAY, lambda k: _day(k.not_before)),
    Field("sign_until", OPT_DAY, lambda k: _day(k.sign_until)),
    _field("status", {"enum": ["active", "retired", "compromised"]}),
    Field("retired_on", OPT_DAY, lambda k: _day(k.retired_on)),
    Field("compromised_on", OPT_DAY, lambda k: _day(k.compromised_on)),
    _field("note", OPT_STR),
]


def sorted_keys(o: Organization) -> list[Key]:
    return sorted(o.keys, key=lambda k: (k.not_before, k.kid))


ORGANIZATION_FIELDS = [
    _field("id", STR),
    Field("name", TEXT, lambda o: _text(o.name)),
    _field("uscc", OPT_STR),
    _field("kind", STR),
    _field("province", PROVINCE),
    _field("website", OPT_STR),
    Field("parent", {"oneOf": [TEXT, {"type": "null"}]}, lambda o: _text(o.parent)),
    Field("status", HISTORY, lambda o: _history(o.status)),
    Field("keys", _list(KEY_FIELDS), lambda o: _items(KEY_FIELDS, sorted_keys(o))),
    _field("sandbox", BOOL),
    EXAMPLE,
    SOURCES,
]
CERTIFICATE_FIELDS = [
    _field("code", STR),
    Field("name", TEXT, lambda c: _text(c.name)),
    _field("organization", STR),
    _field("field", STR),
    _levels_field(),
    _field("standard", OPT_STR),
    _field("batch", {"type": ["integer", "null"]}),
    Field("status", HISTORY, lambda c: _history(c.status)),
    _field("validity_years", {"type": ["integer", "null"]}),
    Field(
        "credits",
        {"type": "object", "additionalProperties": {"type": "number"}},
        lambda c: {str(k): v for k, v in sorted(c.credits.items())},
    ),
    _strs("majors"),
    EXAMPLE,
    SOURCES,
]
STANDARD_LEVEL_FIELDS = [
    _field("level", {"enum": [1, 2, 3]}),
    _field("summary", STR),
    _strs("work_areas"),
    _strs("tasks"),
    _strs("skills"),
]
STANDARD_FIELDS = [
    _field("id", STR),
    Field("title", TEXT, lambda s: _text(s.title)),
    _field("version", STR),
    _field("organization", STR),
    _field("certificate", STR),
    Field("published", DAY, lambda s: s.published.isoformat()),
    Field("levels", _list(STANDARD_LEVEL_FIELDS), lambda s: _items(STANDARD_LEVEL_FIELDS, s.levels)),
    _field("url", OPT_STR),
    _field("sha256", OPT_STR),
    EXAMPLE,
    SOURCES,
]
PILOT_FIELDS = [
    _field("certificate", STR),
    _levels_field(),
    Field("since", DAY, lambda p: _day(p.since)),
    _field("bound", BOUND),
    Field("ended", OPT_DAY, lambda p: _day(p.ended)),
]
SITE_FIELDS = [
    _field("certificate", STR),
    _levels_field(),
    Field("since", DAY, lambda s: _day(s.since)),
    _field("status", STR),
    Field("ended", OPT_DAY, lambda s: _day(s.ended)),
]
COLLEGE_FIELDS = [
    _field("id", STR),
    _field("province", PROVINCE),
    _field("code", OPT_STR),
    Field("name", TEXT, lambda k: _text(k.name)),
    _field("city", OPT_STR),
    _field("kind", {"type": "string", "description": "高职, 中职, …; 考核站点: a site, not a college"}),
    Field("pilots", _list(PILOT_FIELDS), lambda k: _items(PILOT_FIELDS, k.pilots)),
    Field("sites", _list(SITE_FIELDS), lambda k: _items(SITE_FIELDS, k.sites)),
    EXAMPLE,
    SOURCES,
]
NOTICE_FIELDS = [
    _field("slug", STR),
    Field("date", DAY, lambda n: n.date.isoformat()),
    Field("title", TEXT, lambda n: _text(n.title)),
    _field("kind", STR),
    Field(
        "related",
        {"type": "object", "additionalProperties": STRS},
        lambda n: {k: list(v) for k, v in sorted(n.related.items())},
    ),
    Field("body_markdown", STR, attrgetter("body")),
    EXAMPLE,
    SOURCES,
]
REVOCATIONS = _obj(
    {
        "organization": STR,
        "revoked": {
            "type": "array",
            "items": _obj({"serial": STR, "date": DAY, "reason": STR, "certificate": OPT_STR}),
        },
    }
)
# entity → its fields: /data/<entity>s/<id>.json, its item in registry.json, and their schemas
ENTITY_FIELDS = {
    "organization": ORGANIZATION_FIELDS,
    "certificate": CERTIFICATE_FIELDS,
    "standard": STANDARD_FIELDS,
    "college": COLLEGE_FIELDS,
    "notice": NOTICE_FIELDS,
}


# ---------------------------------------------------------------- CSV


class Sub(NamedTuple):
    """A CSV row of a nested item (a key, pilot, site, revocation) with its parent."""

    parent: Any
    item: Any
    organization: str | None = None  # a site's certificate's organization


Column = tuple[str, Callable[[Any], Any]]  # header, cell of a row's model object; every cell flat text


def _join(levels: Iterable[int]) -> str:
    return "|".join(str(lv) for lv in levels)


def _last(h: tuple[Status, ...]) -> Status | None:
    return h[-1] if h else None


def _status_columns() -> list[Column]:
    return [
        ("status", lambda x: s.status if (s := _last(x.status)) else ""),
        ("status_since", lambda x: s.since.isoformat() if (s := _last(x.status)) else ""),
    ]


_STATUS_BOUND: Column = ("status_bound", lambda x: s.bound if (s := _last(x.status)) else None)


def _sub(field: Field) -> Column:
    return field.name, lambda row: field.get(row.item)


# kind → columns, in order; new columns go last, so that readers by position keep working
CSV: dict[str, list[Column]] = {
    "organizations": [
        ("id", attrgetter("id")),
        ("name_zh", lambda o: o.name.zh),
        ("name_en", lambda o: o.name.en),
        *((n, attrgetter(n)) for n in ("uscc", "kind", "province", "website")),
        *_status_columns(),
        ("sandbox", attrgetter("sandbox")),
        ("example", attrgetter("example")),
        _STATUS_BOUND,
    ],
    "keys": [("organization", lambda row: row.parent.id)] + [_sub(f) for f in KEY_FIELDS if f.name != "note"],
    "certificates": [
        ("code", attrgetter("code")),
        ("name_zh", lambda c: c.name.zh),
        ("name_en", lambda c: c.name.en),
        ("organization", attrgetter("organization")),
        ("field", attrgetter("field")),
        ("levels", lambda c: _join(c.levels)),
        ("standard", attrgetter("standard")),
        ("batch", attrgetter("batch")),
        *_status_columns(),
        ("validity_years", attrgetter("validity_years")),
        ("example", attrgetter("example")),
        _STATUS_BOUND,
    ],
    "standards": [
        ("id", attrgetter("id")),
        ("title_zh", lambda s: s.title.zh),
        ("title_en", lambda s: s.title.en),
        *((n, attrgetter(n)) for n in ("version", "organization", "certificate")),
        ("published", lambda s: s.published.isoformat()),
        *((n, attrgetter(n)) for n in ("url", "sha256", "example")),
    ],
    "colleges": [
        *((n, attrgetter(n)) for n in ("id", "province", "code")),
        ("name_zh", lambda k: k.name.zh),
        ("name_en", lambda k: k.name.en),
        *((n, attrgetter(n)) for n in ("city", "kind")),
        ("pilots", lambda k: len(k.pilots)),
        ("sites", lambda k: len(k.sites)),
        ("example", attrgetter("example")),
    ],
    "pilots": [
        ("college", lambda row: row.parent.id),
        ("province", lambda row: row.parent.province),
        ("certificate", lambda row: row.item.certificate),
        ("levels", lambda row: _join(row.item.levels)),
        ("since", lambda row: _day(row.item.since)),
        ("ended", lambda row: _day(row.item.ended)),
        ("bound", lambda row: row.item.bound),
    ],
    "sites": [
        ("college", lambda row: row.parent.id),
        ("province", lambda row: row.parent.province),
        ("certificate", lambda row: row.item.certificate),
        ("levels", lambda row: _join(row.item.levels)),
        ("since", lambda row: _day(row.item.since)),
        ("status", lambda row: row.item.status),
        ("ended", lambda row: _day(row.item.ended)),
        ("college_kind", lambda row: row.parent.kind),
        ("organization", lambda row: row.organization),
        ("example", lambda row: row.parent.example),
    ],
    "revocations": [
        ("organization", lambda row: row.parent),
        ("serial", lambda row: row.item.serial),
        ("certificate", lambda row: row.item.certificate),
        ("date", lambda row: _day(row.item.date)),
        ("reason", lambda row: row.item.reason),
    ],
    "notices": [
        ("slug", attrgetter("slug")),
        ("date", lambda n: n.date.isoformat()),
        ("kind", attrgetter("kind")),
        ("title_zh", lambda n: n.title.zh),
        ("title_en", lambda n: n.title.en),
        ("example", attrgetter("example")),
    ],
}
CSV_COLUMNS = {kind: [name for name, _ in columns] for kind, columns in CSV.items()}  # for readers


def csv_header(kind: str) -> list[str]:
    return [name for name, _ in CSV[kind]]


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
                    "organizations": _list(ENTITY_FIELDS["organization"]),
                    "certificates": _list(ENTITY_FIELDS["certificate"]),
                    "standards": _list(ENTITY_FIELDS["standard"]),
                    "colleges": _list(ENTITY_FIELDS["college"]),
                    "revocations": {"type": "array", "items": REVOCATIONS},
                    "notices": _list(ENTITY_FIELDS["notice"]),
                }
            ),
        ),
    }
    for kind, fields in ENTITY_FIELDS.items():
        schema = obj_schema(fields)
        out[f"{kind}.schema.json"] = _doc(
            base, f"{kind}.schema.json", f"/data/{kind}s/<id>.json: one {kind}", _obj({**STAMP, kind: schema})
        )
    for kind in CSV:
        columns = csv_header(kind)
        out[f"{kind}.csv.schema.json"] = _doc(
            base,
            f"{kind}.csv.schema.json",
            f"/data/{kind}.csv: one row, as a header-keyed object of strings (UTF-8 with BOM)",
            _obj({c: STR for c in columns}),
        )
    return out
