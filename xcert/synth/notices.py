"""Notices: one per certificate batch, and a supervision report."""

from __future__ import annotations

import datetime as dt
from random import Random
from typing import Any

from .common import SOURCES, Cert, Org, cn_number, days
from .tables import BATCHES, Scale

Notice = tuple[dt.date, str, dict[str, Any], str]  # day, slug, front matter, body


def notices(rng: Random, sc: Scale, orgs: list[Org], certs: list[Cert]) -> list[Notice]:
    found = _batch_notices(sc.notices - 1, certs)
    found.append(_supervision(rng, orgs))
    return found


def _batch_notices(most: int, certs: list[Cert]) -> list[Notice]:
    found: list[Notice] = []
    for b, day, _ in BATCHES:
        if len(found) >= most:
            break
        bc = [c for c in certs if c.batch == b]
        if not bc:
            continue
        related = {"certificates": [c.code for c in bc[:8]], "organizations": sorted({c.org for c in bc[:8]})}
        meta = {
            "date": day,
            "title": {
                "zh": f"第{cn_number(b)}批职业技能等级证书名单公布（示例）",
                "en": f"Batch {b} certificates announced (example)",
            },
            "kind": "batch",
            "related": related,
            "sources": list(SOURCES),
            "example": True,
        }
        body = (
            f"这是合成的示例公告：第{cn_number(b)}批共 {len(bc)} 个职业技能等级证书"
            f"纳入试点。\n\n本文件由 `xcert.synth` 生成，仅用于规模测试。\n"
        )
        found.append((day, f"batch-{b}", meta, body))
    return found


def _supervision(rng: Random, orgs: list[Org]) -> Notice:
    withdrawn = [o for o in orgs if o.withdrawn is not None]
    day = max(d for _, d, _ in BATCHES) + days(rng.randint(200, 600))
    meta: dict[str, Any] = {
        "date": day,
        "title": {
            "zh": "培训评价组织监督检查结果通报（示例）",
            "en": "Supervision results for training evaluation organizations (example)",
        },
        "kind": "supervision",
        "sources": list(SOURCES),
        "example": True,
    }
    if withdrawn:
        meta["related"] = {"organizations": [o.id for o in withdrawn[:5]]}
    return day, "supervision", meta, "这是合成的示例通报，列出的培训评价组织均为虚构。\n"
