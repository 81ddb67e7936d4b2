"""The issuing library: claims from typed input, the pre-flight verification, batches."""

from __future__ import annotations

import csv
import datetime as dt
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from conftest import at, fixture_key

from xcert import issue
from xcert.issue import BatchError, IssueError, PrivateKey, Request
from xcert.token import decode, token_from_text
from xcert.verify import VALID, verify

NOW = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
ID = "11010519491231002X"  # GB 11643 check character X
KEY = PrivateKey("care-org", fixture_key(2))


def request(**changes: Any) -> Request:
    values: dict[str, Any] = {
        "certificate": "old-care",
        "level": "2",
        "serial": "2023011000000001",
        "name": "王小明",
        "id_number": ID,
        "date": "2023-01-10",
        "college": "test-care-college",
    }
    return Request(**(values | changes))


def org(data: dict[str, Any], org_id: str) -> dict[str, Any]:
    return next(o for o in data["organizations"] if o["id"] == org_id)


def test_issue_signs_what_verifies(make_trust) -> None:
    trust = make_trust()
    issued = issue.issue(request(), KEY, trust, NOW)
    assert issued.url.startswith("https://verify.1x.example.cn/c/")
    assert verify(issued.url, trust, NOW).status == VALID
    c = decode(token_from_text(issued.url)).claims
    assert (c.certificate, c.level, c.serial, c.id_tail) == ("old-care", 2, "2023011000000001", "002X")
    assert c.issued_at == at("2023-01-10", hour=0)  # 00:00 China Standard Time on the issue day
    assert c.expires_at is None  # the verifier derives expiry from validity_years


def test_explicit_expiry_only_on_request(make_trust) -> None:
    issued = issue.issue(request(expires="2025-01-10"), KEY, make_trust(), NOW)
    assert issued.claims.expires_at == at("2025-01-10", hour=0)


def test_input_is_normalised() -> None:
    c = issue.make_claims(request(level="高级", name=" 王小明 ", id_number="11010519491231002x", college=""))
    assert (c.level, c.holder_name, c.id_tail, c.college) == (3, "王小明", "002X", None)
    decomposed = "e\u0301"  # é as e + combining accent: NFC makes it one character
    assert issue.make_claims(request(name=f"Ren{decomposed}")).holder_name == "Ren\u00e9"


def test_every_input_problem_is_reported_at_once() -> None:
    with pytest.raises(IssueError) as e:
        issue.make_claims(request(level="4", id_number="110105194912310021", date="2023/01/10"))
    assert e.value.problems == [
        "level: expected 1, 2 or 3 (初级, 中级, 高级), got '4'",
        "ID number: check character is 1, expected X",
        "date: expected a date YYYY-MM-DD, got '2023/01/10'",
    ]


@pytest.mark.parametrize(
    ("changes", "trust_change", "code"),
    [
        ({"certificate": "logistics", "level": "1"}, None, "certificate.owner"),
        (
            {"level": "3"},
            lambda d: org(d, "care-org")["certificates"][0].update(levels=[1, 2]),
            "certificate.level",
        ),
        ({"date": "2022-05-01"}, None, "key.window"),  # key 2 signs from 2022-06-01
        ({"date": "2024-07-01"}, None, "issued.not_future"),
        ({"serial": "Y2020000001"}, None, "revocation"),
        ({"date": "2020-01-05"}, None, "key.window expiry"),  # every failing check is listed
        ({"certificate": "no-such-type"}, None, "certificate.owner"),
    ],
)
def test_refusals_come_from_the_verifier(changes, trust_change, code, make_trust) -> None:
    with pytest.raises(IssueError) as e:
        issue.issue(request(**changes), KEY, make_trust(trust_change), NOW)
    assert [p.split(":")[0] for p in e.value.problems] == code.split()


def test_refuses_a_key_unknown_to_the_trust_list(make_trust) -> None:
    with pytest.raises(IssueError, match=r"key\.known: The signing key is not in the published trust list"):
        issue.issue(request(), PrivateKey("care-org", fixture_key(7)), make_trust(), NOW)


def test_refuses_a_key_file_naming_another_organization(make_trust) -> None:
    with pytest.raises(IssueError, match="says organization 'logi-org'"):
        issue.issue(request(), PrivateKey("logi-org", fixture_key(2)), make_trust(), NOW)


# --- batches ----------------------------------------------------------------------------

HEADER = ["certificate", "level", "serial", "name", "id_number", "date", "college"]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER, bom: bool = False) -> Path:
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def good_rows(n: int = 5) -> list[list[str]]:
    names = ["王小明", "李娜", "欧阳明月", "张伟", "陈静"]
    return [
        ["old-care", str(1 + i % 3), f"2023011000000{i:03d}", names[i % 5], ID, "2023-01-10", "c1"]
        for i in range(n)
    ]


def test_batch_writes_tokens_and_qr_files(tmp_path, make_trust) -> None:
    trust = make_trust()
    rows = good_rows() + [["old-care", "1", "A/7", "李娜", ID, "2023-01-10", ""]]
    src = write_csv(tmp_path / "in.csv", rows, bom=True)
    report = issue.issue_batch(KEY, src, tmp_path / "out", trust, workers=1, now=NOW)
    assert report.rows == 6 and not report.test
    with open(tmp_path / "out" / "tokens.csv", encoding="utf-8", newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == ["serial", "url"] and [r[0] for r in table[1:]] == [r[2] for r in rows]
    for serial, url in table[1:]:
        assert verify(url, trust, NOW).status == VALID
        stem = serial.replace("/", "_")
        assert (tmp_path / "out" / f"{stem}.png").read_bytes().startswith(b"\x89PNG")
        assert (tmp_path / "out" / f"{stem}.svg").read_text().startswith("<svg")
    assert len(list((tmp_path / "out").iterdir())) == 1 + 2 * 6
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp dir left


def test_batch_is_deterministic_across_workers(tmp_path, make_trust) -> None:
    src = write_csv(tmp_path / "in.csv", good_rows(12))
    for name, workers in (("a", 1), ("b", 2)):
        issue.issue_batch(KEY, src, tmp_path / name, make_trust(), workers=workers, now=NOW)
    a = {p.name: p.read_bytes() for p in (tmp_path / "a").iterdir()}
    b = {p.name: p.read_bytes() for p in (tmp_path / "b").iterdir()}
    assert a == b and len(a) == 25


def test_batch_date_column_and_default_date(tmp_path, make_trust) -> None:
    rows = [r[:5] for r in good_rows(2)]
    src = write_csv(tmp_path / "in.csv", rows, header=HEADER[:5])
    issue.issue_batch(KEY, src, tmp_path / "out", make_trust(), workers=1, now=NOW, date=dt.date(2023, 2, 1))
    url = (tmp_path / "out" / "tokens.csv").read_text().splitlines()[1].split(",")[1]
    assert decode(token_from_text(url)).claims.issued_at == at("2023-02-01", hour=0)


def test_batch_reports_every_bad_row_and_issues_nothing(tmp_path, make_trust) -> None:
    rows = good_rows(3) + [
        ["old-care", "4", "S1", "王", ID, "2023-01-10", ""],  # line 5: level
        ["old-care", "1", "S2", "王", "110105194912310021", "2023-01-10", ""],  # 6: ID check
        ["old-care", "1", "2023011000000001", "王", ID, "2023-01-10", ""],  # 7: duplicate of line 3
        ["old-care", "1", "S3", "王", ID, "10.1.2023", ""],  # 8: date
        ["logistics", "1", "S4", "王", ID, "2023-01-10", ""],  # 9: not care-org's type
        ["old-care", "1", "S5", "王", ID],  # 10: too few fields
        ["old-care", "1", "s1", "王", ID, "2023-01-10", ""],  # 11: same file name as S1
    ]
    src = write_csv(tmp_path / "in.csv", rows)
    with pytest.raises(BatchError) as e:
        issue.issue_batch(KEY, src, tmp_path / "out", make_trust(), workers=2, now=NOW)
    found = [(p.loc.line, p.message.split(":")[0]) for p in e.value.problems]
    assert found == [
        (5, "level"),
        (6, "ID number"),
        (7, "duplicate serial '2023011000000001' (first on line 3)"),
        (8, "date"),
        (9, "certificate.owner"),
        (10, "expected 7 fields, got 5"),
        (11, "serial differs only in case from 'S1' 's1' (first on line 5)"),
    ]
    assert str(e.value) == f"{src}: 7 bad lines; nothing was issued"
    assert list(tmp_path.iterdir()) == [src]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (["certificate", "level", "serial", "name"], "missing column: id_number"),
        ([*HEADER, "phone"], "unknown column: phone (expected certificate, level, serial, name, id_number, "
         "date, college, expires)"),
        ([*HEADER, "level"], "duplicate column: level"),
    ],
)  # fmt: skip
def test_batch_header_problems(tmp_path, make_trust, header, message) -> None:
    src = write_csv(tmp_path / "in.csv", [], header=header)
    with pytest.raises(BatchError) as e:
        issue.issue_batch(KEY, src, tmp_path / "out", make_trust(), workers=1, now=NOW)
    assert [(p.loc.line, p.message) for p in e.value.problems] == [(1, message)]


def test_batch_refuses_a_non_empty_out_dir_but_fills_an_empty_one(tmp_path, make_trust) -> None:
    src = write_csv(tmp_path / "in.csv", good_rows(1))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(IssueError, match="not an empty directory"):
        issue.issue_batch(KEY, src, tmp_path / "full", make_trust(), workers=1, now=NOW)
    (tmp_path / "empty").mkdir()
    issue.issue_batch(KEY, src, tmp_path / "empty", make_trust(), workers=1, now=NOW)
    assert (tmp_path / "empty" / "tokens.csv").exists()


@pytest.mark.parametrize("workers", [1, 2])
def test_batch_output_is_private_to_the_user_whatever_the_umask(tmp_path, make_trust, workers) -> None:
    """tokens.csv and the QR codes carry holders' names and ID number tails: the directory was
    chmod 0755 and its files 0644 under the usual umask, so any local user could read them."""
    src = write_csv(tmp_path / "in.csv", good_rows(3))
    old = os.umask(0o022)
    try:
        issue.issue_batch(KEY, src, tmp_path / "out", make_trust(), workers=workers, now=NOW)
        (tmp_path / "empty").mkdir()  # an existing empty directory is replaced by a private one
        issue.issue_batch(KEY, src, tmp_path / "empty", make_trust(), workers=workers, now=NOW)
    finally:
        os.umask(old)
    for out in (tmp_path / "out", tmp_path / "empty"):
        assert stat.S_IMODE(out.stat().st_mode) == 0o700
        files = list(out.iterdir())
        assert len(files) == 1 + 2 * 3
        for f in files:
            assert f.is_file() and stat.S_IMODE(f.stat().st_mode) == 0o600, f
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # renamed, not copied


def test_batch_not_utf8(tmp_path, make_trust) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(",".join(HEADER).encode() + "\n老年,1".encode("gbk"))
    with pytest.raises(BatchError) as e:
        issue.issue_batch(KEY, src, tmp_path / "out", make_trust(), workers=1, now=NOW)
    assert "not UTF-8" in e.value.problems[0].message


def test_a_csv_problem_names_its_line_and_no_column() -> None:
    # batch problems are the registry's Problem with column 0: the whole CSV row
    from xcert.problems import Loc, Problem

    problem = Problem(Loc("in.csv", 3, 0), "level: bad")
    assert problem.format() == "in.csv:3: error: level: bad"
    assert problem.format("github") == "::error file=in.csv,line=3::level: bad"
    assert Problem(Loc("a.yaml", 3, 5), "x").format() == "a.yaml:3:5: error: x"
