"""What a change does to the registry: a structured diff of two models, and Markdown for PRs.

`diff_registries` is pure and compares models, not text: reformatting a file is no change,
and a key that turns `compromised` is one event however the YAML was edited. A change is
marked `security` (reviewers see it first, and the security-review gate requires the security
team) when it changes the signed trust list: the one list of what can change a verdict
(keys, revocations, organization status, a certificate type's owner, levels, status history
and validity years, names, the registry's URLs). Whatever changes the trust list and no
event names is still reported, as `trust-list-changed`.

    python build.py diff BASE [HEAD]

BASE and HEAD are git refs (`main`, `origin/main`, `HEAD~1`, `REF:path/to/registry`) or
registry directories; HEAD defaults to the work tree.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from . import codes
from .issuance import RecordFile
from .load import LoadResult, load_registry
from .model import College, Key, Organization, Registry, Settings, Status, Text, day_start
from .problems import Loc, Problem
from .trust import build_trust_list

# Events that change which certificates verify: listed first, under a warning.
SECURITY_KINDS = (  # most damaging first: the order of the security section
    "key-compromised",
    "key-removed",
    "revocation-removed",
    "organization-removed",
    "organization-history-rewritten",
    "certificate-history-rewritten",
    "certificate-removed",
    "settings-security",
    "organization-status",
    "key-reactivated",
    "key-added",
    "key-retired",
    "key-changed",
    "revocation-added",
    "revocation-changed",
    "trust-list-changed",
)
# Compared separately (as events), never field by field; `status` only as a history
# (a key's or a site's single `status` is an ordinary field).
EVENT_FIELDS = {"src", "keys", "pilots", "sites", "body"}


@dataclass(frozen=True, slots=True)
class FieldChange:
    path: str  # "name.en", "credits.2", "levels[1].summary"
    old: str | None  # display form; None = absent
    new: str | None


@dataclass(frozen=True, slots=True)
class Change:
    kind: str  # "<entity>-<event>", e.g. "key-compromised", "pilot-added", "certificate-withdrawn"
    entity: str  # organization | certificate | standard | notice | college | settings
    id: str  # the entity id (the organization's for keys and revocations)
    name: str = ""  # its Chinese name, for people
    ref: str = ""  # the record inside it: kid hex, serial, certificate of a pilot or site
    date: dt.date | None = None  # when it takes effect, where the data says
    province: str | None = None  # for colleges, pilots and sites
    note: str = ""  # reason, levels, state transition ...
    fields: tuple[FieldChange, ...] = ()
    trust: bool = False  # the entity's part of the signed trust list changes with it
    # What a reviewer must check on new or changed data: is it an illustrative entry, and
    # which public sources back it (of the entity, or for a pilot or site of its college).
    example: bool = False
    sources: tuple[str, ...] = ()
    # A key's full fingerprint, as keygen printed it and the organization page shows it:
    # what the reviewer confirms with the organization.
    fingerprint: str = ""

    @property
    def security(self) -> bool:
        return self.trust or self.kind in SECURITY_KINDS

    @property
    def ref_name(self) -> str:
        """What `ref` is: a key's kid, a revoked serial, or the certificate of a pilot or site."""
        if self.kind.startswith("key"):
            return "kid"
        return "serial" if self.kind.startswith("revocation") else "certificate"

    def to_json(self) -> dict[str, Any]:
        out = {
            k: v
            for k, v in dataclasses.asdict(self).items()
            if v not in ("", None, (), False) and k != "trust"
        }
        if self.date:
            out["date"] = self.date.isoformat()
        for name in ("fields", "sources"):
            if name in out:
                out[name] = list(out[name])
        return {**out, "security": self.security}


@dataclass(frozen=True, slots=True)
class Diff:
    changes: tuple[Change, ...]

    @property
    def security(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.security)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def kinds(self) -> list[str]:
        return [c.kind for c in self.changes]


EMPTY = Registry(
    settings=Settings(Text(""), "", "", ()),
    organizations=MappingProxyType({}),
    certificates=MappingProxyType({}),
    standards=MappingProxyType({}),
    colleges=MappingProxyType({}),
    revocations=MappingProxyType({}),
)

# ---------------------------------------------------------------- structured diff


def diff_registries(old: Registry, new: Registry) -> Diff:
    out: list[Change] = []
    if old is not EMPTY:  # a registry's first settings are no news
        out += _settings(old.settings, new.settings)
    out += _organizations(old.organizations, new.organizations, old.records)
    out += _revocations(old, new)
    out += _entities("certificate", old.certificates, new.certificates)
    out += _entities("standard", old.standards, new.standards)
    out += _entities("notice", {n.slug: n for n in old.notices}, {n.slug: n for n in new.notices})
    out += _colleges(old.colleges, new.colleges)
    return Diff(tuple(_mark_trust(out, old, new)))


def _trust_parts(reg: Registry) -> dict[tuple[str, str], Any]:
    """The signed trust list cut into one part per registry entity: an organization without
    its keys, certificates and revocations (their own events), each certificate type with its
    owner, and the registry's settings."""
    if reg is EMPTY:
        return {}
    trust = build_trust_list(reg)
    parts: dict[tuple[str, str], Any] = {("settings", "registry.yaml"): trust["registry"]}
    for org in trust["organizations"]:
        rest = {k: v for k, v in org.items() if k not in ("keys", "certificates", "revocations")}
        parts["organization", org["id"]] = rest
        for what in ("keys", "revocations"):
            if org[what]:
                parts[what, org["id"]] = org[what]
        for cert in org["certificates"]:
            parts["certificate", cert["code"]] = {**cert, "owner": org["id"]}
    return parts


def _touches(c: Change, old: Any, new: Any) -> bool:
    """Whether a field-by-field change edits one of the fields where the trust-list part differs
    (a certificate's `organization` is the part's `owner`)."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return True
    differing = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
    tops = {f.path.split(".")[0].split("[")[0] for f in c.fields}
    return bool({"owner" if t == "organization" else t for t in tops} & differing)


# Which trust-list part each event kind speaks for.
_PART_OF = {"key": "keys", "revocation": "revocations"}


def _mark_trust(changes: list[Change], old: Registry, new: Registry) -> Iterator[Change]:
    """Mark each change whose entity's trust-list part differs; report any part that differs
    with no change to carry it, so nothing that can change a verdict goes unflagged."""
    a, b = _trust_parts(old), _trust_parts(new)
    changed = {key for key in a.keys() | b.keys() if a.get(key) != b.get(key)}
    carried: set[tuple[str, str]] = set()
    for c in changes:
        key = (_PART_OF.get(c.kind.split("-")[0], c.entity), c.id)
        if c.kind in ("organization-added", "organization-removed"):  # with its keys and revocations
            carried |= {(what, c.id) for what in ("keys", "revocations")}
        if key in changed and (not c.kind.endswith("-changed") or _touches(c, a[key], b[key])):
            carried.add(key)
            c = dataclasses.replace(c, trust=True)
        yield c
    for entity, ident in sorted(changed - carried, key=lambda k: (k[0], k[1])):
        yield Change(
            "trust-list-changed",
            entity if entity in ("organization", "certificate", "settings") else "organization",
            ident,
            note=f"its {entity} in the signed trust list changes",
        )


def _settings(old: Settings, new: Settings) -> Iterator[Change]:
    changed = _field_changes(old, new)
    urls = tuple(f for f in changed if f.path in ("site_url", "verify_url"))
    if urls:  # the trust list and the QR codes' URLs live there
        yield Change("settings-security", "settings", "registry.yaml", fields=urls)
    if rest := tuple(f for f in changed if f not in urls):
        yield Change("settings-changed", "settings", "registry.yaml", fields=rest)


def _organizations(
    old: Mapping[str, Organization], new: Mapping[str, Organization], records: tuple[RecordFile, ...] = ()
) -> Iterator[Change]:
    for oid in sorted(old.keys() | new.keys()):
        a, b = old.get(oid), new.get(oid)
        if b is None:
            assert a is not None
            yield Change("organization-removed", "organization", oid, a.name.zh)
            continue
        if a is None:
            first = b.status[0]
            yield Change(
                "organization-added",
                "organization",
                oid,
                b.name.zh,
                date=first.since,
                note=_state(first),
                **_evidence(b),
            )
            yield from (_new_key(b, k) for k in b.keys)
            continue
        yield from _history("organization", oid, a.status, b)
        if changed := _field_changes(a, b):
            yield Change(
                "organization-changed", "organization", oid, b.name.zh, fields=changed, **_evidence(b)
            )
        yield from _keys(a, b, records)


def _keys(a: Organization, b: Organization, records: tuple[RecordFile, ...] = ()) -> Iterator[Change]:
    """Keys are matched by public key: one event per key that appeared, left or changed.
    `records` are the base registry's issuance records (published before this change)."""
    old = {k.public_key: k for k in a.keys}
    new = {k.public_key: k for k in b.keys}
    for pk, k in old.items():
        if pk not in new:
            yield _key_change("key-removed", a, k)
    for pk, k in new.items():
        before = old.get(pk)
        if before is None:
            yield _new_key(b, k)
        elif before.status != k.status:
            kind = {"retired": "key-retired", "compromised": "key-compromised"}.get(
                k.status, "key-reactivated"
            )
            note = f"{before.status} → {k.status}"
            day = k.compromised_on or k.retired_on
            if day is not None:
                invalid = "is now INVALID" if k.compromised_on else f"is INVALID from {day}"
                note += "; " + _key_consequences(b, k, day, invalid, records)
            yield _key_change(kind, b, k, note, _field_changes(before, k))
        elif before != k:
            yield _key_change("key-changed", b, k, fields=_field_changes(before, k))


def _key_consequences(
    org: Organization, key: Key, day: dt.date, invalid: str, records: tuple[RecordFile, ...]
) -> str:
    """What retiring or losing a key on `day` means: for the organization, whether it can
    still sign; for the certificates the key signed, which stay valid. A token stays VALID
    only if an issuance record published before `day` holds it (xcert.verify). Only the base
    registry's records can be published already (records new in this change are not), and
    only those whose tokens all predate `day` can have been published before it."""
    out = []
    if not any(k.status == "active" for k in org.keys):
        out.append(f"{org.id} now has no active signing key")
    start = day_start(day).timestamp()
    recorded = sum(
        rf.record.count
        for rf in records
        if rf.record.organization == org.id and rf.record.kid == key.kid and rf.record.last_iat < start
    )
    if recorded:
        out.append(
            f"{_counted(recorded, 'recorded certificate')} can stay valid (those in this key's "
            f"issuance records published before {day}), every other certificate it signed {invalid}"
        )
    else:
        out.append(f"no issuance record holds its tokens: every certificate it signed {invalid}")
    return "; ".join(out)


def _new_key(org: Organization, key: Key) -> Change:
    """A key new in the file; one that arrives retired or compromised is shown as such."""
    if key.status == "active":
        return _key_change("key-added", org, key)
    window = f"new key, signs {key.not_before} … {key.sign_until or 'open-ended'}, {key.status}"
    return _key_change(f"key-{key.status}", org, key, window)


def _key_change(kind: str, org: Organization, key: Key, note: str = "", fields: Any = ()) -> Change:
    date = {"key-retired": key.retired_on, "key-compromised": key.compromised_on}.get(kind) or key.not_before
    window = f"signs {key.not_before} … {key.sign_until or 'open-ended'}"
    return Change(
        kind,
        "organization",
        org.id,
        org.name.zh,
        key.kid.hex(),
        date,
        note=note or window,
        fields=fields,
        fingerprint=key.fingerprint,
    )


def _revocations(old: Registry, new: Registry) -> Iterator[Change]:
    def table(reg: Registry) -> dict[tuple[str, str], Any]:
        return {(r.organization, r.serial): r for lst in reg.revocations.values() for r in lst.revoked}

    a, b = table(old), table(new)
    for key in sorted(a.keys() | b.keys()):
        before, after = a.get(key), b.get(key)
        rev = after if after is not None else before
        assert rev is not None
        org = new.organizations.get(key[0]) or old.organizations.get(key[0])
        base = Change("", "organization", key[0], org.name.zh if org else "", rev.serial, rev.date)
        note = rev.reason + (f"; certificate {rev.certificate}" if rev.certificate else "")
        if after is None:
            yield dataclasses.replace(base, kind="revocation-removed", note=note)
        elif before is None:
            yield dataclasses.replace(base, kind="revocation-added", note=note)
        elif changed := _field_changes(before, after):
            yield dataclasses.replace(base, kind="revocation-changed", fields=changed)


def _entities(entity: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[Change]:
    """Certificates, standards and notices: added, removed, status events, field changes."""
    for ident in sorted(old.keys() | new.keys()):
        a, b = old.get(ident), new.get(ident)
        name = _name(b if b is not None else a)
        if b is None:
            yield Change(f"{entity}-removed", entity, ident, name)
            continue
        if a is None:
            yield Change(
                f"{entity}-added", entity, ident, name, date=_start(b), note=_added_note(b), **_evidence(b)
            )
            continue
        if entity == "certificate":
            yield from _history(entity, ident, a.status, b)
        changed = _field_changes(a, b)
        if getattr(a, "body", None) != getattr(b, "body", None):
            changed += (FieldChange("body", f"{len(a.body)} characters", f"{len(b.body)} characters"),)
        if changed:
            yield Change(f"{entity}-changed", entity, ident, name, fields=changed, **_evidence(b))


def _history(entity: str, ident: str, old: tuple[Status, ...], b: Any) -> Iterator[Change]:
    """Appended states are events; rewriting past states changes past validity."""
    new = b.status
    if new[: len(old)] != old:
        change = FieldChange("status", _show_history(old), _show_history(new))
        yield Change(f"{entity}-history-rewritten", entity, ident, b.name.zh, fields=(change,))
        return
    previous = old[-1].status
    for entry in new[len(old) :]:
        kind = "organization-status" if entity == "organization" else f"certificate-{entry.status}"
        yield Change(kind, entity, ident, b.name.zh, date=entry.since, note=f"{previous} → {_state(entry)}")
        previous = entry.status


def _colleges(old: Mapping[str, College], new: Mapping[str, College]) -> Iterator[Change]:
    for cid in sorted(old.keys() | new.keys()):
        a, b = old.get(cid), new.get(cid)
        c = b if b is not None else a
        assert c is not None
        base = Change("", "college", cid, c.name.zh, province=c.province, **_evidence(c))
        if b is None:
            yield dataclasses.replace(base, kind="college-removed")
            continue
        if a is None:
            yield dataclasses.replace(base, kind="college-added", note=b.kind)
        elif changed := _field_changes(a, b):
            yield dataclasses.replace(base, kind="college-changed", fields=changed)
        for what in ("pilot", "site"):
            yield from _records(what, getattr(a, what + "s", ()), getattr(b, what + "s"), base)


def _records(what: str, old: tuple[Any, ...], new: tuple[Any, ...], base: Change) -> Iterator[Change]:
    """Pilots and sites, matched by (certificate, since): added, ended, changed, removed."""
    a = {(r.certificate, r.since): r for r in old}
    b = {(r.certificate, r.since): r for r in new}
    for key in sorted(a.keys() | b.keys()):
        before, after = a.get(key), b.get(key)
        rec = after if after is not None else before
        assert rec is not None
        note = "levels " + ", ".join(map(str, rec.levels)) + f", since {rec.since}"
        change = dataclasses.replace(base, ref=rec.certificate, date=rec.since, note=note)
        if after is None:
            yield dataclasses.replace(change, kind=f"{what}-removed")
        elif before is None:
            yield dataclasses.replace(change, kind=f"{what}-added")
            if _ended(after):
                yield dataclasses.replace(change, kind=f"{what}-ended", date=after.ended)
        elif changed := _field_changes(before, after):
            kind = f"{what}-ended" if _ended(after) and not _ended(before) else f"{what}-changed"
            yield dataclasses.replace(change, kind=kind, date=after.ended or after.since, fields=changed)


def _evidence(obj: Any) -> dict[str, Any]:
    """An entity's `example` flag and `sources`, for the Change that shows it."""
    return {"example": bool(getattr(obj, "example", False)), "sources": tuple(getattr(obj, "sources", ()))}


def _ended(rec: Any) -> bool:
    return rec.ended is not None or getattr(rec, "status", "active") == "closed"


# ---------------------------------------------------------------- field by field


def _field_changes(a: Any, b: Any) -> tuple[FieldChange, ...]:
    fa, fb = _flat(a), _flat(b)
    paths = list(fa) + [p for p in fb if p not in fa]
    return tuple(FieldChange(p, fa.get(p), fb.get(p)) for p in paths if fa.get(p) != fb.get(p))


def _flat(obj: Any, prefix: str = "") -> dict[str, str]:
    """A dataclass as {dotted path: display value}; absent, empty and false values left out."""
    out: dict[str, str] = {}
    for f in dataclasses.fields(obj):
        value, path = getattr(obj, f.name), prefix + f.name
        if f.name in EVENT_FIELDS or f.name.startswith("_") or value is None or value is False:
            continue
        if f.name == "status" and isinstance(value, tuple):
            continue
        if isinstance(value, tuple | Mapping) and not value:
            continue
        if dataclasses.is_dataclass(value):
            out.update(_flat(value, path + "."))
        elif isinstance(value, tuple) and dataclasses.is_dataclass(value[0]):
            for i, item in enumerate(value):
                out.update(_flat(item, f"{path}[{getattr(item, 'level', i)}]."))
        elif isinstance(value, Mapping):
            out.update({f"{path}.{k}": _show(v) for k, v in value.items()})
        else:
            out[path] = _show(value)
    return out


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(_show(v) for v in value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _show_history(history: tuple[Status, ...]) -> str:
    return "; ".join(f"{s.status} since {s.since}" for s in history)


BOUND_WORDS = {"not-after": "no later than ", "not-before": "no earlier than "}


def _state(entry: Status) -> str:
    extra = [f"since {BOUND_WORDS.get(entry.bound or '', '')}{entry.since}"]
    if entry.batch:
        extra.append(f"batch {entry.batch}")
    if entry.reason:
        extra.append(entry.reason)
    return f"{entry.status} ({', '.join(extra)})"


def _name(obj: Any) -> str:
    text = getattr(obj, "name", None) or getattr(obj, "title", None)
    return text.zh if isinstance(text, Text) else ""


def _start(obj: Any) -> dt.date | None:
    if status := getattr(obj, "status", None):
        return status[0].since
    return getattr(obj, "published", None) or getattr(obj, "date", None)


def _added_note(obj: Any) -> str:
    parts = [
        f"{attr} {v}"
        for attr in ("organization", "certificate", "kind", "version")
        if (v := getattr(obj, attr, None))
    ]
    levels = getattr(obj, "levels", ())
    if levels and isinstance(levels[0], int):
        parts.append("levels " + ", ".join(map(str, levels)))
    return ", ".join(parts)


# ---------------------------------------------------------------- Markdown

MARKER = "<!-- xcert-registry-diff -->"  # lets a workflow find and update its own comment
# The last line of a diff that ran to its end: the security gate clears nothing without it.
COMPLETE = "<!-- xcert-registry-diff: complete -->"
MAX_CHARS = 60_000  # GitHub refuses comments over 65,536 characters
LABELS = {
    "key-compromised": "KEY COMPROMISED",
    "key-removed": "Key REMOVED from the file",
    "key-reactivated": "Key status changed",
    "revocation-added": "Certificate revoked",
    "revocation-removed": "Revocation REMOVED",
    "organization-history-rewritten": "Organization status history REWRITTEN",
    "organization-removed": "Organization file REMOVED",
    "certificate-history-rewritten": "Certificate status history REWRITTEN",
    "certificate-removed": "Certificate file REMOVED",
    "settings-security": "Registry URLs changed",
}
WHY = {
    "key-added": "certificates signed with it will verify",
    "key-reactivated": "a retired or compromised key must never sign again",
    "key-removed": "keys are never deleted: mark them retired or compromised instead",
    "revocation-removed": "the certificate becomes valid again",
    "organization-history-rewritten": "changes the validity of certificates already issued",
    "certificate-history-rewritten": "changes the validity of certificates already issued",
    "organization-removed": "records are deprecated, never deleted; its keys leave the trust list",
    "certificate-removed": "records are deprecated, never deleted",
    "settings-security": "the trust list and QR codes are published at these URLs",
}
GROUPS = ("Added · 新增", "Changed · 修改", "Withdrawn or removed · 撤销或删除")


def render_markdown(diff: Diff, title: str = "Registry changes") -> str:
    lines = [MARKER, f"## {title} · 注册库变更", ""]
    if not diff:
        return "\n".join([*lines, "No change to the registry data. 注册库数据无变更。", ""])
    security = sorted(
        diff.security, key=lambda c: SECURITY_KINDS.index(c.kind) if c.kind in SECURITY_KINDS else 99
    )
    lines += [_tally(diff.changes), ""]
    if security:
        lines += [
            f"### ⚠️ Security-sensitive changes · 安全敏感变更 ({len(security)})",
            "",
            "> [!WARNING]",
            "> These change which certificates verify (keys, revocations, organization status):"
            " a member of the security team must review this pull request.",
            "",
            *(line for c in security for line in _item(c)),
            "",
        ]
    groups: dict[str, list[Change]] = {g: [] for g in GROUPS}
    provinces: dict[str, list[Change]] = defaultdict(list)
    for c in diff.changes:
        if c.security:
            continue
        if c.entity == "college":
            provinces[c.province or ""].append(c)
        elif c.kind.endswith("-added"):
            groups[GROUPS[0]].append(c)
        elif c.kind.endswith(("-removed", "-withdrawn")):
            groups[GROUPS[2]].append(c)
        else:
            groups[GROUPS[1]].append(c)
    for heading, items in groups.items():
        if items:
            lines += [f"### {heading} ({len(items)})", "", *(line for c in items for line in _item(c)), ""]
    if provinces:
        lines += ["### Pilot colleges and assessment sites · 试点院校与考核站点", ""]
        for province in sorted(provinces):
            zh, en = codes.PROVINCES.get(province, (province, province))
            items = provinces[province]
            lines += [f"#### {zh} {en} ({province}): {_tally(items)}", ""]
            lines += [*(line for c in items for line in _item(c)), ""]
    return _truncate("\n".join(lines))


def _tally(changes: tuple[Change, ...] | list[Change]) -> str:
    """ "3 colleges added, 1 key compromised": each kind counted, its noun in the right number."""
    counts = Counter(c.kind for c in changes)
    return ", ".join(_counted(n, PHRASES.get(kind, kind.replace("-", " "))) for kind, n in counts.items())


# Kinds whose words do not read as "<noun> <event>" (the noun is the word before the event).
PHRASES = {
    "organization-status": "organization status change",
    "settings-security": "registry URL change",
    "settings-changed": "settings change",
}
_NO_PLURAL = ("settings", "status")


def _counted(n: int, phrase: str) -> str:
    """ "1 college added", "3 colleges added", "2 organization histories rewritten",
    "2 recorded certificates": the last word that is a noun takes the plural."""
    words = phrase.split(" ")
    if n != 1:
        last = words[-1]
        at = len(words) - 1 if last in ("change", "certificate", "key") or len(words) == 1 else len(words) - 2
        word = words[at]
        if word not in _NO_PLURAL:
            consonant_y = word.endswith("y") and word[-2:-1] not in "aeiou"
            words[at] = word[:-1] + "ies" if consonant_y else word + "s"
    return f"{n} {' '.join(words)}"


def _item(c: Change) -> list[str]:
    label = LABELS.get(c.kind) or c.kind.replace("-", " ").capitalize()
    who = f"{c.entity} {_code(c.id)}" + (f" {_esc(c.name)}" if c.name else "")
    if c.ref:
        who += f", {c.ref_name} {_code(c.ref)}"
    parts = [f"- **{label}**: {who}"]
    if c.date and not c.kind.endswith("-changed") and str(c.date) not in c.note:  # say a date once
        parts.append(f"on {c.date}")
    if c.note:
        parts.append(f"({_esc(c.note)})")
    if why := WHY.get(c.kind):
        parts.append(f"— {why}")
    return [
        " ".join(parts),
        *_evidence_lines(c),
        *(f"  - `{f.path}`: {_value(f.old)} → {_value(f.new)}" for f in c.fields),
    ]


def _evidence_lines(c: Change) -> list[str]:
    """A key's fingerprint; `example: true` and the sources of new or changed data: what a
    reviewer must check."""
    if c.fingerprint:
        return [f"  - fingerprint {_code(c.fingerprint)}: confirm it with the organization"]
    if not c.kind.endswith(("-added", "-changed")):
        return []
    lines = []
    if c.example:
        lines.append("  - **`example: true`**: an illustrative entry, never counted as real data")
    if c.sources:
        lines.append("  - sources: " + ", ".join(_value(s) for s in c.sources))
    else:
        lines.append("  - sources: *(none)*")
    return lines


def _value(v: str | None) -> str:
    if v is None:
        return "*(none)*"
    return _code(v if len(v) <= 160 else v[:157] + "…")


_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")


_ESCAPED = re.compile(r"([\\`*_\[\]<>#|@!~&:$])")


def _one_line(text: str) -> str:
    return _LINE_BREAKS.sub(" ", text)


def _fence(text: str, least: int) -> str:
    """A run of backticks longer than any run inside `text` (CommonMark closes a code span
    or fence only with a run of exactly its own length)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(least, longest + 1)


def _code(text: str) -> str:
    """A code span that holds any text whole, so nothing in it is Markdown or HTML and its
    @names mention nobody."""
    text = _one_line(text)
    if "`" not in text:
        return f"`{text}`"
    fence = _fence(text, 1)
    return f"{fence} {text} {fence}"


def _esc(text: str) -> str:
    """Plain text: every character that can start Markdown, HTML, an entity, a mention, an
    autolink or math inline is backslash-escaped (CommonMark allows it before any ASCII
    punctuation). Values never start a line, so line-start syntax (#, -, 1.) cannot arise."""
    # GitHub finds @mentions in rendered text, where a backslash is gone: a full-width ＠.
    return _ESCAPED.sub(r"\\\1", _one_line(text)).replace("\\@", "＠")


def _truncate(text: str, limit: int = MAX_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit)
    rest = text[cut:].count("\n")
    return f"{text[:cut]}\n\n… {rest} more line(s) cut: run `python build.py diff` for the whole summary.\n"


# ---------------------------------------------------------------- the two sides


@dataclass(frozen=True)
class Side:
    label: str
    result: LoadResult


def load_side(spec: str | None, repo: Path | None = None, registry_rel: str = "registry") -> Side:
    """A registry directory (or a directory holding `registry/`), a git ref, `REF:path`, or
    None for the work tree's registry."""
    repo = repo or _toplevel(Path.cwd())
    if spec is None:
        path = (repo or Path.cwd()) / registry_rel
        return Side("work tree", load_registry(path))
    path = Path(spec)
    if path.is_dir():
        if not (path / "registry.yaml").exists() and (path / registry_rel / "registry.yaml").exists():
            path = path / registry_rel
        return Side(spec, load_registry(path))
    if repo is None:
        raise ValueError(f"'{spec}' is neither a directory nor a git ref (not inside a git repository)")
    ref, _, rel = spec.partition(":")
    return Side(spec, load_ref(repo, ref, rel or registry_rel))


def load_ref(repo: Path, ref: str, registry_rel: str = "registry") -> LoadResult:
    """The registry as it was at a git ref (an empty one if the ref has no such directory).
    Problems name files as `<registry_rel>/...`, as in the work tree."""
    _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    rel = registry_rel.strip("/")
    return load_archive(archive(repo, ref, rel), rel)


def archive(repo: Path, ref: str, rel: str) -> bytes | None:
    """A tar of `rel` at `ref`, or None when the ref has no such path."""
    proc = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", ref, "--", rel], capture_output=True
    )
    return proc.stdout if proc.returncode == 0 else None


def load_archive(data: bytes | None, rel: str) -> LoadResult:
    """Load the registry in a `git archive` tar. Only regular files are extracted: a link or
    any other member is an error at its path (a registry holds regular files only, and a
    pull request's `README.md -> /etc/hostname` must neither escape the temporary directory
    nor crash the security gate's diff into an empty, passing output)."""
    if data is None:
        return LoadResult(EMPTY, ())
    refused: list[Problem] = []
    with tempfile.TemporaryDirectory(prefix="xcert-diff-") as tmp:
        root = Path(tmp).resolve()
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            # Written by hand rather than with extractall(filter="data"), which Debian 12's
            # Python 3.11.2 lacks: only regular files and directories, only inside `root`.
            for member in tar.getmembers():
                if not (member.isfile() or member.isdir()):
                    refused.append(Problem(Loc(member.name), _not_regular(member)))
                    continue
                target = (root / member.name).resolve()
                if root != target and root not in target.parents:
                    outside = f"unsafe archive member: {member.name!r} is outside the archive's root"
                    return LoadResult(None, (*refused, Problem(Loc(rel), outside)))
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    source = tar.extractfile(member)
                    assert source is not None  # a regular file always has its data
                    target.write_bytes(source.read())
        result = load_registry(Path(tmp) / rel)
        prefix = Path(tmp).as_posix() + "/"
    problems = tuple(
        dataclasses.replace(p, loc=dataclasses.replace(p.loc, path=p.loc.path.removeprefix(prefix)))
        for p in result.problems
    )
    return LoadResult(result.registry, (*refused, *problems))


def _not_regular(member: tarfile.TarInfo) -> str:
    if member.issym():
        return f"symbolic link to '{member.linkname}': registry files must be regular files"
    if member.islnk():
        return f"hard link to '{member.linkname}': registry files must be regular files"
    return "not a regular file: registry files must be regular files"


def _toplevel(where: Path) -> Path | None:
    try:
        proc = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "--show-toplevel"], capture_output=True, text=True
        )
    except OSError:  # no git at all
        return None
    return Path(proc.stdout.strip()) if proc.returncode == 0 else None


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise ValueError(f"git {' '.join(args)}: {proc.stderr.strip() or 'unknown revision'}")
    return proc.stdout


def _failure(side: Side, which: str, limit: int = 50) -> str:
    errors = side.result.errors
    lines = [
        f"### ❌ The {which} registry ({_code(side.label)}) has {len(errors)} error(s)",
        "",
        "Files with errors are left out of the comparison.",
        "",
    ]
    body = [_one_line(p.format()) for p in errors[:limit]]
    if len(errors) > limit:
        body.append(f"… and {len(errors) - limit} more")
    fence = _fence("\n".join(body), 3)  # a message quoting a value cannot close the block early
    return "\n".join([*lines, f"{fence}text", *body, fence, ""])


DIRECTORY_OF = {"organization": "organizations", "certificate": "certificates", "standard": "standards"}


def _file_of(c: Change) -> tuple[str, str]:
    """(directory, file stem) of the registry file a change was read from."""
    if c.kind.startswith("revocation"):
        return "revocations", c.id
    if c.entity == "college":
        return "colleges", c.province or ""
    return DIRECTORY_OF.get(c.entity, c.entity + "s"), c.id


def _broken_files(result: LoadResult) -> set[tuple[str, str]]:
    return {(Path(p.loc.path).parent.name, Path(p.loc.path).stem) for p in result.errors}


def compare(base: Side, head: Side) -> str:
    """Markdown for a PR comment: the summary, after any load errors of either side.

    A file with errors does not load, so its entities would look removed (or added):
    those artefacts are left out of the summary; the errors are listed instead."""
    return _compare(base, head) + "\n" + COMPLETE + "\n"


def _compare(base: Side, head: Side) -> str:
    failures = [_failure(s, w) for s, w in ((base, "base"), (head, "head")) if s.result.errors]
    if base.result.registry is None or head.result.registry is None:
        body = "\n".join(
            [MARKER, "## Registry changes · 注册库变更", "", "Cannot compare: a registry does not load.", ""]
        )
    else:
        title = f"Registry changes {base.label} → {head.label}"
        d = diff_registries(base.result.registry, head.result.registry)
        if failures:
            gone, new = _broken_files(head.result), _broken_files(base.result)
            d = Diff(
                tuple(
                    c
                    for c in d.changes
                    if not (c.kind.endswith("-removed") and _file_of(c) in gone)
                    and not (c.kind.endswith("-added") and _file_of(c) in new)
                )
            )
        body = render_markdown(d, title)
    if not failures:
        return body
    head_line, _, rest = body.partition("\n")
    return "\n".join([head_line, *failures, rest])


def main(base: str, head: str | None = None) -> int:
    """`python build.py diff BASE [HEAD]`: Markdown on stdout. Exit 1 if HEAD has errors,
    2 if a side cannot be read at all."""
    try:
        sides = load_side(base), load_side(head)
    except (ValueError, subprocess.CalledProcessError) as e:
        print(f"diff: {e}", file=sys.stderr)
        return 2
    sys.stdout.write(compare(*sides))
    return 0 if sides[1].result.ok else 1
