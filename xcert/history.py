"""The registry's change history from git, published as `/data/changes.json` and an Atom feed.

Each commit that touched the registry on the current branch (first parent only, so a
merged pull request is one entry) is compared with the state before it by
`diff.diff_registries`: new organizations, certificates and notices, key events,
revocations, ... People can follow the registry without reading git.

Kept fast and bounded: only the last `MAX_COMMITS` (100) commits touching the registry
are walked, each loaded once. A commit whose registry has errors is skipped, its changes
are reported with the next good commit. Without git, outside a repository, or in a
shallow clone with no history, the files are still written: an empty change list and a
valid feed carrying the build stamp. (CI checks out with `fetch-depth: 0` for this.)
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import json
import subprocess
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .diff import EMPTY, LABELS, Change, archive, diff_registries, load_archive
from .model import Registry, Settings
from .trust import Stamp, stamp_for
from .yamlsrc import YamlError, load_text

MAX_COMMITS = 100
ATOM = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True, slots=True)
class Entry:
    commit: str
    date: str  # committer date, RFC 3339
    subject: str
    changes: tuple[Change, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "date": self.date,
            "subject": self.subject,
            "changes": [c.to_json() for c in self.changes],
        }


def changes(registry_dir: Path, limit: int = MAX_COMMITS) -> list[Entry] | None:
    """Registry changes per commit, newest first; None when there is no git history to read."""
    registry_dir = Path(registry_dir).resolve()
    try:
        repo = Path(_git(registry_dir, "rev-parse", "--show-toplevel").strip())
        rel = registry_dir.relative_to(repo.resolve()).as_posix()
        fields = "--format=%H%x1f%P%x1f%cI%x1f%s"  # hash, parents, date, subject
        log = _git(repo, "log", "-z", "--first-parent", f"-n{limit}", fields, "--", rel)
        shallow = _git(repo, "rev-parse", "--is-shallow-repository").strip() == "true"
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    # NUL ends each commit (-z): a subject may hold any other character, even U+2028
    commits = [record.split("\x1f", 3) for record in reversed(log.split("\0")) if record]
    if not commits:
        return []
    entries: list[Entry] = []
    oldest_parents = commits[0][1].split()
    if oldest_parents:
        before: Registry | None = load_archive(archive(repo, oldest_parents[0], rel), rel).registry or EMPTY
    elif shallow:  # the state before the oldest commit is not there: it cannot be described
        before = None
    else:
        before = EMPTY  # the commit that created the registry
    archives = _prefetch(repo, [c[0] for c in commits], rel)
    for (sha, _parents, date, subject), data in zip(commits, archives, strict=True):
        result = load_archive(data, rel)
        if not result.ok or result.registry is None:
            continue  # its changes are reported with the next good commit
        if before is not None and (d := diff_registries(before, result.registry)):
            entries.append(Entry(sha, date, _plain(subject), d.changes))
        before = result.registry
    return entries[::-1]


def _prefetch(repo: Path, shas: list[str], rel: str, ahead: int = 6) -> Iterator[bytes | None]:
    """The archive of each commit in order; git runs a few commits ahead in threads while
    the caller parses (git archive is most of the time otherwise)."""
    with ThreadPoolExecutor(max_workers=ahead) as pool:
        pending: deque[Future[bytes | None]] = deque()
        todo = iter(shas)
        for sha in itertools.islice(todo, ahead):
            pending.append(pool.submit(archive, repo, sha, rel))
        while pending:
            data = pending.popleft().result()
            if (following := next(todo, None)) is not None:
                pending.append(pool.submit(archive, repo, following, rel))
            yield data


def _git(where: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(where), *args], capture_output=True, check=True, timeout=60
    ).stdout.decode("utf-8", "replace")


def _plain(subject: str) -> str:
    """A commit subject as one line of text: control, format and separator characters
    (which XML 1.0 refuses, or which break or reorder a line) become spaces."""
    return "".join(ch if ch.isprintable() else " " for ch in subject)


def describe(c: Change, short: bool = False) -> str:
    """One line of plain text for people."""
    label = LABELS.get(c.kind) or c.kind.replace("-", " ").capitalize()
    what = f"{c.entity} {c.id}" + (f" {c.name}" if c.name else "")
    if short:
        return f"{label}: {what}"
    if c.ref:
        what += f", {c.ref_name} {c.ref}"
    if c.date and not c.kind.endswith("-changed"):
        what += f", {c.date}"
    if c.fields:
        what += ": " + ", ".join(f.path for f in c.fields)
    elif c.note:
        what += f" ({c.note})"
    return f"{label}: {what}"


def write_history(
    site_dir: Path, registry_dir: Path, *, stamp: Stamp | None = None, settings: Settings | None = None
) -> None:
    """Write `site_dir/data/changes.json` and `site_dir/feed.xml` (Atom 1.0).

    The site build passes its `stamp` (saves hashing the registry again) and its `settings`
    (which may carry deployment URLs instead of registry.yaml's local defaults)."""
    site_dir, registry_dir = Path(site_dir), Path(registry_dir)
    stamp = stamp or stamp_for(registry_dir)
    entries = changes(registry_dir)
    name, site_url = (settings.name.zh, settings.site_url) if settings else _settings(registry_dir)
    data = {
        "version": stamp.version,
        "commit": stamp.commit,
        "built_at": stamp.built_at,
        "history": "git" if entries is not None else "unavailable",
        "max_commits": MAX_COMMITS,
        "entries": [e.to_json() for e in entries or ()],
    }
    (site_dir / "data").mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    (site_dir / "data" / "changes.json").write_text(text, encoding="utf-8")
    (site_dir / "feed.xml").write_bytes(atom_feed(entries or [], stamp, name, site_url))


def atom_feed(entries: list[Entry], stamp: Stamp, name: str, site_url: str) -> bytes:
    ET.register_namespace("", ATOM)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        el.text = text
        return el

    base = site_url.rstrip("/") or "http://localhost"
    feed = ET.Element(f"{{{ATOM}}}feed")
    sub(feed, "id", f"{base}/feed.xml")
    sub(feed, "title", f"{name} · 变更 Changes")
    sub(feed, "updated", max((e.date for e in entries), key=_instant, default=stamp.built_at))
    sub(feed, "link", rel="self", href=f"{base}/feed.xml")
    sub(feed, "link", rel="alternate", href=f"{base}/")
    sub(sub(feed, "author"), "name", name)
    sub(feed, "generator", "xcert")
    for e in entries:
        entry = sub(feed, "entry")
        sub(entry, "id", f"{base}/data/changes.json#{e.commit}")
        lines = [describe(c) for c in e.changes]
        more = len(lines) - 1
        title = describe(e.changes[0], short=True) + (f" (+{more} more)" if more else "")
        sub(entry, "title", title)
        sub(entry, "updated", e.date)
        sub(entry, "link", rel="alternate", href=f"{base}/data/changes.json")
        sub(entry, "summary", f"{len(lines)} change(s) in commit {e.commit[:12]}: {e.subject}")
        items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
        sub(entry, "content", f"<ul>{items}</ul>", type="html")
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


def _instant(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _settings(registry_dir: Path) -> tuple[str, str]:
    """The registry's Chinese name and site URL, read from registry.yaml alone."""
    try:
        path = registry_dir / "registry.yaml"
        doc = load_text(path.read_text(encoding="utf-8"), str(path))
        return str(doc["name"]["zh"]), str(doc["site_url"])
    except (OSError, YamlError, KeyError, TypeError):
        return "1+X registry", ""
