"""`build.py import`: an official list (CSV or XLSX) → new and extended registry files.

Three list shapes: a batch list of certificates (证书名称 / 培训评价组织名称 …), a
pilot-college list (省份 / 院校名称 / 院校代码 / 证书名称 / 等级) and an assessment-site
list (省份 / 考核站点名称 or 依托院校 / 证书名称 / 等级). The import is all or nothing:

1. read the list (`xcert.tables`) and the mapping file, if any;
2. match every name against the registry: exact, then normalised (`xcert.names`); a name
   that differs from a registry name only in its legal form is a question, not a match;
3. plan: new files in house style, and insertions into existing colleges files made by
   line, so every hand-written comment and layout stays as it was; a value the list gives
   differently from the registry is a conflict, reported with both places;
4. stage the result in a temporary copy of the registry and load it with the same checks
   as `build.py check`; only a registry that loads without errors is written back.

Every problem is collected before anything is written, so one run reports them all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import codes, names, tables
from .diff import Side, compare
from .load import LoadResult, load_registry
from .model import Registry
from .problems import Problems
from .schema import LEVELS, PROVINCE, SOURCES, F, Int, ListOf, Obj, Slug, Text, Type
from .yamlsrc import YamlError, YList, YMap, load_file, loc_at

LIST_KINDS = ("certificates", "pilots", "sites")

ALIASES: dict[str, tuple[str, ...]] = {
    "certificate": ("职业技能等级证书名称", "证书名称", "职业技能等级证书", "证书"),
    "organization": ("培训评价组织名称", "培训评价组织", "评价组织名称", "评价组织", "发证机构"),
    "levels": ("证书等级", "等级", "级别"),
    "field": ("所属领域", "职业领域", "领域"),
    "en": ("英文名称", "英文名", "englishname"),
    "batch": ("批次",),
    "province": ("所在省份", "省份", "省区市", "省", "地区"),
    "college": ("试点院校名称", "院校名称", "学校名称", "依托院校", "试点院校", "院校", "学校"),
    "school_code": ("学校标识码", "院校代码", "学校代码", "院校标识码", "标识码"),
    "site": ("考核站点名称", "站点名称", "考核站点", "考点名称", "站点"),
    "city": ("所在城市", "所在地市", "城市", "地市"),
    "kind": ("院校类型", "学校类型", "办学层次", "站点类型"),
}
REQUIRED = {
    "certificates": ("certificate", "organization"),
    "pilots": ("province", "college", "certificate"),
    "sites": ("province", "certificate"),
}
KEY_FIELDS = {
    "certificates": ("certificate",),
    "pilots": ("college", "certificate"),
    "sites": ("certificate",),
}
# Columns that official lists merge over several rows. A school code, city or kind is not
# filled (a blank one under another college means "not given"), nor a site list's 依托院校
# (blank: the site is not at a college).
FILL_DOWN = {
    "certificates": ("organization", "batch"),
    "pilots": ("province", "college", "batch"),
    "sites": ("province", "site", "batch"),
}
SITE_KIND = "考核站点"
COLLEGE_KINDS = ("高职", "中职", "职业本科", "应用型本科", "开放大学", SITE_KIND)
ORG_KINDS = ("企业", "行业协会", "研究机构", "事业单位", "民办非企业单位")
KIND_WORDS = {"高职": "高职", "专科": "高职", "高职专科": "高职", "中职": "中职", "中专": "中职"}
KIND_WORDS |= {k: k for k in COLLEGE_KINDS}


class ImportFailed(Exception):
    """Nothing was written: each problem is (where, what)."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = list(problems)

    def lines(self) -> list[str]:
        return [f"{where}: {what}" for where, what in self.problems]


# ---------------------------------------------------------------- the mapping file


@dataclass
class MapOf(Type):
    """A mapping from names (keys) to values of one type: the mapping file's sections."""

    value: Type
    doc: str = ""

    def check(self, value: Any, where: str, path: str, pos: int, out: Problems) -> None:
        if not isinstance(value, dict):
            out.error(loc_at(path, pos), f"{where}: expected a mapping of names, got {type(value).__name__}")
            return
        key_pos = value.key_pos if isinstance(value, YMap) else {}
        value_pos = value.value_pos if isinstance(value, YMap) else {}
        for key, item in value.items():
            if not isinstance(key, str):
                out.error(loc_at(path, key_pos.get(key, pos)), f"{where}: the name {key!r} must be text")
            self.value.check(item, f"{where}.{key}", path, value_pos.get(key, pos), out)

    def json_schema(self) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": self.value.json_schema()}


MAPPING = Obj(
    {
        "sheet": F(Text("Worksheet to read (default: the first)")),
        "header_row": F(Int("Row number of the header (default: found by its column names)", 1, 1000)),
        "columns": F(Obj({k: F(Text(f"Exact header text of the {k} column")) for k in ALIASES})),
        "fill_down": F(
            ListOf(Text("Field", enum=tuple(ALIASES)), "Fields whose empty cells repeat the row above")
        ),
        "organizations": F(
            MapOf(
                Obj(
                    {
                        "id": F(Slug("Registry id (an existing one matches it)")),
                        "en": F(Text("English name")),
                        "kind": F(Text("Kind", enum=ORG_KINDS)),
                        "province": F(PROVINCE),
                    }
                )
            )
        ),
        "certificates": F(
            MapOf(
                Obj(
                    {
                        "code": F(Slug("Registry code (an existing one matches it)")),
                        "en": F(Text("English name")),
                        "field": F(Slug("Field id from registry.yaml")),
                        "levels": F(LEVELS),
                    }
                )
            )
        ),
        "colleges": F(
            MapOf(
                Obj(
                    {
                        "id": F(Slug("Registry id (an existing one matches it)")),
                        "en": F(Text("English name")),
                        "kind": F(Text("Kind", enum=COLLEGE_KINDS)),
                        "city": F(Text("City")),
                    }
                )
            )
        ),
        "sources": F(SOURCES),
    },
    doc="How to read one official list: header, columns, and ids or facts the list lacks",
)


@dataclass
class Mapping_:
    path: str = ""
    sheet: str | None = None
    header_row: int | None = None
    columns: dict[str, str] = field(default_factory=dict)
    fill_down: tuple[str, ...] | None = None  # None: FILL_DOWN of the list's kind
    sections: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    where: dict[tuple[str, str], str] = field(default_factory=dict)

    def entry(self, section: str, name: str) -> dict[str, Any]:
        entries = self.sections.get(section, {})
        return entries.get(name) or entries.get(names.normalise(name)) or {}

    def place(self, section: str, name: str) -> str:
        return self.where.get((section, names.normalise(name)), self.path)


def read_mapping(path: Path | None) -> Mapping_:
    if path is None:
        return Mapping_()
    display = str(path)
    try:
        doc = load_file(path, display)
    except (YamlError, OSError) as e:
        raise ImportFailed([(display, str(getattr(e, "message", e)))]) from e
    if doc is None:
        return Mapping_(display)
    out = Problems()
    MAPPING.check(doc, "", display, getattr(doc, "pos", 0), out)
    if out.errors:
        raise ImportFailed([(str(p.loc), p.message) for p in out.sorted() if p.severity == "error"])
    sections: dict[str, dict[str, dict[str, Any]]] = {}
    where: dict[tuple[str, str], str] = {}
    for section in ("organizations", "certificates", "colleges"):
        entries = doc.get(section)  # a YMap (MAPPING checked it), or absent
        sections[section] = {}
        for name, value in (entries or {}).items():
            sections[section][names.normalise(name)] = dict(value)
            where[(section, names.normalise(name))] = str(entries.key_loc(name))
    return Mapping_(
        display,
        doc.get("sheet"),
        doc.get("header_row"),
        dict(doc.get("columns") or {}),
        tuple(doc["fill_down"]) if "fill_down" in doc else None,
        sections,
        where,
    )


# ---------------------------------------------------------------- matching names


@dataclass(frozen=True, slots=True)
class Match:
    id: str | None  # the registry id, or None
    how: str = ""  # 'exact' | 'normalised' | 'mapping' | ''
    near: tuple[str, str] | None = None  # (id, name) differing only in legal form


class NameIndex:
    """Registry names → ids: exact, normalised, and by stem without the legal form."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self.exact: dict[str, str] = {}
        self.norm: dict[str, list[str]] = {}
        self.stem: dict[str, list[tuple[str, str]]] = {}
        self.names: dict[str, str] = {}
        for ident, name in items:
            self.add(ident, name)

    def add(self, ident: str, name: str) -> None:
        self.names[ident] = name
        self.exact.setdefault(name, ident)
        self.norm.setdefault(names.normalise(name), []).append(ident)
        stem, form = names.legal_form(name)
        if form:
            self.stem.setdefault(stem, []).append((ident, name))

    def find(self, name: str) -> Match:
        if name in self.exact:
            return Match(self.exact[name], "exact")
        found = self.norm.get(names.normalise(name), [])
        if len(found) == 1:
            return Match(found[0], "normalised")
        if len(found) > 1:
            return Match(None, "ambiguous:" + ", ".join(found))
        stem, form = names.legal_form(name)
        near = [(i, n) for i, n in self.stem.get(stem, []) if names.legal_form(n)[1] != form]
        return Match(None, "", near[0] if near else None)


# ---------------------------------------------------------------- the plan


@dataclass
class NewOrg:
    id: str
    name: str
    kind: str
    province: str
    en: str | None = None


@dataclass
class NewCert:
    code: str
    name: str
    en: str
    organization: str
    field: str
    levels: list[int]


@dataclass
class CollegeChange:
    """What the import adds to one college (existing or new)."""

    id: str
    province: str
    name: str = ""
    new: bool = False
    kind: str = ""
    code: str | None = None  # only set when it is added
    city: str | None = None
    en: str | None = None
    pilots: dict[str, list[int]] = field(default_factory=dict)  # certificate → levels
    sites: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class Plan:
    kind: str
    source: str
    date: dt.date
    batch: int | None
    bound: str | None = None  # 'not-after': --date is the latest the list can be dated
    orgs: dict[str, NewOrg] = field(default_factory=dict)
    certs: dict[str, NewCert] = field(default_factory=dict)
    colleges: dict[str, CollegeChange] = field(default_factory=dict)
    matched: dict[str, set[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rows: int = 0

    def summary(self) -> list[str]:
        new_colleges = [c for c in self.colleges.values() if c.new]
        lines = [
            f"{self.rows} row(s) read; {len(self.skipped)} note/total row(s) skipped"
            + (
                f" ({', '.join(self.skipped[:5])}{' …' if len(self.skipped) > 5 else ''})"
                if self.skipped
                else ""
            ),
            "matched: " + (", ".join(f"{len(n)} {k}" for k, n in sorted(self.matched.items())) or "nothing"),
            f"new: {len(self.orgs)} organization(s), {len(self.certs)} certificate(s), "
            f"{len(new_colleges)} college/site entr(ies), "
            f"{sum(len(c.pilots) for c in self.colleges.values())} pilot(s), "
            f"{sum(len(c.sites) for c in self.colleges.values())} site record(s), "
            f"{sum(1 for c in self.colleges.values() if c.code and not c.new)} school code(s) filled in",
        ]
        lines += [f"  organization {o.id}: {o.name}" for o in self.orgs.values()]
        lines += [f"  certificate {c.code}: {c.name}" for c in self.certs.values()]
        lines += [f"  college {c.id}: {c.name}" for c in new_colleges]
        return lines + self.notes


class Planner:
    def __init__(self, reg: Registry, mapping: Mapping_, plan: Plan) -> None:
        self.reg, self.mapping, self.plan = reg, mapping, plan
        self.problems: list[tuple[str, str]] = []
        self.orgs = NameIndex((o.id, o.name.zh) for o in reg.organizations.values())
        self.certs = NameIndex((c.code, c.name.zh) for c in reg.certificates.values())
        self.colleges = NameIndex((c.id, c.name.zh) for c in reg.colleges.values())
        self.codes = {c.code: c.id for c in reg.colleges.values() if c.code}
        self.org_ids = set(reg.organizations)
        self.cert_codes = set(reg.certificates)
        self.college_ids = set(reg.colleges)
        self.fields = {names.normalise(f.zh): f.id for f in reg.settings.fields}
        self.fields |= {f.id: f.id for f in reg.settings.fields}

    def fail(self, where: str, message: str) -> None:
        self.problems.append((where, message))

    def count(self, what: str, ident: str) -> None:
        self.plan.matched.setdefault(what, set()).add(ident)

    # -- names to ids

    def _resolve(self, section: str, index: NameIndex, known: set[str], name: str, where: str) -> Match:
        entry = self.mapping.entry(section, name)
        key = {"organizations": "id", "certificates": "code", "colleges": "id"}[section]
        if entry.get(key):
            return Match(entry[key], "mapping") if entry[key] in known else Match(None, "mapped-new")
        match = index.find(name)
        if match.how.startswith("ambiguous"):
            self.fail(
                where,
                f"'{name}' matches several registry entries ({match.how[10:]}): map it in the mapping file",
            )
            return Match(None, "error")
        if match.near is not None:
            near_id, near_name = match.near
            section_yaml = f"{section}: {{{name}: {{{key}: {near_id}}}}}"
            self.fail(
                where,
                f"'{name}' is not in the registry, but '{near_name}' ({near_id}) differs only in its "
                "legal form "
                f"({names.legal_form(name)[1] or 'none'} vs {names.legal_form(near_name)[1]}): two different "
                f"registered names. If the list means {near_id}, say so in the mapping file "
                f"({section_yaml}); "
                f"if it is another one, give it its own {key} there",
            )
            return Match(None, "error")
        return match

    def organization(self, row: tables.Row) -> str | None:
        name = row.get("organization")
        match = self._resolve("organizations", self.orgs, self.org_ids, name, row.where("organization"))
        if match.how == "error":
            return None
        if match.id is not None:
            self.count("organizations", match.id)
            return match.id
        planned = self.orgs.find(name)  # created earlier in this import?
        if planned.id is not None and planned.id in self.plan.orgs:
            return planned.id
        entry = self.mapping.entry("organizations", name)
        kind = entry.get("kind") or names.organization_kind(name)
        province = entry.get("province") or names.province_in_name(name)
        ident = entry.get("id") or names.unique_slug(names.organization_slug(name), self.org_ids)
        self.org_ids.add(ident)
        if not kind or not province:
            missing = [w for w, v in (("kind", kind), ("province", province)) if not v]
            self.fail(
                row.where("organization"),
                f"new organization '{name}': its name does not tell its {' and '.join(missing)}; add "
                f"them to the mapping file: organizations: {{{name}: {{kind: <{' | '.join(ORG_KINDS)}>, "
                'province: "<GB/T 2260 code>"}}',
            )
            return None
        self.plan.orgs[ident] = NewOrg(ident, name, kind, province, entry.get("en"))
        self.orgs.add(ident, name)
        return ident

    def certificate_row(self, row: tables.Row) -> None:
        org = self.organization(row)
        name = row.get("certificate")
        where = row.where("certificate")
        levels = self.levels(row)
        batch = self.batch(row)
        match = self._resolve("certificates", self.certs, self.cert_codes, name, where)
        if match.how == "error" or org is None:
            return
        if match.id is not None and match.id in self.reg.certificates:
            self.count("certificates", match.id)
            cert = self.reg.certificates[match.id]
            for what, ours, theirs, loc in (
                ("organization", cert.organization, org, cert.src.at("organization")),
                ("batch", cert.batch, batch, cert.src.at("batch")),
                ("levels", list(cert.levels), levels, cert.src.at("levels")),
            ):
                if theirs is not None and ours != theirs:
                    self.conflict(where, f"certificate '{name}' ({match.id})", what, ours, theirs, str(loc))
            return
        planned = self.certs.find(name)
        if planned.id is not None and planned.id in self.plan.certs:
            if self.plan.certs[planned.id].organization != org:
                self.fail(where, f"'{name}' is listed twice with different organizations")
            return
        entry = self.mapping.entry("certificates", name)
        en = entry.get("en") or row.get("en")
        field_id = entry.get("field") or self.fields.get(names.normalise(row.get("field")))
        if row.get("field") and not field_id:
            known = ", ".join(f.zh for f in self.reg.settings.fields)
            self.fail(row.where("field"), f"'{row.get('field')}' is not a field of registry.yaml ({known})")
            return
        if not en or not field_id:
            missing = [w for w, v in (("English name (en)", en), ("field", field_id)) if not v]
            self.fail(
                where,
                f"new certificate '{name}' needs its {' and '.join(missing)}: add a column, or the "
                f"mapping file line certificates: {{{name}: {{en: <English name>, field: <field id>}}}}",
            )
            return
        code = entry.get("code") or names.unique_slug(names.slugify(en), self.cert_codes)
        self.cert_codes.add(code)
        levels = levels or entry.get("levels") or [1, 2, 3]
        self.plan.certs[code] = NewCert(code, name, en, org, field_id, sorted(levels))
        self.certs.add(code, name)

    def conflict(self, where: str, what: str, key: str, ours: Any, theirs: Any, loc: str) -> None:
        self.fail(
            where,
            f"conflict: {what} has {key} {_show(ours)} in the registry ({loc}), "
            f"the list says {_show(theirs)}; "
            "the registry is left as it is: correct whichever is wrong",
        )

    def levels(self, row: tables.Row) -> list[int] | None:
        if row.columns.level_flags:  # 初级 / 中级 / 高级 columns with marks
            return row.flagged_levels() or None
        text = row.get("levels")
        if text:
            levels = tables.parse_levels(text)
            if levels is None:
                self.fail(row.where("levels"), f"'{text}' names no level (初级 / 中级 / 高级, or 1-3)")
            return levels
        return None

    def batch(self, row: tables.Row) -> int | None:
        text = row.get("batch")
        if not text:
            return self.plan.batch
        batch = tables.parse_batch(text)
        if batch is None:
            self.fail(row.where("batch"), f"'{text}' is not a batch number (4, 第四批)")
        elif self.plan.batch is not None and batch != self.plan.batch:
            self.fail(
                row.where("batch"), f"the row says batch {batch}, the command says --batch {self.plan.batch}"
            )
        return batch

    def certificate_ref(self, row: tables.Row) -> str | None:
        name = row.get("certificate")
        where = row.where("certificate")
        match = self._resolve("certificates", self.certs, self.cert_codes, name, where)
        if match.how == "error":
            return None
        if match.id is None or match.id not in self.reg.certificates:
            import difflib

            close = difflib.get_close_matches(name, list(self.certs.exact), n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else " (import its batch list first)"
            self.fail(where, f"certificate '{name}' is not in the registry{hint}")
            return None
        cert = self.reg.certificates[match.id]
        batch = self.batch(row)
        if batch is not None and cert.batch is not None and batch != cert.batch:
            self.conflict(
                where,
                f"certificate '{name}' ({cert.code})",
                "batch",
                cert.batch,
                batch,
                str(cert.src.at("batch")),
            )
        org = row.get("organization")
        if org:
            owner = self.reg.organizations[cert.organization]
            found = self.orgs.find(org)
            if found.id != cert.organization:
                self.fail(
                    row.where("organization"),
                    f"'{org}' does not own certificate '{name}': "
                    f"the registry says {owner.name.zh} ({owner.id})",
                )
        return cert.code

    # -- colleges and sites

    def college_row(self, row: tables.Row, as_site: bool) -> None:
        cert = self.certificate_ref(row)
        province = names.province_code(row.get("province"))
        if province is None:
            self.fail(row.where("province"), f"'{row.get('province')}' is not a province name or code")
        levels = self.levels(row)
        if as_site and not row.get("college"):  # a site of its own, not at a college
            name, column, site_only = row.get("site"), "site", True
        else:  # a pilot college, or the college an assessment site is at (依托院校)
            name, column, site_only = row.get("college"), "college", False
        if not name:
            self.fail(row.where(), "the row names neither a site nor a college")
            return
        code = row.get("school_code") or None
        if code is not None:
            code = re.sub(r"\s", "", code)
            if problem := codes.school_code_problem(code):
                self.fail(row.where("school_code"), problem)
                code = None
            elif province is not None and code[2:4] != province:
                self.fail(
                    row.where("school_code"),
                    f"school code {code} does not carry province {province} in digits 3-4",
                )
        if cert is None or province is None:
            return
        levels = levels or list(self.reg.certificates[cert].levels)
        offered = self.reg.certificates[cert].levels
        bad = sorted(set(levels) - set(offered))
        if bad:
            self.fail(
                row.where("levels"),
                f"certificate {cert} has no level {bad[0]} (it has {_show(offered)})",
            )
            return
        change = self.college(row, name, column, code, province, site_only)
        if change is None:
            return
        self.record(row, change, cert, levels, "sites" if as_site else "pilots")

    def college(
        self, row: tables.Row, name: str, column: str, code: str | None, province: str, site_only: bool
    ) -> CollegeChange | None:
        where = row.where(column)
        ident: str | None = None
        if code and code in self.codes:
            ident = self.codes[code]
            registered = self.colleges.names.get(ident, "")
            if ident not in self.reg.colleges and names.normalise(registered) != names.normalise(name):
                self.fail(where, f"school code {code} is listed for both '{registered}' and '{name}'")
                return None
            if names.normalise(registered) != names.normalise(name) and not self.mapping.entry(
                "colleges", name
            ):
                self.conflict(
                    where, f"school code {code}", "name", registered, name, self._loc(ident, "name")
                )
                return None
        else:
            match = self._resolve("colleges", self.colleges, self.college_ids, name, where)
            if match.how == "error":
                return None
            ident = match.id
        if ident is not None and ident in self.reg.colleges:
            self.count("colleges", ident)
            college = self.reg.colleges[ident]
            if college.province != province:
                self.conflict(
                    where,
                    f"college '{name}' ({ident})",
                    "province",
                    college.province,
                    province,
                    str(college.src.loc),
                )
                return None
            if code and college.code and college.code != code:
                self.conflict(
                    where,
                    f"college '{name}' ({ident})",
                    "school code",
                    college.code,
                    code,
                    self._loc(ident, "code"),
                )
                return None
            change = self.plan.colleges.setdefault(ident, CollegeChange(ident, province, college.name.zh))
            if code and not college.code:
                change.code = code
            return change
        if ident is not None and ident in self.plan.colleges:
            change = self.plan.colleges[ident]
            if code and change.code and code != change.code:
                self.fail(where, f"'{name}' is listed with school codes {change.code} and {code}")
            change.code = change.code or code
            return change
        entry = self.mapping.entry("colleges", name)
        kind = entry.get("kind") or (SITE_KIND if site_only else _college_kind(name, row.get("kind")))
        if kind is None:
            self.fail(
                where,
                f"new college '{name}': its kind is not in the list or the name; add a 院校类型 column "
                "or the "
                f"mapping file line colleges: {{{name}: {{kind: <{' | '.join(COLLEGE_KINDS)}>}}}}",
            )
            return None
        ident = entry.get("id") or names.unique_slug(names.slugify(name), self.college_ids)
        self.college_ids.add(ident)
        city = entry.get("city") or row.get("city") or None
        change = CollegeChange(ident, province, name, True, kind, code, city, entry.get("en"))
        self.plan.colleges[ident] = change
        self.colleges.add(ident, name)
        if code:
            self.codes[code] = ident
        return change

    def _loc(self, ident: str, key: str) -> str:
        return str(self.reg.colleges[ident].src.at(key))

    def record(self, row: tables.Row, change: CollegeChange, cert: str, levels: list[int], what: str) -> None:
        where = row.where("certificate")
        existing = self.reg.colleges.get(change.id)
        records = () if existing is None else (existing.pilots if what == "pilots" else existing.sites)
        day = self.plan.date
        mine = [r for r in records if r.certificate == cert]
        label = f"the {what[:-1]} of {cert} at {change.id}"
        covering = [r for r in mine if r.since <= day and (r.ended is None or day < r.ended)]
        later = [r for r in mine if r.since > day]
        if covering:  # the registry has it already: the levels must agree
            ours = list(covering[-1].levels)
            if ours != sorted(levels):
                loc = str(covering[-1].src.loc)
                self.conflict(where, label, "levels", ours, sorted(levels), loc)
            else:
                self.count(what, f"{change.id}/{cert}")
            return
        if later:  # the registry starts it after the list's date
            self.conflict(where, label, "since", later[0].since, day, str(later[0].src.loc))
            return
        planned = change.pilots if what == "pilots" else change.sites
        if cert in planned and planned[cert] != sorted(levels):
            self.fail(
                where,
                f"{cert} at '{change.name}' is listed twice with levels {planned[cert]} and {sorted(levels)}",
            )
            return
        planned[cert] = sorted(levels)


def _college_kind(name: str, column: str) -> str | None:
    if column:
        return KIND_WORDS.get(names.normalise(column))
    key = names.normalise(name)
    if re.search(r"(职业技术学院|职业学院|高等专科学校|专科学校)$", key):
        return "高职"
    if re.search(r"(中等专业学校|中等职业学校|职业中专|职业高级中学|职业中学|技工学校|职业学校)$", key):
        return "中职"
    if re.search(r"(开放大学|广播电视大学)$", key):
        return "开放大学"
    return None


def _show(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return "(none)" if value is None else f"'{value}'" if isinstance(value, str) else str(value)


# ---------------------------------------------------------------- YAML text


def _scalar(value: str) -> str:
    """A string as house-style YAML: plain when it reads back as the same string, else quoted."""
    plain = (
        value == value.strip()
        and value
        and value[0] not in "-?:,[]{}#&*!|>'\"%@`"
        and not re.search(r"[,:\[\]{}#]", value)
    )
    if plain:
        try:
            if yaml.safe_load(value) == value:
                return value
        except yaml.YAMLError:
            pass
    return json.dumps(value, ensure_ascii=False)


def _flow(mapping: Mapping[str, Any]) -> str:
    parts = []
    for key, value in mapping.items():
        if isinstance(value, list):
            text = "[" + ", ".join(str(v) for v in value) + "]"
        elif isinstance(value, dt.date):
            text = value.isoformat()
        elif isinstance(value, int):
            text = str(value)
        else:
            text = _scalar(str(value))
        parts.append(f"{key}: {text}")
    return "{" + ", ".join(parts) + "}"


def _bound(plan: Plan) -> dict[str, str]:
    return {"bound": plan.bound} if plan.bound else {}


def _name(zh: str, en: str | None) -> str:
    return _flow({"zh": zh, "en": en} if en else {"zh": zh})


def org_text(o: NewOrg, plan: Plan) -> str:
    status: dict[str, Any] = {"status": "approved", "since": plan.date, **_bound(plan)}
    if plan.batch is not None:
        status["batch"] = plan.batch
    return "\n".join(
        [
            "# yaml-language-server: $schema=../../schema/organization.schema.json",
            f"id: {o.id}",
            f"name: {_name(o.name, o.en)}",
            f"kind: {o.kind}",
            f'province: "{o.province}"',
            "status:",
            f"  - {_flow(status)}",
            "sources:",
            f"  - {_scalar(plan.source)}",
            "",
        ]
    )


def cert_text(c: NewCert, plan: Plan) -> str:
    lines = [
        "# yaml-language-server: $schema=../../schema/certificate.schema.json",
        f"code: {c.code}",
        f"name: {_name(c.name, c.en)}",
        f"organization: {c.organization}",
        f"field: {c.field}",
        f"levels: [{', '.join(str(v) for v in c.levels)}]",
    ]
    if plan.batch is not None:
        lines.append(f"batch: {plan.batch}")
    lines += ["status:", f"  - {_flow({'status': 'active', 'since': plan.date, **_bound(plan)})}"]
    return "\n".join([*lines, "sources:", f"  - {_scalar(plan.source)}", ""])


def _records(change: CollegeChange, plan: Plan, what: str) -> list[str]:
    records = change.pilots if what == "pilots" else change.sites
    out = []
    for cert, levels in records.items():
        record: dict[str, Any] = {"certificate": cert, "levels": levels, "since": plan.date}
        if what == "pilots":
            record |= _bound(plan)
        if what == "sites":
            record["status"] = "active"
        out.append(_flow(record))
    return out


def college_text(change: CollegeChange, plan: Plan, indent: int) -> list[str]:
    pad, inner = " " * indent, " " * (indent + 2)
    lines = [f"{pad}- id: {change.id}"]
    if change.code:
        lines.append(f'{inner}code: "{change.code}"')
    lines.append(f"{inner}name: {_name(change.name, change.en)}")
    if change.city:
        lines.append(f"{inner}city: {_scalar(change.city)}")
    lines.append(f"{inner}kind: {change.kind}")
    for what in ("pilots", "sites"):
        if items := _records(change, plan, what):
            lines += [f"{inner}{what}:", *(f"{inner}  - {item}" for item in items)]
    return [*lines, f"{inner}sources:", f"{inner}  - {_scalar(plan.source)}"]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block_end(lines: list[str], start: int, indent: int, seq_same: bool = False) -> int:
    """The last content line of the block opened at line index `start`: the lines after it
    that are indented deeper than `indent` (or, with `seq_same`, list items at `indent`)."""
    end = start
    for i in range(start + 1, len(lines)):
        text = lines[i].strip()
        if not text or text.startswith("#"):
            continue
        ind = _indent(lines[i])
        if ind > indent or (seq_same and ind == indent and text.startswith("-")):
            end = i
        else:
            break
    return end


COLLEGE_KEYS = ("id", "code", "name", "city", "kind", "pilots", "sites", "example", "sources")


def edit_colleges_file(text: str, display: str, changes: list[CollegeChange], plan: Plan) -> str:
    """The province file with the changes inserted line by line; everything else as it was."""
    doc = yaml_doc(text, display)
    lines = text.splitlines()
    inserts: list[tuple[int, int, list[str]]] = []  # (after line index, order, lines)
    items: YList = doc["colleges"]
    by_id = {c["id"]: c for c in items}
    first_item_line = loc_at(display, items.item_pos[0]).line - 1 if items else None
    item_indent = _indent(lines[first_item_line]) if first_item_line is not None else 2

    def key_end(m: YMap, key: str) -> int:
        loc = m.key_loc(key)
        return _block_end(lines, loc.line - 1, loc.col - 1, seq_same=True)

    for n, change in enumerate(c for c in changes if not c.new):
        m = by_id[change.id]
        col = m.loc.col - 1  # indent of the item's keys
        item_start = m.loc.line - 1
        if change.code:
            inserts.append((key_end(m, "id"), n * 10, [f'{" " * col}code: "{change.code}"']))
        for order, what in ((1, "pilots"), (2, "sites")):
            records = _records(change, plan, what)
            if not records:
                continue
            if what in m and isinstance(m[what], YList) and m[what]:
                lst: YList = m[what]
                dash = _indent(lines[loc_at(display, lst.item_pos[0]).line - 1])
                inserts.append((key_end(m, what), n * 10 + order, [f"{' ' * dash}- {r}" for r in records]))
            else:
                before = [k for k in COLLEGE_KEYS[: COLLEGE_KEYS.index(what)] if k in m]
                anchor = key_end(m, before[-1]) if before else _block_end(lines, item_start, col - 1)
                block = [f"{' ' * col}{what}:", *(f"{' ' * (col + 2)}- {r}" for r in records)]
                inserts.append((anchor, n * 10 + order, block))
        sources = m.get("sources")
        if plan.source not in (sources or ()):
            if isinstance(sources, YList) and sources:
                dash = _indent(lines[loc_at(display, sources.item_pos[0]).line - 1])
                inserts.append((key_end(m, "sources"), n * 10 + 3, [f"{' ' * dash}- {_scalar(plan.source)}"]))
            elif "sources" not in m:
                end = _block_end(lines, item_start, col - 1)
                inserts.append(
                    (end, n * 10 + 3, [f"{' ' * col}sources:", f"{' ' * (col + 2)}- {_scalar(plan.source)}"])
                )
    new = [line for c in changes if c.new for line in college_text(c, plan, item_indent)]
    if new:
        colleges_key = doc.key_loc("colleges")
        end = _block_end(lines, colleges_key.line - 1, colleges_key.col - 1, seq_same=True)
        inserts.append((end, 10**9, new))
    for after, _, block in sorted(inserts, key=lambda t: (t[0], t[1]), reverse=True):
        lines[after + 1 : after + 1] = block
    return "\n".join(lines) + "\n"


def new_colleges_file(province: str, changes: list[CollegeChange], plan: Plan) -> str:
    lines = [
        "# yaml-language-server: $schema=../../schema/colleges.schema.json",
        f'province: "{province}"',
        "colleges:",
    ]
    for change in changes:
        lines += college_text(change, plan, 2)
    return "\n".join(lines) + "\n"


def yaml_doc(text: str, display: str) -> YMap:
    from .yamlsrc import load_text

    doc = load_text(text, display)
    assert isinstance(doc, YMap), f"{display} is not a mapping"
    return doc


# ---------------------------------------------------------------- the whole import


@dataclass
class Outcome:
    plan: Plan
    files: dict[str, str]  # registry-relative path → new text
    diff_markdown: str
    written: bool


def plan_import(
    registry: Registry,
    list_path: Path,
    kind: str,
    *,
    source: str,
    date: dt.date,
    batch: int | None = None,
    mapping: Mapping_ | None = None,
    bound: str | None = None,
) -> Plan:
    """Read one list and decide what it adds; raise ImportFailed with every problem."""
    assert kind in LIST_KINDS, f"kind must be one of {LIST_KINDS}, got {kind!r}"
    mapping = mapping or Mapping_()
    assert bound in (None, "not-after", "not-before"), f"bad bound {bound!r}"
    plan = Plan(kind, source, date, batch, bound)
    try:
        table = tables.read_table(list_path, mapping.sheet)
        required = REQUIRED[kind]
        columns = tables.find_columns(table, ALIASES, required, mapping.columns, mapping.header_row)
        if kind == "sites" and "site" not in columns.index and "college" not in columns.index:
            raise tables.TableError(
                [(table.where(columns.header_row), "a site list needs a 考核站点名称 or 依托院校 column")]
            )
        fill_down = FILL_DOWN[kind] if mapping.fill_down is None else mapping.fill_down
        rows, plan.skipped = tables.data_rows(table, columns, KEY_FIELDS[kind], fill_down)
    except tables.TableError as e:
        raise ImportFailed(e.problems) from e
    plan.rows = len(rows)
    if not rows:
        raise ImportFailed([(table.label, "no data rows under the header")])
    planner = Planner(registry, mapping, plan)
    for row in rows:
        for name in REQUIRED[kind]:
            if not row.get(name):
                planner.fail(row.where(name), f"the {name} cell is empty")
        if any(not row.get(name) for name in REQUIRED[kind]):
            continue
        if kind == "certificates":
            planner.certificate_row(row)
        else:
            planner.college_row(row, as_site=kind == "sites")
    if planner.problems:
        raise ImportFailed(planner.problems)
    return plan


def render(registry_dir: Path, plan: Plan) -> dict[str, str]:
    """Registry-relative path → full new text of every file the plan creates or changes."""
    files: dict[str, str] = {}
    for org in plan.orgs.values():
        files[f"organizations/{org.id}.yaml"] = org_text(org, plan)
    for cert in plan.certs.values():
        files[f"certificates/{cert.code}.yaml"] = cert_text(cert, plan)
    by_province: dict[str, list[CollegeChange]] = {}
    for change in plan.colleges.values():
        if change.new or change.pilots or change.sites or change.code:
            by_province.setdefault(change.province, []).append(change)
    for province, changes in sorted(by_province.items()):
        rel = f"colleges/{province}.yaml"
        path = registry_dir / rel
        if path.exists():
            files[rel] = edit_colleges_file(
                path.read_text(encoding="utf-8"), f"registry/{rel}", changes, plan
            )
        else:
            files[rel] = new_colleges_file(province, changes, plan)
    for rel in files:
        if rel.split("/")[0] != "colleges" and (registry_dir / rel).exists():
            raise ImportFailed(
                [(rel, "exists already but its name is not in the registry: choose another id")]
            )
    return files


def run_import(
    registry_dir: Path,
    list_path: Path,
    kind: str,
    *,
    source: str,
    date: dt.date,
    batch: int | None = None,
    mapping_path: Path | None = None,
    dry_run: bool = False,
    bound: str | None = None,
) -> Outcome:
    """Plan, stage, check and (unless `dry_run`) write one import. Raises ImportFailed,
    with nothing written, on any problem."""
    before = load_registry(registry_dir)
    if before.registry is None or before.errors:
        raise ImportFailed(
            [(str(p.loc), p.message) for p in before.errors] or [(str(registry_dir), "does not load")]
        )
    mapping = read_mapping(mapping_path)
    plan = plan_import(
        before.registry, list_path, kind, source=source, date=date, batch=batch, mapping=mapping, bound=bound
    )
    files = render(registry_dir, plan)
    with tempfile.TemporaryDirectory(prefix="xcert-import-") as tmp:
        staged = Path(tmp) / "registry"
        shutil.copytree(registry_dir, staged, ignore=shutil.ignore_patterns(".*"))
        for rel, text in files.items():
            (staged / rel).parent.mkdir(parents=True, exist_ok=True)
            (staged / rel).write_text(text, encoding="utf-8")
        after = load_registry(staged)
        if after.errors or after.registry is None:
            raise ImportFailed(
                [
                    (_unstage(str(p.loc), staged, registry_dir), "after the import: " + p.message)
                    for p in after.errors
                ]
            )
        after = _relabel(after, staged, registry_dir)
    markdown = compare(Side("registry", before), Side(f"after importing {list_path.name}", after))
    if not dry_run and files:
        _write_all(registry_dir, files)
    return Outcome(plan, files, markdown, written=not dry_run and bool(files))


def _unstage(path: str, staged: Path, real: Path) -> str:
    """A path inside the staged copy as the same path in the real registry."""
    for prefix in (staged.as_posix(), os.path.relpath(staged)):
        if path.startswith(prefix + "/"):
            return os.path.relpath(real) + path[len(prefix) :]
    return path


def _relabel(result: LoadResult, staged: Path, real: Path) -> LoadResult:
    problems = tuple(
        dataclasses.replace(p, loc=dataclasses.replace(p.loc, path=_unstage(p.loc.path, staged, real)))
        for p in result.problems
    )
    return LoadResult(result.registry, problems)


def _write_all(registry_dir: Path, files: Mapping[str, str]) -> None:
    """Every file written beside its target first, then all renamed into place: a failure
    while writing leaves the registry as it was."""
    staged: list[tuple[Path, Path]] = []
    try:
        for rel, text in files.items():
            target = registry_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.import-tmp")
            tmp.write_text(text, encoding="utf-8")
            staged.append((tmp, target))
    except OSError:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, target in staged:
        os.replace(tmp, target)


def main(
    registry_dir: Path,
    list_path: Path,
    kind: str,
    *,
    source: str,
    date: dt.date,
    batch: int | None,
    mapping_path: Path | None,
    dry_run: bool,
    bound: str | None = None,
) -> int:
    """`build.py import`: the summary on stderr, the dry run's Markdown diff on stdout."""
    try:
        outcome = run_import(
            registry_dir,
            list_path,
            kind,
            source=source,
            date=date,
            batch=batch,
            mapping_path=mapping_path,
            dry_run=dry_run,
            bound=bound,
        )
    except ImportFailed as e:
        print("\n".join(e.lines()), file=sys.stderr)
        print(f"import FAILED: {len(e.problems)} problem(s); nothing was written", file=sys.stderr)
        return 1
    print("\n".join(outcome.plan.summary()), file=sys.stderr)
    if dry_run:
        print(outcome.diff_markdown)
    verdict = f"wrote {len(outcome.files)} file(s)" if outcome.written else "nothing written"
    print(f"import ok: {verdict}" + (" (dry run)" if dry_run else ""), file=sys.stderr)
    return 0
