"""Synthetic registry generator for scale tests.

``python -m xcert.synth --scale national|quarter|small --out DIR [--seed N] [--force]``
writes a complete registry in the format of ``docs/registry-format.md``: every entity is
marked ``example: true`` and every value is made up, so the output must never be copied
into ``registry/``. With ``--no-example`` the flag is left off (the same bytes otherwise),
so the site counts the entities and national statistics and charts get exercised; the
registry's name still says it is synthetic. The output is a pure function of (scale, seed): one
``random.Random(seed)`` drives every choice, and nothing iterates over a set or a clock.

USCCs (GB 32100-2015 check character, and the GB 11714 check character of the embedded
organization code) and 10-digit school codes are generated with their real check rules,
so a national-scale registry exercises the validators on tens of thousands of values.
YAML is written by a small emitter (block style, flow style for short records) that is
an order of magnitude faster than ``yaml.dump`` at this size.

The package: ``tables`` (scales and vocabulary, data only); the generators ``orgs``
(organizations and their keys), ``certificates`` (with standards), ``colleges`` (with
pilots and sites), ``revocations`` and ``notices``; ``yamlout``, the emitter; and here,
writing the files.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from random import Random
from typing import Any

from ..load import DIRECTORIES
from .certificates import catalogue
from .colleges import colleges
from .notices import notices
from .revocations import revocations
from .tables import (
    DEFAULT_SEED,
    FIELDS,
    PROVINCES,
    REGISTRY_SCHEMA_LINE,
    SCALES,
    SCHEMA_LINE,
    SITE_URL,
    VERIFY_URL,
    Scale,
)
from .yamlout import EXAMPLE_LINE, dump_yaml

__all__ = ["DEFAULT_SEED", "EXAMPLE_LINE", "SCALES", "Scale", "dump_yaml", "generate", "main"]


class _Writer:
    def __init__(self, root: Path, example: bool = True) -> None:
        self.root = root
        self.example = example  # False: leave every entity's example flag off
        self.files = 0
        self.bytes = 0

    def write(self, rel: str, text: str) -> None:
        if not self.example:
            text = EXAMPLE_LINE.sub("", text)
        data = text.encode("utf-8")
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.files += 1
        self.bytes += len(data)

    def yaml(self, directory: str, doc: dict[str, Any]) -> None:
        """``doc`` in ``directory``, named and schema-lined as the loader expects."""
        kind, id_field = DIRECTORIES[directory]
        self.write(f"{directory}/{doc[id_field]}.yaml", dump_yaml(doc, SCHEMA_LINE.format(kind=kind)))


def _registry_yaml() -> str:
    doc = {
        "name": {
            "zh": "1+X 职业技能等级证书公共注册库（合成测试数据）",
            "en": "1+X Vocational Skill Certificate Registry (synthetic test data)",
        },
        "site_url": SITE_URL,
        "verify_url": VERIFY_URL,
        "fields": [{"id": f[0], "zh": f[1], "en": f[2]} for f in FIELDS],
    }
    return dump_yaml(doc, REGISTRY_SCHEMA_LINE)


def _write_all(root: Path, scale: str, seed: int, example: bool = True) -> dict[str, int]:
    sc = SCALES[scale]
    rng = Random(seed)  # one generator, drawn from in a fixed order: same seed, same bytes
    w = _Writer(root, example)
    for sub in ("organizations", "certificates", "standards", "colleges", "revocations", "notices"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    w.write("registry.yaml", _registry_yaml())
    cat = catalogue(rng, sc)
    for doc in cat.org_docs:
        w.yaml("organizations", doc)
    for doc in cat.cert_docs:
        w.yaml("certificates", doc)
    for doc in cat.std_docs:
        w.yaml("standards", doc)
    placed = colleges(rng, sc, cat.certs, lambda doc: w.yaml("colleges", doc))
    revoked = revocations(rng, sc, cat.orgs, cat.certs)
    for doc in revoked:
        w.yaml("revocations", doc)
    news = notices(rng, sc, cat.orgs, cat.certs)
    for day, slug, meta, body in news:
        text = "---\n" + SCHEMA_LINE.format(kind="notice") + dump_yaml(meta) + "---\n\n" + body
        w.write(f"notices/{day.isoformat()}-{slug}.md", text)
    return {
        "organizations": len(cat.org_docs),
        "keys": sum(len(doc["keys"]) for doc in cat.org_docs),
        "certificates": len(cat.cert_docs),
        "standards": len(cat.std_docs),
        "provinces": len(PROVINCES),
        "colleges": placed.colleges,
        "pilots": placed.pilots,
        "sites": placed.sites,
        "revocations": sum(len(doc["revoked"]) for doc in revoked),
        "notices": len(news),
        "files": w.files,
        "bytes": w.bytes,
    }


def generate(
    out_dir: Path, scale: str, seed: int = DEFAULT_SEED, *, force: bool = False, example: bool = True
) -> dict[str, int]:
    """Write a synthetic registry into ``out_dir`` and return its counts.

    ``example=False`` leaves the ``example`` flag off every entity (nothing else changes).

    ``out_dir`` must not exist or be empty; with ``force`` an existing registry (a
    directory holding ``registry.yaml``) is replaced. The registry is written into a
    temporary sibling directory and renamed into place at the end, so a failure never
    leaves a half-written registry behind.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}, expected one of {', '.join(SCALES)}")
    out_dir = Path(out_dir)
    if out_dir.exists():
        if not out_dir.is_dir():
            raise FileExistsError(f"{out_dir}: exists and is not a directory")
        if any(out_dir.iterdir()):
            if not force:
                raise FileExistsError(
                    f"{out_dir}: directory is not empty (use --force to replace a registry)"
                )
            if not (out_dir / "registry.yaml").is_file():
                raise FileExistsError(
                    f"{out_dir}: not empty and holds no registry.yaml; refusing to replace it"
                )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.synth-", dir=out_dir.parent))
    try:
        counts = _write_all(tmp, scale, seed, example)
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            out_dir.rename(old)
            tmp.rename(out_dir)
            shutil.rmtree(old)
        else:
            tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return counts


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m xcert.synth",
        description="Write a synthetic 1+X registry (every entity marked example: true) "
        "for scale tests. Never copy its output into registry/.",
    )
    parser.add_argument(
        "--scale",
        choices=list(SCALES),
        default="small",
        help="national (~450 certificates, ~10,000 colleges, ~50,000 "
        "revocations), quarter (a quarter of each) or small (tests)",
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="output directory; must not exist or be empty"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"random seed; same seed, same bytes (default {DEFAULT_SEED})",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace an existing registry (a directory with registry.yaml)"
    )
    parser.add_argument(
        "--no-example",
        dest="example",
        action="store_false",
        help="leave the example flag off, so the site counts every entity (statistics, charts); "
        "the registry's name still says it is synthetic",
    )
    args = parser.parse_args(None if argv is None else list(argv))
    t0 = time.perf_counter()
    try:
        counts = generate(args.out, args.scale, args.seed, force=args.force, example=args.example)
    except FileExistsError as e:
        parser.exit(2, f"{parser.prog}: error: {e}\n")
    counts_out = {
        "scale": args.scale,
        "seed": args.seed,
        **counts,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    print(json.dumps(counts_out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
