"""registry/ directory → Registry model plus every problem found, each with its place.

Files are read one by one: a broken file is reported and left out, the rest still load,
so one run lists every problem. Cross-file rules live in `checks.py`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from . import checks, codes, issuance, scan, schema
from .model import (
    Certificate,
    College,
    Field,
    Key,
    Notice,
    Organization,
    Pilot,
    Registry,
    Revocation,
    RevocationList,
    Settings,
    Site,
    Src,
    Standard,
    StandardLevel,
    Status,
    Text,
)
from .problems import Loc, Problem, Problems
from .yamlsrc import MAX_BYTES, YamlError, YList, YMap, decode_utf8, load_text, pack

# Directory → (schema kind, field that must equal the file name).
DIRECTORIES = {
    "organizations": ("organization", "id"),
    "certificates": ("certificate", "code"),
    "standards": ("standard", "id"),
    "colleges": ("colleges", "province"),
    "revocations": ("revocations", "organization"),
}
ID_FIELDS = dict(DIRECTORIES.values())
IGNORED = {"README.md", ".gitkeep"}
PRIVATE_KEY_MARKERS = scan.MARKERS
SCHEMA_COMMENT = re.compile(r"#\s*yaml-language-server:\s*\$schema=(\S*)")
FRONT_MATTER = re.compile(r"\A---\r?\n(.*?\r?\n)---\r?\n?(.*)\Z", re.DOTALL)


@dataclass(frozen=True)
class LoadResult:
    """The registry (None when registry.yaml itself is unusable) and every problem."""

    registry: Registry | None
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def ok(self) -> bool:
        return self.registry is not None and not self.errors


def load_registry(root: Path) -> LoadResult:
    out = Problems()
    root = Path(root)
    files = scan.walk(root, out, _display) if root.is_dir() else []  # links and special files refused
    settings_file = root / "registry.yaml"
    if settings_file.is_symlink():
        return LoadResult(None, tuple(out.sorted()))
    if not settings_file.is_file():
        out.error(Loc(_display(settings_file)), "registry.yaml not found: is this a registry directory?")
        return LoadResult(None, tuple(out.sorted()))
    settings_doc = _read(settings_file, "registry", out)
    settings = _settings(settings_doc) if settings_doc is not None else None

    tasks = [
        (path, kind)
        for directory, (kind, _) in DIRECTORIES.items()
        for path in _files(root / directory, ".yaml", out)
    ]
    docs: dict[str, list[YMap]] = {kind: [] for kind, _ in DIRECTORIES.values()}
    unusable: set[str] = set()  # ids of files that failed: not re-reported as unknown
    for path, kind in tasks:
        doc = _read(path, kind, out)
        id_field = ID_FIELDS[kind]
        if doc is not None and doc.get(id_field) != path.stem:
            message = f"{id_field} '{doc.get(id_field)}' must equal the file name '{path.stem}'"
            out.error(doc.value_loc(id_field), message)
            doc = None
        if doc is None:
            unusable.add(path.stem)
        else:
            docs[kind].append(doc)
    notices = [n for p in _files(root / "notices", ".md", out) if (n := _notice(p, out))]
    records = _records(root / issuance.DIRECTORY, out)
    _scan_secrets(root, files, docs["organization"], out)

    if settings is None:
        return LoadResult(None, tuple(out.sorted()))
    registry = Registry(
        settings=settings,
        organizations=_by_id(_organization(d) for d in docs["organization"]),
        certificates=_by_id(_certificate(d) for d in docs["certificate"]),
        standards=_by_id(_standard(d) for d in docs["standard"]),
        colleges=_colleges(docs["colleges"], out),
        revocations=MappingProxyType(
            {d["organization"]: _revocations(d) for d in sorted(docs["revocations"], key=_first)}
        ),
        notices=tuple(sorted(notices, key=lambda n: (n.date, n.slug))),
        records=records,
    )
    checks.run(registry, out, frozenset(unusable))
    issuance.check_records(registry, out, _display, frozenset(unusable))
    return LoadResult(registry, tuple(out.sorted()))


def _display(path: Path) -> str:
    rel = os.path.relpath(path)
    return path.as_posix() if rel.startswith("..") else Path(rel).as_posix()


def _scan_secrets(root: Path, files: list[Path], orgs: list[YMap], out: Problems) -> None:
    """Private key material in every file under the registry (scan.py): key file headers in
    the files the loader skips, and in all files the seed of any public key listed."""
    listed: dict[bytes, str] = {}
    for org in orgs:
        for key in org.get("keys", ()):
            if isinstance(key, dict) and (raw := codes.decode_b64url(str(key.get("public_key")))):
                listed[raw] = f"organization '{org['id']}''s key"
    for path in files:
        rel = path.relative_to(root).parts
        read = rel == ("registry.yaml",) or (
            len(rel) == 2
            and rel[1] not in IGNORED
            and (
                (rel[0] in DIRECTORIES and rel[1].endswith(".yaml"))
                or (rel[0] == "notices" and rel[1].endswith(".md"))
            )
        )
        scan.scan_file(path, _display(path), listed, out, markers=not read, max_bytes=MAX_BYTES)


def _files(directory: Path, suffix: str, out: Problems) -> list[Path]:
    if not directory.is_dir() or directory.is_symlink():
        return []
    found = []
    for path in sorted(directory.iterdir()):
        if path.name in IGNORED or path.is_symlink():  # links: refused by scan.walk, never followed
            continue
        if path.suffix != suffix or not path.is_file():
            out.error(Loc(_display(path)), f"unexpected file: files in {directory.name}/ end in {suffix}")
            continue
        found.append(path)
    return found


def _read_bytes(path: Path, display: str) -> bytes:
    """The file's bytes, refused when too big or when they hold private key material."""
    if (size := path.stat().st_size) > MAX_BYTES:
        raise YamlError(Loc(display), f"file is {size:,} bytes; registry files are limited to {MAX_BYTES:,}")
    data = path.read_bytes()
    if m := PRIVATE_KEY_MARKERS.search(data):
        line = data.count(b"\n", 0, m.start()) + 1
        raise YamlError(Loc(display, line), "private key material must never be in the registry")
    return data


def _read(path: Path, kind: str, out: Problems) -> YMap | None:
    """Load one YAML file and check it against its schema; None if it has any error."""
    display = _display(path)
    try:
        text = decode_utf8(_read_bytes(path, display), display)
        doc = load_text(text, display)
    except YamlError as e:
        out.error(e.loc, e.message)
        return None
    _schema_comment(text, kind, display, out)
    return _validated(doc, kind, Loc(display), out)


def _schema_comment(text: str, kind: str, display: str, out: Problems, line: int = 1) -> None:
    """The editor's `# yaml-language-server: $schema=…` first line must name this file's kind.

    A missing line is not an error here (tools and tests write bare files); the test suite
    holds every committed registry file to it (tests/test_schema_files.py).
    """
    end = text.find("\n")
    if (m := SCHEMA_COMMENT.match(text, 0, len(text) if end < 0 else end)) is None:
        return
    expected = f"{kind}.schema.json"
    if m.group(1).rsplit("/", 1)[-1] != expected:
        where = "../schema/" if kind == "registry" else "../../schema/"
        out.error(
            Loc(display, line, m.start(1) + 1),
            f"$schema: '{m.group(1)}' is not the schema of this file; use {where}{expected}",
        )


def _validated(doc: Any, kind: str, loc: Loc, out: Problems) -> YMap | None:
    if doc is None:
        out.error(loc, "file is empty")
        return None
    before = len(out.errors)
    if isinstance(doc, YMap | YList):
        path, pos = doc.path, doc.pos
    else:
        path, pos = loc.path, pack(loc.line, loc.col)
    schema.KINDS[kind].check(doc, "", path, pos, out)
    return doc if len(out.errors) == before else None


# ---------------------------------------------------------------- builders


def _first(d: YMap) -> Any:
    return next(iter(d.values()))


def _by_id(items: Any) -> MappingProxyType[str, Any]:
    objects = list(items)
    key = "code" if objects and isinstance(objects[0], Certificate) else "id"
    return MappingProxyType({getattr(o, key): o for o in sorted(objects, key=lambda o: getattr(o, key))})


def _src(m: YMap) -> Src:
    return Src(m.path, m.pos, m.value_pos)


def _text(m: YMap) -> Text:
    return Text(m["zh"], m.get("en"))


def _history(items: YList) -> tuple[Status, ...]:
    return tuple(
        Status(s["status"], s["since"], s.get("reason"), s.get("batch"), _src(s), s.get("bound"))
        for s in items
    )


def _common(d: YMap) -> dict[str, Any]:
    return {"example": d.get("example", False), "sources": tuple(d.get("sources", ())), "src": _src(d)}


def _settings(d: YMap) -> Settings:
    return Settings(
        name=Text(d["name"]["zh"], d["name"]["en"]),
        site_url=d["site_url"].rstrip("/"),
        verify_url=d["verify_url"].rstrip("/"),
        fields=tuple(Field(f["id"], f["zh"], f["en"]) for f in d["fields"]),
        record_required_after_days=d.get("issuance_record_required_after_days"),
    )


def _key(k: YMap) -> Key:
    return Key(
        public_key=codes.decode_b64url(k["public_key"]) or b"",
        not_before=k["not_before"],
        status=k["status"],
        sign_until=k.get("sign_until"),
        retired_on=k.get("retired_on"),
        compromised_on=k.get("compromised_on"),
        note=k.get("note"),
        src=_src(k),
    )


def _organization(d: YMap) -> Organization:
    return Organization(
        id=d["id"],
        name=_text(d["name"]),
        kind=d["kind"],
        province=d["province"],
        status=_history(d["status"]),
        keys=tuple(_key(k) for k in d.get("keys", ())),
        uscc=d.get("uscc"),
        website=d.get("website"),
        parent=_text(d["parent"]) if d.get("parent") is not None else None,
        sandbox=d.get("sandbox", False),
        **_common(d),
    )


def _certificate(d: YMap) -> Certificate:
    return Certificate(
        code=d["code"],
        name=_text(d["name"]),
        organization=d["organization"],
        field=d["field"],
        levels=tuple(sorted(d["levels"])),
        batch=d.get("batch"),
        status=_history(d["status"]),
        standard=d.get("standard"),
        validity_years=d.get("validity_years"),
        credits=MappingProxyType(dict(d.get("credits", {}))),
        majors=tuple(d.get("majors", ())),
        **_common(d),
    )


def _standard(d: YMap) -> Standard:
    levels = tuple(
        StandardLevel(
            level=lv["level"],
            summary=lv["summary"],
            work_areas=tuple(lv.get("work_areas", ())),
            tasks=tuple(lv.get("tasks", ())),
            skills=tuple(lv.get("skills", ())),
        )
        for lv in d.get("levels", ())
    )
    return Standard(
        id=d["id"],
        title=_text(d["title"]),
        version=d["version"],
        organization=d["organization"],
        certificate=d["certificate"],
        published=d["published"],
        levels=levels,
        url=d.get("url"),
        sha256=d.get("sha256"),
        **_common(d),
    )


def _colleges(files: list[YMap], out: Problems) -> MappingProxyType[str, College]:
    colleges: dict[str, College] = {}
    for doc in sorted(files, key=lambda d: d["province"]):
        for c in doc["colleges"]:
            if (first := colleges.get(c["id"])) is not None:
                out.error(c.value_loc("id"), f"college id '{c['id']}' is already used at {first.src.loc}")
                continue
            colleges[c["id"]] = College(
                id=c["id"],
                province=doc["province"],
                name=_text(c["name"]),
                kind=c["kind"],
                code=c.get("code"),
                city=c.get("city"),
                pilots=tuple(
                    Pilot(
                        p["certificate"],
                        tuple(sorted(p["levels"])),
                        p["since"],
                        p.get("ended"),
                        _src(p),
                        p.get("bound"),
                    )
                    for p in c.get("pilots", ())
                ),
                sites=tuple(
                    Site(
                        s["certificate"],
                        tuple(sorted(s["levels"])),
                        s["since"],
                        s["status"],
                        s.get("ended"),
                        _src(s),
                    )
                    for s in c.get("sites", ())
                ),
                **_common(c),
            )
    return MappingProxyType(dict(sorted(colleges.items())))


def _revocations(d: YMap) -> RevocationList:
    org = d["organization"]
    revoked = tuple(
        Revocation(org, r["serial"], r["date"], r["reason"], r.get("certificate"), _src(r))
        for r in d["revoked"]
    )
    return RevocationList(org, revoked, _src(d))


def _records(directory: Path, out: Problems) -> tuple[issuance.RecordFile, ...]:
    """registry/issuance/<org>/<batch>.yaml beside <batch>.leaves; anything else is an error."""
    if not directory.is_dir() or directory.is_symlink():
        return ()
    found = []
    for org_dir in sorted(directory.iterdir()):
        if org_dir.name in IGNORED or org_dir.is_symlink():
            continue
        if not org_dir.is_dir():
            out.error(
                Loc(_display(org_dir)), "unexpected file: issuance/ holds one directory per organization"
            )
            continue
        names = {p.name for p in org_dir.iterdir()}
        for path in sorted(org_dir.iterdir()):
            if path.name in IGNORED or path.is_symlink():
                continue
            if path.suffix == issuance.LEAVES_SUFFIX and path.is_file():
                if f"{path.stem}.yaml" not in names:
                    out.error(Loc(_display(path)), f"leaves file without its record {path.stem}.yaml")
                continue
            if path.suffix != ".yaml" or not path.is_file():
                out.error(
                    Loc(_display(path)), "unexpected file: records are <batch>.yaml beside <batch>.leaves"
                )
                continue
            doc = _read(path, "issuance", out)
            if doc is None:
                continue
            problems = [
                (field, f"{field} '{doc[field]}' must equal the {what} '{name}'")
                for field, what, name in (
                    ("organization", "directory name", org_dir.name),
                    ("batch", "file name", path.stem),
                    ("leaves", "batch id with .leaves", path.stem + issuance.LEAVES_SUFFIX),
                )
                if doc[field] != name
            ]
            for field, message in problems:
                out.error(doc.value_loc(field), message)
            if not problems:
                record = issuance.Record.from_mapping(doc)
                src = _src(doc)
                if "counts" in doc:  # each row's line, for check's messages about it
                    rows = {("counts", i): pos for i, pos in enumerate(doc["counts"].item_pos)}
                    src = src._replace(field_pos={**src.field_pos, **rows})
                found.append(issuance.RecordFile(record, src, org_dir / record.leaves))
    return tuple(found)


# A notice's slug is its file name, and its page is written at /notices/<slug>/: nothing but
# the documented <date>-<slug> may reach a path (a notice named "...md" would be the home page).
NOTICE_NAME = re.compile(rf"[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}-{schema.SLUG}")


def _notice(path: Path, out: Problems) -> Notice | None:
    display = _display(path)
    if not NOTICE_NAME.fullmatch(path.stem):
        message = "a notice's file name is <date>-<slug>.md (YYYY-MM-DD, then lowercase letters, digits"
        out.error(Loc(display), f"{message} and hyphens), got '{path.name}'")
        return None
    try:
        text = decode_utf8(_read_bytes(path, display), display)
        match = FRONT_MATTER.match(text)
        if not match:
            raise YamlError(Loc(display), "a notice starts with YAML front matter between two '---' lines")
        meta = load_text(match.group(1), display, first_line=2)
    except YamlError as e:
        out.error(e.loc, e.message)
        return None
    _schema_comment(match.group(1), "notice", display, out, line=2)
    doc = _validated(meta, "notice", Loc(display, 2), out)
    if doc is None:
        return None
    related = doc.get("related", {})
    return Notice(
        slug=path.stem,
        date=doc["date"],
        title=_text(doc["title"]),
        kind=doc["kind"],
        body=match.group(2),
        related=MappingProxyType({k: tuple(v) for k, v in related.items()}),
        **_common(doc),
    )
