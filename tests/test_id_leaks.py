"""The holder's full ID number never becomes public (issue 13, item 6): not as the serial or
the college code (both signed in full and shown on the verify page), not echoed back by
`issue-batch`, and not in `ps` output or shell history (`--id-number -` reads standard input)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import FIXTURE_REGISTRY, fixture_key

from xcert import cli, issue
from xcert.keys import PrivateKey, write_private_key
from xcert.token import decode, token_from_text

ID = "11010519491231002X"  # the holder's
OTHER_ID = "110105198001010016"  # the review's repro: a valid ID, not the holder's
LEAK = "looks like a national ID number; the verify page shows the {} in full, so it must never hold one"


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli.main, list(args), input=stdin, catch_exceptions=False)


@pytest.fixture
def care_key(tmp_path: Path) -> str:
    path = tmp_path / "care.key"
    write_private_key(path, PrivateKey("care-org", fixture_key(2)))
    return str(path)


def issue_args(key: str, serial: str = "2026000000000001", id_number: str = ID, *more: str) -> list[str]:
    return [
        "issue", "--key", key, "--certificate", "old-care", "--level", "2", "--serial", serial,
        "--name", "王小明", "--id-number", id_number, "--registry", str(FIXTURE_REGISTRY), *more,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("serial", "college", "holder", "field"),
    [
        (OTHER_ID, None, OTHER_ID, "serial"),  # the review's repro: serial = ID
        (ID.lower(), None, ID, "serial"),
        (OTHER_ID, None, ID, "serial"),  # anyone's ID
        ("2026000000000001", ID, ID, "college"),
    ],
)
def test_a_serial_or_college_holding_an_id_is_refused(
    serial: str, college: str | None, holder: str, field: str
) -> None:
    req = issue.Request("old-care", "2", serial, "王小明", holder, college=college)
    with pytest.raises(issue.IssueError) as e:
        issue.make_claims(req)
    assert e.value.problems == [f"{field}: {LEAK.format(field)}"]


def test_an_id_shaped_serial_with_a_wrong_check_character_is_an_ordinary_serial() -> None:
    claims = issue.make_claims(issue.Request("old-care", "2", "110105198001010017", "王小明", ID))
    assert claims.serial == "110105198001010017"


def test_the_cli_refuses_the_reviewers_repro(care_key: str) -> None:
    result = run(*issue_args(care_key, OTHER_ID, OTHER_ID))
    assert result.exit_code == 1
    assert f"serial: {LEAK.format('serial')}" in result.output
    assert "https://" not in result.output and "http://" not in result.output


def test_id_number_from_standard_input(care_key: str) -> None:
    result = run(*issue_args(care_key, id_number="-"), stdin=ID + "\n")
    assert result.exit_code == 0, result.output
    url = result.output.strip().splitlines()[-1]
    assert decode(token_from_text(url)).claims.id_tail == "002X"
    assert "'-' reads it from standard input" in " ".join(run("issue", "--help").output.split())


def test_id_number_dash_without_input_is_a_usage_error(care_key: str) -> None:
    result = run(*issue_args(care_key, id_number="-"), stdin="")
    assert result.exit_code == 2
    assert "Invalid value for --id-number: '-' given, but standard input has no line" in result.output


def test_issue_batch_never_echoes_the_cells_of_a_row(care_key: str, tmp_path: Path) -> None:
    rows = [
        "certificate,level,serial,name,id_number",
        f"old-care,{ID},2026000000000001,王小明,{ID}",  # the review's repro: the ID in the level column
        f"old-care,2,{OTHER_ID},李四,{OTHER_ID}",  # an ID as the serial
        f"old-care,2,2026000000000003,张三,{ID[:-1]}1",  # a mistyped ID
        "old-care,2,2026000000000004,赵\u3164六,11010519491231002X",  # a lookalike name
    ]
    (tmp_path / "in.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run(
        "issue-batch", "--key", care_key, "--csv", str(tmp_path / "in.csv"), "--out", str(out),
        "--registry", str(FIXTURE_REGISTRY), "--workers", "1",
    )  # fmt: skip
    assert result.exit_code == 1
    text = result.output
    assert "in.csv:2: error: level: expected 1, 2 or 3 (初级, 中级, 高级), got '[level cell]'" in text
    assert f"in.csv:3: error: serial: {LEAK.format('serial')}" in text
    assert "in.csv:4: error: ID number: check character is 1, expected X" in text
    assert "in.csv:5: error: name: contains the invisible character U+3164 (HANGUL FILLER)" in text
    for secret in (ID, OTHER_ID, ID[:-1], "王小明", "李四", "张三"):
        assert secret not in text, secret
    assert not out.exists()
