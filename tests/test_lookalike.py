"""Lookalike names (issue 13, item 9): refused in the registry's names and in holder names."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from xcert import issue
from xcert.load import load_registry
from xcert.lookalike import name_problem

FIXTURE = Path(__file__).parent / "fixtures" / "registry"

REFUSED = [
    ("王\u3164明", "contains the invisible character U+3164 (HANGUL FILLER)"),
    ("\u115f王小明", "contains the invisible character U+115F (HANGUL CHOSEONG FILLER)"),
    ("王小明\u2800", "contains the invisible character U+2800 (BRAILLE PATTERN BLANK)"),
    ("王\u200b小明", "contains the invisible character U+200B (ZERO WIDTH SPACE)"),
    (
        "Wang Xia\u0336oming",
        "contains the combining mark U+0336 (COMBINING LONG STROKE OVERLAY), "
        "which can hide or strike out letters",
    ),
    ("Аlibaba Care", "mixes scripts within the word 'Аlibaba' (Cyrillic and Latin): a lookalike letter?"),
    (
        "养老а服务中心",
        "mixes scripts within the word '养老а服务中心' (Cyrillic and Han): a lookalike letter?",
    ),
    ("Μicrosoft", "mixes scripts within the word 'Μicrosoft' (Greek and Latin): a lookalike letter?"),
    ("ＡＢＣ养老", "contains the full-width U+FF21 (FULLWIDTH LATIN CAPITAL LETTER A): write 'A'"),
    ("Care Ｏrg", "contains the full-width U+FF2F (FULLWIDTH LATIN CAPITAL LETTER O): write 'O'"),
]
ALLOWED = [
    "王小明",
    "北京TCL科技（集团）有限公司",  # Latin with Han: TR 39 highly restrictive allows it
    "阿卜杜·热合曼",
    "Jean-Luc Müller",
    "Test Elderly-Care Organisation",
    "김철수",
    "ひらがなカタカナ漢字",
    "ཀུན་དགའ་",  # Tibetan vowel signs belong to their script
    "Ψαλίδι",
]


@pytest.mark.parametrize(("name", "message"), REFUSED, ids=[m for _, m in REFUSED])
def test_lookalike_names_are_refused(name: str, message: str) -> None:
    assert name_problem(name) == message


@pytest.mark.parametrize("name", ALLOWED)
def test_real_names_pass(name: str) -> None:
    assert name_problem(name) is None


IN_FILE = [REFUSED[i] for i in (0, 2, 4, 5, 6, 8)]


@pytest.mark.parametrize(("name", "message"), IN_FILE, ids=[m for _, m in IN_FILE])
def test_an_organization_name_is_refused_where_it_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, message: str
) -> None:
    shutil.copytree(FIXTURE, tmp_path / "registry")
    path = tmp_path / "registry" / "organizations" / "care-org.yaml"
    text = path.read_text(encoding="utf-8").replace("zh: 测试养老培训评价组织", f'zh: "{name}"')
    path.write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    errors = [p.format() for p in load_registry(Path("registry")).errors]
    assert f"registry/organizations/care-org.yaml:3:12: error: name.zh: {message}" in errors, errors


@pytest.mark.parametrize(("name", "message"), REFUSED, ids=[m for _, m in REFUSED])
def test_a_holder_name_is_refused_before_signing(name: str, message: str) -> None:
    req = issue.Request("old-care", "2", "S1", name, "11010519491231002X")
    with pytest.raises(issue.IssueError) as e:
        issue.make_claims(req)
    assert e.value.problems == [f"name: {message}"]
