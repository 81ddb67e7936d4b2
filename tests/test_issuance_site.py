"""Issuance records on the site (xcert/site/issuance.py), built by `build.py site` from a
fixture registry with records (the real registry has none yet): the organization page's
counts per year and level and its list of records, the statistics page's national totals,
the /issuance/ files with their index and schema; axe-core at phone and desktop width."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import at, claims, fixture_key
from test_a11y import WIDTHS, _context, _open, _serve, _violations, axe  # noqa: F401 - axe is a fixture

import build
from xcert import issuance
from xcert.token import kid_of, sign

ROOT = Path(__file__).resolve().parent.parent
NEW_YEAR = at("2023-01-01", hour=0) + 1800  # 2023-01-01 00:30 in China, still 2022 in UTC


def _tokens(key: int, specs: list[tuple[str, int, int]]) -> list[bytes]:
    return [
        sign(claims(serial=serial, level=level, issued_at=iat), fixture_key(key))
        for serial, level, iat in specs
    ]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("issuance-site")
    reg = tmp / "registry"
    shutil.copytree(ROOT / "tests" / "fixtures" / "registry", reg)
    org = reg / "organizations" / "care-org.yaml"  # counted nationally: not an example here
    org.write_text(org.read_text(encoding="utf-8").replace("example: true\n", ""), encoding="utf-8")
    new = _tokens(
        2, [("A1", 1, NEW_YEAR - 3600), ("A2", 1, NEW_YEAR), ("A3", 3, NEW_YEAR), ("A4", 2, at("2024-03-01"))]
    )
    rec, leaves = issuance.make_record("care-org", "2023-a", kid_of(bytes(fixture_key(2).verify_key)), new)
    issuance.write_record(reg, rec, leaves)
    old = _tokens(1, [("B1", 2, at("2022-03-01")), ("B2", 2, at("2022-03-02"))])
    rec, leaves = issuance.make_record("care-org", "2022-old", kid_of(bytes(fixture_key(1).verify_key)), old)
    path = issuance.write_record(reg, rec, leaves)
    text = path.read_text(encoding="utf-8")  # a record made before the counts existed
    path.write_text(text[: text.index("counts:")], encoding="utf-8")
    out = tmp / "site"
    assert build.main(["site", "--registry", str(reg), "--out", str(out)]) == 0
    return out


def _text(path: Path) -> str:
    import re

    html = path.read_text(encoding="utf-8")
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _rows(html: str, table_id: str) -> list[list[str]]:
    import re

    table = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_organization_page_counts_and_lists_the_records(built: Path) -> None:
    html = (built / "organizations" / "care-org" / "index.html").read_text(encoding="utf-8")
    # year (China time), L1, L2, L3, level unknown, total; newest first, the old record's 2 as unknown level
    assert _rows(html, "xc-records-data") == [
        ["2024", "0", "1", "0", "0", "1"],
        ["2023", "1", "0", "1", "0", "2"],
        ["2022", "1", "0", "0", "2", "3"],
    ]
    assert 'aria-describedby="xc-records-data"' in html and "<svg" in html
    text = _text(built / "organizations" / "care-org" / "index.html")
    assert "2023-a" in text and "2022-old" in text
    assert "2022-12-31 — 2024-03-01" in text and "2022-03-01 — 2022-03-02" in text  # China dates
    assert "随本版本发布 with this version" in text  # no previous signed site dated them
    assert "a record's hash tree proves only its total" in text
    assert 'href="../../issuance/care-org/2023-a.yaml"' in html
    assert "https://" not in html.split('<svg class="xc-svg"', 1)[1].split("</svg>", 1)[0].replace(
        "http://www.w3.org/2000/svg", ""
    )  # no third-party request from the chart


def test_statistics_page_has_the_national_totals(built: Path) -> None:
    html = (built / "statistics" / "index.html").read_text(encoding="utf-8")
    assert _rows(html, "xc-records-national-data")[0] == ["2024", "0", "1", "0", "0", "1"]
    assert sum(int(r[-1]) for r in _rows(html, "xc-records-national-data")) == 6


def test_record_files_index_and_schema_are_published(built: Path) -> None:
    reg_dir = built.parent / "registry" / "issuance" / "care-org"
    for name in ("2023-a.yaml", "2023-a.leaves", "2022-old.yaml", "2022-old.leaves"):
        assert (built / "issuance" / "care-org" / name).read_bytes() == (reg_dir / name).read_bytes()
    index = json.loads((built / "issuance" / "index.json").read_text(encoding="utf-8"))
    schema = json.loads((built / "schema" / "issuance-index.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(index)
    by_batch = {r["batch"]: r for r in index["records"]}
    assert by_batch["2022-old"]["counts"] is None and by_batch["2023-a"]["count"] == 4
    assert by_batch["2023-a"]["counts"][0] == {
        "year": 2022,
        "certificate": "old-care",
        "level": 1,
        "count": 1,
    }
    assert by_batch["2023-a"]["record"] == "/issuance/care-org/2023-a.yaml"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate({**index, "records": [{"batch": "x"}]})
    data_page = (built / "data" / "index.html").read_text(encoding="utf-8")
    assert "issuance/index.json" in data_page and "issuance-index.schema.json" in data_page


@pytest.fixture(scope="module")
def served(built: Path) -> Iterator[str]:
    yield from _serve(built)


@pytest.mark.browser
@pytest.mark.parametrize("width", list(WIDTHS))
def test_record_pages_have_no_wcag_violations(chromium: Any, axe: str, served: str, width: str) -> None:  # noqa: F811
    context = _context(chromium, WIDTHS[width], axe)
    page = context.new_page()
    found = {}
    for path in ("organizations/care-org/", "statistics/"):
        _open(page, served + path, open_details=True)
        assert page.locator("#xc-records-data, #xc-records-national-data").count() == 1
        if problems := _violations(page):
            found[path] = problems
    context.close()
    assert not found, json.dumps(found, ensure_ascii=False, indent=1)


def test_publication_dates_come_from_the_replaced_sites_snapshot(built: Path) -> None:
    from xcert.load import load_registry
    from xcert.site.issuance import IssuanceView, index_dict

    reg = load_registry(built.parent / "registry").registry
    assert reg is not None
    when = at("2023-02-01", hour=0) - 1  # 2023-01-31T23:59:59 in China: the China date counts
    first = {"issuance/care-org/2023-a.yaml": {"published": when, "sha256": "00"}}
    listed = {item.record.batch: item.published for item in IssuanceView(reg, first).records_of("care-org")}
    assert listed == {"2022-old": None, "2023-a": dt.date(2023, 1, 31)}
    assert {r["batch"]: r["published"] for r in index_dict(reg, first)["records"]} == {
        "2022-old": None,
        "2023-a": when,
    }
