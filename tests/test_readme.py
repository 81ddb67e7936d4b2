"""The README's layout section names every module, so it cannot silently fall behind."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_layout_names_every_module() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"[A-Za-z_]+(?:\.py|/)", layout))
    modules = [
        p.name if p.is_file() else p.name + "/"
        for package in ("xcert", "xcert/site", "verify_api")
        for p in sorted((ROOT / package).iterdir())
        if (p.suffix == ".py" and p.name != "__init__.py") or (p.is_dir() and (p / "__init__.py").exists())
    ]
    assert [m for m in modules if m not in named] == []
