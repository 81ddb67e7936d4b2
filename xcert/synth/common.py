"""What the generators share: date steps, number words, and the planned organizations
and certificates that later stages (colleges, revocations, notices) draw on."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from .tables import CN_DIGITS, PROVINCES

SOURCES = ["合成数据（xcert.synth），非官方信息"]  # every entity's `sources`: says it is made up

DAY = dt.timedelta(days=1)


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def split(total: int, weights: Sequence[float], minimum: int = 0) -> list[int]:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder)."""
    base = minimum * len(weights)
    rest = max(0, total - base)
    s = sum(weights)
    raw = [rest * w / s for w in weights]
    parts = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - parts[i]), i))
    for i in order[: rest - sum(parts)]:
        parts[i] += 1
    return [p + minimum for p in parts]


def province_en(code: str) -> str:
    p = next(p for p in PROVINCES if p[0] == code)
    if len(p[4]) == 1:  # municipality
        return p[4][0][1]
    return {"neimenggu": "Inner Mongolia"}.get(p[2], p[2].title())


def cn_number(n: int) -> str:
    if n < 10:
        return CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else CN_DIGITS[tens]) + "十" + (CN_DIGITS[ones] if ones else "")


@dataclass
class Cert:
    code: str
    org: str
    field: int
    levels: list[int]
    batch: int
    active: dt.date
    # dates on which the certificate is usable for new pilots/sites: [start, end] pairs
    usable: list[tuple[dt.date, dt.date]] = dataclasses.field(default_factory=list)
    withdrawn: dt.date | None = None
    weight: float = 1.0


@dataclass
class Org:
    id: str
    approved: dt.date
    batch: int
    certs: list[str] = dataclasses.field(default_factory=list)
    withdrawn: dt.date | None = None
    suspended: tuple[dt.date, dt.date] | None = None
    tag: str = ""
