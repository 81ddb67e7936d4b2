"""The one description of every registry file kind.

The same declarations check the files (every problem, located) and generate the JSON
Schema that editors use while typing, so the two can never drift apart.
"""

from __future__ import annotations

import calendar
import datetime as dt
import difflib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from . import codes, lookalike
from .problems import Problems
from .token import MAX_TIME
from .yamlsrc import InvalidDate, YList, YMap, loc_at, source_text

Checker = Callable[[str], str | None]


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dt.datetime):
        return "date-time"
    names = {int: "integer", float: "number", str: "string", dt.date: "date"}
    for t, name in names.items():
        if isinstance(value, t):
            return name
    return "mapping" if isinstance(value, dict) else "list"


class Type:
    doc: str = ""

    def check(self, value: Any, where: str, path: str, pos: int, out: Problems) -> None:
        raise NotImplementedError

    def json_schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def _schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {**schema, "description": self.doc} if self.doc else schema


@dataclass
class Text(Type):
    """A string; by default a human-readable one held to the name policy."""

    doc: str = ""
    pattern: str | None = None
    enum: tuple[str, ...] | None = None
    check_fn: Checker | None = None
    max_len: int = 2000
    example: str | None = None
    shape: str | None = None  # what the pattern means, for messages

    def check(self, value: Any, where: str, path: str, pos: int, out: Problems) -> None:
        if not isinstance(value, str):
            hint = (
                f' (quote it: "{source_text(value)}": {QUOTE_CODES})'
                if isinstance(value, int | float)
                else ""
            )
            if isinstance(value, bool):  # true/yes/on: the spelling is not kept
                hint = " (quote it)"
            if isinstance(value, dt.date):
                hint = f' (quote it: "{value.isoformat()}"; this field is text, not a date)'
            out.error(loc_at(path, pos), f"{where}: expected a string, got {_kind(value)}{hint}")
            return
        if message := _text_policy(value, self.max_len):
            out.error(loc_at(path, pos), f"{where}: {message}")
        elif self.enum is not None and value not in self.enum:
            close = difflib.get_close_matches(value, self.enum, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            out.error(loc_at(path, pos), f"{where}: '{value}' is not one of {', '.join(self.enum)}{hint}")
        elif self.pattern is not None and not re.fullmatch(self.pattern, value):
            example = f", e.g. '{self.example}'" if self.example else ""
            shape = self.shape or f"matching {self.pattern}"
            out.error(loc_at(path, pos), f"{where}: '{value}' is not {shape}{example}")
        elif self.check_fn is not None and (message := self.check_fn(value)):
            out.error(loc_at(path, pos), f"{where}: {message}")

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": self.max_len}
        if self.enum is not None:
            schema["enum"] = list(self.enum)
        if self.pattern is not None:
            schema["pattern"] = f"^(?:{self.pattern})$"
        return self._schema(schema)


def _text_policy(value: str, max_len: int) -> str | None:
    """Names are compared and searched as text: keep them in one canonical form."""
    if not value:
        return "must not be empty"
    if len(value) > max_len:
        return f"is {len(value)} characters long; the limit is {max_len}"
    if value != value.strip():
        return f"'{value}' has leading or trailing spaces"
    if not unicodedata.is_normalized("NFC", value):
        return f"'{value}' is not in Unicode NFC form (normalise it before committing)"
    if value.isascii() and value.isprintable():
        return None
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\n\t":
            return f"contains the invisible control character U+{ord(ch):04X}"
    return lookalike.invisible_problem(value)  # Hangul fillers, braille blank, ...


SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"


def Slug(doc: str) -> Text:  # noqa: N802 - reads like a type in the declarations below
    return Text(doc=doc, pattern=SLUG, max_len=64, example="elderly-care", shape="an id of a-z, 0-9 and -")


@dataclass
class Int(Type):
    doc: str = ""
    minimum: int | None = None
    maximum: int | None = None

    def check(self, value: Any, where: str, path: str, pos: int, out: Problems) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            out.error(loc_at(path, pos), f"{where}: expected an integer, got {_kind(value)}")
        elif self.minimum is not None and value < self.minimum:
            out.error(loc_at(path, pos), f"{where}: {value} is below the minimum {self.minimum}")
        elif self.maximum is not None and value > self.maximum:
            out.error(loc_at(path, pos), f"{where}: {value} is above the maximum {self.maximum}")

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer"}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        return self._schema(schema)


@dataclass
class Date(Type):
    doc: str = ""

    def check(self, value: Any, where: str, path: str, pos: int, out: Problems) -> None:
        if isinstance(value, InvalidDate):
            out.error(loc_at(path, pos), f"{where}: {value} is not a calendar day: {_out_of_range(value)}")
        elif isinstance(value, str) and ISO_DAY.fullmatch(value.strip()):
            out.error(loc_at(path, pos), f"{where}: '{value}' is quoted, so YAML reads it as text: {QUOTING}")
        elif isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            got = f"'{value}'" if isinstance(value, str) else _kind(value)
            out.error(loc_at(path, pos), f"{where}: expected a date YYYY-MM-DD, got {got}")

    def json_schema(self) -> dict[str, Any]:
        return self._schema({"type": "string", "format": "date"})


ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# The two quoting rules, said wherever one is broken: YAML reads an unquoted 2024-09-01 as
# a date and unquoted digits as a number, so dates go bare and codes go in quotes.
QUOTING = "remove the quotes (dates are written bare, since: 2024-09-01; codes and other text are quoted)"
QUOTE_CODES = "codes and other text are quoted; dates are not"


def _out_of_range(text: str) -> str:
    """Which part of a YYYY-MM-DD that is no day is out of range, and its range."""
    year, month, day = (int(part) for part in text.split("-"))
    if not year:
        return "year 0000 is out of range (0001-9999)"
    if not 1 <= month <= 12:
        return f"month {month:02d} is out of range (01-12)"
    last = calendar.monthrange(year, month)[1]
    return f"day {day:02d} is out of range for {calendar.month_name[month]} {year} (01-{last})"


@dataclass
class Bool(Type):
    doc: str = ""

    def check(self, value: Any, where: str, path: str, pos: int, out: Problems) -> None:
        if not isinstance(value, bool):
            out.error(loc_at(path, pos), f"{where}: expected true or false, got {_kind(value)}")

    def json_schema(self) -> dict[str, Any]:
        return self._schema({"type": "boolean"})


@dataclass
class Nullable(Type):
    inner: Type
    doc: str = ""

    def check(self, value: Any, where: str, path: str, pos: int, out: Problems) -> None:
        if value is not None:
            self.inner.check(value, where, path, pos, out)

    def json_schema(self) -> dict[str, Any]:
        return self._schema({"anyOf": [self.inner.json_schema(), {"type": "null"}]})


@dataclass
class ListOf(Type):
    item: Type
    doc: str = ""
    min_items: int = 0
    unique: bool = False

    def check(self, value: Any, where: str, path: str, pos: int, out: Problems) -> None:
        if not isinstance(value, list):
            out.error(loc_at(path, pos), f"{where}: expected a list, got {_kind(value)}")
            return
        if len(value) < self.min_items:
            out.error(loc_at(path, pos), f"{where}: needs at least {self.min_items} item(s)")
        item_pos = value.item_pos if isinstance(value, YList) else [pos] * len(value)
        seen: set[Any] = set()
        for i, item in enumerate(value):
            self.item.check(item, f"{where}[{i}]", path, item_pos[i], out)
            if self.unique and isinstance(item, str | int):
                if item in seen:
                    out.error(loc_at(path, item_pos[i]), f"{where}[{i}]: '{item}' is listed twice")
                seen.add(item)

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "array", "items": self.item.json_schema()}
        if self.min_items:
            schema["minItems"] = self.min_items
        if self.unique:
            schema["uniqueItems"] = True
        return self._schema(schema)


@dataclass
class F:
    """A field of an object: its type, whether it must be present, and its meaning."""

    type: Type
    required: bool = False


@dataclass
class Obj(Type):
    fields: dict[Any, F]
    doc: str = ""
    rules: list[Callable[[YMap, str, Problems], None]] = field(default_factory=list)

    def check(self, value: Any, where: str, path: str, pos: int, out: Problems) -> None:
        if not isinstance(value, dict):
            out.error(loc_at(path, pos), f"{where or 'file'}: expected a mapping, got {_kind(value)}")
            return
        prefix = f"{where}." if where else ""
        key_pos = value.key_pos if isinstance(value, YMap) else {}
        value_pos = value.value_pos if isinstance(value, YMap) else {}
        for key in value:
            if key not in self.fields:
                allowed = [str(k) for k in self.fields]
                close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                out.error(loc_at(path, key_pos.get(key, pos)), f"{prefix}{key}: unknown key{hint}")
        for key, spec in self.fields.items():
            if key in value:
                spec.type.check(value[key], f"{prefix}{key}", path, value_pos.get(key, pos), out)
            elif spec.required:
                out.error(loc_at(path, pos), f"{prefix}missing required key '{key}'")
        if isinstance(value, YMap):
            for rule in self.rules:
                rule(value, prefix, out)

    def json_schema(self) -> dict[str, Any]:
        return self._schema(
            {
                "type": "object",
                "properties": {str(k): f.type.json_schema() for k, f in self.fields.items()},
                "required": [str(k) for k, f in self.fields.items() if f.required],
                "additionalProperties": False,
            }
        )


# ---------------------------------------------------------------- shared parts


def _only_with(field_name: str, needs: str) -> Callable[[YMap, str, Problems], None]:
    def rule(m: YMap, prefix: str, out: Problems) -> None:
        if field_name in m and needs not in m:
            out.error(m.key_loc(field_name), f"{prefix}{field_name}: only allowed with '{needs}'")

    return rule


def _ordered(earlier: str, later: str) -> Callable[[YMap, str, Problems], None]:
    def rule(m: YMap, prefix: str, out: Problems) -> None:
        a, b = m.get(earlier), m.get(later)
        if _is_date(a) and _is_date(b) and b < a:
            out.error(m.value_loc(later), f"{prefix}{later}: {b} is before {earlier} {a}")

    return rule


def _is_date(v: Any) -> TypeGuard[dt.date]:
    return isinstance(v, dt.date) and not isinstance(v, dt.datetime)


def _lang_text(doc: str, en_required: bool = False, name: bool = False) -> Obj:
    """Chinese and English text; a `name` is also held to the lookalike rules (lookalike.py)."""
    check = lookalike.name_problem if name else None
    return Obj(
        {
            "zh": F(Text("Chinese text", check_fn=check), True),
            "en": F(Text("English text", check_fn=check), en_required),
        },
        doc=doc,
    )


LEVEL = Int("Certificate level: 1 初级 primary, 2 中级 intermediate, 3 高级 advanced", 1, 3)
LEVELS = ListOf(LEVEL, "Levels, a subset of 1, 2, 3", min_items=1, unique=True)
SOURCES = ListOf(Text("A URL or document number"), "Where the facts come from")
EXAMPLE = Bool("Illustrative entry, not an official fact: the site labels it as example data")
PROVINCE = Text("GB/T 2260 two-digit province code, quoted", enum=tuple(codes.PROVINCES), max_len=2)
URL = Text(
    "An http(s) URL",
    pattern=r"https?://[^\s<>\"']+",
    example="https://www.example.org/",
    shape="an http(s) URL",
)
# The registry's own addresses: pages and every QR code are built by appending to them, so
# a query or fragment would swallow the token, and a QR code holds ASCII only.
BASE_URL = Text(
    "The http(s) address pages and QR codes are built on",
    pattern=r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s<>\"'?#]*)?",
    example="https://verify.example.cn",
    shape="an http(s) address: ASCII host (xn-- form for a Chinese domain), no ?query or #fragment",
)


BOUND = Text(
    "How exact `since` is: not-after = the day is not public, and this date is the latest it "
    "can be (no later than); not-before = the earliest (no earlier than). Omitted: the exact day",
    enum=("not-after", "not-before"),
)


def _status_history(states: tuple[str, ...], with_batch: bool) -> ListOf:
    fields = {
        "status": F(Text("State from this date on", enum=states), True),
        "since": F(Date("First day of this state (China Standard Time)"), True),
        "reason": F(Text("Why; cite the notice")),
        "bound": F(BOUND),
    }
    if with_batch:
        fields["batch"] = F(Int("Pilot batch number", 1, 99))
    return ListOf(
        Obj(fields),
        "Status history, oldest first; dates strictly increasing",
        min_items=1,
    )


# ---------------------------------------------------------------- file kinds

REGISTRY = Obj(
    {
        "name": F(_lang_text("Registry name", en_required=True), True),
        "site_url": F(BASE_URL, True),
        "verify_url": F(BASE_URL, True),
        "fields": F(
            ListOf(
                Obj(
                    {
                        "id": F(Slug("Permanent field id"), True),
                        "zh": F(Text("Chinese name"), True),
                        "en": F(Text("English name"), True),
                    }
                ),
                "Occupational fields (职业领域)",
                min_items=1,
            ),
            True,
        ),
        "issuance_record_required_after_days": F(
            Int(
                "Policy: a token older than this many days with no issuance record gets a warning",
                1,
                36500,
            )
        ),
    },
    doc="Registry-wide settings (registry/registry.yaml)",
)

KEY = Obj(
    {
        "public_key": F(
            Text(
                "base64url (no padding) of the raw 32-byte Ed25519 public key",
                pattern=r"[A-Za-z0-9_-]+",
                check_fn=codes.public_key_problem,
                max_len=128,
            ),
            True,
        ),
        "not_before": F(Date("First day the key may sign"), True),
        "sign_until": F(Date("Last day the key may sign (inclusive); omit for open-ended")),
        "status": F(Text("Key state", enum=("active", "retired", "compromised")), True),
        "retired_on": F(Date("Day the key stopped signing; earlier signatures stay valid")),
        "compromised_on": F(Date("Day the compromise was found; every signature is void")),
        "note": F(Text("Free text")),
    },
    rules=[
        _ordered("not_before", "sign_until"),
        _ordered("not_before", "retired_on"),
        _ordered("not_before", "compromised_on"),
    ],
)

ORGANIZATION = Obj(
    {
        "id": F(Slug("Permanent id, equal to the file name"), True),
        "uscc": F(
            Text(
                "Unified Social Credit Code (统一社会信用代码), 18 characters",
                check_fn=codes.uscc_problem,
                max_len=18,
            )
        ),
        "name": F(_lang_text("Official name", name=True), True),
        "kind": F(Text("Kind", enum=("企业", "行业协会", "研究机构", "事业单位", "民办非企业单位")), True),
        "province": F(PROVINCE, True),
        "website": F(URL),
        "parent": F(_lang_text("Supervising body")),
        "status": F(_status_history(("approved", "suspended", "withdrawn"), with_batch=True), True),
        "keys": F(ListOf(KEY, "Ed25519 signing keys; the kid is derived, never typed")),
        "sandbox": F(Bool("The public TEST organization: everything it signs shows as TEST")),
        "example": F(EXAMPLE),
        "sources": F(SOURCES),
    },
    doc="A training evaluation organization (培训评价组织)",
)

CERTIFICATE = Obj(
    {
        "code": F(Slug("Permanent code, equal to the file name"), True),
        "name": F(_lang_text("Certificate name", en_required=True, name=True), True),
        "organization": F(Slug("Owning organization id"), True),
        "field": F(Slug("Field id from registry.yaml"), True),
        "levels": F(LEVELS, True),
        "standard": F(Slug("Skill standard id")),
        "batch": F(Int("Pilot batch number (none for the sandbox)", 1, 99)),
        "status": F(_status_history(("active", "suspended", "withdrawn"), with_batch=False), True),
        "validity_years": F(Nullable(Int("Years a certificate stays valid", 1, 50))),
        "credits": F(
            Obj(
                {lvl: F(Int(f"Credits for level {lvl}", 0, 100)) for lvl in (1, 2, 3)},
                doc="学分银行 credits per level",
            )
        ),
        "majors": F(ListOf(Text("Major name"), "Related majors", unique=True)),
        "example": F(EXAMPLE),
        "sources": F(SOURCES),
    },
    doc="A vocational skill level certificate (职业技能等级证书)",
)

STANDARD = Obj(
    {
        "id": F(Slug("Permanent id, equal to the file name"), True),
        "title": F(_lang_text("Title"), True),
        "version": F(Text("Version", max_len=32), True),
        "organization": F(Slug("Organization that wrote it"), True),
        "certificate": F(Slug("Certificate it defines"), True),
        "published": F(Date("Publication date"), True),
        "levels": F(
            ListOf(
                Obj(
                    {
                        "level": F(LEVEL, True),
                        "summary": F(Text("What a holder of this level can do"), True),
                        "work_areas": F(ListOf(Text("Work area"), "Work areas", unique=True)),
                        "tasks": F(ListOf(Text("Task"), "Typical tasks", unique=True)),
                        "skills": F(ListOf(Text("Skill"), "Skill requirements", unique=True)),
                    }
                ),
                "Per-level summary",
            )
        ),
        "url": F(URL),
        "sha256": F(Text("SHA-256 of the document, 64 lowercase hex", pattern="[0-9a-f]{64}")),
        "example": F(EXAMPLE),
        "sources": F(SOURCES),
    },
    doc="A vocational skill level standard (职业技能等级标准)",
    rules=[_only_with("sha256", "url")],
)

PILOT = Obj(
    {
        "certificate": F(Slug("Certificate code"), True),
        "levels": F(LEVELS, True),
        "since": F(Date("Start of the pilot"), True),
        "bound": F(BOUND),
        "ended": F(Date("End of the pilot")),
    },
    rules=[_ordered("since", "ended")],
)

SITE = Obj(
    {
        "certificate": F(Slug("Certificate code"), True),
        "levels": F(LEVELS, True),
        "since": F(Date("Site approved"), True),
        "status": F(Text("Site state", enum=("active", "suspended", "closed")), True),
        "ended": F(Date("Site closed")),
    },
    rules=[_ordered("since", "ended")],
)


def _site_only(m: YMap, prefix: str, out: Problems) -> None:
    """An assessment site that is not a college pilots nothing and has no school code."""
    if m.get("kind") == "考核站点":
        for key in ("pilots", "code"):
            if key in m:
                out.error(m.key_loc(key), f"{prefix}{key}: a 考核站点 (not a college) has no {key}")


COLLEGE = Obj(
    {
        "id": F(Slug("Permanent id, unique across the registry"), True),
        "code": F(Text("10-digit school code (学校标识码), quoted", check_fn=codes.school_code_problem)),
        "name": F(_lang_text("College name", name=True), True),
        "city": F(Text("City")),
        "kind": F(
            Text(
                "Kind; 考核站点 = an assessment site that is not a pilot college",
                enum=("高职", "中职", "职业本科", "应用型本科", "开放大学", "考核站点"),
            ),
            True,
        ),
        "pilots": F(ListOf(PILOT, "Certificates piloted (试点)")),
        "sites": F(ListOf(SITE, "Assessment sites hosted (考核站点)")),
        "example": F(EXAMPLE),
        "sources": F(SOURCES),
    },
    doc="A pilot college (试点院校), or an assessment site (考核站点) that is not a college",
    rules=[_site_only],
)

COLLEGES = Obj(
    {
        "province": F(PROVINCE, True),
        "colleges": F(ListOf(COLLEGE, "Pilot colleges of this province"), True),
    },
    doc="A province's pilot colleges (registry/colleges/<province-code>.yaml)",
)

REVOCATIONS = Obj(
    {
        "organization": F(Slug("Organization id, equal to the file name"), True),
        "revoked": F(
            ListOf(
                Obj(
                    {
                        "serial": F(
                            Text("Certificate serial", pattern=r"[0-9A-Za-z._/-]+", max_len=64), True
                        ),
                        "date": F(Date("Revocation date"), True),
                        "reason": F(Text("Why"), True),
                        "certificate": F(Slug("Certificate code")),
                    }
                ),
                "Revoked certificate serials",
            ),
            True,
        ),
    },
    doc="Revoked certificates of one organization",
)


def _iat_order(m: YMap, prefix: str, out: Problems) -> None:
    a, b = m.get("first_iat"), m.get("last_iat")
    if isinstance(a, int) and isinstance(b, int) and b < a:
        out.error(m.value_loc("last_iat"), f"{prefix}last_iat: {b} is before first_iat {a}")


HEX64 = r"[0-9a-f]{64}"
ISSUANCE = Obj(
    {
        "organization": F(Slug("Organization id, equal to the directory name"), True),
        "batch": F(
            Text(
                "Batch id, equal to the file name",
                pattern=r"[0-9A-Za-z][0-9A-Za-z._-]{0,63}",
                max_len=64,
                shape="a batch id of A-Z, a-z, 0-9, '.', '_' and '-'",
            ),
            True,
        ),
        "kid": F(Text("kid of the signing key: 16 lowercase hex digits", pattern="[0-9a-f]{16}"), True),
        "count": F(Int("Number of tokens (lines of the leaves file)", 1), True),
        "first_iat": F(Int("Earliest issue time (iat) in the batch, Unix seconds", 0, MAX_TIME), True),
        "last_iat": F(Int("Latest issue time (iat) in the batch, Unix seconds", 0, MAX_TIME), True),
        "tree_hash": F(Text("RFC 9162 tree hash over the sorted token hashes, hex", pattern=HEX64), True),
        "leaves": F(
            Text(
                "The leaves file beside this one: <batch>.leaves",
                pattern=r"[0-9A-Za-z][0-9A-Za-z._-]*\.leaves",
            ),
            True,
        ),
        "leaves_sha256": F(Text("SHA-256 of the leaves file, hex", pattern=HEX64), True),
        "counts": F(
            ListOf(
                Obj(
                    {
                        "year": F(Int("Year of issue (China time)", 2000, 2999), True),
                        "certificate": F(Slug("Certificate code"), True),
                        "level": F(LEVEL, True),
                        "count": F(Int("Tokens of this year, certificate and level", 1), True),
                    }
                ),
                "Tokens per year, certificate and level, from the token claims: the organization's "
                "own tally (the leaves prove only the total count); absent in records made before it",
                min_items=1,
            )
        ),
    },
    doc="An issuance record: the tokens of one issued batch (registry/issuance/<org>/<batch>.yaml)",
    rules=[_iat_order],
)

NOTICE = Obj(
    {
        "date": F(Date("Publication date"), True),
        "title": F(_lang_text("Title"), True),
        "kind": F(Text("Kind", enum=("policy", "batch", "supervision", "news")), True),
        "related": F(
            Obj(
                {
                    k: F(ListOf(Slug(f"{k[:-1]} id"), f"Related {k}", unique=True))
                    for k in ("organizations", "certificates", "colleges")
                }
            )
        ),
        "example": F(EXAMPLE),
        "sources": F(SOURCES),
    },
    doc="Front matter of a notice (registry/notices/*.md)",
)

KINDS: dict[str, Obj] = {
    "registry": REGISTRY,
    "organization": ORGANIZATION,
    "certificate": CERTIFICATE,
    "standard": STANDARD,
    "colleges": COLLEGES,
    "revocations": REVOCATIONS,
    "notice": NOTICE,
    "issuance": ISSUANCE,
}


def json_schema(kind: str, base_url: str = "") -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one registry file kind."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base_url}/schema/{kind}.schema.json",
        "title": f"1+X registry: {kind}",
        **KINDS[kind].json_schema(),
    }
