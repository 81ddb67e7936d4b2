"""Exact-name lookup beside Pagefind: a page's own name always finds it, and first.

Pagefind ranks by word frequency, so on the national-scale site the certificate 动力电池技术
came 771st behind thousands of colleges that mention it, and a name its Chinese segmenter
cuts differently at query time than at index time found nothing at all (工业机器人应用编程
on the real registry). Names are not prose: this index holds every registry page's names
(Chinese and English), normalized (NFKC, lower case, no white space) and split into small
files by their first two characters, /lookup/<hex>-<hex>.json, listed in
/lookup/keys.json. The search page fetches the list once and the one file a query's first
two characters name, puts the pages whose name equals the
query first and those whose name starts with it next, then Pagefind's results.

A record's title, kind and summary are read from the rendered page itself (the same
data-pagefind-meta and filter Pagefind indexes), so the two never disagree.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .pages import Job

FOLDER = "lookup"
KEYS = "keys.json"  # the list of shard names
KINDS = ("证书", "培训评价组织", "试点院校", "考核站点", "等级标准", "公告")  # the order of equal names
_SPACE = re.compile(r"\s+")
_TYPE = re.compile(r'data-pagefind-filter="type:([^"]+)"')
HEAD = 8192  # the page's kind, title and summary come first in its body
_META = re.compile(r'<span hidden data-pagefind-meta="(title|summary)">(.*?)</span>', re.S)


def normalize(name: str) -> str:
    """What a name and a query are compared as; xcert.js does the same (NFKC, lower case)."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", name).lower())


def shard(norm: str) -> str:
    """The file a normalized name lives in: its first two code points in hex."""
    return "-".join(f"{ord(ch):x}" for ch in norm[:2])


def names(job: Job) -> list[str]:
    """The names a registry page is looked up by."""
    ctx = dict(job.ctx)
    for key, attr in (("c", "name"), ("o", "name"), ("k", "name"), ("s", "title"), ("n", "title")):
        if key in ctx:
            text = getattr(ctx[key], attr)
            return [n for n in (text.zh, text.en) if n]
    return []


def record(job: Job, body: str) -> dict[str, Any] | None:
    """One lookup record of a rendered registry page, or None for pages without names."""
    found = names(job)
    head = body[:HEAD]
    kind = _TYPE.search(head)
    if not found or kind is None:
        return None
    meta = {k: html.unescape(v) for k, v in _META.findall(head)}
    return {
        "names": found,
        "url": job.path,
        "title": meta.get("title", job.title),
        "type": html.unescape(kind.group(1)),
        "summary": meta.get("summary", ""),
    }


def write_records(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """A page writer's records, one JSON line each (workers are separate processes)."""
    with path.open("a", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


def read_records(paths: Iterable[Path]) -> Iterator[dict[str, Any]]:
    for path in paths:
        if path.is_file():
            with path.open(encoding="utf-8") as f:
                for line in f:
                    yield json.loads(line)


def _order(row: list[Any]) -> tuple[Any, ...]:
    norm, _title, url, kind, _summary = row
    return (len(norm), norm, KINDS.index(kind) if kind in KINDS else len(KINDS), url)


def write_index(records: Iterable[dict[str, Any]], site: Path) -> int:
    """Write /lookup/*.json; return the number of files.

    Each file is a JSON list of [name, title, url, type, summary] rows, shortest name first
    (so an exact match leads), equal names in KINDS order.
    """
    shards: dict[str, dict[tuple[str, str], list[Any]]] = defaultdict(dict)
    for rec in records:
        for name in rec["names"]:
            norm = normalize(name)
            if norm:
                row = [norm, rec["title"], rec["url"], rec["type"], rec["summary"]]
                shards[shard(norm)].setdefault((norm, rec["url"]), row)
    folder = site / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    # the list of files, fetched once: a query whose file does not exist asks for nothing
    # (a 404 would be logged as an error in the browser's console)
    (folder / KEYS).write_text(json.dumps(sorted(shards), separators=(",", ":")), encoding="utf-8")
    for key, rows in shards.items():
        data = sorted(rows.values(), key=_order)
        (folder / f"{key}.json").write_text(
            json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
        )
    return len(shards)
