"""What a change does to the registry: a structured diff of two models, and Markdown for PRs.

`diff_registries` is pure and compares models, not text, so reformatting a file is no
change, and a key that turns `compromised` is one event however the YAML was edited.
Security-sensitive events (anything that changes which certificates verify) are flagged
so reviewers see them first.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tarfile
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from . import codes
from .load import LoadResult, load_registry
from .model import (
    College,
    Key,
    Organization,
    Pilot,
    Registry,
    Revocation,
    Settings,
    Site,
    Status,
    Text,
)

# Kinds whose change alters which certificates verify: shown first, under a warning.
SECURITY_KINDS = frozenset(
    {
        "key-added",
        "key-retired",
        "key-compromised",
        "key-reactivated",
        "key-changed",
        "key-removed",
        "revocation-added",
        "revocation-removed",
        "revocation-changed",
        "organization-status",
        "organization-history-rewritten",
        "organization-removed",
        "certificate-history-rewritten",
        "certificate-removed",
        "settings-security",
    }
)
# Fields whose change alters verification even though the entity itself stays.
SECURITY_FIELDS = {"organization": {"sandbox"}, "certificate": {"organization", "levels"}}
SKIPPED = {"src", "status", "keys", "pilots", "sites", "body"}


@dataclass(frozen=True, slots=True)
class FieldChange:
    path: str  # "name.en", "credits.2", "levels[1].summary"
    old: str | None  # display form; None = absent
    new: str | None


@dataclass(frozen=True, slots=True)
class Change:
    kind: str  # "<entity>-<event>", e.g. "key-compromised", "pilot-added"
    entity: str  # organization | certificate | standard | notice | college | settings
    id: str  # the entity id (the organization's for keys and revocations)
    name: str = ""  # its Chinese name, for people
    ref: str = ""  # the record inside it: kid hex, serial, certificate of a pilot or site
    date: dt.date | None = None  # when it takes effect, when the data says
    province: str | None = None  # for colleges, pilots and sites
    note: str = ""  # reason, levels, new state ...
    fields: tuple[FieldChange, ...] = ()

    @property
    def security(self) -> bool:
        return self.kind in SECURITY_KINDS or (
            self.kind.endswith("-changed")
            and any(f.path.split(".")[0] in SECURITY_FIELDS.get(self.entity, ()) for f in self.fields)
        )


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
    if old is not EMPTY:
        out += _settings(old.settings, new.settings)
    out += _organizations(old.organizations, new.organizations)
    out += _revocations(old, new)
    out += _entities("certificate", old.certificates, new.certificates, _certificate_extra)
    out += _entities("standard", old.standards, new.standards)
    out += _entities(
        "notice", {n.slug: n for n in old.notices}, {n.slug: n for n in new.notices}, _notice_extra
    )
    out += _colleges(old.colleges, new.colleges)
    return Diff(tuple(out))


def _settings(old: Settings, new: Settings) -> list[Change]:
    changed = _field_changes(old, new)
    urls = tuple(f for f in changed if f.path in ("site_url", "verify_url"))
    rest = tuple(f for f in changed if f not in urls)
    out = []
    if urls:  # the trust list and QR codes live at these URLs
        out.append(Change("settings-security", "settings", "registry.yaml", fields=urls))
    if rest:
        out.append(Change("settings-changed", "settings", "registry.yaml", fields=rest))
    return out


def _organizations(old: Mapping[str, Organization], new: Mapping[str, Organization]) -> list[Change]:
    out: list[Change] = []
    for oid in _ids(old, new):
        a, b = old.get(oid), new.get(oid)
        if b is None:
            assert a is not None
            out.append(Change("organization-removed", "organization", oid, a.name.zh))
            out += [_key_change("key-removed", a, k) for k in a.keys]
            continue
        if a is None:
            last = b.status[-1]
            out.append(
                Change(
                    "organization-added", "organization", oid, b.name.zh, date=b.status[0].since,
                    note=_status_note(last),
                )
            )
            out += [_key_change("key-added", b, k) for k in b.keys]
            continue
        out += _history("organization", a, b)
        if changed := _field_changes(a, b):
            out.append(Change("organization-changed", "organization", oid, b.name.zh, fields=changed))
        out += _keys(a, b)
    return out


def _keys(a: Organization, b: Organization) -> Iterator[Change]:
    old = {k.public_key: k for k in a.keys}
    new = {k.public_key: k for k in b.keys}
    for pk, k in old.items():
        if pk not in new:
            yield _key_change("key-removed", a, k)
    for pk, k in new.items():
        before = old.get(pk)
        if before is None:
            yield _key_change("key-added", b, k)
            continue
        if before.status != k.status:
            kind = {"retired": "key-retired", "compromised": "key-compromised"}.get(k.status, "key-reactivated")
            yield _key_change(kind, b, k, f"{before.status} → {k.status}")
        rest = tuple(
            f for f in _field_changes(before, k) if f.path not in ("status", "retired_on", "compromised_on")
        )
        if rest or (before.status == k.status and _field_changes(before, k)):
            yield _key_change("key-changed", b, k, fields=_field_changes(before, k))


def _key_change(
    kind: str, org: Organization, key: Key, note: str = "", fields: tuple[FieldChange, ...] = ()
) -> Change:
    date = {"key-retired": key.retired_on, "key-compromised": key.compromised_on}.get(kind, key.not_before)
    window = f"signs {key.not_before} … {key.sign_until or 'open-ended'}"
    return Change(
        kind, "organization", org.id, org.name.zh, ref=key.kid.hex(), date=date,
        note=note or f"{window}, status {key.status}", fields=fields,
    )


def _revocations(old: Registry, new: Registry) -> list[Change]:
    def table(reg: Registry) -> dict[tuple[str, str], Revocation]:
        return {(r.organization, r.serial): r for lst in reg.revocations.values() for r in lst.revoked}

    a, b = table(old), table(new)
    out = []
    for key in sorted(a.keys() | b.keys()):
        before, after = a.get(key), b.get(key)
        org = new.organizations.get(key[0]) or old.organizations.get(key[0])
        name = org.name.zh if org else ""
        rev = after or before
        assert rev is not None
        note = f"{rev.reason}" + (f"; certificate {rev.certificate}" if rev.certificate else "")
        if after is None:
            out.append(Change("revocation-removed", "organization", key[0], name, rev.serial, rev.date, note=note))
        elif before is None:
            out.append(Change("revocation-added", "organization", key[0], name, rev.serial, rev.date, note=note))
        elif changed := _field_changes(before, after):
            out.append(
                Change("revocation-changed", "organization", key[0], name, rev.serial, rev.date, fields=changed)
            )
    return out


Extra = Callable[[Any, Any], Iterable[Change]]


def _entities(entity: str, old: Mapping[str, Any], new: Mapping[str, Any], extra: Extra | None = None) -> list[Change]:
    out: list[Change] = []
    for ident in _ids(old, new):
        a, b = old.get(ident), new.get(ident)
        name = _name(b if b is not None else a)
        if b is None:
            out.append(Change(f"{entity}-removed", entity, ident, name))
        elif a is None:
            out.append(Change(f"{entity}-added", entity, ident, name, date=_start(b), note=_added_note(b)))
        else:
            if extra is not None:
                out += extra(a, b)
            if changed := _field_changes(a, b):
                out.append(Change(f"{entity}-changed", entity, ident, name, fields=changed))
    return out


def _certificate_extra(a: Any, b: Any) -> Iterable[Change]:
    return _history("certificate", a, b)


def _notice_extra(a: Any, b: Any) -> Iterable[Change]:
    if a.body != b.body:
        yield Change(
            "notice-changed", "notice", b.slug, b.title.zh,
            fields=(FieldChange("body", f"{len(a.body)} characters", f"{len(b.body)} characters"),),
        )


def _history(entity: str, a: Any, b: Any) -> list[Change]:
    """Appended states are events; rewriting past states changes past validity."""
    old, new = a.status, b.status
    ident, name = getattr(b, "id", None) or b.code, b.name.zh
    if old == new:
        return []
    if new[: len(old)] != old:
        change = FieldChange("status", _show_history(old), _show_history(new))
        return [Change(f"{entity}-history-rewritten", entity, ident, name, fields=(change,))]
    out = []
    previous = old[-1].status
    for entry in new[len(old) :]:
        kind = "organization-status" if entity == "organization" else f"certificate-{entry.status}"
        note = f"{previous} → {_status_note(entry)}"
        out.append(Change(kind, entity, ident, name, date=entry.since, note=note))
        previous = entry.status
    return out


def _colleges(old: Mapping[str, College], new: Mapping[str, College]) -> list[Change]:
    out: list[Change] = []
    for cid in _ids(old, new):
        a, b = old.get(cid), new.get(cid)
        c = b if b is not None else a
        assert c is not None
        base = {"entity": "college", "id": cid, "name": c.name.zh, "province": c.province}
        if b is None:
            out.append(Change("college-removed", **base))
            continue
        if a is None:
            out.append(Change("college-added", note=b.kind, **base))
        elif changed := _field_changes(a, b):
            out.append(Change("college-changed", fields=changed, **base))
        out += _records("pilot", a.pilots if a else (), b.pilots, base)
        out += _records("site", a.sites if a else (), b.sites, base)
    return out


def _records(kind: str, old: tuple[Pilot | Site, ...], new: tuple[Pilot | Site, ...], base: dict) -> list[Change]:
    def table(items: tuple[Pilot | Site, ...]) -> dict[tuple[str, dt.date], Pilot | Site]:
        return {(r.certificate, r.since): r for r in items}

    a, b = table(old), table(new)
    out = []
    for key in sorted(a.keys() | b.keys()):
        before, after = a.get(key), b.get(key)
        rec = after or before
        assert rec is not None
        levels = "levels " + ", ".join(map(str, rec.levels))
        if after is None:
            out.append(Change(f"{kind}-removed", ref=key[0], date=key[1], note=levels, **base))
        elif before is None:
            status = getattr(after, "status", "active")
            event = "ended" if after.ended or status == "closed" else "added"
            note = f"{levels}, since {after.since}" + (f", ended {after.ended}" if after.ended else "")
            out.append(Change(f"{kind}-{event}" if event == "added" else f"{kind}-added", ref=key[0],
                              date=after.since, note=note, **base))
        elif changed := _field_changes(before, after):
            ended = (after.ended and not before.ended) or (
                getattr(after, "status", None) == "closed" and getattr(before, "status", None) != "closed"
            )
            out.append(
                Change(f"{kind}-ended" if ended else f"{kind}-changed", ref=key[0],
                       date=after.ended or after.since, note=levels, fields=changed, **base)
            )
    return out


# ---------------------------------------------------------------- field-by-field


def _field_changes(a: Any, b: Any) -> tuple[FieldChange, ...]:
    fa, fb = _flat(a), _flat(b)
    paths = list(fa) + [p for p in fb if p not in fa]
    return tuple(FieldChange(p, fa.get(p), fb.get(p)) for p in paths if fa.get(p) != fb.get(p))


def _flat(obj: Any, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for f in fields(obj):
        if f.name in SKIPPED or f.name.startswith("_"):
            continue
        out.update(_flat_value(getattr(obj, f.name), prefix + f.name))
    return out


def _flat_value(value: Any, path: str) -> dict[str, str]:
    if value is None or value is False or (isinstance(value, tuple | Mapping) and not value):
        return {}
    if is_dataclass(value):
        return _flat(value, path + ".")
    if isinstance(value, tuple) and is_dataclass(value[0]):
        out: dict[str, str] = {}
        for i, item in enumerate(value):
            label = getattr(item, "level", None) or getattr(item, "id", None) or i
            out.update(_flat(item, f"{path}[{label}]."))
        return out
    if isinstance(value, Mapping):
        return {f"{path}.{k}": _show(v) for k, v in value.items()}
    return {path: _show(value)}


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(_show(v) for v in value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _show_history(history: tuple[Status, ...]) -> str:
    return "; ".join(f"{s.status} since {s.since}" for s in history)


def _status_note(entry: Status) -> str:
    extra = [f"since {entry.since}"]
    if entry.batch:
        extra.append(f"batch {entry.batch}")
    if entry.reason:
        extra.append(entry.reason)
    return f"{entry.status} ({', '.join(extra)})"


def _ids(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    return sorted(old.keys() | new.keys())


def _name(obj: Any) -> str:
    text = getattr(obj, "name", None) or getattr(obj, "title", None)
    return text.zh if isinstance(text, Text) else ""


def _start(obj: Any) -> dt.date | None:
    status = getattr(obj, "status", None)
    if isinstance(status, tuple) and status:
        return status[0].since
    return getattr(obj, "published", None) or getattr(obj, "date", None)


def _added_note(obj: Any) -> str:
    parts = []
    for attr in ("organization", "certificate", "kind", "version"):
        if value := getattr(obj, attr, None):
            parts.append(f"{attr} {value}")
    if levels := getattr(obj, "levels", None):
        if isinstance(levels[0], int):
            parts.append("levels " + ", ".join(map(str, levels)))
    return ", ".join(parts)


# ---------------------------------------------------------------- Markdown

MARKER = "<!-- xcert-registry-diff -->"
LABELS = {
    "key-added": "Key added",
    "key-retired": "Key retired",
    "key-compromised": "KEY COMPROMISED",
    "key-reactivated": "Key status changed",
    "key-changed": "Key changed",
    "key-removed": "Key REMOVED from the file",
    "revocation-added": "Certificate revoked",
    "revocation-removed": "Revocation REMOVED",
    "revocation-changed": "Revocation changed",
    "organization-status": "Organization status",
    "organization-history-rewritten": "Organization status history REWRITTEN",
    "organization-removed": "Organization file REMOVED",
    "certificate-history-rewritten": "Certificate status history REWRITTEN",
    "certificate-removed": "Certificate file REMOVED",
    "settings-security": "Registry URLs changed",
}
WHY = {
    "key-added": "certificates signed with it will verify",
    "key-retired": "certificates it signed before then stay valid",
    "key-compromised": "every certificate it ever signed is now INVALID",
    "key-removed": "keys are never deleted: mark them retired or compromised instead",
    "revocation-removed": "the certificate becomes valid again",
    "organization-history-rewritten": "changes the validity of certificates already issued",
    "certificate-history-rewritten": "changes the validity of certificates already issued",
    "organization-removed": "records are deprecated, never deleted; its keys leave the trust list",
    "certificate-removed": "records are deprecated, never deleted",
    "settings-security": "the trust list and QR codes are published at these URLs",
}
# Security items are sorted so the most damaging come first.
SEVERITY = ["key-compromised", "key-removed", "revocation-removed", "organization-removed",
            "organization-history-rewritten", "certificate-history-rewritten", "certificate-removed",
            "settings-security", "organization-status", "key-added", "key-retired", "key-reactivated",
            "key-changed", "revocation-added", "revocation-changed"]


def render_markdown(diff: Diff, title: str = "Registry changes") -> str:
    lines = [MARKER, f"## {title} · 注册库变更", ""]
    if not diff:
        return "\n".join([*lines, "No change to the registry data. 注册库数据无变更。", ""])
    security = sorted(diff.security, key=lambda c: SEVERITY.index(c.kind) if c.kind in SEVERITY else 99)
    rest = [c for c in diff.changes if not c.security]
    if security:
        lines += [
            "> [!WARNING]",
            f"> **{len(security)} security-sensitive change(s)** (keys, revocations, organization status):"
            " they change which certificates verify. A security reviewer must approve.",
            "",
            f"### ⚠️ Security-sensitive changes · 安全敏感变更 ({len(security)})",
            "",
        ]
        for c in security:
            lines += _item(c)
        lines.append("")
    groups = {"Added · 新增": [], "Changed · 修改": [], "Withdrawn or removed · 撤销或删除": []}
    colleges: dict[str, list[Change]] = defaultdict(list)
    for c in rest:
        if c.entity == "college":
            colleges[c.province or ""].append(c)
        elif c.kind.endswith("-added"):
            groups["Added · 新增"].append(c)
        elif c.kind.endswith(("-removed", "-withdrawn")):
            groups["Withdrawn or removed · 撤销或删除"].append(c)
        else:
            groups["Changed · 修改"].append(c)
    for heading, items in groups.items():
        if items:
            lines += [f"### {heading} ({len(items)})", ""]
            for c in items:
                lines += _item(c)
            lines.append("")
    if colleges:
        lines += ["### Pilot colleges and assessment sites · 试点院校与考核站点", ""]
        for province in sorted(colleges):
            zh, en = codes.PROVINCES.get(province, (province, province))
            items = colleges[province]
            lines += [f"#### {zh} {en} ({province}): {_tally(items)}", ""]
            for c in items:
                lines += _item(c)
            lines.append("")
    return "\n".join(lines)


def _tally(items: list[Change]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for c in items:
        counts[c.kind.replace("-", " ")] += 1
    return ", ".join(f"{n} {kind}" for kind, n in counts.items())


def _item(c: Change) -> list[str]:
    label = LABELS.get(c.kind) or c.kind.replace("-", " ").capitalize()
    who = f"{c.entity} {_code(c.id)}" + (f" {_esc(c.name)}" if c.name else "")
    what = {"organization": "kid", "college": "certificate"}.get(c.entity, "")
    if c.kind.startswith("revocation"):
        what = "serial"
    ref = f", {what} {_code(c.ref)}" if c.ref else ""
    parts = [f"- **{label}**: {who}{ref}"]
    if c.date and not c.kind.endswith("-changed"):
        parts.append(f"on {c.date}")
    if c.note:
        parts.append(f"({_esc(c.note)})")
    if why := WHY.get(c.kind):
        parts.append(f"— {why}")
    out = [" ".join(parts)]
    for f in c.fields:
        out.append(f"  - `{f.path}`: {_value(f.old)} → {_value(f.new)}")
    return out


def _value(v: str | None) -> str:
    if v is None:
        return "*(none)*"
    if len(v) > 160:
        v = v[:157] + "…"
    return _code(v)


def _code(text: str) -> str:
    """A code span: safe for any text, and @names inside it mention nobody."""
    text = text.replace("\n", " ")
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def _esc(text: str) -> str:
    text = text.replace("\n", " ")
    for ch in "\\`*_[]<>#|@!~":
        text = text.replace(ch, "\\" + ch)
    return text


# ---------------------------------------------------------------- loading sides


@dataclass(frozen=True)
class Side:
    label: str
    result: LoadResult


def load_side(spec: str | None, repo: Path | None = None, registry_rel: str = "registry") -> Side:
    """A registry directory, a git ref (`main`, `origin/main`, `HEAD~1`, `REF:path`), or None for
    the work tree."""
    repo = repo or _toplevel(Path.cwd())
    if spec is None:
        path = (repo or Path.cwd()) / registry_rel
        return Side(str(path), load_registry(path))
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
    """The registry as it was at a git ref; an empty registry if the ref has no such tree."""
    _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    tree = subprocess.run(
        ["git", "-C", str(repo), "ls-tree", "-d", ref, "--", registry_rel.rstrip("/")],
        capture_output=True, text=True, check=True,
    ).stdout
    if not tree.strip():
        return LoadResult(EMPTY, ())
    with tempfile.TemporaryDirectory(prefix="xcert-diff-") as tmp:
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", "--format=tar", ref, "--", registry_rel],
            capture_output=True, check=True,
        ).stdout
        with tarfile.open(fileobj=_BytesReader(archive)) as tar:
            tar.extractall(tmp, filter="data")
        # Problems name files relative to the work directory: make them read `registry/...`.
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            return load_registry(Path(registry_rel))
        finally:
            os.chdir(cwd)


def _BytesReader(data: bytes) -> Any:  # noqa: N802
    import io

    return io.BytesIO(data)


def _toplevel(where: Path) -> Path | None:
    proc = subprocess.run(
        ["git", "-C", str(where), "rev-parse", "--show-toplevel"], capture_output=True, text=True
    )
    return Path(proc.stdout.strip()) if proc.returncode == 0 else None


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise ValueError(f"git {' '.join(args)}: {proc.stderr.strip() or 'unknown revision'}")
    return proc.stdout


def render_failure(side: Side, which: str, limit: int = 50) -> str:
    errors = side.result.errors
    lines = [
        f"### ❌ The {which} registry ({_code(side.label)}) has {len(errors)} error(s)",
        "",
        "Files with errors are left out of the comparison below.",
        "",
        "```text",
        *(p.format() for p in errors[:limit]),
    ]
    if len(errors) > limit:
        lines.append(f"… and {len(errors) - limit} more")
    return "\n".join([*lines, "```", ""])


def compare(base: Side, head: Side) -> tuple[str, bool]:
    """Markdown for a PR comment, and whether both sides loaded cleanly."""
    failures = [render_failure(s, w) for s, w in ((base, "base"), (head, "head")) if not s.result.ok]
    parts = []
    if base.result.registry is None or head.result.registry is None:
        parts = [MARKER, "## Registry changes · 注册库变更", "", "Cannot compare: a registry does not load.", ""]
    else:
        title = f"Registry changes {base.label} → {head.label}"
        parts = [render_markdown(diff_registries(base.result.registry, head.result.registry), title)]
    if failures:
        parts.insert(1, "\n".join(failures))
    return "\n".join(parts), not failures


def main(base: str, head: str | None = None) -> int:
    """`python build.py diff BASE [HEAD]`: Markdown on stdout; 1 if a side has errors."""
    try:
        sides = load_side(base), load_side(head)
    except (ValueError, subprocess.CalledProcessError) as e:
        print(f"diff: {e}", file=sys.stderr)
        return 2
    text, ok = compare(*sides)
    print(text)
    return 0 if ok else 1
