"""Pre-compressed copies of the site's text files: `x.html.gz` and `x.html.br` beside `x.html`.

Any static host can then send the small copy (nginx `gzip_static`/`brotli_static`, a CDN,
or `xcert.site.serve` for `run.sh`) without compressing on each request. Measured on
400 college pages of the national-scale site (one core): zlib level 5 makes them 22.5 %
of their size at 52 MB/s, level 6 22.2 % at 40 MB/s, level 9 no smaller at half that;
brotli quality 5 makes them 20.4 % at 56 MB/s, where quality 11 costs ~80x more for
17.4 %. The few shared assets every visitor fetches (under /assets/ and Pagefind's
script and wasm) get quality 11. The whole national site's copies cost ~15 CPU-seconds,
which the build spends while Pagefind indexes (xcert/site/__init__.py).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import brotli

SUFFIXES = frozenset(
    {".html", ".css", ".js", ".mjs", ".json", ".xml", ".svg", ".csv", ".txt", ".md", ".wasm", ".webmanifest"}
)
MIN_BYTES = 512  # below this the headers cost more than compression saves
SHARED = ("assets/", "pagefind/")  # fetched by every visitor: worth the slowest, smallest brotli


def compressible(path: Path) -> bool:
    return path.suffix in SUFFIXES


def compress_file(path: Path, rel: str) -> int:
    """Write `path`.gz and `path`.br when they are smaller; return the bytes read."""
    data = path.read_bytes()
    if len(data) < MIN_BYTES:
        for suffix in (".gz", ".br"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return len(data)
    quality = 11 if rel.startswith(SHARED) else 5
    for suffix, packed in (
        (".gz", gzip.compress(data, compresslevel=5, mtime=0)),
        (".br", brotli.compress(data, quality=quality)),
    ):
        copy = Path(f"{path}{suffix}")
        if len(packed) < len(data):
            copy.write_bytes(packed)
        else:  # never leave a stale copy of an earlier version
            copy.unlink(missing_ok=True)
    return len(data)


def fresh(path: Path) -> bool:
    """Whether `path`'s copies exist and are newer than it (a later step may rewrite it).

    Strictly newer: file times move in clock ticks, so a file rewritten in the tick its
    copies were made in is compressed again rather than trusted.
    """
    try:
        mtime = path.stat().st_mtime_ns
        return all(Path(f"{path}{s}").stat().st_mtime_ns > mtime for s in (".gz", ".br"))
    except FileNotFoundError:
        return False


def text_files(site: Path, exclude: tuple[str, ...] = ()) -> list[tuple[Path, str]]:
    """Every compressible file of the site with its path from the root, in a fixed order;
    folders whose path from the root (with a trailing slash) is in `exclude` are skipped."""
    out = []
    for folder, dirs, names in os.walk(site):
        base = Path(folder)
        rel_base = base.relative_to(site).as_posix()
        prefix = "" if rel_base == "." else rel_base + "/"
        dirs[:] = sorted(d for d in dirs if f"{prefix}{d}/" not in exclude)
        for name in sorted(names):
            path = base / name
            if compressible(path):
                out.append((path, prefix + name))
    return out


def compress_site(site: Path, shard: int = 0, shards: int = 1, exclude: tuple[str, ...] = ()) -> int:
    """Compress every `shards`-th text file from `shard` on (so workers can split the site)
    that has no fresh copies yet; return the bytes read."""
    todo = [(path, rel) for path, rel in text_files(site, exclude)[shard::shards] if not fresh(path)]
    return sum(compress_file(path, rel) for path, rel in todo)
