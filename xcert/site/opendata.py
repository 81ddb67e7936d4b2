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

from ..model import Certificate as Cert
from ..model import College, Key, Notice, Organization, Registry, Standard
from ..trust import Stamp
from . import schemas
from .schemas import CSV, CSV_COLUMNS, Sub, _day, _text, record, sorted_keys

FORMAT = "xcert-registry/1"
__all__ = ["CSV_COLUMNS", "csv_rows", "write_open_data"]


def key_dict(k: Key) -> dict[str, Any]:
    return record(schemas.KEY_FIELDS, k)


def organization_dict(o: Organization) -> dict[str, Any]:
    return record(schemas.ENTITY_FIELDS["organization"], o)


def certificate_dict(c: Cert) -> dict[str, Any]:
    return record(schemas.ENTITY_FIELDS["certificate"], c)


def standard_dict(s: Standard) -> dict[str, Any]:
    return record(schemas.ENTITY_FIELDS["standard"], s)


def college_dict(k: College) -> dict[str, Any]:
    return record(schemas.ENTITY_FIELDS["college"], k)


def notice_dict(n: Notice) -> dict[str, Any]:
    return record(schemas.ENTITY_FIELDS["notice"], n)


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


def csv_items(reg: Registry) -> dict[str, Iterable[Any]]:
    """kind → the model objects of its rows, in order (the columns are schemas.CSV)."""
    colleges = [k for _, k in sorted(reg.colleges.items())]
    organizations = [o for _, o in sorted(reg.organizations.items())]
    return {
        "organizations": organizations,
        "keys": [Sub(o, key) for o in organizations for key in sorted_keys(o)],
        "certificates": [c for _, c in sorted(reg.certificates.items())],
        "standards": [s for _, s in sorted(reg.standards.items())],
        "colleges": colleges,
        "pilots": [Sub(k, p) for k in colleges for p in k.pilots],
        "sites": [
            Sub(k, site, reg.certificates[site.certificate].organization)
            for k in colleges
            for site in k.sites
        ],
        "revocations": [
            Sub(org, r)
            for org, rl in sorted(reg.revocations.items())
            for r in sorted(rl.revoked, key=lambda r: r.serial)
        ],
        "notices": sorted(reg.notices, key=lambda n: n.slug),
    }


def csv_rows(reg: Registry) -> dict[str, list[list[Any]]]:
    """kind → rows, each made by the kind's column getters."""
    return {
        kind: [[get(item) for _, get in CSV[kind]] for item in items]
        for kind, items in csv_items(reg).items()
    }


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
        write_csv(data / f"{kind}.csv", schemas.csv_header(kind), rows)
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
