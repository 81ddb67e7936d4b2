"""Issuance records on the site: per organization and national counts per year and level,
and the record files themselves under /issuance/ (docs/issuance-records.md).

The counts are each organization's own claim (a record's `counts`, computed from the token
claims when it was made); the leaves prove only each record's total. Records made before
the counts existed are shown as year and level unknown. Publication dates come from the
signed snapshot of the site this build replaces; a record it does not carry yet is
published with this version.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from markupsafe import Markup

from .. import issuance
from ..issuance import CHINA, Record, year_of
from ..model import Registry
from . import charts

UNKNOWN = 0  # the year or level of a record without counts
LEVELS = (1, 2, 3, UNKNOWN)
INDEX = "index.json"
INDEX_SCHEMA = "issuance-index.schema.json"


def tallies(record: Record) -> list[tuple[int, int, int]]:
    """(year, level, count) of a record; one unknown row for a record without counts
    (its year is known when its whole iat range lies in one year)."""
    if record.counts is not None:
        return [(t.year, t.level, t.count) for t in record.counts]
    first, last = year_of(record.first_iat), year_of(record.last_iat)
    return [(first if first == last else UNKNOWN, UNKNOWN, record.count)]


@dataclass(frozen=True)
class YearRow:
    year: int  # UNKNOWN: not known
    by_level: tuple[int, ...]  # one count per LEVELS: 1, 2, 3, unknown
    total: int


def year_rows(records: Iterable[Record]) -> list[YearRow]:
    """Counts per year (newest first, unknown last) and level."""
    counts: Counter[tuple[int, int]] = Counter()
    for record in records:
        for year, level, n in tallies(record):
            counts[year, level] += n
    years = sorted({y for y, _ in counts}, key=lambda y: (y == UNKNOWN, -y))
    rows = []
    for year in years:
        levels = tuple(counts[year, level] for level in LEVELS)
        rows.append(YearRow(year, levels, sum(levels)))
    return rows


def year_label(year: int) -> str:
    return "年份不明 unknown" if year == UNKNOWN else f"{year} 年"


LEVEL_LABELS = {1: "初级 L1", 2: "中级 L2", 3: "高级 L3", UNKNOWN: "等级不明 unknown"}


def chart(title: str, rows: list[YearRow], key: str) -> charts.Chart:
    """Bars per year and level, in year order (not largest first like charts.hbar), in the
    same inline-SVG style; the data table the page prints is its text alternative."""
    bars = [
        (f"{year_label(r.year)} · {LEVEL_LABELS[level]}", n)
        for r in rows
        for level, n in zip(LEVELS, r.by_level, strict=True)
        if n
    ][: charts.MAX_ROWS]
    top = max((n for _, n in bars), default=0) or 1
    width, height = charts.LABEL_W + charts.BAR_W + 60, charts.ROW_H * len(bars) + 8
    parts = [
        f'<svg class="xc-svg" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'aria-describedby="xc-{escape(key)}-data" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, n) in enumerate(bars):
        y = 4 + i * charts.ROW_H
        w = max(1, round(charts.BAR_W * n / top))
        parts.append(
            f"<g><title>{escape(label)}: {n}</title>"
            f'<text x="{charts.LABEL_W - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{charts.LABEL_W}" y="{y + 3}" width="{w}" height="{charts.ROW_H - 6}" rx="2"/>'
            f'<text x="{charts.LABEL_W + w + 4}" y="{y + 15}" class="xc-svg-value">{n}</text></g>'
        )
    parts.append("</svg>")
    return charts.Chart(title, Markup("".join(parts)), (), key)  # noqa: S704 - every string escaped above


@dataclass(frozen=True)
class Listed:
    """One record as its organization page lists it."""

    record: Record
    published: dt.date | None  # None: published with this version

    @property
    def iat_range(self) -> str:
        first, last = (
            dt.datetime.fromtimestamp(t, CHINA).date() for t in (self.record.first_iat, self.record.last_iat)
        )
        return first.isoformat() if first == last else f"{first.isoformat()} — {last.isoformat()}"


class IssuanceView:
    """What the organization and statistics pages show of the records (a template global)."""

    def __init__(self, reg: Registry, first_published: Mapping[str, Mapping[str, Any]]) -> None:
        self.reg = reg
        self.published = {path: int(p["published"]) for path, p in first_published.items()}

    def records_of(self, org_id: str) -> list[Listed]:
        mine = [rf.record for rf in self.reg.records if rf.record.organization == org_id]
        return [Listed(r, self._published(r)) for r in sorted(mine, key=lambda r: (r.first_iat, r.batch))]

    def _published(self, record: Record) -> dt.date | None:
        when = self.published.get(record.path)
        return None if when is None else dt.datetime.fromtimestamp(when, CHINA).date()

    def org_rows(self, org_id: str) -> list[YearRow]:
        return year_rows(rf.record for rf in self.reg.records if rf.record.organization == org_id)

    def org_chart(self, org_id: str) -> charts.Chart:
        return chart(
            "各年各等级的已登记证书 Recorded certificates per year and level",
            self.org_rows(org_id),
            "records",
        )

    def national_rows(self, counted: Any) -> list[YearRow]:
        """National totals over the organizations the statistics count (`counted`: View.counted)."""
        orgs = {o for o, org in self.reg.organizations.items() if counted(org)}
        return year_rows(rf.record for rf in self.reg.records if rf.record.organization in orgs)

    def national_chart(self, counted: Any) -> charts.Chart:
        return chart(
            "全国各年各等级的已登记证书 Recorded certificates nationally, per year and level",
            self.national_rows(counted),
            "records-national",
        )


# ---------------------------------------------------------------- /issuance/ files


def index_dict(reg: Registry, first_published: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """/issuance/index.json: every record's fields, its files and publication time."""
    items = []
    for rf in sorted(reg.records, key=lambda rf: rf.record.path):
        r = rf.record
        published = first_published.get(r.path, {}).get("published")
        items.append(
            {
                "organization": r.organization,
                "batch": r.batch,
                "kid": r.kid.hex(),
                "count": r.count,
                "first_iat": r.first_iat,
                "last_iat": r.last_iat,
                "tree_hash": r.tree_hash.hex(),
                "leaves_sha256": r.leaves_sha256.hex(),
                "counts": None
                if r.counts is None
                else [
                    {"year": t.year, "certificate": t.certificate, "level": t.level, "count": t.count}
                    for t in r.counts
                ],
                "record": "/" + r.path,
                "leaves": "/" + r.leaves_path,
                "published": None if published is None else int(published),
            }
        )
    return {"format": "xcert-issuance-index/1", "records": items}


def write_files(reg: Registry, site: Path, first_published: Mapping[str, Mapping[str, Any]]) -> int:
    """/issuance/<org>/<batch>.yaml and .leaves (the registry's bytes: the TUF publisher
    writes the same files as its signed targets), /issuance/index.json and its schema."""
    directory = site / issuance.DIRECTORY
    n = 0
    for rf in reg.records:
        target = directory / rf.record.organization
        target.mkdir(parents=True, exist_ok=True)
        source = rf.leaves_file.parent / f"{rf.record.batch}.yaml"
        (target / source.name).write_bytes(source.read_bytes())
        (target / rf.record.leaves).write_bytes(rf.leaves_file.read_bytes())
        n += 2
    directory.mkdir(parents=True, exist_ok=True)
    data = index_dict(reg, first_published)
    (directory / INDEX).write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (site / "schema").mkdir(parents=True, exist_ok=True)
    schema = index_schema(reg.settings.site_url)
    (site / "schema" / INDEX_SCHEMA).write_text(
        json.dumps(schema, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    return n + 2


def index_schema(site_url: str) -> dict[str, Any]:
    hex_ = {"type": "string", "pattern": "^[0-9a-f]+$"}
    count = {
        "type": "object",
        "properties": {
            "year": {"type": "integer"},
            "certificate": {"type": "string"},
            "level": {"type": "integer", "minimum": 1, "maximum": 3},
            "count": {"type": "integer", "minimum": 1},
        },
        "required": ["year", "certificate", "level", "count"],
        "additionalProperties": False,
    }
    record = {
        "type": "object",
        "properties": {
            "organization": {"type": "string"},
            "batch": {"type": "string"},
            "kid": hex_,
            "count": {"type": "integer", "minimum": 1},
            "first_iat": {"type": "integer", "description": "Unix seconds"},
            "last_iat": {"type": "integer", "description": "Unix seconds"},
            "tree_hash": hex_,
            "leaves_sha256": hex_,
            "counts": {
                "oneOf": [{"type": "array", "items": count}, {"type": "null"}],
                "description": "Per year (China time), certificate and level: the organization's own "
                "tally, which the leaves do not prove (they prove the total count); null for a "
                "record made before counts existed",
            },
            "record": {"type": "string", "description": "Path of the record file on this site"},
            "leaves": {"type": "string", "description": "Path of its leaves file"},
            "published": {
                "type": ["integer", "null"],
                "description": "Unix seconds of the first signed trust-list version that carried it "
                "(the snapshot's x-xcert-first-published is authoritative); null: first published "
                "with this version",
            },
        },
        "required": sorted(
            ["organization", "batch", "kid", "count", "first_iat", "last_iat", "tree_hash"]
            + ["leaves_sha256", "counts", "record", "leaves", "published"]
        ),
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{site_url.rstrip('/')}/schema/{INDEX_SCHEMA}",
        "title": "/issuance/index.json: the published issuance records",
        "type": "object",
        "properties": {
            "format": {"const": "xcert-issuance-index/1"},
            "records": {"type": "array", "items": record},
        },
        "required": ["format", "records"],
        "additionalProperties": False,
    }
