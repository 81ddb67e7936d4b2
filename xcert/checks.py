"""Rules that span fields or files: references, uniqueness, date order, key windows."""

from __future__ import annotations

import datetime as dt
import difflib
import functools
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from .model import Certificate, College, Key, Pilot, Registry, RevocationList, Site, Src, Status
from .problems import Loc, Problems

T = TypeVar("T")


class Ref(Protocol):
    """`_ref_in` with its `unusable` ids given: the entry `ident` names in `table`, or None
    after reporting it at `src.at(field)` as `what`."""

    def __call__(
        self, table: Mapping[str, T], ident: str, src: Src, field: str, what: str, out: Problems
    ) -> T | None: ...


def run(reg: Registry, out: Problems, unusable: frozenset[str] = frozenset()) -> None:
    """`unusable`: ids whose files failed to load; references to them are not re-reported."""
    _ref = functools.partial(_ref_in, unusable)
    for org in reg.organizations.values():
        _history(org.status, "status", out)
        for i, key in enumerate(org.keys):
            _key(key, f"keys[{i}]", out)
            if key.status == "active" and org.status[-1].status != "approved":
                out.error(
                    key.src.at("status"),
                    f"keys[{i}].status: the organization is {org.status[-1].status} since "
                    f"{org.status[-1].since}; retire its keys (retired_on no later than that day)",
                )
        if org.status[0].status != "approved":
            out.error(
                org.status[0].src.at("status"), "status: an organization's history starts with 'approved'"
            )
    for cert in reg.certificates.values():
        _certificate(reg, cert, out, _ref)
    for std in reg.standards.values():
        _ref(reg.organizations, std.organization, std.src, "organization", "organization", out)
        of = _ref(reg.certificates, std.certificate, std.src, "certificate", "certificate", out)
        if of is not None and of.organization != std.organization:
            out.error(
                std.src.at("organization"),
                f"organization: standard is by '{std.organization}' but certificate "
                f"'{of.code}' belongs to '{of.organization}'",
            )
        for lv in std.levels:
            if of is not None and lv.level not in of.levels:
                out.error(std.src.loc, f"levels: level {lv.level} is not offered by certificate '{of.code}'")
    for college in reg.colleges.values():
        _college(reg, college, out, _ref)
    for revocations in reg.revocations.values():
        _revocations(reg, revocations, out, _ref)
    for notice in reg.notices:
        for kind, ids in notice.related.items():
            table = {
                "organizations": reg.organizations,
                "certificates": reg.certificates,
                "colleges": reg.colleges,
            }[kind]
            for ident in ids:
                _ref(table, ident, notice.src, "related", f"related.{kind}", out)
    _unique(((o.uscc, o.src.at("uscc")) for o in reg.organizations.values() if o.uscc), "USCC", out)
    _unique(((c.code, c.src.at("code")) for c in reg.colleges.values() if c.code), "school code", out)
    _unique(
        ((k.kid.hex(), k.src.at("public_key")) for o in reg.organizations.values() for k in o.keys),
        "key id (kid)",
        out,
    )


def _ref_in(
    unusable: frozenset[str],
    table: Mapping[str, T],
    ident: str,
    src: Src,
    field: str,
    what: str,
    out: Problems,
) -> T | None:
    found = table.get(ident)
    if found is None and ident not in unusable:
        noun = what.split(".")[-1].rstrip("s")
        close = difflib.get_close_matches(ident, list(table), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; {_where_listed(src, noun)}"
        out.error(src.at(field), f"{what}: unknown {noun} '{ident}'{hint}")
    return found


# Where each kind of id is listed: its files' names (organizations/<id>.yaml ...).
_LISTED_IN = {"organization": "organizations", "certificate": "certificates", "standard": "standards"}


def _where_listed(src: Src, noun: str) -> str:
    """Where the valid ids are listed, for a reference that is close to none of them."""
    folder = _LISTED_IN.get(noun)
    if folder is None:  # a college: the ids inside colleges/<province>.yaml
        return "the valid ids are the id: fields of the colleges/*.yaml files"
    root = Path(src.path).parent.parent
    ids = "codes" if noun == "certificate" else "ids"
    return f"the valid {noun} {ids} are the file names in {root.as_posix()}/{folder}/ (without .yaml)"


def _item(kind: str, ident: str) -> str:
    """The prefix of a cross-file message about a list entry, in the style of the schema's
    messages (colleges[0].pilots[1]...) but naming the entry by its id, which stays true
    when entries are added above it: colleges[changsha-civil].pilots[1]."""
    return f"{kind}[{ident}]"


def _history(history: Iterable[Status], where: str, out: Problems) -> None:
    previous: Status | None = None
    for i, entry in enumerate(history):
        if previous is not None and entry.since <= previous.since:
            out.error(
                entry.src.at("since"),
                f"{where}[{i}].since: {entry.since} must be after the previous entry's {previous.since}",
            )
        if previous is not None and entry.status == previous.status:
            out.warning(entry.src.at("status"), f"{where}[{i}]: repeats the state '{entry.status}'")
        previous = entry


def _key(key: Key, where: str, out: Problems) -> None:
    for state, day_field in (("retired", "retired_on"), ("compromised", "compromised_on")):
        has_day = getattr(key, day_field) is not None
        if key.status == state and not has_day:
            out.error(key.src.loc, f"{where}: a {state} key needs '{day_field}'")
        if key.status != state and has_day:
            out.error(key.src.at(day_field), f"{where}.{day_field}: only for a {state} key")
    if key.sign_until and key.retired_on and key.retired_on > key.sign_until + dt.timedelta(days=1):
        out.warning(key.src.at("retired_on"), f"{where}.retired_on: after the end of the signing window")


def _certificate(reg: Registry, cert: Certificate, out: Problems, _ref: Ref) -> None:
    _history(cert.status, "status", out)
    org = _ref(reg.organizations, cert.organization, cert.src, "organization", "organization", out)
    if reg.field_by_id(cert.field) is None:
        ids = [f.id for f in reg.settings.fields]
        close = difflib.get_close_matches(cert.field, ids, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        out.error(cert.src.at("field"), f"field: '{cert.field}' is not a field in registry.yaml{hint}")
    if cert.standard is not None:
        std = _ref(reg.standards, cert.standard, cert.src, "standard", "standard", out)
        if std is not None and std.certificate != cert.code:
            out.error(cert.src.at("standard"), f"standard: '{std.id}' is the standard of '{std.certificate}'")
    if org is not None and org.sandbox and not _name_says_test(cert):
        out.error(cert.src.at("name"), "name: a sandbox organization's certificate must say TEST in its name")
    for lvl in cert.credits:
        if lvl not in cert.levels:
            out.error(cert.src.at("credits"), f"credits: level {lvl} is not offered")
    if org is not None and cert.status[0].since < org.status[0].since:
        out.warning(cert.status[0].src.at("since"), "status[0].since: before the organization was approved")


def _name_says_test(cert: Certificate) -> bool:
    """The certificate's Chinese name says it is a test one (TEST or 测试)."""
    return "TEST" in cert.name.zh.upper() or "测试" in cert.name.zh


def _college(reg: Registry, college: College, out: Problems, _ref: Ref) -> None:
    at = _item("colleges", college.id)
    if college.code and college.code[2:4] != college.province:
        out.warning(
            college.src.at("code"),
            f"{at}.code: school code {college.code} does not carry province {college.province} in digits 3-4",
        )
    groups: tuple[tuple[str, Sequence[Pilot | Site]], ...] = (
        ("pilots", college.pilots),
        ("sites", college.sites),
    )
    for kind, records in groups:
        seen: dict[tuple[str, dt.date], int] = {}
        for i, rec in enumerate(records):
            where = f"{at}.{kind}[{i}]"
            cert = _ref(
                reg.certificates, rec.certificate, rec.src, "certificate", f"{where}.certificate", out
            )
            if cert is not None:
                missing = [lv for lv in rec.levels if lv not in cert.levels]
                if missing:
                    out.error(
                        rec.src.at("levels"),
                        f"{where}.levels: '{cert.code}' does not offer level "
                        f"{', '.join(map(str, missing))} (offers {', '.join(map(str, cert.levels))})",
                    )
                active = cert.status[0].since
                if rec.since < active:
                    out.warning(
                        rec.src.at("since"),
                        f"{where}.since: {rec.since} is before certificate '{cert.code}' was active "
                        f"(from {active})",
                    )
            key = (rec.certificate, rec.since)
            if key in seen:
                out.error(rec.src.loc, f"{where}: same certificate and date as {kind}[{seen[key]}]")
            seen[key] = i


def _revocations(reg: Registry, revocations: RevocationList, out: Problems, _ref: Ref) -> None:
    org_id = revocations.organization
    _ref(reg.organizations, org_id, revocations.src, "organization", "organization", out)
    seen: dict[str, Src] = {}
    for rev in revocations.revoked:
        at = _item("revoked", rev.serial)
        if rev.serial in seen:
            first = seen[rev.serial].at("serial").line
            out.error(rev.src.at("serial"), f"{at}.serial: already revoked at line {first}")
        seen[rev.serial] = rev.src
        if rev.certificate is not None:
            cert = _ref(reg.certificates, rev.certificate, rev.src, "certificate", f"{at}.certificate", out)
            if cert is not None and cert.organization != org_id:
                out.error(
                    rev.src.at("certificate"), f"{at}.certificate: '{cert.code}' is not issued by '{org_id}'"
                )


def _unique(values: Iterable[tuple[str, Loc]], what: str, out: Problems) -> None:
    first: dict[str, Loc] = {}
    for value, loc in values:
        if value in first:
            out.error(loc, f"{what} {value} is already used at {first[value]}")
        else:
            first[value] = loc
