"""Training evaluation organizations: names, USCCs, status histories and signing keys.

Every random draw happens in the order the original single function made it, so the
output for a seed stays byte-identical; keep it so when editing (tests/test_synth.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from random import Random
from typing import Any

from nacl.signing import SigningKey

from ..codes import encode_b64url, uscc_check_char
from .common import DAY, SOURCES, Org, cn_number, days, province_en
from .tables import BRAND, FIELDS, LAST_DAY, ORG_KINDS, ORG_SUFFIX, PROVINCES

_ORGCODE_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]
_PROVINCE = {p[0]: p for p in PROVINCES}


@dataclass
class Taken:
    """Names, ids and codes already given out: each must be unique across the registry."""

    names: set[str] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)
    usccs: set[str] = field(default_factory=set)


def orgcode_check_char(body: str) -> str:
    """GB 11714-1997 check character of an 8-digit organization code body."""
    total = sum(int(c) * w for c, w in zip(body, _ORGCODE_WEIGHTS, strict=True))
    c = 11 - total % 11
    return "0" if c == 11 else "X" if c == 10 else str(c)


def make_uscc(rng: Random, prefix: str, province: str) -> str:
    """A USCC with both real check characters (GB 32100 over the embedded GB 11714 code)."""
    division = province + f"{rng.randint(1, 9):02d}" + f"{rng.randint(1, 20):02d}"
    org = "".join(str(rng.randint(0, 9)) for _ in range(8))
    body = prefix + division + org + orgcode_check_char(org)
    return body + uscc_check_char(body)


def organization(
    rng: Random, index: int, batch: int, approved: dt.date, latest: dt.date, taken: Taken
) -> tuple[Org, dict[str, Any]]:
    """Organization number ``index``, approved in ``batch``; ``latest`` is the day its last
    certificate becomes active (suspension and withdrawal come after it)."""
    kind = rng.choices([k for k, _ in ORG_KINDS], [w for _, w in ORG_KINDS])[0]
    prov = "11" if rng.random() < 0.5 else rng.choice(list(_PROVINCE))
    zh, en, oid, uscc_prefix = _names(rng, kind, prov, taken)
    org = Org(id=oid, approved=approved, batch=batch)
    org.tag = "".join(chr(65 + (index // 26**k) % 26) for k in (2, 1, 0))
    status = _status(rng, org, latest)
    doc: dict[str, Any] = {"id": oid}
    if rng.random() < 0.9:
        doc["uscc"] = _unique_uscc(rng, uscc_prefix, prov, taken)
    doc["name"] = {"zh": zh, "en": en}
    doc["kind"] = kind
    doc["province"] = prov
    if rng.random() < 0.7:
        doc["website"] = f"https://{oid}.example.org"
    if rng.random() < 0.2:
        doc["parent"] = {"zh": f"中国{rng.choice(FIELDS)[1]}协会"}
    doc["status"] = status
    doc["keys"] = keys(rng, org)
    doc["example"] = True
    doc["sources"] = list(SOURCES)
    return org, doc


def _names(rng: Random, kind: str, prov: str, taken: Taken) -> tuple[str, str, str, str]:
    """(zh name, en name, id, USCC prefix), the zh name and the id unique."""
    _, pzh, pslug, _, _ = _PROVINCE[prov]
    while True:
        (b1, p1), (b2, p2) = rng.sample(BRAND, 2)
        uscc_prefix, szh, sen, sslug = rng.choice(ORG_SUFFIX[kind])
        zh = f"{pzh}{b1}{b2}{szh}"
        if zh not in taken.names:
            break
    taken.names.add(zh)
    brand = p1 + p2.lower()
    oid = base = f"{pslug}-{brand.lower()}-{sslug}"
    n = 2
    while oid in taken.ids:
        oid, n = f"{base}-{n}", n + 1
    taken.ids.add(oid)
    return zh, f"{province_en(prov)} {brand} {sen}", oid, uscc_prefix


def _status(rng: Random, org: Org, latest: dt.date) -> list[dict[str, Any]]:
    """Approved in its batch; a few are suspended for a while, a few withdraw."""
    reason = f"第{cn_number(org.batch)}批 1+X 证书试点"
    status: list[dict[str, Any]] = [
        {"status": "approved", "since": org.approved, "batch": org.batch, "reason": reason}
    ]
    r = rng.random()
    if r < 0.03:  # suspended for a while, then approved again
        s1 = latest + days(rng.randint(300, 1000))
        s2 = s1 + days(rng.randint(60, 240))
        org.suspended = (s1, s2)
        status.append({"status": "suspended", "since": s1, "reason": "监督检查整改"})
        status.append({"status": "approved", "since": s2, "reason": "整改完成"})
    elif r < 0.05:
        org.withdrawn = latest + days(rng.randint(400, 1200))
        status.append({"status": "withdrawn", "since": org.withdrawn, "reason": "培训评价组织申请退出"})
    return status


def _unique_uscc(rng: Random, prefix: str, prov: str, taken: Taken) -> str:
    while (u := make_uscc(rng, prefix, prov)) in taken.usccs:
        pass
    taken.usccs.add(u)
    return u


def keys(rng: Random, org: Org) -> list[dict[str, Any]]:
    """One to three keys in turn; a few organizations had one compromised."""
    starts, bad = _key_starts(rng, org)
    out = []
    for i, start in enumerate(starts):
        pub = bytes(SigningKey(rng.randbytes(32)).verify_key)
        key: dict[str, Any] = {"public_key": encode_b64url(pub), "not_before": start}
        if i < len(starts) - 1:
            _replaced(key, start, starts[i + 1], compromised=i == bad)
        elif org.withdrawn is None:
            if rng.random() < 0.8:
                key["sign_until"] = LAST_DAY + days(rng.randint(180, 900))
            key["status"] = "active"
        else:  # organization withdrawn: its last key is retired on that day
            key["sign_until"] = org.withdrawn
            key["status"] = "retired"
            key["retired_on"] = org.withdrawn
            key["note"] = "培训评价组织退出，停止签发"
        out.append(key)
    return out


def _key_starts(rng: Random, org: Org) -> tuple[list[dt.date], int]:
    """The days each key starts, and the index of the compromised one (-1: none)."""
    n = rng.choices([1, 2, 3], [50, 35, 15])[0]
    compromised = rng.random() < 0.04
    if compromised:
        n = max(n, 2)
    end = org.withdrawn or LAST_DAY
    starts = [org.approved]
    for _ in range(n - 1):
        nxt = starts[-1] + days(rng.randint(400, 800))
        if nxt >= end:
            break
        starts.append(nxt)
    if compromised and len(starts) < 2:
        starts.append(starts[0] + min((end - starts[0]) // 2, days(700)))
    bad = rng.randrange(len(starts) - 1) if compromised and len(starts) > 1 else -1
    return starts, bad


def _replaced(key: dict[str, Any], start: dt.date, next_start: dt.date, compromised: bool) -> None:
    """A key the next one replaced: retired on schedule, or compromised."""
    key["sign_until"] = start + days(3 * 365)
    if compromised:
        key["status"] = "compromised"
        key["compromised_on"] = next_start - DAY
        key["note"] = "私钥泄露，已由新密钥替换"
    else:
        key["status"] = "retired"
        key["retired_on"] = next_start - DAY
        key["note"] = "定期轮换"
