"""The official lists as tables: CSV or XLSX attachments read into located rows.

Real attachments are made for printing, not for machines: a title row or two, a header
that may span two rows, merged cells (one organization over several certificates), notes
and totals at the bottom. `read_table` reads the cells (merged cells filled from their
top-left cell), `find_columns` finds the header row by the column names it knows, and
`data_rows` yields the rows in between, skipping blank rows, notes and totals. Every value
keeps where it came from: `list.xlsx:Sheet1:R12C3`, row and column counted from 1 as in
the spreadsheet program.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import names

MAX_ROWS = 200_000
MAX_COLUMNS = 64  # real lists have a dozen or two; the cells read are max_row × max_column
# A workbook is a zip, and openpyxl's full load (with the rows read from it) takes about
# 10 bytes of memory per byte of sheet XML: 70,000 rows × 10 columns unpack to 41 MB and
# read in ~470 MB. Real official lists are a few thousand rows, a few MB unpacked, so 50 MB
# is ten times more than they need and still reads in well under a gigabyte; a zip bomb
# (repeated rows packed small) is refused from the zip's directory, before anything is
# unpacked. zipfile stops a member at the size the directory gives, so none can lie past it.
MAX_UNPACKED = 50_000_000
# openpyxl makes an object (~300 bytes) for every cell of a merged range while loading, so
# one <mergeCell ref="A1:XFD1048576"/> in a tiny file would ask for 17 billion of them.
MAX_MERGED_CELLS = 500_000
HEADER_SCAN_ROWS = 30
NOTE_START = re.compile(r"^(注|备注|说明|附注|合计|总计|共计|小计|填表|制表|数据来源|来源)")


class TableError(Exception):
    """Bad input in a list: each problem is (where, what)."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        super().__init__("\n".join(f"{where}: {what}" for where, what in problems))
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class Table:
    label: str  # 'list.csv' or 'list.xlsx:Sheet1'
    rows: list[list[str]]  # cell text, stripped; '' for an empty cell

    def where(self, row: int, col: int | None = None) -> str:
        """'label:R12C3' for 0-based row and column indexes ('label:R12' without a column)."""
        return f"{self.label}:R{row + 1}" + (f"C{col + 1}" if col is not None else "")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a school code typed into a number cell
    if isinstance(value, dt.datetime):
        value = value.date() if value.time() == dt.time() else value
    if isinstance(value, dt.date):
        return value.isoformat()
    return names.tidy(str(value))


def read_table(path: Path, sheet: str | None = None) -> Table:
    """The cells of a .csv (UTF-8, with or without BOM, or GB18030 as Chinese Excel saves
    it) or .xlsx file; `sheet` picks a worksheet (default: the first)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, sheet)
    raise TableError(
        [(path.name, f"cannot read '{suffix or 'no extension'}' files: save it as .xlsx or .csv")]
    )


def _read_csv(path: Path) -> Table:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # gb18030 decodes almost anything, so this is rare
        raise TableError([(path.name, "is neither UTF-8 nor GB18030 text")])
    try:
        rows = [[_text(c) for c in row] for row in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as e:
        raise TableError([(path.name, f"is not valid CSV: {e}")]) from e
    _check_size(path.name, rows)
    return Table(path.name, rows)


def _read_xlsx(path: Path, sheet: str | None) -> Table:
    from xml.etree.ElementTree import ParseError

    from openpyxl import load_workbook

    _check_workbook(path)
    try:
        # Not read_only: only a full load knows the merged ranges.
        book = load_workbook(path, data_only=True)
    except (
        zipfile.BadZipFile,
        ParseError,
        KeyError,
        OSError,
        ValueError,
        TypeError,
        IndexError,
        AttributeError,
    ) as e:
        raise TableError(
            [(path.name, f"is not a readable .xlsx workbook: {str(e) or type(e).__name__}")]
        ) from e
    try:
        if not book.worksheets:
            raise TableError([(path.name, "has no worksheet")])
        if sheet is None:
            ws = book.worksheets[0]
        elif sheet in book.sheetnames:
            ws = book[sheet]
        else:
            names = ", ".join(book.sheetnames)
            raise TableError([(path.name, f"has no sheet '{sheet}' (it has: {names})")])
        label = f"{path.name}:{ws.title}"
        if ws.max_row > MAX_ROWS:
            raise TableError([(label, f"has {ws.max_row:,} rows; the limit is {MAX_ROWS:,}")])
        if ws.max_column > MAX_COLUMNS:
            raise TableError(
                [
                    (
                        label,
                        f"has {ws.max_column:,} columns; the limit is {MAX_COLUMNS:,}"
                        " (delete the columns right of the table, even if they look empty)",
                    )
                ]
            )
        rows = [[_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
        for merged in ws.merged_cells.ranges:
            top = rows[merged.min_row - 1][merged.min_col - 1]
            for r in range(merged.min_row - 1, min(merged.max_row, len(rows))):
                line = rows[r]
                line.extend([""] * (merged.max_col - len(line)))
                for c in range(merged.min_col - 1, merged.max_col):
                    line[c] = top
    finally:
        book.close()
    return Table(label, rows)


def _check_workbook(path: Path) -> None:
    """Refuse, before openpyxl loads anything, a file that is not a zip, that unpacks to
    more than MAX_UNPACKED bytes, or whose merged ranges cover more than MAX_MERGED_CELLS."""
    try:
        with zipfile.ZipFile(path) as book:
            members = book.infolist()
            unpacked = sum(m.file_size for m in members)
            if unpacked > MAX_UNPACKED:
                raise TableError(
                    [
                        (
                            path.name,
                            f"unpacks to {unpacked:,} bytes; the limit is {MAX_UNPACKED:,}"
                            " (far more than an official list needs)",
                        )
                    ]
                )
            merged = sum(_merged_cells(book, m) for m in members)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError) as e:
        raise TableError(
            [(path.name, f"is not a readable .xlsx workbook: {str(e) or type(e).__name__}")]
        ) from e
    if merged > MAX_MERGED_CELLS:
        raise TableError([(path.name, f"merges {merged:,} cells; the limit is {MAX_MERGED_CELLS:,}")])


def _merged_cells(book: zipfile.ZipFile, member: zipfile.ZipInfo) -> int:
    """How many cells the <mergeCell> ranges in one member of the zip cover. The XML is
    parsed as openpyxl parses it, so no entity or quoting can hide a range from the count."""
    from xml.etree.ElementTree import ParseError, iterparse

    total = 0
    with book.open(member) as stream:
        try:
            for _, element in iterparse(stream):
                if element.tag.rpartition("}")[2] == "mergeCell":
                    total += _area(element.get("ref", ""))
                element.clear()
        except ParseError:
            pass  # not XML (an image), or broken XML, which openpyxl refuses when it reads it
    return total


def _area(ref: str) -> int:
    """The cells in a range such as 'A1:C4'; a whole column (A:A) or row (1:1) runs to the
    sheet's end; 0 for a range openpyxl would refuse anyway."""
    from openpyxl.utils.cell import range_boundaries

    try:
        left, top, right, bottom = range_boundaries(ref)
    except (ValueError, TypeError):
        return 0
    width = abs((right or 16_384) - (left or 1)) + 1
    return width * (abs((bottom or 1_048_576) - (top or 1)) + 1)


def _check_size(label: str, rows: list[list[str]]) -> None:
    if len(rows) > MAX_ROWS:
        raise TableError([(label, f"has {len(rows):,} rows; the limit is {MAX_ROWS:,}")])


# ---------------------------------------------------------------- header and rows


def header_key(text: str) -> str:
    """A header cell as compared with column names: no spaces, marks or bracketed notes."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"\(.*?\)|（.*?）", "", text)
    return re.sub(r"[\s*:：※#]", "", text)


LEVEL_HEADERS = {"初级": 1, "中级": 2, "高级": 3}


@dataclass(frozen=True)
class Columns:
    """Where each known column is: field name → 0-based column, plus level flag columns."""

    header_row: int  # 0-based index of the (last) header row
    index: Mapping[str, int]
    level_flags: Mapping[int, int] = field(default_factory=dict)  # column → level


def find_columns(
    table: Table,
    aliases: Mapping[str, Sequence[str]],
    required: Sequence[str],
    overrides: Mapping[str, str] | None = None,
    header_row: int | None = None,
) -> Columns:
    """Find the header row (the first of the top rows that names every required column),
    or use `header_row` (1-based). `aliases` give each field's usual header texts; a header
    cell belongs to the field whose longest alias it contains; `overrides` name a field's
    header text exactly. An empty header cell takes the text of the cell above it (a name
    merged down over a two-row header, saved as CSV)."""
    overrides = overrides or {}
    exact = {header_key(text): name for name, text in overrides.items()}
    ranked = sorted(
        ((header_key(a), name) for name, names in aliases.items() for a in names if name not in overrides),
        key=lambda pair: -len(pair[0]),
    )

    def classify(row_index: int) -> dict[str, int]:
        found: dict[str, int] = {}
        row = table.rows[row_index]
        above = table.rows[row_index - 1] if row_index > 0 else []
        for col, text in enumerate(row):
            key = header_key(text or (above[col] if col < len(above) else ""))
            if not key:
                continue
            name = exact.get(key) or next((n for a, n in ranked if a and a in key), None)
            if name is not None and name not in found:
                found[name] = col
        return found

    if header_row is not None:
        if not 1 <= header_row <= len(table.rows):
            raise TableError(
                [(table.label, f"header_row {header_row} is outside the {len(table.rows)} rows")]
            )
        candidates = [header_row - 1]
    else:
        candidates = list(range(min(HEADER_SCAN_ROWS, len(table.rows))))
    best: tuple[int, dict[str, int]] | None = None
    for r in candidates:
        found = classify(r)
        if all(name in found for name in required):
            # A two-row header: the group row above (证书信息) names fewer columns than the
            # row under it (职业技能等级证书名称 / 英文名称), so take the deeper one.
            while r + 1 < len(table.rows) and header_row is None:
                deeper = classify(r + 1)
                if not (all(name in deeper for name in required) and len(deeper) > len(found)):
                    break
                r, found = r + 1, deeper
            return Columns(r, found, _level_flags(table, r))
        if best is None or len(found) > len(best[1]):
            best = (r, found)
    wanted = ", ".join(f"{name} ({' / '.join(aliases.get(name, ()))})" for name in required)
    if best is not None and best[1]:
        missing = [n for n in required if n not in best[1]]
        where = table.where(best[0])
        message = f"the header row here lacks {', '.join(missing)}; columns needed: {wanted}"
    else:
        where, message = (
            table.label,
            f"no header row found in the first {HEADER_SCAN_ROWS} rows; needed: {wanted}",
        )
    hint = " (name a column exactly with `columns:` in the mapping file, or set `header_row:`)"
    raise TableError([(where, message + hint)])


def _level_flags(table: Table, header: int) -> dict[int, int]:
    """Columns headed 初级 / 中级 / 高级 (in the header row or a sub-header just below it)."""
    for r in (header, header + 1):
        if r < len(table.rows):
            flags = {
                col: LEVEL_HEADERS[header_key(text)]
                for col, text in enumerate(table.rows[r])
                if header_key(text) in LEVEL_HEADERS
            }
            if len(set(flags.values())) >= 2:  # a data row names one level in one cell
                return flags
    return {}


@dataclass(frozen=True, slots=True)
class Row:
    table: Table
    index: int  # 0-based row index in the table
    cells: list[str]
    columns: Columns

    def get(self, name: str) -> str:
        col = self.columns.index.get(name)
        return self.cells[col] if col is not None and col < len(self.cells) else ""

    def where(self, name: str | None = None) -> str:
        col = self.columns.index.get(name) if name else None
        return self.table.where(self.index, col)

    def flagged_levels(self) -> list[int]:
        """Levels whose flag column holds a mark (✓, √, 是, 1 …)."""
        off = {"", "否", "无", "×", "x", "-", "—", "0", "n", "no"}
        return sorted(
            level
            for col, level in self.columns.level_flags.items()
            if col < len(self.cells) and self.cells[col].strip().lower() not in off
        )


def data_rows(
    table: Table, columns: Columns, key_fields: Sequence[str], fill_down: Sequence[str] = ()
) -> tuple[list[Row], list[str]]:
    """The data rows under the header, and where each skipped note or total row was.

    A row is skipped when it is blank, or when its first non-empty cell starts like a note
    or a total (注、备注、合计 …), or when every key field is empty but some other cell is
    not (a note typed into a merged row). A sub-header of levels right under the header is
    skipped too. `fill_down` fields take the value of the row above when empty (CSV saved
    from merged cells); XLSX merged cells are filled already."""
    start = columns.header_row + 1
    if columns.level_flags and start < len(table.rows):
        sub = table.rows[start]
        if all(c < len(sub) and header_key(sub[c]) in LEVEL_HEADERS for c in columns.level_flags):
            start += 1  # the 初级 / 中级 / 高级 row under a merged 等级 header
    rows: list[Row] = []
    skipped: list[str] = []
    last: dict[str, str] = {}
    for index in range(start, len(table.rows)):
        cells = list(table.rows[index])
        filled = [c for c in cells if c]
        if not filled:
            continue
        row = Row(table, index, cells, columns)
        if NOTE_START.match(filled[0]) or not any(row.get(k) for k in key_fields):
            skipped.append(table.where(index))
            continue
        for name in fill_down:
            col = columns.index.get(name)
            if col is None:
                continue
            while len(cells) <= col:
                cells.append("")
            if cells[col]:
                last[name] = cells[col]
            elif name in last:
                cells[col] = last[name]
        rows.append(row)
    return rows, skipped


# ---------------------------------------------------------------- cell values

_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def parse_batch(text: str) -> int | None:
    """'4', '第四批', '第4批' → 4; None when the cell holds no batch number."""
    key = unicodedata.normalize("NFKC", text).strip()
    if m := re.fullmatch(r"(?:第)?\s*([0-9]{1,2})\s*(?:批)?(?:次)?", key):
        return int(m.group(1))
    if m := re.fullmatch(r"(?:第)?([一二三四五六七八九十]{1,3})(?:批)?(?:次)?", key):
        digits = m.group(1)
        if digits == "十":
            return 10
        if digits.startswith("十"):
            return 10 + _CN_DIGITS[digits[1]]
        if len(digits) == 1:
            return _CN_DIGITS[digits]
        if len(digits) == 2 and digits[1] == "十":
            return _CN_DIGITS[digits[0]] * 10
        if len(digits) == 3 and digits[1] == "十":
            return _CN_DIGITS[digits[0]] * 10 + _CN_DIGITS[digits[2]]
    return None


_LEVEL_CHARS = {"初": 1, "中": 2, "高": 3, "1": 1, "2": 2, "3": 3}


def parse_levels(text: str) -> list[int] | None:
    """'初级、中级、高级', '初/中/高', '1,2,3', '初级-高级' (a range), '中级' → sorted levels;
    None when the cell names no level."""
    key = unicodedata.normalize("NFKC", text).replace("级", "").replace(" ", "")
    if not key:
        return None
    found = [_LEVEL_CHARS[ch] for ch in key if ch in _LEVEL_CHARS]
    rest = re.sub(r"[初中高123、,，/;；和及与\-~至到]", "", key)
    if not found or rest:
        return None
    if len(found) == 2 and re.search(r"[\-~至到]", key):
        return list(range(min(found), max(found) + 1))
    return sorted(set(found))
