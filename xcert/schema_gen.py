"""Write the JSON Schema of every registry file kind into `schema/` (for editors).

    xcert schema [--out DIR]          # (re)write schema/<kind>.schema.json (also python build.py schema)
    xcert schema --check              # exit 1 if a committed file is stale

The files are generated from `xcert.schema.KINDS`, the one declaration that `check` also
uses; never edit them by hand. A test fails when they are stale. The folder is ./schema,
relative to the current directory like the registry (run from the checkout).
"""

from __future__ import annotations

import json
from pathlib import Path

from .schema import KINDS, json_schema

SCHEMA_DIR = Path("schema")


def rendered() -> dict[str, str]:
    """File name → exact text of each generated schema file."""
    return {
        f"{kind}.schema.json": json.dumps(json_schema(kind), ensure_ascii=False, indent=2) + "\n"
        for kind in KINDS
    }


def stale(out: Path = SCHEMA_DIR) -> list[str]:
    """Names of files that are missing, different from the model, or no longer generated."""
    wanted = rendered()
    found = {p.name for p in out.glob("*.schema.json")} if out.is_dir() else set()
    bad = [n for n, text in wanted.items() if not (out / n).is_file() or (out / n).read_text("utf-8") != text]
    return sorted(bad + [n for n in found if n not in wanted])


def write(out: Path = SCHEMA_DIR) -> list[str]:
    """Bring `out` up to date; return the names written or removed."""
    changed = stale(out)
    out.mkdir(parents=True, exist_ok=True)
    wanted = rendered()
    for name in changed:
        if name in wanted:
            (out / name).write_text(wanted[name], encoding="utf-8")
        else:
            (out / name).unlink()
    return changed


def main(check_only: bool = False, out: Path = SCHEMA_DIR) -> int:
    if check_only:
        if not out.is_dir():
            print(f"no {out}/ folder here: run from the checkout, or pass --out DIR")
            return 1
        if names := stale(out):
            print(f"stale: {', '.join(names)}; run `python build.py schema`")
            return 1
        print(f"schema files up to date in {out}")
        return 0
    names = write(out)
    print(f"wrote {len(names)} file(s) into {out}" + (f": {', '.join(names)}" if names else ""))
    return 0
