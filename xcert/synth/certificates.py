"""Organizations with their certificates and standards, planned together: each
certificate's dates depend on its owner's approval, suspension and withdrawal.

Every random draw happens in the order the original single function made it, so the
output for a seed stays byte-identical; keep it so when editing (tests/test_synth.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from random import Random
from typing import Any

from .common import DAY, Cert, Org, days, split
from .orgs import Taken, organization
from .tables import BATCHES, FIELDS, LAST_DAY, Scale

_BATCH_DAY = {b: d for b, d, _ in BATCHES}
_LEVEL_SETS = [([1, 2, 3], 70), ([1, 2], 10), ([2, 3], 10), ([1], 4), ([3], 3), ([2], 3)]
_LEVEL_NAMES = {1: "初级", 2: "中级", 3: "高级"}
_SUMMARIES = {  # per level, filled with (topic + role, first work area, second work area)
    1: "能够在指导下完成{0}的基础工作，掌握{1}的基本方法",
    2: "能够独立完成{0}的常规工作，胜任{1}与{2}",
    3: "能够统筹{0}的复杂工作，指导团队并改进{1}质量",
}


@dataclass
class Catalogue:
    """The planned organizations and certificates, and the documents to write."""

    orgs: list[Org] = field(default_factory=list)
    certs: list[Cert] = field(default_factory=list)
    org_docs: list[dict[str, Any]] = field(default_factory=list)
    cert_docs: list[dict[str, Any]] = field(default_factory=list)
    std_docs: list[dict[str, Any]] = field(default_factory=list)


def catalogue(rng: Random, sc: Scale) -> Catalogue:
    n_orgs = sc.organizations
    n_certs = max(sc.certificates, n_orgs)
    combos = _names(rng, n_certs)
    # Batches: real-looking shares, at least one certificate per batch.
    per_batch = split(n_certs, [b[2] for b in BATCHES], minimum=1 if n_certs >= 4 else 0)
    cert_batch = [b for (b, _, _), n in zip(BATCHES, per_batch, strict=True) for _ in range(n)]
    # Owners: every organization owns at least one certificate.
    owner = list(range(n_orgs)) + [rng.randrange(n_orgs) for _ in range(n_certs - n_orgs)]
    rng.shuffle(owner)
    first: dict[int, int] = {}  # an organization is approved with its first certificate's batch
    last: dict[int, int] = {}
    for b, o in zip(cert_batch, owner, strict=True):
        first[o], last[o] = min(first.get(o, b), b), max(last.get(o, b), b)
    out = Catalogue()
    taken = Taken()
    for oi in range(n_orgs):
        org, doc = organization(rng, oi, first[oi], _BATCH_DAY[first[oi]], _BATCH_DAY[last[oi]], taken)
        out.orgs.append(org)
        out.org_docs.append(doc)
    for ci, combo in enumerate(combos):
        _certificate(rng, combo, out.orgs[owner[ci]], cert_batch[ci], out)
    return out


def _names(rng: Random, n: int) -> list[tuple[int, int, int]]:
    """``n`` distinct (field, topic, role) combinations: certificate names and codes."""
    combos = [
        (fi, ti, ri) for fi, f in enumerate(FIELDS) for ti in range(len(f[3])) for ri in range(len(f[4]))
    ]
    rng.shuffle(combos)
    assert n <= len(combos), "not enough certificate names for this scale"
    return combos[:n]


def _certificate(rng: Random, combo: tuple[int, int, int], org: Org, batch: int, out: Catalogue) -> None:
    fi, ti, ri = combo
    fid, _, _, topics, roles, areas, majors = FIELDS[fi]
    (tslug, tzh, ten), (rslug, rzh, ren) = topics[ti], roles[ri]
    code = f"{tslug}-{rslug}"
    active = max(_BATCH_DAY[batch], org.approved)
    levels = rng.choices([s for s, _ in _LEVEL_SETS], [w for _, w in _LEVEL_SETS])[0]
    weight = rng.paretovariate(1.3) * (3.0 if batch <= 2 else 1.0)
    cert = Cert(code=code, org=org.id, field=fi, levels=levels, batch=batch, active=active, weight=weight)
    status = _status(rng, cert, org)
    std_id = f"{code}-{active.year}"
    doc = {
        "code": code,
        "name": {"zh": f"{tzh}{rzh}", "en": f"{ten} {ren}"},
        "organization": org.id,
        "field": fid,
        "levels": levels,
        "standard": std_id,
        "batch": batch,
        "status": status,
    }
    if (years := rng.choice([3, 3, 3, 5, None])) is not None:
        doc["validity_years"] = years
    if rng.random() < 0.8:
        doc["credits"] = {lv: 2 + 2 * lv + rng.randint(0, 2) for lv in levels}
    doc["majors"] = rng.sample(majors, rng.randint(1, min(3, len(majors))))
    doc["example"] = True
    out.certs.append(cert)
    org.certs.append(code)
    out.cert_docs.append(doc)
    out.std_docs.append(_standard(rng, std_id, cert, (tzh + rzh, f"{ten} {ren}"), areas))


def _status(rng: Random, cert: Cert, org: Org) -> list[dict[str, Any]]:
    """Active from its batch; some are suspended for a while or withdrawn. Sets
    ``cert.usable`` (when new pilots and sites may start) and ``cert.withdrawn``."""
    active = cert.active
    status: list[dict[str, Any]] = [{"status": "active", "since": active}]
    usable = [(active, LAST_DAY)]
    withdraw = org.withdrawn
    r = rng.random()
    if r < 0.05:
        s1 = active + days(rng.randint(300, 1000))
        s2 = s1 + days(rng.randint(30, 200))
        if (withdraw is None or s2 < withdraw) and s2 < LAST_DAY:
            status.append({"status": "suspended", "since": s1, "reason": "质量抽查整改"})
            status.append({"status": "active", "since": s2})
            usable = [(active, s1 - DAY), (s2, LAST_DAY)]
    elif r < 0.08 and withdraw is None:
        withdraw = active + days(rng.randint(400, 1600))
        if withdraw >= LAST_DAY:
            withdraw = None
    if org.suspended is not None:  # no new pilots or sites while the owner is suspended
        usable = _outside(usable, *org.suspended)
    if withdraw is not None:
        status.append({"status": "withdrawn", "since": withdraw, "reason": "证书退出目录"})
        usable = [(a, min(b, withdraw - DAY)) for a, b in usable if a < withdraw]
        usable = [(a, b) for a, b in usable if a <= b]
        cert.withdrawn = withdraw
    cert.usable = usable
    return status


def _outside(
    usable: list[tuple[dt.date, dt.date]], s1: dt.date, s2: dt.date
) -> list[tuple[dt.date, dt.date]]:
    """The windows with the days from s1 to before s2 taken out."""
    return [
        part for a, b in usable for part in ((a, min(b, s1 - DAY)), (max(a, s2), b)) if part[0] <= part[1]
    ]


def _standard(
    rng: Random, std_id: str, cert: Cert, name: tuple[str, str], areas: list[str]
) -> dict[str, Any]:
    """The certificate's vocational skill level standard, one summary per level."""
    zh, en = name
    levels = []
    for lv in cert.levels:
        wa = rng.sample(areas, rng.randint(2, min(4, len(areas))))
        summary = _SUMMARIES[lv].format(zh, *wa[:2])
        levels.append({"level": lv, "summary": f"（{_LEVEL_NAMES[lv]}）{summary}", "work_areas": wa})
    std: dict[str, Any] = {
        "id": std_id,
        "title": {"zh": f"{zh}职业技能等级标准", "en": f"{en} Vocational Skill Level Standard"},
        "version": "1.0" if rng.random() < 0.7 else "2.0",
        "organization": cert.org,
        "certificate": cert.code,
        "published": cert.active,
        "levels": levels,
    }
    if rng.random() < 0.5:
        std["url"] = f"https://{cert.org}.example.org/standards/{std_id}.pdf"
        std["sha256"] = hashlib.sha256(std_id.encode()).hexdigest()
    std["example"] = True
    return std
