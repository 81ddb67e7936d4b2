"""Batch issuance throughput: one JSON line on stdout.

Issues ``--rows`` (default 20,000) certificates with the sandbox TEST key against
``registry/``, writing tokens.csv plus an SVG and a PNG QR per certificate (``--svg-only``
drops the PNGs), through the same :func:`xcert.issue.issue_batch` the CLI uses. The
timing covers everything: reading the CSV, checking and signing every row, QR encoding and
writing the files.

``peak_rss_mb`` is an upper bound on the memory the whole run held at once: this process's
peak plus ``workers`` times the largest worker's peak (getrusage cannot see the true
simultaneous total; the bound is what a machine must have).
Bar (issue 4): certs_per_s >= 500 and peak_rss_mb <= 500 on the 2-core machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from xcert import issue  # noqa: E402
from xcert.keys import read_private_key  # noqa: E402
from xcert.trust import trust_list_from_registry  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NAMES = ("王小明", "李娜", "张伟", "刘洋", "陈静", "欧阳明月", "赵磊", "黄敏")
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(i: int) -> str:
    """A well-formed (GB 11643 check character) invented ID number."""
    body = f"110105{1970 + i % 30}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]


def write_csv(path: Path, rows: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(("certificate", "level", "serial", "name", "id_number", "college"))
        for i in range(rows):
            name = NAMES[i % len(NAMES)]
            w.writerow(("sandbox-demo", 1 + i % 3, f"2025{i:012d}", name, id_number(i), "9999000001"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--svg-only", action="store_true", help="skip the PNG files")
    args = parser.parse_args()

    key = read_private_key(ROOT / "sandbox" / "sandbox-TEST-ONLY.key")
    trust = trust_list_from_registry(ROOT / "registry")
    if args.svg_only:
        issue._render_chunk = _svg_only
    with tempfile.TemporaryDirectory(prefix="xcert-bench-") as tmp:
        src = Path(tmp) / "batch.csv"
        write_csv(src, args.rows)
        start = time.perf_counter()
        report = issue.issue_batch(key, src, Path(tmp) / "out", trust, workers=args.workers)
        wall = time.perf_counter() - start
        files = sum(1 for _ in (Path(tmp) / "out").iterdir())
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    workers_used = args.workers if args.workers > 1 else 0
    print(
        json.dumps(
            {
                "certs_per_s": round(report.rows / wall, 1),
                "peak_rss_mb": round(own + workers_used * child, 1),
                "rows": report.rows,
                "workers": args.workers,
                "wall_s": round(wall, 2),
                "png": not args.svg_only,
                "files": files,
                "parent_rss_mb": round(own, 1),
                "worker_rss_mb": round(child, 1),
                "cpus": os.cpu_count(),
            }
        )
    )


def _svg_only(items: list[tuple[str, str]]) -> int:
    from xcert import qr

    out, ecc = Path(issue._W[0].job.out), issue._W[0].job.ecc
    for serial, url in items:
        (out / f"{issue.file_stem(serial)}.svg").write_text(qr.to_svg(qr.encode(url, ecc)), encoding="ascii")
    return len(items)


if __name__ == "__main__":
    main()
