"""Colleges by province, each with its pilots and assessment sites.

Every random draw happens in the order the original single function made it, so the
output for a seed stays byte-identical; keep it so when editing (tests/test_synth.py).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random
from typing import Any

from .common import Cert, cn_number, days, split
from .tables import COLLEGE_KINDS, COLLEGE_SUFFIX, DESCRIPTORS, LAST_DAY, PROVINCES, Scale

_KINDS = [k for k, _ in COLLEGE_KINDS]
_KIND_WEIGHTS = [w for _, w in COLLEGE_KINDS]


@dataclass
class _Province:
    """One province's colleges so far: names and school codes are unique within it."""

    names: set[str] = field(default_factory=set)
    codes: set[str] = field(default_factory=set)
    numbered: dict[str, int] = field(default_factory=dict)  # city -> numbered schools


@dataclass
class Counts:
    colleges: int = 0
    pilots: int = 0
    sites: int = 0


def colleges(rng: Random, sc: Scale, certs: list[Cert], write: Callable[[dict[str, Any]], None]) -> Counts:
    """Each province's colleges document, given to ``write``, and the counts."""
    live = [c for c in certs if c.usable]
    cum = list(itertools.accumulate(c.weight for c in live))
    max_pilots = max(1, round(2 * sc.pilots_per_college - 1))

    def pick(k: int) -> list[Cert]:
        """``k`` distinct certificates, the popular ones more often."""
        chosen: dict[str, Cert] = {}
        while len(chosen) < k:
            c = rng.choices(live, cum_weights=cum)[0]
            chosen.setdefault(c.code, c)
        return list(chosen.values())

    counts = Counts()
    for (pcode, _, pslug, _, cities), n in zip(
        PROVINCES, split(sc.colleges, [p[3] for p in PROVINCES], 1), strict=True
    ):
        province = _Province()
        entries = []
        for seq in range(1, n + 1):
            entry = _college(rng, pcode, cities, province)
            entry = {"id": f"{pslug}-{seq:04d}", **entry}
            k = min(len(live), rng.randint(1, max_pilots))
            entry["pilots"], entry["sites"] = _pilots_and_sites(rng, sc, pick(k))
            entry["example"] = True
            entries.append(entry)
            counts.pilots += len(entry["pilots"])
            counts.sites += len(entry["sites"])
        counts.colleges += len(entries)
        write({"province": pcode, "colleges": entries})
    return counts


def _college(rng: Random, pcode: str, cities: list[tuple[str, str]], province: _Province) -> dict[str, Any]:
    """A college's code, name, city and kind (its id, pilots and sites are added after)."""
    ci = rng.randrange(len(cities))
    city, cpy = cities[ci]
    kind, zh, en = _name(rng, city, cpy, province)
    entry: dict[str, Any] = {}
    if rng.random() < 0.92:
        while (code := f"41{pcode}{ci + 1:02d}{rng.randint(0, 9999):04d}") in province.codes:
            pass
        province.codes.add(code)
        entry["code"] = code
    entry["name"] = {"zh": zh, "en": en}
    entry["city"] = city
    entry["kind"] = kind
    return entry


def _name(rng: Random, city: str, cpy: str, province: _Province) -> tuple[str, str, str]:
    """(kind, zh name, en name), the zh name unique in the province: twenty tries at a
    descriptive name, then a numbered secondary school, which is always unique."""
    short = city[:-1] if len(city) > 2 else city
    kind = rng.choices(_KINDS, _KIND_WEIGHTS)[0]
    for _ in range(20):
        dzh, den = rng.choice(DESCRIPTORS)
        szh, sen = rng.choice(COLLEGE_SUFFIX[kind])
        if kind == "开放大学":
            zh, en = f"{short}开放大学", f"{cpy} Open University"
        else:
            zh, en = f"{short}{dzh}{szh}", f"{cpy} {den} {sen}"
        if zh not in province.names:
            break
    else:
        kind = "中职"
        k = province.numbered[city] = province.numbered.get(city, 0) + 1
        zh, en = f"{city}第{cn_number(k)}职业高级中学", f"{cpy} No. {k} Vocational High School"
    province.names.add(zh)
    return kind, zh, en


def _pilots_and_sites(
    rng: Random, sc: Scale, chosen: list[Cert]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    pilots, sites = [], []
    for c in chosen:
        pilot = _pilot(rng, c)
        if pilot is None:
            continue
        pilots.append(pilot)
        if rng.random() >= sc.site_share:
            continue
        if (site := _site(rng, c, pilot)) is not None:
            sites.append(site)
    return pilots, sites


def _pilot(rng: Random, c: Cert) -> dict[str, Any] | None:
    since = _pick_date(rng, c.usable, c.active + days(30), 900)
    if since is None:
        return None
    pilot: dict[str, Any] = {"certificate": c.code, "levels": _levels_subset(rng, c.levels), "since": since}
    if c.withdrawn is not None:
        pilot["ended"] = c.withdrawn
    elif rng.random() < 0.04 and since + days(200) < LAST_DAY:
        pilot["ended"] = since + days(rng.randint(200, max(200, (LAST_DAY - since).days)))
    return pilot


def _site(rng: Random, c: Cert, pilot: dict[str, Any]) -> dict[str, Any] | None:
    """An assessment site for a pilot: opened after it, closed no later than it ends."""
    since = _pick_date(rng, c.usable, pilot["since"] + days(20), 500)
    if since is None or ("ended" in pilot and since >= pilot["ended"]):
        return None
    site: dict[str, Any] = {
        "certificate": c.code,
        "levels": _levels_subset(rng, pilot["levels"]),
        "since": since,
    }
    r = rng.random()
    if c.withdrawn is not None:
        site["status"] = "closed"
        site["ended"] = c.withdrawn
    elif "ended" in pilot or r < 0.05:
        site["status"] = "closed"
        site["ended"] = pilot.get("ended") or since + days(rng.randint(90, 700))
        if site["ended"] > LAST_DAY:
            site["status"] = "active"
            del site["ended"]
    elif r < 0.09:
        site["status"] = "suspended"
    else:
        site["status"] = "active"
    return site


def _pick_date(rng: Random, usable: list[tuple[dt.date, dt.date]], lo: dt.date, span: int) -> dt.date | None:
    """A day >= lo within the usable windows, preferring the first ``span`` days."""
    for a, b in usable:
        start = max(a, lo)
        if start > b:
            continue
        hi = min(b, start + days(span))
        return start + days(rng.randint(0, (hi - start).days))
    return None


def _levels_subset(rng: Random, levels: list[int]) -> list[int]:
    if len(levels) == 1 or rng.random() < 0.55:
        return list(levels)
    k = rng.randint(1, len(levels))
    start = rng.randint(0, len(levels) - k)
    return levels[start : start + k]
