"""Messages a maintainer meets when a registry entry is wrong (issue 18): each one says
where (the field path, by id where the entry has one) and what to do. The error cases
are in tests/fixtures/broken/ (39-41); the warnings, which leave a registry loadable, here."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import FIXTURE_REGISTRY

from xcert.load import load_registry


def _edit(tmp_path: Path, rel: str, old: str, new: str) -> Path:
    registry = tmp_path / "registry"
    shutil.copytree(FIXTURE_REGISTRY, registry)
    path = registry / rel
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return registry


def test_a_pilot_before_its_certificate_was_active_gives_the_active_date(tmp_path: Path) -> None:
    registry = _edit(tmp_path, "colleges/43.yaml", "since: 2019-06-01}", "since: 2019-01-01}")
    result = load_registry(registry)
    assert result.ok
    assert [p.message for p in result.problems] == [
        "colleges[test-care-college].pilots[0].since: 2019-01-01 is before certificate 'old-care' "
        "was active (from 2019-04-10)"
    ]


def test_an_unquoted_school_code_says_codes_are_quoted(tmp_path: Path) -> None:
    registry = _edit(
        tmp_path, "colleges/43.yaml", "    kind: 高职\n", "    kind: 高职\n    code: 4143010827\n"
    )
    (problem,) = load_registry(registry).problems
    assert problem.message == (
        'colleges[0].code: expected a string, got integer (quote it: "4143010827": '
        "codes and other text are quoted; dates are not)"
    )


def test_a_year_0000_date_says_the_year_is_out_of_range(tmp_path: Path) -> None:
    """Not a made-up month length for a year that does not exist (review of stop 21)."""
    registry = _edit(tmp_path, "colleges/43.yaml", "since: 2019-06-01}", "since: 0000-02-32}")
    messages = [p.message for p in load_registry(registry).problems]
    assert messages == [
        "colleges[0].pilots[0].since: 0000-02-32 is not a calendar day: year 0000 is out of range (0001-9999)"
    ]
