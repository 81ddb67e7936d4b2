"""MkDocs Material draws the frame; registry pages are spliced into it.

MkDocs renders the hand-written pages, one stub page per section in the nav, and one
"shell" page for each URL depth the entity pages use. The registry's own content never
passes through Markdown: each stub holds only a slot token that is swapped, after the
MkDocs run, for HTML rendered by Jinja2 with autoescaping. The thousands of entity pages
are the shell's HTML with the slot, title and URL filled in, which costs a string join
per page instead of a full MkDocs page render: 11,000 entity pages of the national-scale
registry take seconds this way, where MkDocs would take minutes (and its nav grows with
every page it knows).
"""

from __future__ import annotations

import base64
import hashlib
import html
import logging
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SLOT = "xcertslot7d1f"
TITLE = "xcerttitle7d1f"
DESC = "xcertdesc7d1f"
SHELL_DIR = "xcertshell7d1f"
_SLOT_P = f"<p>{SLOT}</p>"


class ThemeError(RuntimeError):
    """MkDocs failed, or its output lacks the slot the splice needs."""


@dataclass(frozen=True)
class NavPage:
    path: str  # URL path relative to the site root, "" or ending in "/"
    title: str  # our own text, shown in the nav
    section: str | None = None  # consecutive pages of one section share a tab
    source: Path | None = None  # a Markdown file published as this page (else a stub)


def _docs_file(path: str) -> str:
    return (path + "index.md") if path else "index.md"


def _shell_path(depth: int) -> str:
    return "/".join([SHELL_DIR] + ["x"] * (depth - 1)) + "/"


def _stub(title: str, own_h1: bool = False) -> str:
    """A page that is only a slot; `own_h1` puts the title token in the h1 (nav pages)."""
    meta = {"title": title, "description": DESC, "hide": ["navigation", "toc"]}
    front = yaml.safe_dump(meta, allow_unicode=True)
    h1 = f"<h1>{TITLE}</h1>\n\n" if own_h1 else ""
    return f"---\n{front}---\n\n{h1}{SLOT}\n"


class Frame:
    """One rendered MkDocs page, cut at the slot, title and URL tokens."""

    _TOKEN = re.compile(f"({TITLE}|{DESC}|{SLOT}|{SHELL_DIR}(?:/x)*/)")

    def __init__(self, page_html: str) -> None:
        if page_html.count(_SLOT_P) != 1:
            raise ThemeError("MkDocs output does not hold exactly one content slot")
        self._pieces = self._TOKEN.split(page_html.replace(_SLOT_P, SLOT))

    def render(self, body: str, path: str, title: str | None = None, description: str = "") -> str:
        """`body` is trusted HTML (autoescaped by Jinja2); `title` and `description` are plain text."""
        out = []
        for i, piece in enumerate(self._pieces):
            if i % 2 == 0:
                out.append(piece)
            elif piece == SLOT:
                out.append(body)
            elif piece == TITLE:
                out.append(html.escape(title or ""))
            elif piece == DESC:
                out.append(html.escape(description or title or ""))
            else:
                out.append(path)
        return "".join(out)


def run_mkdocs(
    src: Path,
    work: Path,
    site_dir: Path,
    *,
    site_name: str,
    site_url: str,
    nav: Iterable[NavPage],
    depths: Iterable[int],
    footer: str = "",
) -> tuple[dict[str, Frame], dict[int, Frame]]:
    """Build the MkDocs part of the site; return frames for nav stubs and per-depth shells."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    nav = list(nav)
    docs = work / "docs"
    shutil.copytree(src / "docs", docs)
    shutil.copytree(src / "assets", docs / "assets")
    for page in nav:
        target = docs / _docs_file(page.path)
        if page.source is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(page.source, target)
        elif not target.exists():  # a hand-written page keeps its own content
            target.parent.mkdir(parents=True, exist_ok=True)
            # the h1 is a token too: the page's full heading goes there, the short title in the tab
            target.write_text(_stub(page.title, own_h1=True), encoding="utf-8")
    depths = sorted(set(depths))
    for depth in depths:
        target = docs / (_shell_path(depth) + "index.md")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_stub(TITLE), encoding="utf-8")

    config: dict[str, Any] = yaml.safe_load((src / "mkdocs.yml").read_text(encoding="utf-8"))
    # Material's templates print site_name without escaping.
    config["site_name"] = html.escape(site_name)
    config["site_url"] = site_url.rstrip("/") + "/"
    # the meta description of pages that give none (hand-written pages set their own)
    fallback = f"{site_name}：证书、组织、标准与试点院校的公开登记，以及证书验证。"
    config["site_description"] = html.escape(fallback)
    config["theme"]["custom_dir"] = str(src / "overrides")  # the bilingual 404 page
    config["docs_dir"] = str(docs)
    config["site_dir"] = str(site_dir)
    config["nav"] = _nav_config(nav)
    config["not_in_nav"] = f"/{SHELL_DIR}/\n"
    if footer:  # Material prints the copyright line unescaped on every page
        config["copyright"] = html.escape(footer)
    config_file = work / "mkdocs.yml"
    config_file.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")

    logging.getLogger("mkdocs").setLevel(logging.WARNING)
    try:
        build(load_config(config_file=str(config_file)))
    except Exception as e:  # MkDocs raises many kinds; all mean "no site"
        raise ThemeError(f"MkDocs build failed: {type(e).__name__}: {e}") from e

    for page_file in site_dir.rglob("*.html"):  # before the frames are cut: they inherit it
        text = page_file.read_text(encoding="utf-8")
        page_file.write_text(with_csp(text), encoding="utf-8")
    nav_frames = {}
    for page in nav:
        out = site_dir / (page.path + "index.html")
        text = out.read_text(encoding="utf-8")
        if _SLOT_P in text:
            nav_frames[page.path] = Frame(text)
    shells = {}
    for depth in depths:
        shell_dir = site_dir / _shell_path(depth)
        shells[depth] = Frame((shell_dir / "index.html").read_text(encoding="utf-8"))
    shutil.rmtree(site_dir / SHELL_DIR)
    # Material ships its lunr search and source maps with every build; search here is
    # Pagefind, and nothing loads the rest: leave them out of the published site.
    for unused in ("lunr", "workers"):
        shutil.rmtree(site_dir / "assets" / "javascripts" / unused, ignore_errors=True)
    for source_map in (site_dir / "assets").rglob("*.map"):
        source_map.unlink()
    return nav_frames, shells


_INLINE_SCRIPT = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>(.*?)</script>", re.S
)
_CHARSET = '<meta charset="utf-8">'


def csp(page_html: str) -> str:
    """The Content-Security-Policy of one page: only this site's own files may load.

    The browser itself then refuses any third-party request (a second guard beside the
    build-time scan) and any script a registry string might smuggle in: the theme's few
    inline scripts are allowed by their hashes, nothing else inline runs. Pagefind needs
    WebAssembly ('wasm-unsafe-eval') and its worker from this site.
    """
    hashes = sorted(
        {
            "'sha256-" + base64.b64encode(hashlib.sha256(m.encode()).digest()).decode() + "'"
            for m in _INLINE_SCRIPT.findall(page_html)
        }
    )
    return "; ".join(
        [
            "default-src 'none'",
            " ".join(["script-src 'self' 'wasm-unsafe-eval'", *hashes]),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self'",
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "object-src 'none'",
        ]
    )


def with_csp(page_html: str) -> str:
    if _CHARSET not in page_html or "Content-Security-Policy" in page_html:
        return page_html
    meta = f'<meta http-equiv="Content-Security-Policy" content="{html.escape(csp(page_html), quote=False)}">'
    return page_html.replace(_CHARSET, _CHARSET + "\n" + meta, 1)


def _nav_config(nav: list[NavPage]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for page in nav:
        entry = {page.title: _docs_file(page.path)}
        if page.section is None:
            out.append(entry)
        elif out and page.section in out[-1] and isinstance(out[-1][page.section], list):
            out[-1][page.section].append(entry)
        else:
            out.append({page.section: [entry]})
    return out
