"""The broken-registry corpus: each case breaks one thing in a copy of the good fixture
and lists exactly what `check` must say (file, line, column, message)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from xcert.load import load_registry

FIXTURES = Path(__file__).parent / "fixtures"
CASES = sorted((FIXTURES / "broken").glob("*.yaml"))


def apply_case(case: dict, registry: Path) -> None:
    target = registry / case["file"]
    if "content" in case:
        target.write_text(case["content"], encoding="utf-8")
        return
    text = target.read_text(encoding="utf-8")
    old, new = case["replace"]
    assert old in text, f"fixture text {old!r} not found in {case['file']}"
    # surrogateescape lets a case write bytes that are not UTF-8.
    target.write_bytes(text.replace(old, new).encode("utf-8", "surrogateescape"))


@pytest.mark.parametrize("case_file", CASES, ids=[c.stem for c in CASES])
def test_broken_registry_is_reported_exactly(case_file: Path, tmp_path: Path, monkeypatch) -> None:
    case = yaml.safe_load(case_file.read_text(encoding="utf-8"))
    shutil.copytree(FIXTURES / "registry", tmp_path / "registry")
    apply_case(case, tmp_path / "registry")
    monkeypatch.chdir(tmp_path)

    result = load_registry(Path("registry"))

    assert [p.format() for p in result.problems] == case["expect"], case["about"]
    assert not result.ok


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 25
