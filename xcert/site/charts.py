"""Bar charts drawn at build time as inline SVG: no chart library, no request.

Labels are registry text, so every string goes through html.escape before it lands in
the SVG markup.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

from markupsafe import Markup

from ..codes import PROVINCES

if TYPE_CHECKING:
    from .pages import View

# Narrow enough that a 390 px phone shows the labels at a readable size.
ROW_H = 22
LABEL_W = 150
BAR_W = 250
MAX_ROWS = 40
MAX_LABEL = 10


@dataclass(frozen=True)
class Chart:
    title: str
    svg: Markup
    rows: tuple[tuple[str, int], ...] = ()  # every row, also those the SVG cuts off, as a table
    key: str = "chart"  # the page's ids: the data table is f"xc-{key}-data"


def hbar(title: str, rows: list[tuple[str, int]], unit: str = "", key: str = "chart") -> Chart:
    """A horizontal bar chart, largest first, cut to MAX_ROWS rows.

    The picture's text alternative is the data table the page prints under it (every row,
    also those cut off here): the SVG is described by that table's id.
    """
    rows = sorted(rows, key=lambda r: (-r[1], r[0]))
    every = tuple(rows)
    cut = len(rows) - MAX_ROWS
    rows = rows[:MAX_ROWS]
    top = max((v for _, v in rows), default=0) or 1
    height = ROW_H * len(rows) + 8
    width = LABEL_W + BAR_W + 40
    parts = [
        f'<svg class="xc-svg" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'aria-describedby="xc-{escape(key)}-data" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, value) in enumerate(rows):
        y = 4 + i * ROW_H
        w = max(1, round(BAR_W * value / top)) if value else 0
        short = label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"
        parts.append(
            f"<g><title>{escape(label)}: {value}{escape(unit)}</title>"
            f'<text x="{LABEL_W - 6}" y="{y + 15}" text-anchor="end">{escape(short)}</text>'
            f'<rect x="{LABEL_W}" y="{y + 3}" width="{w}" height="{ROW_H - 6}" rx="2"/>'
            f'<text x="{LABEL_W + w + 4}" y="{y + 15}" class="xc-svg-value">{value}</text></g>'
        )
    parts.append("</svg>")
    if cut > 0:
        title += f"（前 {MAX_ROWS} 项，另有 {cut} 项 / top {MAX_ROWS}）"
    return Chart(title, Markup("".join(parts)), every, key)  # noqa: S704 - every inserted string is escaped above


def all_charts(view: View) -> list[Chart]:
    reg = view.reg
    certs = [c for c in reg.certificates.values() if view.counted(c)]
    if not certs:
        return []
    per_field = Counter(c.field for c in certs)
    per_batch = Counter(c.batch for c in certs if c.batch is not None)
    tally = view.tally  # the counts the home page shows, so the two agree
    colleges = +tally.colleges
    sites = +tally.sites_by_certificate
    field_name = {f.id: f.zh for f in reg.settings.fields}
    charts = [
        hbar(
            "各领域证书数 Certificates per field",
            [(field_name.get(k, k), n) for k, n in per_field.items()],
            key="field",
        ),
        hbar(
            "各批次证书数 Certificates per batch",
            [(f"第 {b} 批", n) for b, n in sorted(per_batch.items())],
            key="batch",
        ),
    ]
    if colleges:
        charts.append(
            hbar(
                "各省试点院校数 Pilot colleges per province",
                [(PROVINCES.get(p, (p, p))[0], n) for p, n in colleges.items()],
                key="province",
            )
        )
    if sites:
        charts.append(
            hbar(
                "各省考核站点数 Active assessment sites per province",
                [(PROVINCES.get(p, (p, p))[0], n) for p, n in (+tally.sites).items()],
                key="site-province",
            )
        )
        charts.append(
            hbar(
                "各证书考核站点数 Active assessment sites per certificate",
                [(reg.certificates[c].name.zh, n) for c, n in sites.items()],
                key="sites",
            )
        )
    return charts
