"""Revoked certificate serials, per organization."""

from __future__ import annotations

import datetime as dt
from random import Random
from typing import Any

from .common import Cert, Org, days, split
from .tables import LAST_DAY, REVOCATION_REASONS, Scale


def revocations(rng: Random, sc: Scale, orgs: list[Org], certs: list[Cert]) -> list[dict[str, Any]]:
    """One revocations document per organization with any, ``sc.revocations`` rows in all."""
    by_code = {c.code: c for c in certs}
    weights = [len(o.certs) * rng.uniform(0.2, 2.0) for o in orgs]
    docs = []
    for org, n in zip(orgs, split(sc.revocations, weights), strict=True):
        lo = org.approved + days(60)
        if n == 0 or lo >= LAST_DAY:
            continue
        rows = [_row(rng, org, by_code, lo) for _ in range(n)]
        rows.sort(key=lambda r: (r["date"], r["_year"]))
        seq = 0
        revoked = []
        for row in rows:
            seq += rng.randint(1, 40)
            year = row.pop("_year")
            revoked.append({"serial": f"{org.tag}{year}{seq:07d}", **row})
        docs.append({"organization": org.id, "revoked": revoked})
    return docs


def _row(rng: Random, org: Org, by_code: dict[str, Cert], lo: dt.date) -> dict[str, Any]:
    """A revocation on a day after ``lo``; ``_year`` is the issue year its serial carries."""
    day = lo + days(rng.randint(0, (LAST_DAY - lo).days))
    row: dict[str, Any] = {"date": day}
    first_year = org.approved.year
    if rng.random() < 0.5:
        c = by_code[rng.choice(org.certs)]
        if c.active + days(30) <= day:
            row["certificate"] = c.code
            first_year = c.active.year
    row["reason"] = rng.choice(REVOCATION_REASONS)
    row["_year"] = rng.randint(first_year, day.year)
    return row
