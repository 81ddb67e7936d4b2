"""Hostile workbooks: a few KB that would unpack, or be read out, to gigabytes, and broken
XML, are refused with a located message before openpyxl builds them, never a traceback."""

from __future__ import annotations

import datetime as dt
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from xcert import tables
from xcert.importer import ImportFailed, run_import

BATCH4 = Path(__file__).parent / "fixtures" / "import" / "batch4.xlsx"
SHEET = "xl/worksheets/sheet1.xml"
DAY = dt.date(2020, 12, 31)
SOURCE = "教职所〔2020〕000号（测试）"


def with_sheet(tmp_path: Path, data: bytes, name: str = "list.xlsx", member: str = SHEET) -> Path:
    """batch4.xlsx with its worksheet XML (or another member) replaced."""
    target = tmp_path / name
    with zipfile.ZipFile(BATCH4) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            out.writestr(info.filename, data if info.filename == member else source.read(info))
    return target


def batch4_sheet() -> bytes:
    with zipfile.ZipFile(BATCH4) as source:
        return source.read(SHEET)


def import_problems(reg: Path, path: Path) -> list[str]:
    with pytest.raises(ImportFailed) as excinfo:
        run_import(reg, path, "certificates", source=SOURCE, date=DAY, batch=4)
    return excinfo.value.lines()


def test_one_cell_far_right_is_refused_before_the_rows_are_built(reg: Path, tmp_path: Path) -> None:
    wide = b'<row r="150000"><c r="XFD150000" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
    path = with_sheet(tmp_path, batch4_sheet().replace(b"</sheetData>", wide))
    assert path.stat().st_size < 10_000
    started = time.monotonic()
    assert import_problems(reg, path) == [
        "list.xlsx:名单: has 16,384 columns; the limit is 64"
        " (delete the columns right of the table, even if they look empty)"
    ]
    assert time.monotonic() - started < 10  # it built 2.4 billion cells (3.9 GB) before


def test_the_wide_workbook_through_the_command_line_is_a_message_not_a_traceback(
    reg: Path, tmp_path: Path
) -> None:
    wide = b'<row r="150000"><c r="XFD150000" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
    path = with_sheet(tmp_path, batch4_sheet().replace(b"</sheetData>", wide), "wide.xlsx")
    command = [sys.executable, "-m", "xcert.cli", "import", "certificates", str(path)]
    command += ["--registry", str(reg), "--source", "x", "--date", "2021-01-01", "--dry-run"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "wide.xlsx:名单: has 16,384 columns; the limit is 64" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_a_table_as_wide_as_the_limit_is_read_and_one_column_more_is_not(tmp_path: Path) -> None:
    for width in (tables.MAX_COLUMNS, tables.MAX_COLUMNS + 1):
        book = Workbook()
        book.active.append([f"c{n}" for n in range(width)])
        book.save(tmp_path / f"w{width}.xlsx")
    table = tables.read_table(tmp_path / f"w{tables.MAX_COLUMNS}.xlsx")
    assert table.rows == [[f"c{n}" for n in range(tables.MAX_COLUMNS)]]
    with pytest.raises(tables.TableError, match="has 65 columns; the limit is 64"):
        tables.read_table(tmp_path / f"w{tables.MAX_COLUMNS + 1}.xlsx")


def test_a_zip_bomb_is_refused_from_the_zip_directory_before_anything_is_unpacked(
    reg: Path, tmp_path: Path
) -> None:
    """200 MB of repeated rows that pack to a few hundred KB, written a chunk at a time."""
    head, tail = batch4_sheet().split(b"</sheetData>")
    rows = b"".join(
        b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>x</t></is></c></row>' % (n, n) for n in range(10, 110)
    )
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(BATCH4) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for member in source.infolist():
            if member.filename != SHEET:
                out.writestr(member.filename, source.read(member))
                continue
            with out.open(SHEET, "w", force_zip64=True) as sheet:
                sheet.write(head)
                for _ in range(200_000_000 // len(rows)):
                    sheet.write(rows)  # the same row numbers over again: it only has to be big
                sheet.write(b"</sheetData>" + tail)
    assert path.stat().st_size < 2_000_000
    started = time.monotonic()
    [message] = import_problems(reg, path)
    assert message.startswith("bomb.xlsx: unpacks to 200,")
    assert message.endswith("bytes; the limit is 50,000,000 (far more than an official list needs)")
    assert time.monotonic() - started < 2  # unpacking and loading it takes minutes and gigabytes


@pytest.mark.parametrize(
    "ref",
    [
        "A1:XFD1048576",
        "A:XFD",  # whole columns
        "A1:XFD&#49;048576",  # a character reference, as the XML parser reads it
    ],
)
def test_a_merged_range_too_big_to_build_is_refused_before_loading(
    reg: Path, tmp_path: Path, ref: str
) -> None:
    # openpyxl makes an object for every cell of a merged range while it loads the sheet.
    sheet = batch4_sheet().replace(b'<mergeCell ref="B3:C3" />', f'<mergeCell ref="{ref}" />'.encode())
    started = time.monotonic()
    [message] = import_problems(reg, with_sheet(tmp_path, sheet))
    assert message.startswith("list.xlsx: merges 17,179,8")
    assert message.endswith("cells; the limit is 500,000")
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda xml: xml[: len(xml) // 2], id="truncated"),
        pytest.param(lambda xml: xml.replace(b"</sheetData>", b"</sheetDat>"), id="mismatched-tag"),
        pytest.param(lambda xml: b"", id="empty"),
        pytest.param(lambda xml: xml.replace(b'ref="B3:C3"', b'ref="C3:B3"'), id="backwards-merge"),
    ],
)
def test_a_broken_worksheet_is_a_clear_error(reg: Path, tmp_path: Path, damage: object) -> None:
    assert callable(damage)
    [message] = import_problems(reg, with_sheet(tmp_path, damage(batch4_sheet())))
    assert message.startswith("list.xlsx: is not a readable .xlsx workbook: ")


def test_a_damaged_zip_member_is_a_clear_error(reg: Path, tmp_path: Path) -> None:
    path = with_sheet(tmp_path, batch4_sheet())
    data = bytearray(path.read_bytes())
    start = data.index(SHEET.encode()) + len(SHEET)  # the local header's name, then the data
    data[start + 40 : start + 80] = bytes(40)
    path.write_bytes(bytes(data))
    [message] = import_problems(reg, path)
    assert message.startswith("list.xlsx: is not a readable .xlsx workbook: ")


def test_a_member_that_lies_about_its_size_is_cut_there_and_refused(reg: Path, tmp_path: Path) -> None:
    """The size check trusts the zip's directory: zipfile reads no further than it says."""
    path = with_sheet(tmp_path, batch4_sheet())
    data = bytearray(path.read_bytes())
    entry = data.index(b"PK\x01\x02")  # the central directory's first entry
    while not data[entry + 46 :].startswith(SHEET.encode()):
        entry = data.index(b"PK\x01\x02", entry + 1)
    struct.pack_into("<I", data, entry + 24, 100)  # the sheet 'unpacks to 100 bytes'
    path.write_bytes(bytes(data))
    [message] = import_problems(reg, path)
    assert message.startswith("list.xlsx: is not a readable .xlsx workbook: Bad CRC-32")


def test_a_workbook_without_a_worksheet_says_so(reg: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(BATCH4) as source:
        book = source.read("xl/workbook.xml")
    book = book.replace('<sheet name="名单" sheetId="1" state="visible" r:id="rId1" />'.encode(), b"")
    assert import_problems(reg, with_sheet(tmp_path, book, member="xl/workbook.xml")) == [
        "list.xlsx: has no worksheet"
    ]


def test_a_normal_workbook_still_imports(reg: Path, tmp_path: Path) -> None:
    path = with_sheet(tmp_path, batch4_sheet())
    outcome = run_import(reg, path, "certificates", source=SOURCE, date=DAY, batch=4)
    assert outcome.plan.rows == 3
    assert outcome.plan.skipped == ["list.xlsx:名单:R8", "list.xlsx:名单:R9"]
