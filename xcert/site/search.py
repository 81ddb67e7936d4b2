"""Full-text search with Pagefind's extended build, which segments Chinese words.

Pagefind indexes the finished HTML (only elements marked data-pagefind-body) and writes
a static index plus its UI under /pagefind/; the browser fetches only the index chunks a
query needs, so a first query stays small even on the national-scale site.
"""

from __future__ import annotations

import subprocess
from pathlib import Path


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


def index_site(site: Path) -> None:
    """Write /pagefind/ into `site`; the whole site is Chinese-first, so force zh."""
    cmd = [str(pagefind_binary()), "--site", str(site), "--force-language", "zh", "--quiet"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as e:
        raise SearchIndexError(f"pagefind could not run: {e}") from e
    if done.returncode != 0 or not (site / "pagefind" / "pagefind.js").exists():
        raise SearchIndexError(f"pagefind failed ({done.returncode}): {(done.stderr or done.stdout).strip()}")
    for unused in UNUSED:  # the site uses pagefind.js + the default UI only
        (site / "pagefind" / unused).unlink(missing_ok=True)


UNUSED = (
    "pagefind-component-ui.css",
    "pagefind-component-ui.js",
    "pagefind-highlight.js",
    "pagefind-modular-ui.css",
    "pagefind-modular-ui.js",
)
