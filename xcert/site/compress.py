"""Pre-compressed copies of the site's text files: `x.html.gz` and `x.html.br` beside `x.html`.

Any static host can then send the small copy (nginx `gzip_static`/`brotli_static`, a CDN,
or `xcert.site.serve` for `run.sh`) without compressing on each request. Measured on the
national-scale site (300 MB of HTML, 2 cores): zlib level 6 makes files as small as
level 9 (22 % of the size) at twice the speed, ~70 MB/s; brotli quality 5 makes them
10 % smaller again at the same speed, where quality 11 costs ~80x more for another
10 %. The few shared assets every visitor fetches (under /assets/ and Pagefind's script
and wasm) get quality 11.
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
        return len(data)
    packed = gzip.compress(data, compresslevel=6, mtime=0)
    if len(packed) < len(data):
        Path(f"{path}.gz").write_bytes(packed)
    quality = 11 if rel.startswith(SHARED) else 5
    packed = brotli.compress(data, quality=quality)
    if len(packed) < len(data):
        Path(f"{path}.br").write_bytes(packed)
    return len(data)


def text_files(site: Path) -> list[tuple[Path, str]]:
    """Every compressible file of the site with its path from the root, in a fixed order."""
    out = []
    for folder, dirs, names in os.walk(site):
        dirs.sort()
        base = Path(folder)
        for name in sorted(names):
            path = base / name
            if compressible(path):
                out.append((path, path.relative_to(site).as_posix()))
    return out


def compress_site(site: Path, shard: int = 0, shards: int = 1) -> int:
    """Compress every `shards`-th text file from `shard` on (so workers can split the site)."""
    return sum(compress_file(path, rel) for path, rel in text_files(site)[shard::shards])
