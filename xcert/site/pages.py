"""Registry → HTML fragments: one Jinja2 template per page kind, autoescaped.

Every registry string reaches the page as a Jinja2 value (never as template source and
never through Markdown), so `<script>`, `{{ }}` and `[x](javascript:…)` print as text.
Notice bodies are the one Markdown input, rendered by `safemd`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from pypinyin import Style, lazy_pinyin

from ..codes import PROVINCES
from ..model import BOUND_NAMES, CST, LEVEL_NAMES, College, Organization, Registry, Text, status_on
from . import charts, safemd
from . import issuance as issuance_site

STATUS_NAMES = {
    "approved": ("已批准", "approved"),
    "suspended": ("暂停", "suspended"),
    "withdrawn": ("已退出", "withdrawn"),
    "active": ("有效", "active"),
    "closed": ("已关闭", "closed"),
    "retired": ("已退役", "retired"),
    "compromised": ("已泄露", "compromised"),
    # verification results (test vectors page)
    "valid": ("有效", "valid"),
    "invalid": ("无效", "invalid"),
    "expired": ("已过期", "expired"),
    "revoked": ("已撤销", "revoked"),
    "malformed": ("格式错误", "malformed"),
    "test": ("测试（沙盒）", "test (sandbox)"),
}
NOTICE_KINDS = {
    "policy": ("政策发布", "policy"),
    "batch": ("批次公布", "batch"),
    "supervision": ("监督结果", "supervision"),
    "news": ("新闻", "news"),
}


@dataclass(frozen=True, slots=True)
class Page:
    path: str  # URL path from the site root: "" or "certificates/elderly-care/"
    title: str  # plain text
    body: str  # HTML, already escaped
    nav: bool = False  # a section page in the MkDocs nav (has its own frame)
    description: str = ""  # plain text, the page's <meta name="description">

    @property
    def depth(self) -> int:
        return self.path.count("/")


# Hot per-row snippets as Python (a Jinja2 macro call costs ~10x more); each escapes its
# input, and both are cached: a registry has few distinct level sets and states.
def levels_html(levels: Any) -> Markup:
    return _levels_html(tuple(levels))


@functools.lru_cache(maxsize=256)
def _levels_html(levels: tuple[int, ...]) -> Markup:
    return Markup("").join(
        Markup('<span class="xc-level">{}</span>').format(LEVEL_NAMES.get(lv, (lv,))[0]) for lv in levels
    )


@functools.lru_cache(maxsize=256)
def levels_short(levels: tuple[int, ...]) -> Markup:
    """One pill for a level set, for long lists (a certificate's thousands of colleges)."""
    names = "/".join(LEVEL_NAMES.get(lv, (str(lv),))[0].removesuffix("级") for lv in levels)
    return Markup('<span class="xc-level">{}</span>').format(names)


@functools.lru_cache(maxsize=4096)
def day_html(day: dt.date, bound: str | None = None) -> Markup:
    """A registry date; one that is only a bound says so: 不晚于 2019-10-12 · no later than."""
    if bound not in BOUND_NAMES:
        return Markup("{}").format(day.isoformat())
    zh, en = BOUND_NAMES[bound]
    return Markup('<span class="xc-bound">{} {} <span class="xc-en" lang="en">· {}</span></span>').format(
        zh, day.isoformat(), en
    )


@functools.lru_cache(maxsize=256)
def status_html(state: str | None) -> Markup:
    if not state:
        return Markup('<span class="xc-status">—</span>')
    zh, en = STATUS_NAMES.get(state, (state, state))
    return Markup(
        '<span class="xc-status xc-status--{0}">{1} <span class="xc-en" lang="en">{2}</span></span>'
    ).format(state, zh, en)


# In long lists: the same labels without the explanation (the page's banner explains).
SHORT_BADGES = {
    "test": Markup(' <span class="xc-badge xc-badge--test">TEST</span>'),
    "example": Markup(' <span class="xc-badge xc-badge--example">示例</span>'),
}
BADGES = {
    "test": Markup(
        ' <span class="xc-badge xc-badge--test" title="沙盒测试数据，不是真实证书 / sandbox test data">'
        "TEST 测试</span>"
    ),
    "example": Markup(
        ' <span class="xc-badge xc-badge--example" '
        'title="示例数据，非官方信息 / example data, not an official fact">示例 example</span>'
    ),
}


@functools.lru_cache(maxsize=65536)
def pinyin_key(text: str) -> tuple[str, ...]:
    """How a Chinese list is ordered: by the pinyin of each character in turn (tone last).

    pypinyin reads words whole, so 重庆 sorts under chong and 银行 under hang; letters and
    digits keep their own order. ~0.2 ms a name (10,000 colleges: 2 s, split between the
    page writers).
    """
    return (*lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True), text)


def by_pinyin(items: Any, name: Any = lambda item: item.name.zh) -> list[Any]:
    return sorted(items, key=lambda item: pinyin_key(name(item)))


OTHER = "其他 Other"  # the group of entries without the grouping value, always last


def grouped(items: Any, group: Any, label: Any = str) -> list[tuple[str, list[Any]]]:
    """Entries in groups: groups by the pinyin of their label, entries by name within each."""
    groups: dict[Any, list[Any]] = defaultdict(list)
    for item in items:
        groups[group(item)].append(item)
    keys = sorted((k for k in groups if k), key=lambda k: pinyin_key(label(k)))
    out = [(label(k), by_pinyin(groups[k])) for k in keys]
    if None in groups or "" in groups:
        out.append((OTHER, by_pinyin(groups.get(None, []) + groups.get("", []))))
    return out


def environment(templates: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        LEVEL_NAMES=LEVEL_NAMES,
        STATUS_NAMES=STATUS_NAMES,
        NOTICE_KINDS=NOTICE_KINDS,
        PROVINCES=PROVINCES,
    )
    env.globals.update(levels_html=levels_html, status_html=status_html, by_pinyin=by_pinyin)
    env.globals["day_html"] = day_html
    env.globals["levels_short"] = lambda levels: levels_short(tuple(levels))
    env.filters["is_url"] = lambda s: isinstance(s, str) and s.startswith(("https://", "http://"))
    return env


class View:
    """The registry plus the derived facts the templates need, computed once."""

    def __init__(
        self,
        reg: Registry,
        today: dt.date | None = None,
        first_published: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """`first_published`: the record publication times of the site this build replaces
        (its signed snapshot); records it does not carry are published with this version."""
        self.reg = reg
        self.today = today or dt.datetime.now(CST).date()
        self.records = issuance_site.IssuanceView(reg, first_published or {})
        self.fields = {f.id: f for f in reg.settings.fields}
        self.by_province: dict[str, list[College]] = defaultdict(list)
        for college in reg.colleges.values():
            self.by_province[college.province].append(college)
        self.provinces = sorted(self.by_province)

    def colleges_by_city(self, colleges: list[College]) -> list[tuple[str, list[College]]]:
        return grouped(colleges, lambda k: k.city)

    def orgs_by_province(self) -> list[tuple[str, list[Organization]]]:
        return grouped(
            self.reg.organizations.values(),
            lambda o: o.province,
            lambda p: PROVINCES.get(p, (p,))[0],
        )

    def certificates_by_field(self) -> list[tuple[str, list[Any]]]:
        """The catalogue: fields in registry.yaml's order, certificates by name within each."""
        groups: dict[str, list[Any]] = defaultdict(list)
        for cert in self.reg.certificates.values():
            groups[cert.field].append(cert)
        order = [f.id for f in self.reg.settings.fields if f.id in groups]
        order += sorted(set(groups) - set(order))
        return [(f, by_pinyin(groups[f])) for f in order]

    def org(self, org_id: str) -> Organization:
        return self.reg.organizations[org_id]

    def cert_name(self, code: str) -> Text:
        cert = self.reg.certificates.get(code)
        return cert.name if cert else Text(code)

    def status(self, history: Any) -> str | None:
        return status_on(history, self.today)

    def test_label(self, entity: Any) -> str | None:
        """ "test" for the sandbox and what it owns, "example" for example data, else None."""
        return self.reg.label(entity)

    def badge(self, entity: Any) -> Markup:
        kind = self.test_label(entity)
        return BADGES[kind] if kind else Markup("")

    def short_badge(self, entity: Any) -> Markup:
        kind = self.test_label(entity)
        return SHORT_BADGES[kind] if kind else Markup("")

    def counted(self, entity: Any) -> bool:
        return self.reg.counted(entity)

    def counted_rows(self, rows: Iterable[tuple[College, Any]]) -> int:
        """How many (college, pilot or site) rows the counts include."""
        return sum(1 for college, _ in rows if self.counted(college))

    @functools.cached_property
    def tally(self) -> Tally:
        """The one count of pilot colleges and assessment sites, read by the home, colleges
        and statistics pages (and their charts), so their numbers agree."""
        counted_codes = {c.code for c in self.reg.certificates.values() if self.counted(c)}
        out = Tally(Counter(), Counter(), Counter(), Counter())
        for college in self.reg.colleges.values():
            if not self.counted(college):
                continue
            if any(p.certificate in counted_codes for p in college.pilots):
                out.colleges[college.province] += 1
            active = [s for s in college.sites if s.certificate in counted_codes and s.status == "active"]
            out.sites[college.province] += len(active)
            out.sites_by_certificate.update(s.certificate for s in active)
            if college.is_site:
                out.standalone[college.province] += len(active)
        return out

    def counts(self) -> dict[str, Any]:
        """Live counts for the home and statistics pages: sandbox and example entries left out."""
        certs = [c for c in self.reg.certificates.values() if self.counted(c)]
        t = self.tally
        return {
            "certificates": len(certs),
            "active_certificates": sum(1 for c in certs if self.status(c.status) == "active"),
            "organizations": sum(1 for o in self.reg.organizations.values() if self.counted(o)),
            "colleges": t.colleges.total(),
            "sites": t.sites.total(),
            "standalone_sites": t.standalone.total(),
            "by_province": [(p, t.colleges[p], t.sites[p]) for p in t.provinces()],
            "hidden": sum(1 for c in self.reg.certificates.values() if not self.counted(c)),
            "hidden_colleges": sum(1 for c in self.reg.colleges.values() if not self.counted(c)),
        }

    def site_organizations(self, college: College) -> list[Organization]:
        """The organizations whose certificates a site assesses, by pinyin."""
        ids = {self.reg.certificates[s.certificate].organization for s in college.sites}
        return by_pinyin(self.reg.organizations[i] for i in ids if i in self.reg.organizations)

    @staticmethod
    def site_state(college: College) -> str | None:
        """A site place's state: active while it assesses any certificate, else suspended or closed."""
        states = {s.status for s in college.sites}
        return next((st for st in ("active", "suspended", "closed") if st in states), None)

    @staticmethod
    def site_history(college: College) -> list[tuple[dt.date | None, str, str, tuple[int, ...]]]:
        """A site place's status history, oldest first: (day, certificate, state, levels).

        Each certificate it assesses opens (active) on `since` and, when it has `ended`,
        changes to its recorded state on that day (closed, if still marked active); a state
        other than active without an `ended` day comes last, its day not recorded (None).
        """
        events: list[tuple[dt.date | None, str, str, tuple[int, ...]]] = []
        for s in college.sites:
            events.append((s.since, s.certificate, "active", s.levels))
            if s.ended is not None:
                then = "closed" if s.status == "active" else s.status
                events.append((s.ended, s.certificate, then, s.levels))
            elif s.status != "active":
                events.append((None, s.certificate, s.status, s.levels))
        return sorted(events, key=lambda e: (e[0] is None, e[0] or dt.date.min, e[1]))


@dataclass(frozen=True, slots=True)
class Tally:
    """Counted pilot colleges and assessment sites (sandbox and example entries left out).

    A site counts once per certificate it assesses, while active (organizations designate
    sites per certificate); `standalone` counts those at places that are not colleges
    (kind 考核站点), a part of `sites`.
    """

    colleges: Counter[str]  # province -> colleges piloting a counted certificate
    sites: Counter[str]  # province -> active (place, certificate) sites
    standalone: Counter[str]  # province -> the part of `sites` at 考核站点 places
    sites_by_certificate: Counter[str]  # certificate code -> active sites

    def provinces(self) -> list[str]:
        return sorted(p for p in set(self.colleges) | set(self.sites))


def _college_path(college: College) -> str:
    return f"colleges/{college.province}/{college.id}/"


@dataclass(frozen=True, slots=True)
class Job:
    """A page still to render: cheap to list, so the build can shard the rendering."""

    path: str
    title: str
    template: str
    nav: bool = False
    ctx: tuple[tuple[str, Any], ...] = ()

    @property
    def depth(self) -> int:
        return self.path.count("/")


def render(env: jinja2.Environment, view: View, job: Job) -> Page:
    ctx = dict(job.ctx)
    if job.template == "notice.html":
        ctx["body"] = Markup(safemd.render(ctx["n"].body))  # noqa: S704 - sanitized by safemd
    elif job.template == "statistics.html":
        ctx["charts"] = charts.all_charts(view)
        ctx["counts"] = view.counts()
    elif job.template == "home.html":
        ctx["counts"] = view.counts()
    if job.template in ("organization.html", "statistics.html"):
        ctx["records"] = view.records  # xcert/site/issuance.py
    root = "../" * job.depth
    body = env.get_template(job.template).render(v=view, reg=view.reg, root=root, title=job.title, **ctx)
    return Page(job.path, job.title, body, job.nav, describe(view, job))


NAV_DESCRIPTIONS = {
    "": "1+X 职业技能等级证书公共注册库：证书目录、培训评价组织、等级标准、试点院校、签名公钥与证书验证。",
    "certificates/": "全部 1+X 职业技能等级证书：领域、等级、培训评价组织、批次与状态，可筛选。",
    "organizations/": "经批准的 1+X 培训评价组织，及其证书、所在地、签名公钥与状态。",
    "standards/": "1+X 职业技能等级标准：每个证书各等级的工作领域、任务与技能要求。",
    "colleges/": "各省教育厅备案的 1+X 证书试点院校与考核站点，按省份列出。",
    "statistics/": "1+X 证书制度统计：各批次证书、各领域证书、各省试点院校与考核站点。",
    "notices/": "1+X 证书制度的政策发布、批次公布与监督结果公告。",
    "vectors/": "证书令牌测试向量：验证程序的实现者用来核对结果。",
}


def describe(view: View, job: Job) -> str:
    """The page's meta description: what it holds, in one sentence (plain text)."""
    ctx = dict(job.ctx)
    if "c" in ctx:
        c = ctx["c"]
        levels = "、".join(LEVEL_NAMES.get(lv, (str(lv),))[0] for lv in c.levels)
        batch = f"第 {c.batch} 批" if c.batch is not None else ""
        return (
            f"{c.name.zh}职业技能等级证书（{levels}），培训评价组织：{view.org(c.organization).name.zh}"
            f"{'，' + batch if batch else ''}。状态、等级标准、试点院校与考核站点。"
        )
    if "o" in ctx:
        o = ctx["o"]
        return f"培训评价组织{o.name.zh}：证书、签名公钥、状态与来源。"
    if "s" in ctx:
        s = ctx["s"]
        when = f"{s.version} 版，{s.published.isoformat()} 发布"
        return f"{s.title.zh}（{when}）：各等级的工作领域、任务与技能要求。"
    if "k" in ctx:
        k = ctx["k"]
        place = PROVINCES.get(k.province, (k.province,))[0] + (k.city or "")
        if k.is_site:
            return f"{k.name.zh}（{place}）：1+X 考核站点，考核的证书与等级、培训评价组织与状态历史。"
        return f"{k.name.zh}（{place}）：1+X 试点证书、等级与考核站点。"
    if "colleges" in ctx:
        name = PROVINCES.get(ctx["p"], (ctx["p"],))[0]
        n_sites = len(ctx["sites"])
        sites = f"与 {n_sites} 个考核站点" if n_sites else ""
        return f"{name}的 {len(ctx['colleges'])} 所 1+X 证书试点院校{sites}，按城市与名称排列，可筛选。"
    if "n" in ctx:
        n = ctx["n"]
        return f"{n.title.zh}（{n.date.isoformat()}）"
    return NAV_DESCRIPTIONS.get(job.path, job.title)


def page_jobs(view: View, vectors: tuple[dict[str, str], ...] = ()) -> Iterator[Job]:
    reg = view.reg
    yield Job("", "首页 Home", "home.html", nav=True)
    yield Job("certificates/", "证书目录 Certificates", "certificates.html", nav=True)
    for cert in reg.certificates.values():
        yield Job(f"certificates/{cert.code}/", cert.name.zh, "certificate.html", ctx=(("c", cert),))
    yield Job("organizations/", "培训评价组织 Organizations", "organizations.html", nav=True)
    for org in reg.organizations.values():
        yield Job(f"organizations/{org.id}/", org.name.zh, "organization.html", ctx=(("o", org),))
    yield Job("standards/", "等级标准 Standards", "standards.html", nav=True)
    for std in reg.standards.values():
        yield Job(f"standards/{std.id}/", std.title.zh, "standard.html", ctx=(("s", std),))
    yield Job("colleges/", "试点院校 Colleges", "colleges.html", nav=True)
    for province in view.provinces:
        entries = view.by_province[province]
        colleges = [k for k in entries if not k.is_site]
        sites = [k for k in entries if k.is_site]  # assessment sites that are not colleges
        name = PROVINCES.get(province, (province, province))[0]
        yield Job(
            f"colleges/{province}/",
            f"{name}试点院校" + ("与考核站点" if sites else ""),
            "province.html",
            ctx=(("p", province), ("colleges", colleges), ("sites", sites)),
        )
        for college in entries:
            template = "site.html" if college.is_site else "college.html"
            yield Job(_college_path(college), college.name.zh, template, ctx=(("k", college),))
    yield Job("statistics/", "统计 Statistics", "statistics.html", nav=True)
    yield Job("notices/", "公告 Notices", "notices.html", nav=True)
    for notice in reg.notices:
        yield Job(f"notices/{notice.slug}/", notice.title.zh, "notice.html", ctx=(("n", notice),))
    if vectors:
        yield Job("vectors/", "测试向量 Test vectors", "vectors.html", nav=True, ctx=(("vectors", vectors),))


DEVELOPERS = "开放数据 Open data"
# (path, title, section): pages of one section sit under one tab, with a sidebar.
NAV = [
    ("", "首页 Home", None),
    ("certificates/", "证书 Certificates", None),
    ("organizations/", "组织 Organizations", None),
    ("standards/", "标准 Standards", None),
    ("colleges/", "院校 Colleges", None),
    ("statistics/", "统计 Statistics", None),
    ("notices/", "公告 Notices", None),
    ("search/", "搜索 Search", None),
    ("verify/", "验证 Verify", None),
    ("data/", "开放数据 Open data", DEVELOPERS),
    ("token-format/", "令牌格式 Token format", DEVELOPERS),
    ("trust-list-format/", "签名信任列表 Signed trust list", DEVELOPERS),
    ("issuance-records/", "签发记录 Issuance records", DEVELOPERS),
    ("vectors/", "测试向量 Test vectors", DEVELOPERS),
    ("about/", "关于 About", None),
]


def read_vectors(directory: Path) -> tuple[dict[str, str], ...]:
    """name, description and expected status of each published test vector."""
    import json

    out = []
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "expected" in data:
            expected = data["expected"]
            status = expected.get("status", "") if isinstance(expected, dict) else str(expected)
            out.append(
                {
                    "file": path.name,
                    "name": str(data.get("name", path.stem)),
                    "description": str(data.get("description", "")),
                    "status": status,
                }
            )
    return tuple(out)
