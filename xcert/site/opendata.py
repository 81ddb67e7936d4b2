"""Open data: registry.json, one CSV per kind, one JSON per entity, and their schemas.

Everything is sorted and stamped with the data version, so two builds of the same
registry differ only in `generated_at`. CSVs carry a UTF-8 BOM so that Excel reads the
Chinese correctly.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..codes import encode_b64url
from ..model import Certificate as Cert
from ..model import College, Key, Notice, Organization, Registry, Standard, Status, Text
from ..trust import Stamp

FORMAT = "xcert-registry/1"


def _text(t: Text | None) -> dict[str, str | None] | None:
    return {"zh": t.zh, "en": t.en} if t else None


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


def _day(d: Any) -> str | None:
    return d.isoformat() if d else None


def key_dict(k: Key) -> dict[str, Any]:
    return {
        "kid": k.kid.hex(),
        "fingerprint": k.fingerprint,
        "public_key": encode_b64url(k.public_key),
        "not_before": _day(k.not_before),
        "sign_until": _day(k.sign_until),
        "status": k.status,
        "retired_on": _day(k.retired_on),
        "compromised_on": _day(k.compromised_on),
        "note": k.note,
    }


def organization_dict(o: Organization) -> dict[str, Any]:
    return {
        "id": o.id,
        "name": _text(o.name),
        "uscc": o.uscc,
        "kind": o.kind,
        "province": o.province,
        "website": o.website,
        "parent": _text(o.parent),
        "status": _history(o.status),
        "keys": [key_dict(k) for k in sorted(o.keys, key=lambda k: (k.not_before, k.kid))],
        "sandbox": o.sandbox,
        "example": o.example,
        "sources": list(o.sources),
    }


def certificate_dict(c: Cert) -> dict[str, Any]:
    return {
        "code": c.code,
        "name": _text(c.name),
        "organization": c.organization,
        "field": c.field,
        "levels": list(c.levels),
        "standard": c.standard,
        "batch": c.batch,
        "status": _history(c.status),
        "validity_years": c.validity_years,
        "credits": {str(k): v for k, v in sorted(c.credits.items())},
        "majors": list(c.majors),
        "example": c.example,
        "sources": list(c.sources),
    }


def standard_dict(s: Standard) -> dict[str, Any]:
    return {
        "id": s.id,
        "title": _text(s.title),
        "version": s.version,
        "organization": s.organization,
        "certificate": s.certificate,
        "published": s.published.isoformat(),
        "levels": [
            {
                "level": lv.level,
                "summary": lv.summary,
                "work_areas": list(lv.work_areas),
                "tasks": list(lv.tasks),
                "skills": list(lv.skills),
            }
            for lv in s.levels
        ],
        "url": s.url,
        "sha256": s.sha256,
        "example": s.example,
        "sources": list(s.sources),
    }


def college_dict(k: College) -> dict[str, Any]:
    return {
        "id": k.id,
        "province": k.province,
        "code": k.code,
        "name": _text(k.name),
        "city": k.city,
        "kind": k.kind,
        "pilots": [
            {
                "certificate": p.certificate,
                "levels": list(p.levels),
                "since": _day(p.since),
                "bound": p.bound,
                "ended": _day(p.ended),
            }
            for p in k.pilots
        ],
        "sites": [
            {
                "certificate": s.certificate,
                "levels": list(s.levels),
                "since": _day(s.since),
                "status": s.status,
                "ended": _day(s.ended),
            }
            for s in k.sites
        ],
        "example": k.example,
        "sources": list(k.sources),
    }


def notice_dict(n: Notice) -> dict[str, Any]:
    return {
        "slug": n.slug,
        "date": n.date.isoformat(),
        "title": _text(n.title),
        "kind": n.kind,
        "related": {k: list(v) for k, v in sorted(n.related.items())},
        "body_markdown": n.body,
        "example": n.example,
        "sources": list(n.sources),
    }


def _stamp(stamp: Stamp) -> dict[str, Any]:
    return {"version": stamp.version, "commit": stamp.commit, "generated_at": stamp.built_at}


def registry_dict(reg: Registry, stamp: Stamp) -> dict[str, Any]:
    return {
        "format": FORMAT,
        **_stamp(stamp),
        "settings": {
            "name": _text(reg.settings.name),
            "site_url": reg.settings.site_url,
            "verify_url": reg.settings.verify_url,
            "fields": [{"id": f.id, "zh": f.zh, "en": f.en} for f in reg.settings.fields],
        },
        "organizations": [organization_dict(o) for _, o in sorted(reg.organizations.items())],
        "certificates": [certificate_dict(c) for _, c in sorted(reg.certificates.items())],
        "standards": [standard_dict(s) for _, s in sorted(reg.standards.items())],
        "colleges": [college_dict(k) for _, k in sorted(reg.colleges.items())],
        "revocations": [
            {
                "organization": org,
                "revoked": [
                    {
                        "serial": r.serial,
                        "date": _day(r.date),
                        "reason": r.reason,
                        "certificate": r.certificate,
                    }
                    for r in sorted(rl.revoked, key=lambda r: r.serial)
                ],
            }
            for org, rl in sorted(reg.revocations.items())
        ],
        "notices": [notice_dict(n) for n in sorted(reg.notices, key=lambda n: n.slug)],
    }


# ---------------------------------------------------------------- CSV

# kind → columns; every row is flat text, lists joined with "|"
CSV_COLUMNS: dict[str, list[str]] = {
    "organizations": [
        "id",
        "name_zh",
        "name_en",
        "uscc",
        "kind",
        "province",
        "website",
        "status",
        "status_since",
        "sandbox",
        "example",
        "status_bound",
    ],
    "keys": [
        "organization",
        "kid",
        "fingerprint",
        "public_key",
        "not_before",
        "sign_until",
        "status",
        "retired_on",
        "compromised_on",
    ],
    "certificates": [
        "code",
        "name_zh",
        "name_en",
        "organization",
        "field",
        "levels",
        "standard",
        "batch",
        "status",
        "status_since",
        "validity_years",
        "example",
        "status_bound",
    ],
    "standards": [
        "id",
        "title_zh",
        "title_en",
        "version",
        "organization",
        "certificate",
        "published",
        "url",
        "sha256",
        "example",
    ],
    "colleges": [
        "id",
        "province",
        "code",
        "name_zh",
        "name_en",
        "city",
        "kind",
        "pilots",
        "sites",
        "example",
    ],
    # new columns go last, so that readers by position keep working
    "pilots": ["college", "province", "certificate", "levels", "since", "ended", "bound"],
    "sites": [
        "college",
        "province",
        "certificate",
        "levels",
        "since",
        "status",
        "ended",
        "college_kind",
        "organization",
        "example",
    ],
    "revocations": ["organization", "serial", "certificate", "date", "reason"],
    "notices": ["slug", "date", "kind", "title_zh", "title_en", "example"],
}


def _levels(ls: Iterable[int]) -> str:
    return "|".join(str(lv) for lv in ls)


def _last(h: tuple[Status, ...]) -> tuple[str, str]:
    return (h[-1].status, h[-1].since.isoformat()) if h else ("", "")


def _last_bound(h: tuple[Status, ...]) -> str | None:
    return h[-1].bound if h else None


def csv_rows(reg: Registry) -> dict[str, list[list[Any]]]:
    rows: dict[str, list[list[Any]]] = {k: [] for k in CSV_COLUMNS}
    for _, o in sorted(reg.organizations.items()):
        rows["organizations"].append(
            [
                o.id,
                o.name.zh,
                o.name.en,
                o.uscc,
                o.kind,
                o.province,
                o.website,
                *_last(o.status),
                o.sandbox,
                o.example,
                _last_bound(o.status),
            ]
        )
        for key in sorted(o.keys, key=lambda k: (k.not_before, k.kid)):
            d = key_dict(key)
            rows["keys"].append([o.id] + [d[c] for c in CSV_COLUMNS["keys"][1:]])
    for _, c in sorted(reg.certificates.items()):
        rows["certificates"].append(
            [
                c.code,
                c.name.zh,
                c.name.en,
                c.organization,
                c.field,
                _levels(c.levels),
                c.standard,
                c.batch,
                *_last(c.status),
                c.validity_years,
                c.example,
                _last_bound(c.status),
            ]
        )
    for _, s in sorted(reg.standards.items()):
        rows["standards"].append(
            [
                s.id,
                s.title.zh,
                s.title.en,
                s.version,
                s.organization,
                s.certificate,
                s.published.isoformat(),
                s.url,
                s.sha256,
                s.example,
            ]
        )
    for _, k in sorted(reg.colleges.items()):
        rows["colleges"].append(
            [
                k.id,
                k.province,
                k.code,
                k.name.zh,
                k.name.en,
                k.city,
                k.kind,
                len(k.pilots),
                len(k.sites),
                k.example,
            ]
        )
        for p in k.pilots:
            rows["pilots"].append(
                [k.id, k.province, p.certificate, _levels(p.levels), _day(p.since), _day(p.ended), p.bound]
            )
        for site in k.sites:
            rows["sites"].append(
                [
                    k.id,
                    k.province,
                    site.certificate,
                    _levels(site.levels),
                    _day(site.since),
                    site.status,
                    _day(site.ended),
                    k.kind,
                    reg.certificates[site.certificate].organization,
                    k.example,
                ]
            )
    for org, rl in sorted(reg.revocations.items()):
        for r in sorted(rl.revoked, key=lambda r: r.serial):
            rows["revocations"].append([org, r.serial, r.certificate, _day(r.date), r.reason])
    for n in sorted(reg.notices, key=lambda n: n.slug):
        rows["notices"].append([n.slug, n.date.isoformat(), n.kind, n.title.zh, n.title.en, n.example])
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    # A cell that starts like a formula would run in a spreadsheet: make it text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_csv(path: Path, columns: list[str], rows: list[list[Any]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([_cell(v) for v in row] for row in rows)
    path.write_text(buf.getvalue(), encoding="utf-8-sig", newline="")


# ---------------------------------------------------------------- writing


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1) + "\n"


def compact(data: Any) -> str:
    # No indent: the json module only uses its C encoder then (several times faster).
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def dumps_lines(data: dict[str, Any]) -> str:
    """Sorted JSON with one list item per line: compact to write, yet line diffs stay per entity."""
    out = ["{"]
    keys = sorted(data)
    for i, key in enumerate(keys):
        value = data[key]
        comma = "," if i < len(keys) - 1 else ""
        if isinstance(value, list) and value:
            items = ",\n".join(compact(item) for item in value)
            out.append(f"{compact(key)}:[\n{items}\n]{comma}")
        else:
            out.append(f"{compact(key)}:{compact(value)}{comma}")
    out.append("}\n")
    return "\n".join(out)


def write_open_data(reg: Registry, stamp: Stamp, out: Path, trust_list: dict[str, Any]) -> int:
    """Write /data/** and /keys.json under `out`; return the number of files written."""
    from . import schemas

    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    n = 0
    whole = registry_dict(reg, stamp)
    (data / "registry.json").write_text(dumps_lines(whole), encoding="utf-8")
    (out / "keys.json").write_text(dumps(trust_list), encoding="utf-8")
    n += 2
    head = _stamp(stamp)
    for kind, key, items in (
        ("organizations", "id", whole["organizations"]),
        ("certificates", "code", whole["certificates"]),
        ("standards", "id", whole["standards"]),
        ("colleges", "id", whole["colleges"]),
        ("notices", "slug", whole["notices"]),
    ):
        directory = data / kind
        directory.mkdir(exist_ok=True)
        for item in items:
            (directory / f"{item[key]}.json").write_text(
                compact({**head, kind[:-1]: item}) + "\n", encoding="utf-8"
            )
            n += 1
    for kind, rows in csv_rows(reg).items():
        write_csv(data / f"{kind}.csv", CSV_COLUMNS[kind], rows)
        n += 1
    schema_dir = data / "schema"
    schema_dir.mkdir(exist_ok=True)
    for name, schema in schemas.all_schemas(reg.settings.site_url).items():
        (schema_dir / name).write_text(dumps(schema), encoding="utf-8")
        n += 1
    return n + write_registry_schemas(out / "schema", reg.settings.site_url)


def write_registry_schemas(directory: Path, site_url: str) -> int:
    """/schema/<kind>.schema.json: the registry's own file formats, for editors and tools."""
    from ..schema import KINDS, json_schema

    directory.mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        schema = json_schema(kind, site_url.rstrip("/"))
        (directory / f"{kind}.schema.json").write_text(dumps(schema), encoding="utf-8")
    return len(KINDS)
