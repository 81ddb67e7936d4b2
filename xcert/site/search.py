"""Full-text search with Pagefind's extended build, which segments Chinese words.

Pagefind indexes HTML (only elements marked data-pagefind-body) and writes a static
index under /pagefind/; the browser fetches only the index chunks a query needs, so a
first query stays small even on the national-scale site. The build hands Pagefind a
"shadow" copy of each page without the theme's frame (same URL paths), and the site's
own small UI (site_src/assets/xcert.js) drives pagefind.js.
"""

from __future__ import annotations

import html
import subprocess
from pathlib import Path

FOLDER = "pagefind/"  # the bundle's place in the site


class SearchIndexError(RuntimeError):
    pass


def pagefind_binary() -> Path:
    try:
        from pagefind_bin_extended import get_executable
    except ImportError as e:  # the plain build cannot segment Chinese: refuse it
        raise SearchIndexError(
            "pagefind[extended] is not installed (pip install 'pagefind[extended]')"
        ) from e
    return get_executable()


def write_shadow(shadow: Path, path: str, title: str, body: str) -> None:
    """A page as Pagefind needs it: only the part it indexes, at the page's own URL path.

    Pagefind reads every byte of each page it is given; without the theme's frame around
    the content it has about a third less to parse on the national-scale site.
    """
    target = shadow / path / "index.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        f'<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"</head><body>{body}</body></html>",
        encoding="utf-8",
    )


ARTICLE = '<article class="md-content__inner md-typeset">'


def copy_indexed(site: Path, shadow: Path, paths: list[str]) -> None:
    """Hand-written (MkDocs) pages go into the shadow whole, their article marked for Pagefind."""
    for path in paths:
        source = site / path / "index.html"
        if not source.is_file():
            continue
        text = source.read_text(encoding="utf-8")
        if "data-pagefind-body" not in text:
            text = text.replace(ARTICLE, ARTICLE[:-1] + " data-pagefind-body>", 1)
        (shadow / path).mkdir(parents=True, exist_ok=True)
        (shadow / path / "index.html").write_text(text, encoding="utf-8")


def index_site(pages: Path, bundle: Path) -> None:
    """Index the pages under `pages` into the bundle directory (the site's /pagefind/).

    The whole site is Chinese-first, so the language is forced to zh (the extended build
    segments Chinese words).
    """
    cmd = [str(pagefind_binary()), "--site", str(pages), "--output-path", str(bundle)]
    cmd += ["--force-language", "zh", "--quiet"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as e:
        raise SearchIndexError(f"pagefind could not run: {e}") from e
    if done.returncode != 0 or not (bundle / "pagefind.js").exists():
        raise SearchIndexError(f"pagefind failed ({done.returncode}): {(done.stderr or done.stdout).strip()}")
    for unused in UNUSED:  # the site's own UI uses pagefind.js (and its worker and wasm) only
        (bundle / unused).unlink(missing_ok=True)


UNUSED = (
    "pagefind-ui.css",
    "pagefind-ui.js",
    "pagefind-component-ui.css",
    "pagefind-component-ui.js",
    "pagefind-highlight.js",
    "pagefind-modular-ui.css",
    "pagefind-modular-ui.js",
)
