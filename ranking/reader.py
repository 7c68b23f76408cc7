"""Turn an uploaded score file (bytes + file name) into a table of raw cells.

Pure: no Telegram, no database, no number parsing or value validation (that is
``ranking.importer``'s job). This module decides what the file is, decodes it,
bounds it, finds the header row and maps header texts to canonical keys.
Anything it refuses raises :class:`ReadProblem` whose ``code`` names a message
``reader.<code>`` in ``locales/*/LC_MESSAGES/reader.po``.

Formats: CSV/TSV/TXT (UTF-8, UTF-8 with BOM, UTF-16, Windows-1258) read here;
.xlsx, .xlsm, .xls (Excel 97-2003) and .ods (OpenDocument, the format state
bodies publish editable files in) read through python-calamine, one reader
for the four, after this module has bounded the file itself (below).

Problem codes and their params (every message may use any of them)::

    unsupported_type   kind, name        (kind: "PNG", "JSON", ext …)
    unsupported_pdf    name              (a PDF holds no cells: say how to get a sheet)
    unsupported_document kind, name      (DOCX, DOC, ODT, PPTX: a table in a text file)
    unsupported_numbers name             (Apple Numbers)
    unsupported_xlsb   name              (Excel binary workbook)
    encrypted          name              (password-protected Office file)
    too_large          size_mb, limit_mb (strings like "7.3" / "5")
    too_many_rows      limit [, row, sheet]
    too_many_columns   row, limit [, sheet]
    cell_too_long      row, column, cell, limit [, sheet]
    zip_bomb           kind, detail      (detail is for logs, not for users)
    xml_bomb           kind, detail
    not_xlsx           kind, detail      (a damaged .xlsx/.xlsm)
    not_ods            detail            (a damaged .ods)
    not_xls            detail            (a damaged .xls)
    formula            cells, count, cell, row, column, sheet
                       (formula cells with no stored value: every one, by column)
    formula_error      cells, count, cell, row, column, sheet  (#DIV/0!, #REF! …)
    no_header          rows, unit_headers, score_headers, expected [, sheet]
    duplicate_column   header, column, first_header, first_column [, sheet]
    encoding           (none)
    binary             (none)
    empty              [sheet]
    no_data_sheet      sheets

Decisions worth knowing:

* Columns headed "STT"/"TT"/"Số thứ tự"/"#" are ignored, formulas in them too.
* A column with an empty header cell is ignored unless one of its data cells
  holds something; then it becomes an extra column named "Cột F" (its letter),
  so the importer reports it instead of the data silently vanishing.
* Trailing empty cells do not count as columns (Excel pads CSV rows with ";").
* Fully blank rows are skipped. Rows above the header are kept as
  ``title_rows`` (the importer reads a year and a decision there).
* The table ends where the table ends: at a signature block or footnote row
  ("Nơi nhận:", "KT. CHỦ TỊCH", "Người lập biểu", "Ghi chú:", a "…, ngày …
  tháng … năm …" line; see ``ranking.layout.is_footer``), or at a run of two
  or more blank rows after the data when what follows is not a data row.
  Rows with content from there on are counted (``ignored_below``), not read.
* A row with a single text cell (or text only in the STT column) is marked
  as a ``heading``: the importer decides whether it names a group (a section
  row of the decision's annex) or is a unit with nothing else filled in.
* Formula cells: the value the program stored with the formula is read, as
  Excel and LibreOffice show it. Refused (``formula``) is only a formula cell
  with no stored value, written by a program that never calculated; an error
  result (#DIV/0!, #N/A …) is ``formula_error``. Both list every such cell,
  except in ignored columns, title rows and rows below the table.
* Sheets: hidden sheets and notes sheets ("Ghi chú", "Hướng dẫn", "Notes"…)
  are never data. With ``year_hint``, only sheets whose title contains that
  year are candidates if there are any. The first candidate (in workbook
  order) with a header row in its first 15 rows is read.
* Spreadsheet floats are kept to 15 significant digits, which is what Excel
  shows (731.6100000000001 is read as 731.61); non-finite → text.
* Spreadsheet bounds, checked on the file's own bytes before python-calamine
  parses anything (it holds a sheet as a dense rectangle, and would abort the
  process on an allocation it cannot make): a value right of column
  ``max_columns`` is ``too_many_columns``; a value below row
  ``2 * max_rows + 15`` or a used rectangle over ``max_cells`` cells is
  ``too_many_rows``. Zip parts: entry count, declared and real sizes,
  compression ratio, names, DTDs/entities (the billion-laughs family), tags
  per row and per part, shared strings; .ods repeats (number-rows-repeated,
  number-columns-repeated, text:s) expanded as calamine would; .xls: the OLE2
  header, the BIFF records' cell positions and declared dimensions, FILEPASS.
* Row budget: more than ``max_rows`` non-blank data rows, or more than
  ``2 * max_rows`` physical rows after the header, is ``too_many_rows``.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import itertools
import math
import operator
import re
import struct
import unicodedata
import zipfile
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final, Literal, cast
from xml.parsers import expat

from ranking.collection import collection_paused
from ranking.layout import is_footer, max_in_header

__all__ = [
    "ACCEPTED_SUFFIXES",
    "PROBLEM_CODES",
    "TEMPLATE_NAMES",
    "Limits",
    "RawRow",
    "RawTable",
    "ReadProblem",
    "canonical_header",
    "column_letter",
    "problem_for_name",
    "read_table",
]

# What an upload may be called; anything else is refused before it is downloaded.
ACCEPTED_SUFFIXES: Final = frozenset({".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls", ".ods"})

PROBLEM_CODES: Final = frozenset(
    {
        "unsupported_type",
        "unsupported_pdf",
        "unsupported_document",
        "unsupported_numbers",
        "unsupported_xlsb",
        "encrypted",
        "too_large",
        "too_many_rows",
        "too_many_columns",
        "cell_too_long",
        "zip_bomb",
        "xml_bomb",
        "not_xlsx",
        "not_ods",
        "not_xls",
        "formula",
        "formula_error",
        "no_header",
        "duplicate_column",
        "encoding",
        "binary",
        "empty",
        "no_data_sheet",
    }
)


class ReadProblem(Exception):
    """A file we refuse, with a message key under locales (reader.<code>) and its params."""

    code: str
    params: dict[str, str | int]

    def __init__(self, code: str, **params: str | int) -> None:
        super().__init__(code, params)
        self.code = code
        self.params = dict(params)

    @property
    def key(self) -> str:
        return f"reader.{self.code}"

    def __str__(self) -> str:
        return f"{self.code} {self.params}" if self.params else self.code

    def __reduce__(self) -> tuple[Any, ...]:  # picklable despite keyword-only params
        return (_rebuild_problem, (self.code, self.params))


def _rebuild_problem(code: str, params: dict[str, str | int]) -> ReadProblem:
    return ReadProblem(code, **params)


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 5 * 1024 * 1024
    max_rows: int = 50_000
    max_columns: int = 100
    max_cell_chars: int = 500
    max_zip_entries: int = 200
    max_unzipped_bytes: int = 100 * 1024 * 1024
    max_compression_ratio: int = 200  # per entry, for entries above ~1 MB uncompressed
    # cells in a sheet's used rectangle (rows × columns), as python-calamine holds it
    max_cells: int = 2_000_000


Value = str | Decimal | None
Kind = Literal["csv", "xlsx", "xls", "ods"]


# Not frozen: a file's every row is one, and a frozen __init__ sets each field
# through object.__setattr__ (0.8 against 0.3 µs a row); nothing changes one.
@dataclass(slots=True)
class RawRow:
    # row number as the user sees it in Excel / the CSV record number
    # (1-based, header included in the count)
    number: int
    # the mapped columns' cells in the order of `keys`, then one None: the place of
    # every key the table has no column for (`cell_positions`). A tuple a row, not a
    # dict: building 30,000 dicts of the same keys cost ≈ 30 ms of a CSV import.
    values: tuple[Value, ...]
    extras: dict[str, Value]  # other headed columns (component scores), header text -> value
    # the row's only text when it may be a section row ("I. Cơ quan, đơn vị có TTHC")
    heading: str | None = None
    keys: tuple[str, ...] = ()  # canonical keys of `values`, one tuple shared by a table

    @classmethod
    def of(
        cls,
        number: int,
        cells: dict[str, Value],
        extras: dict[str, Value],
        heading: str | None = None,
    ) -> RawRow:
        """A row from its cells by canonical key."""
        return cls(number, (*cells.values(), None), extras, heading, tuple(cells))

    @property
    def cells(self) -> dict[str, Value]:
        """Canonical key -> value (only mapped columns), made on each call: for the
        odd row and for tests; the validator reads `values` by `cell_positions`."""
        return dict(zip(self.keys, self.values[:-1], strict=True))  # without the None

    def get(self, key: str) -> Value:
        """The cell of `key`, None without one (`cells.get`, without the dict)."""
        return self.values[cell_positions(self.keys)[key]]


@functools.lru_cache(maxsize=64)
def cell_positions(keys: tuple[str, ...]) -> dict[str, int]:
    """Every canonical key's place in a row's `values` with these keys: a key with no
    column has the place of the None after the cells."""
    missing = len(keys)
    return {
        **dict.fromkeys(CANONICAL_KEYS, missing),
        **{key: place for place, key in enumerate(keys)},
    }


@dataclass(frozen=True)
class RawTable:
    kind: Kind
    encoding: str | None  # csv only: "utf-8", "utf-8-sig", "utf-16", "cp1258"
    delimiter: str | None  # csv only
    sheet: str | None  # spreadsheets only
    header_row: int  # 1-based
    columns: dict[str, str]  # canonical key -> the header text as written
    column_letters: dict[str, str]  # canonical key -> "A", "B", ... (position in the file)
    extra_columns: list[str]  # header texts of unmapped non-empty columns, in order
    rows: list[RawRow]  # data rows, fully blank rows skipped
    extra_letters: dict[str, str] = field(default_factory=dict)  # extra header -> letter
    # rows above the header with something in them: (row number, their texts joined)
    title_rows: list[tuple[int, str]] = field(default_factory=list)
    # a maximum written in a header: key -> the number as written ("diem": "1.000")
    header_max: dict[str, str] = field(default_factory=dict)
    # rows with content from the end of the table down (signature block, footnotes)
    ignored_below: int = 0
    ignored_from: int | None = None  # the first of them
    ignored_text: str | None = None  # its first text ("Nơi nhận:")
    # rows right under the header that belong to it: sub-headers of merged
    # header cells, or the "(1) (2) (3)" column numbering official tables carry
    header_rows_below: list[int] = field(default_factory=list)


# --------------------------------------------------------------------------- headers

HEADER_SCAN_ROWS: Final = 15

# The first name of each key is the one the template (/mau, ranking.export) writes.
_HEADER_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "nam": ("Năm", "nam", "year"),
    "bang": ("Bảng xếp hạng", "Bảng", "bang", "bang_xep_hang", "ranking"),
    "nhom": ("Nhóm", "Nhóm đơn vị", "nhom", "group"),
    "don_vi": (
        "Tên cơ quan, đơn vị",
        "Tên cơ quan đơn vị",
        "Cơ quan, đơn vị",
        "Đơn vị",
        "Tên đơn vị",
        "Tỉnh, thành phố",
        "Tỉnh",
        "don_vi",
        "unit",
    ),
    "diem": (
        "Tổng điểm",
        "Điểm",
        "Tổng điểm đạt được",
        "Điểm đánh giá",
        "Chỉ số",
        "diem",
        "score",
    ),
    "diem_toi_da": (
        "Điểm tối đa",
        "Thang điểm",
        "Thang điểm tối đa",
        "Tổng điểm tối đa",
        "diem_toi_da",
        "max",
    ),
    "hang": ("Xếp hạng", "Hạng", "Thứ hạng", "hang", "rank"),
    "muc": ("Mức xếp hạng", "Mức", "Mức độ", "Mức độ chuyển đổi số", "muc", "level"),
    "so_don_vi": ("Số đơn vị", "Số đơn vị xếp hạng", "so_don_vi"),
    "can_cu": ("Căn cứ", "Nguồn", "can_cu", "source"),
    "ghi_chu": ("Ghi chú", "ghi_chu", "note"),
    # the share of the maximum, in percent as published ("73,16 %")
    "ty_le": (
        "Tỷ lệ (%)",
        "Tỷ lệ",
        "Tỷ lệ %",
        "Tỷ lệ điểm",
        "Tỷ lệ điểm đạt được",
        "Tỷ lệ đạt",
        "ty_le",
        "share",
    ),
    # a reorganisation file (ranking/lineage.py): old unit → new unit from a date
    "tu_ngay": ("Từ ngày", "Ngày hiệu lực", "tu_ngay", "from"),
    "don_vi_moi": ("Đơn vị mới", "Tên đơn vị mới", "Tỉnh mới", "don_vi_moi", "new_unit"),
    "don_vi_cu": ("Đơn vị cũ", "Tên đơn vị cũ", "Tỉnh cũ", "don_vi_cu", "old_unit"),
}


def _is_header(keys: set[str | None]) -> bool:
    """A score table's header (a unit and a score or rank column), or a
    reorganisation file's (an old and a new unit column)."""
    return ("don_vi" in keys and bool(keys & {"diem", "hang"})) or {
        "don_vi_moi",
        "don_vi_cu",
    } <= keys


# The header each key has in the template: what messages call a column.
TEMPLATE_NAMES: Final[dict[str, str]] = {key: names[0] for key, names in _HEADER_NAMES.items()}
CANONICAL_KEYS: Final[tuple[str, ...]] = tuple(_HEADER_NAMES)
_IGNORED_HEADERS: Final = frozenset({"stt", "tt", "so thu tu", "so tt", "no"})
_NOTES_SHEETS: Final = (
    "ghi chu",
    "huong dan",
    "hdsd",
    "chu thich",
    "note",
    "notes",
    "readme",
    "read me",
    "instruction",
    "instructions",
    "help",
)
_NON_ALNUM = re.compile(r"[\W_]+")


def _fold(text: str) -> str:
    """Lowercase, no diacritics, đ→d, runs of non-alphanumerics → one space."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    bare = bare.casefold().replace("đ", "d")
    return _NON_ALNUM.sub(" ", bare).strip()


_ALIASES: Final[dict[str, str]] = {
    _fold(name): key for key, names in _HEADER_NAMES.items() for name in names
}


# Remembered: the header scan asks once per delimiter tried and per row it reads, so the
# same texts come back (the shipped files: 421 asks, 137 texts; their reading 12.9 →
# 9.2 ms of CPU on a new database's start). A text's key depends on nothing else.
@functools.lru_cache(maxsize=4096)
def canonical_header(text: str) -> str | None:
    """The canonical key for a header text, matching whole folded strings only.

    A score or maximum header may carry its maximum in words:
    "Tổng điểm (tối đa 1.000)" is "diem" (see ``ranking.layout.max_in_header``).
    """
    key = _ALIASES.get(_fold(text))
    if key is None:
        split = max_in_header(text)
        if split is not None:
            key = _ALIASES.get(_fold(split[0]))
    return key


def _is_ignored_header(text: str) -> bool:
    return text.strip() == "#" or _fold(text) in _IGNORED_HEADERS


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f"«{name}»" for name in names)


def _no_header(**extra: str | int) -> ReadProblem:
    score_names = (*_HEADER_NAMES["diem"], *_HEADER_NAMES["hang"])
    return ReadProblem(
        "no_header",
        rows=HEADER_SCAN_ROWS,
        unit_headers=_quoted(("Tên cơ quan, đơn vị", "Đơn vị")),
        score_headers=_quoted(("Tổng điểm", "Xếp hạng")),
        expected=f"{_quoted(_HEADER_NAMES['don_vi'])}; {_quoted(score_names)}",
        **extra,
    )


def column_letter(index: int) -> str:
    """0-based column index → Excel letters ("A", …, "Z", "AA", …)."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


def _column_index(letters: str) -> int:
    """Excel letters → 0-based column index."""
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - ord("A") + 1)
    return n - 1


# --------------------------------------------------------------------------- table building


class _Formula:
    """Marks a formula cell with no stored value (the program never calculated)."""

    __slots__ = ()


@dataclass(frozen=True)
class _Error:
    """Marks a cell whose stored value is an error (#DIV/0!, #N/A …)."""

    text: str


_FORMULA: Final = _Formula()
_NONES: Final = itertools.repeat(None)  # compared against each cell of a row, lazily
_IS_STR: Final = str.__instancecheck__
_Mark = _Formula | _Error
_Cell = str | Decimal | _Mark | None
_Rows = Generator[tuple[int, Sequence[_Cell]], None, None]


@dataclass(frozen=True)
class _Header:
    row: int
    mapped: dict[str, int]  # key -> column index
    columns: dict[str, str]  # key -> header text
    extras: dict[int, str]  # column index -> header text
    ignored: frozenset[int]
    title_rows: list[tuple[int, str]]
    header_max: dict[str, str]


def _header_text(cell: _Cell) -> str | None:
    if cell is None or isinstance(cell, _Formula | _Error):
        return None
    return cell if isinstance(cell, str) else str(cell)


def _check_width(
    cells: Sequence[_Cell], number: int, limits: Limits, where: dict[str, str]
) -> None:
    width = len(cells)
    while width and cells[width - 1] is None:
        width -= 1
    if width > limits.max_columns:
        raise ReadProblem("too_many_columns", row=number, limit=limits.max_columns, **where)


def _too_long(number: int, index: int, limits: Limits, where: dict[str, str]) -> ReadProblem:
    letter = column_letter(index)
    return ReadProblem(
        "cell_too_long",
        row=number,
        column=letter,
        cell=f"{letter}{number}",
        limit=limits.max_cell_chars,
        **where,
    )


def _cell_list(cells: list[tuple[int, int, str]], names: dict[int, str]) -> str:
    """Every cell, grouped by column, consecutive rows as a range:
    «Tổng điểm» (F6–F13, F15); «Xếp hạng» (G6–G13 #N/A)."""
    by_column: dict[int, list[tuple[int, str]]] = {}
    for number, index, note in sorted(cells, key=lambda c: (c[1], c[0])):
        by_column.setdefault(index, []).append((number, note))
    parts = []
    for index, entries in by_column.items():
        letter = column_letter(index)
        runs: list[str] = []
        start = prev = entries[0][0]
        note = entries[0][1]
        for number, this_note in [*entries[1:], (-1, "")]:
            if number == prev + 1 and this_note == note:
                prev = number
                continue
            span = f"{letter}{start}" if start == prev else f"{letter}{start}–{letter}{prev}"
            runs.append(f"{span} {note}".strip())
            start = prev = number
            note = this_note
        name = names.get(index, f"Cột {letter}")
        parts.append(f"«{name}» ({', '.join(runs)})")
    return "; ".join(parts)


def _marks_problem(
    code: str, cells: list[tuple[int, int, str]], names: dict[int, str], where: dict[str, str]
) -> ReadProblem:
    number, index, _ = min(cells)
    letter = column_letter(index)
    return ReadProblem(
        code,
        cells=_cell_list(cells, names),
        count=len(cells),
        cell=f"{letter}{number}",
        row=number,
        column=letter,
        sheet=where.get("sheet", ""),
    )


def _find_header(
    rows: _Rows, limits: Limits, where: dict[str, str]
) -> tuple[_Header | None, bool]:
    """Consume rows up to the header (within the first 15); also say if anything was seen."""
    seen = False
    titles: list[tuple[int, str]] = []
    for number, cells in rows:
        if number > HEADER_SCAN_ROWS:
            break
        _check_width(cells, number, limits, where)
        texts = [_header_text(c) for c in cells]
        if any(c is not None for c in cells):
            seen = True
        keys = {canonical_header(t) for t in texts if t}
        if _is_header(keys):
            return _make_header(number, cells, limits, where, titles), True
        line = " ".join(t.strip() for t in texts if t and t.strip())
        if line:
            titles.append((number, line[: 4 * limits.max_cell_chars]))
    return None, seen


def _make_header(
    number: int,
    cells: Sequence[_Cell],
    limits: Limits,
    where: dict[str, str],
    titles: list[tuple[int, str]],
) -> _Header:
    mapped: dict[str, int] = {}
    columns: dict[str, str] = {}
    extras: dict[int, str] = {}
    extra_names: dict[str, int] = {}
    ignored: set[int] = set()
    header_max: dict[str, str] = {}
    for index, cell in enumerate(cells):
        if isinstance(cell, _Formula | _Error):
            names = {index: f"Cột {column_letter(index)}"}
            code = "formula" if isinstance(cell, _Formula) else "formula_error"
            note = cell.text if isinstance(cell, _Error) else ""
            raise _marks_problem(code, [(number, index, note)], names, where)
        text = _header_text(cell)
        if text is None:
            continue
        if len(text) > limits.max_cell_chars:
            raise _too_long(number, index, limits, where)
        if _is_ignored_header(text):
            ignored.add(index)
            continue
        key = canonical_header(text)
        first: tuple[str, int] | None = None
        if key is not None:
            if key in mapped:
                first = (columns[key], mapped[key])
            else:
                mapped[key] = index
                columns[key] = text
                split = max_in_header(text)
                if split is not None:
                    header_max[key] = split[1]
        elif text in extra_names:
            first = (text, extra_names[text])
        else:
            extras[index] = text
            extra_names[text] = index
        if first is not None:
            raise ReadProblem(
                "duplicate_column",
                header=text,
                column=column_letter(index),
                first_header=first[0],
                first_column=column_letter(first[1]),
                **where,
            )
    return _Header(number, mapped, columns, extras, frozenset(ignored), titles, header_max)


_NUMBER_LIKE = re.compile(r"[\d\s.,%+\-–]*")
# the same characters with at least one digit, in one pass: the part before the
# first digit holds no digit, so the match never backtracks (cells may be long here)
_NUMBER_WITH_DIGIT = re.compile(r"[\s.,%+\-–]*\d[\d\s.,%+\-–]*")
_LETTER = re.compile(r"[^\W\d_]")


def _is_number_like(value: _Cell) -> bool:
    if isinstance(value, Decimal):
        return True
    return isinstance(value, str) and _NUMBER_WITH_DIGIT.fullmatch(value) is not None


def _heading(values: dict[int, _Cell], ignored_texts: list[str]) -> str | None:
    """The text of a row that may be a section heading: one text cell, or
    text only in the STT column (a heading merged across from column A)."""
    if len(values) == 1:
        (value,) = values.values()
        if not isinstance(value, str) or _NUMBER_LIKE.fullmatch(value):
            return None
        if len(_LETTER.findall(value)) < 3:
            return None
        prefix = " ".join(t for t in ignored_texts if len(t) <= 6)
        return f"{prefix}. {value}" if prefix else value
    if not values and len(ignored_texts) == 1 and len(_LETTER.findall(ignored_texts[0])) >= 6:
        return ignored_texts[0]
    return None


_NUMBERING = re.compile(r"\(?\s*(\d{1,3})\s*\)?")


def _is_column_numbering(present: Sequence[tuple[int, _Cell]]) -> bool:
    """ "1 2 3 4 …" or "(1) (2) (3) …" across the columns: numbers in order, one per column."""
    if len(present) < 3:
        return False
    numbers = []
    for _, cell in present:
        if isinstance(cell, Decimal):
            if cell != cell.to_integral_value():
                return False
            numbers.append(int(cell))
        elif isinstance(cell, str) and (match := _NUMBERING.fullmatch(cell.strip())):
            numbers.append(int(match.group(1)))
        else:
            return False
    return all(b == a + 1 for a, b in itertools.pairwise(numbers))


def _sub_headers(
    values: dict[int, _Cell],
    header: _Header,
    unit_index: int | None,
    limits: Limits,
    number: int,
    where: dict[str, str],
) -> _Header | None:
    """A second header row under merged header cells ("Điểm thành phần" over
    "Chỉ số 1", "Chỉ số 2"): texts only, no unit name. Its texts name the
    columns the first row left unnamed or only named as a group, as
    "Điểm thành phần: Chỉ số 1"; the keyed columns (Tổng điểm …) keep theirs."""
    mapped_columns = set(header.mapped.values())
    # merged header cells leave the keyed columns (STT, Tên, Tổng điểm) empty here
    if len(values) < 2 or mapped_columns & set(values):
        return None
    if not all(isinstance(v, str) and not _is_number_like(v) for v in values.values()):
        return None
    extras = dict(header.extras)
    parent: str | None = None
    parents: dict[int, str | None] = {}
    for index in range(max(values) + 1):
        if index in mapped_columns or index in header.ignored:
            parent = None
        elif index in header.extras:
            parent = header.extras[index]
        parents[index] = parent
    taken = {text for i, text in extras.items() if i not in values}
    taken |= set(header.columns.values())
    for index, value in sorted(values.items()):
        if index in mapped_columns or index in header.ignored:
            continue
        text = str(value).strip()
        if len(text) > limits.max_cell_chars:
            raise _too_long(number, index, limits, where)
        group = parents.get(index)
        name = f"{group}: {text}" if group and group != text else text
        if name in taken:
            name = f"{name} ({column_letter(index)})"
        extras[index] = name
        taken.add(name)
    return _Header(
        header.row,
        header.mapped,
        header.columns,
        extras,
        header.ignored,
        header.title_rows,
        header.header_max,
    )


def _picker(indexes: tuple[int, ...]) -> Callable[[list[Value]], tuple[Value, ...]]:
    """The cells at `indexes` of a list, always as a tuple (itemgetter gives a
    single index's cell bare)."""
    if len(indexes) == 1:
        (only,) = indexes
        return lambda cells: (cells[only],)
    if not indexes:
        return lambda cells: ()
    return operator.itemgetter(*indexes)


def _plain_width(
    header: _Header, named: set[int], unit_index: int | None, data_keys: set[int]
) -> int:
    """How wide a CSV row may be for _read_body's quick path: the columns from A
    that are all named (mapped, extra or ignored); 0 (no quick path) for a table
    with no unit name or no score or rank column."""
    if unit_index is None or not data_keys:
        return 0
    width = 0
    while width in named:
        width += 1
    return width


def _read_body(
    header: _Header,
    rows: _Rows,
    limits: Limits,
    where: dict[str, str],
    *,
    kind: Kind,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    marked: frozenset[int] | None = None,
) -> RawTable:
    """The table under `header`. `marked`: the numbers of the rows where the
    byte scan laid a formula or error mark (None: any row may hold one)."""
    named = set(header.mapped.values()) | set(header.extras) | header.ignored
    # a row's cells by column index, or its list as the CSV reader gave it (below)
    kept: list[tuple[int, dict[int, Value] | list[Value], str | None]] = []
    unnamed_with_data: set[int] = set()
    formulas: list[tuple[int, int, str]] = []
    errors: list[tuple[int, int, str]] = []
    last_physical = header.row + 2 * limits.max_rows
    data_keys = {header.mapped[k] for k in ("diem", "hang", "ty_le") if k in header.mapped}
    unit_index = header.mapped.get("don_vi")
    blank_run = 0
    ended_at: int | None = None
    ended_text: str | None = None
    ignored_below = 0
    below: list[int] = []
    max_chars = limits.max_cell_chars
    text_only = kind == "csv"  # a CSV cell is a text or None: no marks, no numbers
    plain_width = _plain_width(header, named, unit_index, data_keys) if text_only else 0
    plain_unit = -1 if unit_index is None else unit_index  # used only with a plain_width
    score_indexes = tuple(sorted(data_keys))
    for number, cells in rows:
        if number > last_physical:
            raise ReadProblem("too_many_rows", limit=limits.max_rows, row=number, **where)
        # A CSV data row once the table has begun, as nearly every row of a file is:
        # no wider than its leading named columns, a unit name, a score or rank that
        # looks like a number, no cell over the length limit. Each of those is
        # checked in a C loop over the row's list, and the list is kept as it is.
        # Such a row is neither a heading, a footer nor the table's end, and holds
        # no cell of an unnamed column; any other row takes the checks below.
        if kept and 0 < len(cells) <= plain_width and ended_at is None:
            width = len(cells)
            if plain_unit < width and cells[plain_unit] is not None:
                # (no typing.cast here: it is a Python call, twice a row)
                for i in score_indexes:
                    v = cells[i] if i < width else None
                    if v is not None and _NUMBER_WITH_DIGIT.fullmatch(v) is not None:  # type: ignore[arg-type]
                        break
                else:
                    i = -1
                if i >= 0 and max(map(len, filter(None, cells))) <= max_chars:  # type: ignore[arg-type]
                    if len(kept) >= limits.max_rows:
                        raise ReadProblem(
                            "too_many_rows", limit=limits.max_rows, row=number, **where
                        )
                    blank_run = 0
                    kept.append((number, cells, None))  # type: ignore[arg-type]
                    continue
        if len(cells) > limits.max_columns:  # trailing empty cells may still bring it under
            _check_width(cells, number, limits, where)
        # every filled cell by column index, in column order (the ignored columns too);
        # built at C speed: a file's every row comes through here
        present: dict[int, _Cell] = dict(
            itertools.compress(enumerate(cells), map(operator.is_not, cells, _NONES))
        )
        if ended_at is not None:
            ignored_below += bool(present)
            continue
        if not present:
            blank_run += 1
            continue
        ignored = header.ignored
        values = present
        if ignored and not ignored.isdisjoint(present):
            values = {i: c for i, c in present.items() if i not in ignored}
        if not kept and not formulas and not errors and len(below) < 2:
            if _is_column_numbering(list(present.items())):
                below.append(number)
                continue
            sub = _sub_headers(values, header, unit_index, limits, number, where)
            if sub is not None:
                header = sub
                named = set(header.mapped.values()) | set(header.extras) | header.ignored
                if text_only:
                    plain_width = _plain_width(header, named, unit_index, data_keys)
                below.append(number)
                continue
        # a unit may be called anything: a row with a number as score or rank is data
        # (_is_number_like inlined: a call fewer for each row of the file)
        has_scores = False
        for i in data_keys:
            v = values.get(i)
            if isinstance(v, Decimal) or (
                isinstance(v, str) and _NUMBER_WITH_DIGIT.fullmatch(v) is not None
            ):
                has_scores = True
                break
        if kept and not has_scores:
            first_text = next((c for c in present.values() if isinstance(c, str)), None)
            if first_text is not None and is_footer(first_text):
                ended_at, ended_text, ignored_below = number, first_text, 1
                continue
        heading = None
        if len(values) <= 1:
            ignored_texts = [c for i, c in present.items() if i in ignored and isinstance(c, str)]
            heading = _heading(values, ignored_texts)
        looks_like_data = unit_index in values and has_scores
        if blank_run >= 2 and kept and heading is None and not looks_like_data:
            first_text = next((c for c in present.values() if isinstance(c, str)), None)
            ended_at, ended_text, ignored_below = number, first_text, 1
            continue
        blank_run = 0
        if not values and heading is None:
            continue  # only the STT column: a blank row
        if text_only:
            checks_fail = (
                max(map(len, cast(Iterator[str], values.values())), default=0) > max_chars
            )
        elif marked is not None and number not in marked:  # texts, numbers and None only
            texts = cast(Iterator[str], filter(_IS_STR, values.values()))
            checks_fail = max(map(len, texts), default=0) > max_chars
        else:
            kinds = set(map(type, values.values()))
            checks_fail = (
                _Formula in kinds
                or _Error in kinds
                or max(map(len, cast(Iterator[str], filter(_IS_STR, values.values()))), default=0)
                > max_chars
            )
        if checks_fail:
            # the cell by cell checks, only for a row that fails one of them
            clean: dict[int, Value] = {}
            for index, cell in values.items():
                if isinstance(cell, _Formula):
                    formulas.append((number, index, ""))
                    continue
                if isinstance(cell, _Error):
                    errors.append((number, index, cell.text))
                    continue
                if isinstance(cell, str) and len(cell) > max_chars:
                    raise _too_long(number, index, limits, where)
                clean[index] = cell
        else:
            clean = values  # type: ignore[assignment]  # no marks: every cell is a Value
        if not named.issuperset(clean):
            unnamed_with_data.update(clean.keys() - named)
        if len(kept) >= limits.max_rows:
            raise ReadProblem("too_many_rows", limit=limits.max_rows, row=number, **where)
        kept.append((number, clean, heading))

    extras = dict(header.extras)
    taken = {text: index for index, text in extras.items()}
    for index in sorted(unnamed_with_data | {i for _, i, _ in formulas + errors} - named):
        name = f"Cột {column_letter(index)}"
        if name in taken:
            raise ReadProblem(
                "duplicate_column",
                header=name,
                column=column_letter(index),
                first_header=name,
                first_column=column_letter(taken[name]),
                **where,
            )
        extras[index] = name
        taken[name] = index
    names = {index: header.columns[key] for key, index in header.mapped.items()} | extras
    if formulas:
        raise _marks_problem("formula", formulas, names, where)
    if errors:
        raise _marks_problem("formula_error", errors, names, where)
    if not kept:
        raise ReadProblem("empty", **where)
    extra_order = sorted(extras)
    keys, indexes = tuple(header.mapped), tuple(header.mapped.values())
    extra_names = tuple(extras[index] for index in extra_order)
    # Every row as the list of its cells up to the last column read: a row kept as
    # its list (the CSV rows above) padded, any other row's cells by index. Then
    # the rows are built in C loops: a row's cells by one itemgetter call (a tuple),
    # 41 against 60 ms for 30,000 rows built one by one (with a dict of them a row).
    reach = max((*indexes, *extra_order), default=-1) + 1
    numbers, kept_cells, headings = zip(*kept, strict=True)
    lists = [
        cells if type(cells) is list else list(map(cells.get, range(reach)))
        for cells in kept_cells
    ]
    if min(map(len, lists)) < reach:
        for short in lists:
            short.extend(itertools.repeat(None, reach - len(short)))
    pick_cells, pick_extras = _picker(indexes), _picker(tuple(extra_order))
    table_rows = list(
        map(
            RawRow,
            numbers,
            # each row's cells, then the None every missing key's place points to
            map(operator.add, map(pick_cells, lists), itertools.repeat((None,))),
            map(dict, map(zip, itertools.repeat(extra_names), map(pick_extras, lists)))
            if extra_names
            else map(dict, itertools.repeat((), len(lists))),
            headings,
            itertools.repeat(keys),
        )
    )
    return RawTable(
        kind=kind,
        encoding=encoding,
        delimiter=delimiter,
        sheet=sheet,
        header_row=header.row,
        columns=dict(header.columns),
        column_letters={key: column_letter(i) for key, i in header.mapped.items()},
        extra_columns=[extras[index] for index in extra_order],
        rows=table_rows,
        extra_letters={extras[index]: column_letter(index) for index in extra_order},
        title_rows=header.title_rows,
        header_max=header.header_max,
        ignored_below=ignored_below,
        ignored_from=ended_at,
        ignored_text=ended_text[:80] if ended_text else None,
        header_rows_below=below,
    )


# --------------------------------------------------------------------------- type detection

_OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS: Final = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_ENCRYPTION_STREAM: Final = "EncryptionInfo".encode("utf-16-le")
_DOCUMENT_EXTS: Final[dict[str, str]] = {
    ".docx": "DOCX",
    ".doc": "DOC",
    ".odt": "ODT",
    ".rtf": "RTF",
    ".pptx": "PPTX",
    ".ppt": "PPT",
    ".odp": "ODP",
}
_TEXT_EXTS: Final = frozenset({".csv", ".txt", ".tsv"})
_XLSX_EXTS: Final = frozenset({".xlsx", ".xlsm"})
_ODS_MIME: Final = b"application/vnd.oasis.opendocument.spreadsheet"


def _extension(file_name: str) -> str:
    base = re.split(r"[/\\]", file_name.strip())[-1]
    dot = base.rfind(".")
    return base[dot:].lower().strip() if dot > 0 else ""


def _magic(data: bytes) -> str | None:
    if data.startswith(_OLE_MAGIC):
        return "ole_encrypted" if _ENCRYPTION_STREAM in data else "ole"
    if data.startswith(b"%PDF"):
        return "pdf"
    if data.startswith(_ZIP_MAGICS):
        return "zip"
    return None


def _display_name(file_name: str) -> str:
    name = file_name.strip()
    return name if len(name) <= 60 else name[:57] + "…"


def read_table(
    data: bytes,
    file_name: str,
    *,
    year_hint: int | None = None,
    limits: Limits = Limits(),
) -> RawTable:
    """Read an uploaded CSV, XLSX/XLSM, XLS or ODS file into raw cells, or raise ReadProblem.

    The file's content decides how it is read, its name only breaks ties:
    an old .xls renamed .xlsx is read as .xls, an .xlsx renamed .csv is not text.
    """
    with collection_paused():
        return _read_table(data, file_name, year_hint, limits)


def _read_table(data: bytes, file_name: str, year_hint: int | None, limits: Limits) -> RawTable:
    if len(data) > limits.max_bytes:
        raise ReadProblem(
            "too_large",
            size_mb=f"{len(data) / 1048576:.1f}",
            limit_mb=_megabytes(limits.max_bytes),
        )
    name = _display_name(file_name)
    ext = _extension(file_name)
    magic = _magic(data)
    if magic == "ole_encrypted":
        raise ReadProblem("encrypted", name=name)
    if magic == "pdf":
        raise ReadProblem("unsupported_pdf", name=name)
    if ext in _DOCUMENT_EXTS and magic in ("ole", "zip", None):
        raise ReadProblem("unsupported_document", kind=_DOCUMENT_EXTS[ext], name=name)
    if ext == ".numbers":
        raise ReadProblem("unsupported_numbers", name=name)
    if ext == ".xlsb":
        raise ReadProblem("unsupported_xlsb", name=name)
    if magic == "ole":
        return _read_xls(data, name, year_hint, limits)
    if ext in _XLSX_EXTS | {".ods", ".xls"}:
        if not data:
            raise ReadProblem("empty")
        if magic != "zip":
            if ext == ".ods":
                raise ReadProblem("not_ods", detail="not a zip archive")
            if ext == ".xls":
                raise ReadProblem("not_xls", detail="neither OLE2 nor zip")
            raise ReadProblem("not_xlsx", kind="XLSX", detail="not a zip archive")
        return _read_zip(data, name, ext, year_hint, limits)
    if ext in _TEXT_EXTS:
        if magic == "zip":
            raise ReadProblem("binary")
        return _read_csv(data, limits)
    if magic == "zip":  # no or an unknown extension: the archive says what it is
        return _read_zip(data, name, ext, year_hint, limits)
    raise ReadProblem("unsupported_type", kind=ext[1:].upper() or name, name=name)


def problem_for_name(file_name: str) -> ReadProblem | None:
    """The refusal a file of this name gets before it is even downloaded, or None
    if its name is one the reader reads (its content still decides)."""
    name = _display_name(file_name)
    ext = _extension(file_name)
    if ext in ACCEPTED_SUFFIXES:
        return None
    if ext == ".pdf":
        return ReadProblem("unsupported_pdf", name=name)
    if ext in _DOCUMENT_EXTS:
        return ReadProblem("unsupported_document", kind=_DOCUMENT_EXTS[ext], name=name)
    if ext == ".numbers":
        return ReadProblem("unsupported_numbers", name=name)
    if ext == ".xlsb":
        return ReadProblem("unsupported_xlsb", name=name)
    return ReadProblem("unsupported_type", kind=ext[1:].upper() or name, name=name)


def _megabytes(n: int) -> str:
    mb = n / 1048576
    return str(int(mb)) if mb == int(mb) else f"{mb:.1f}"


# --------------------------------------------------------------------------- CSV

_DELIMITERS: Final = (",", ";", "\t", "|")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_SEP_LINE = re.compile(r"\Asep=([,;\t|])[ \t]*(?:\r\n|\r|\n)")
_SNIFF_EXTRA_ROWS: Final = 20


class _Overflow(Exception):
    """A record grew past the character budget before csv saw all of it."""

    def __init__(self, pending: str) -> None:
        super().__init__("record too long")
        self.pending = pending


class _LineFeed:
    """Gives csv.reader one physical line at a time, but never more than
    ``cap`` characters for one record, so a 10^6-column row is refused without
    building a 10^6-element list."""

    def __init__(self, text: str, cap: int, lone_cr: bool | None = None) -> None:
        self._lines = _lines(text, lone_cr)
        self._cap = cap
        self._used = 0
        self._pending: list[str] = []

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self._used += len(line)
        if self._used > self._cap:
            self._pending.append(line[: self._cap + 1])
            raise _Overflow("".join(self._pending)[: self._cap + 1])
        self._pending.append(line)
        return line

    def pending(self) -> str:
        return "".join(self._pending)

    def record_done(self) -> None:
        self._used = 0
        self._pending.clear()


def _record_cap(limits: Limits) -> int:
    # Any record with at most max_columns cells of at most max_cell_chars (even
    # with every quote doubled) fits; one that does not is refused anyway.
    return (limits.max_columns + 1) * (2 * limits.max_cell_chars + 3) + 1024


def _records(
    text: str, delimiter: str, cap: int, lone_cr: bool | None = None
) -> Iterator[list[str]]:
    """csv records; raises _Overflow for a record longer than ``cap`` characters."""
    feed = _LineFeed(text, cap, lone_cr)
    reader = csv.reader(feed, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # only "field larger than field limit" is possible
            raise _Overflow(feed.pending()[:cap]) from exc
        feed.record_done()
        yield record


def _clean(text: str) -> str | None:
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    text = text.strip()
    return text or None


_nfc: Final = functools.partial(unicodedata.normalize, "NFC")


def _overflow_problem(pending: str, delimiter: str, row: int, limits: Limits) -> ReadProblem:
    """Say what is wrong with a record that blew the character budget."""
    try:
        cells = next(csv.reader(_lines(pending), delimiter=delimiter))
    except (csv.Error, StopIteration):
        cells = pending.split(delimiter)
    if len(cells) > limits.max_columns:
        return ReadProblem("too_many_columns", row=row, limit=limits.max_columns)
    lengths = [len(_clean(c) or "") for c in cells]
    index = next(
        (i for i, n in enumerate(lengths) if n > limits.max_cell_chars),
        max(range(len(lengths)), key=lengths.__getitem__, default=0),
    )
    return _too_long(row, index, limits, {})


def _has_lone_cr(text: str) -> bool:
    return text.count("\r") != text.count("\r\n")


def _lines(text: str, lone_cr: bool | None = None) -> Iterator[str]:
    """Physical lines with their endings (CRLF, LF or a lone CR), lazily.
    `lone_cr`: whether the text has a CR without LF (_has_lone_cr), if known."""
    if _has_lone_cr(text) if lone_cr is None else lone_cr:  # old Mac line ends: slower path
        yield from (m.group() for m in _LINE.finditer(text))
        return
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(codecs.BOM_UTF8):
        attempts: tuple[str, ...] = ("utf-8-sig",)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        attempts = ("utf-16",)
    elif b"\x00" in data:
        raise ReadProblem("binary")
    else:
        attempts = ("utf-8", "cp1258")
    for encoding in attempts:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise ReadProblem("encoding")


def _short_lines(text: str, cap: int, lone_cr: bool) -> list[str] | None:
    """The text's physical lines without their LF, when none is longer than `cap`
    and no line ends in a lone CR; else None (the guarded _LineFeed reads it)."""
    if lone_cr:
        return None
    lines = text.split("\n")
    if lines[-1] == "":  # the text ends with a line end: no line after it
        lines.pop()
    return lines if max(map(len, lines), default=0) < cap else None


def _fed_records(
    lines: list[str], delimiter: str, cap: int, *, text_ended: bool
) -> Iterator[list[str]]:
    """csv records of short lines (_short_lines), fed to csv at C speed; raises
    _Overflow as _records does for a record longer than ``cap`` characters.
    `text_ended`: whether the text ends with a line end.

    No line is longer than ``cap``, so only a record over several lines (a quoted
    cell with line breaks) can be: it is measured when it ends, from csv's line
    count. Its cells meanwhile are at most the file's delimiters (an upload is at
    most Limits.max_bytes), where the guarded feed stops at ``cap`` characters."""
    # each line with its LF again, but for a last line that had none
    ended = len(lines) if text_ended or not lines else len(lines) - 1
    fed = itertools.chain(
        map(operator.add, itertools.islice(lines, ended), itertools.repeat("\n")),
        lines[ended:],
    )
    reader = csv.reader(
        fed,
        delimiter=delimiter,
        quotechar='"',
        doublequote=True,
        strict=False,
    )
    done = 0  # the lines of the records given so far

    def pending() -> str:  # the text of the record being read, as _LineFeed keeps it
        read = reader.line_num
        return "\n".join(lines[done:read]) + "\n" * (read <= ended)

    try:
        for record in reader:
            read = reader.line_num
            if read - done > 1 and (
                sum(map(len, lines[done:read])) + min(read, ended) - done > cap
            ):
                raise _Overflow(pending()[: cap + 1])
            done = read
            yield record
    except csv.Error as exc:  # only "field larger than field limit" is possible
        raise _Overflow(pending()[:cap]) from exc


def _csv_rows(text: str, delimiter: str, limits: Limits, lone_cr: bool | None = None) -> _Rows:
    cap = _record_cap(limits)
    number = 0
    # _clean on each cell, in one list comprehension a row (a file's every cell comes
    # through here: 0.45 µs a row against 0.67 for a strip map, then a blank map):
    # NFC, stripped, "" → None. A text in NFC needs no NFC a cell: a cell is a
    # part of the text (its quotes taken off), and a part of an NFC text is NFC.
    nfc_already = unicodedata.is_normalized("NFC", text)
    if lone_cr is None:
        lone_cr = _has_lone_cr(text)
    lines = _short_lines(text, cap, lone_cr)
    records = (
        _records(text, delimiter, cap, lone_cr)
        if lines is None
        else _fed_records(lines, delimiter, cap, text_ended=text.endswith("\n"))
    )
    try:
        for number, record in enumerate(records, start=1):
            yield (
                number,
                [c.strip() or None for c in (record if nfc_already else map(_nfc, record))],
            )
    except _Overflow as overflow:
        raise _overflow_problem(overflow.pending, delimiter, number + 1, limits) from None


def _sniff(text: str, limits: Limits, lone_cr: bool | None = None) -> str:
    """The delimiter whose parse has a header row; ties go to the most consistent width."""
    cap = _record_cap(limits)
    best: tuple[tuple[int, int, int], str] | None = None
    overflows: list[tuple[int, str, int]] = []  # (delimiter count, delimiter, record number)
    pendings: dict[str, str] = {}
    for order, delimiter in enumerate(_DELIMITERS):
        header_at = 0
        width = 0
        keys = 0
        consistent = 0
        number = 0
        try:
            for number, record in enumerate(_records(text, delimiter, cap, lone_cr), start=1):
                if not header_at:
                    if number > HEADER_SCAN_ROWS:
                        break
                    found = {canonical_header(c) for c in map(_clean, record) if c}
                    if _is_header(found):
                        header_at, width, keys = number, len(record), len(found - {None})
                elif number > header_at + _SNIFF_EXTRA_ROWS:
                    break
                elif any(c.strip() for c in record):
                    consistent += len(record) == width
        except _Overflow as overflow:
            overflows.append((overflow.pending.count(delimiter), delimiter, number + 1))
            pendings[delimiter] = overflow.pending
        if header_at:
            score = (keys, consistent, -order)
            if best is None or score > best[0]:
                best = (score, delimiter)
    if best is not None:
        return best[1]
    if overflows:
        _, delimiter, row = max(overflows)
        raise _overflow_problem(pendings[delimiter], delimiter, row, limits)
    if not any(line.strip(' \t\r\n,;|"') for line in _lines(text, lone_cr)):
        raise ReadProblem("empty")
    raise _no_header()


def _read_csv(data: bytes, limits: Limits) -> RawTable:
    if not data:
        raise ReadProblem("empty")
    text, encoding = _decode(data)
    if "\x00" in text:
        raise ReadProblem("binary")
    forced = _SEP_LINE.match(text)
    if forced:  # Excel's "sep=;" hint line; Excel hides it, so rows count after it
        text = text[forced.end() :]
    if not text.strip():
        raise ReadProblem("empty")
    # the line ends decided once: two counts of the whole text, not one each time
    # the text is split (four sniffing parses and the read)
    lone_cr = _has_lone_cr(text)
    delimiter = forced.group(1) if forced else _sniff(text, limits, lone_cr)
    rows = _csv_rows(text, delimiter, limits, lone_cr)
    try:
        header, seen = _find_header(rows, limits, {})
        if header is None:
            raise _no_header() if seen else ReadProblem("empty")
        return _read_body(
            header, rows, limits, {}, kind="csv", encoding=encoding, delimiter=delimiter
        )
    finally:
        rows.close()


# --------------------------------------------------------------------------- spreadsheets

# A sheet's cells this module found before calamine: (row, column) 0-based → mark.
_Marks = dict[tuple[int, int], _Mark]


@dataclass
class _Extent:
    """The used rectangle of one sheet's non-empty cells, checked against the limits
    as cells are seen, so a hostile file stops at its first cell out of bounds."""

    limits: Limits
    where: dict[str, str]
    top: int = -1
    bottom: int = -1
    left: int = -1
    right: int = -1

    def add(self, row: int, col: int, rows: int = 1, cols: int = 1) -> None:
        last_row, last_col = row + rows - 1, col + cols - 1
        if last_col >= self.limits.max_columns:
            raise ReadProblem(
                "too_many_columns", row=row + 1, limit=self.limits.max_columns, **self.where
            )
        if last_row >= HEADER_SCAN_ROWS + 2 * self.limits.max_rows:
            raise ReadProblem(
                "too_many_rows", limit=self.limits.max_rows, row=last_row + 1, **self.where
            )
        if self.top < 0:
            self.top, self.bottom, self.left, self.right = row, last_row, col, last_col
        else:
            self.top = min(self.top, row)
            self.bottom = max(self.bottom, last_row)
            self.left = min(self.left, col)
            self.right = max(self.right, last_col)
        if (self.bottom - self.top + 1) * (self.right - self.left + 1) > self.limits.max_cells:
            raise ReadProblem(
                "too_many_rows", limit=self.limits.max_rows, row=self.bottom + 1, **self.where
            )


_BIG_ENTRY: Final = 1024 * 1024  # the compression-ratio check applies above this size
_CHUNK: Final = 64 * 1024
# Bounds on what the parser holds per element: a worksheet row (16384 cells ×
# a few tags each), a shared string, any other whole part (styles, workbook …).
_MAX_TAGS_PER_ROW: Final = 70_000  # > _CHUNK / 3: see _prescan
_MAX_TAGS_PER_PART: Final = 500_000
_MAX_SHARED_STRINGS: Final = 500_000
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.\-]{0,40}:)?row[\s/>]")
_ODS_ROW_TAG = re.compile(rb"<table:table-row[\s/>]")
_SI_TAG = re.compile(rb"<(?:[A-Za-z_][\w.\-]{0,40}:)?si[\s/>]")
_XML_DECL_ENCODING = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)"
)
_WORKSHEET_PART = re.compile(r"xl/worksheets/[^/]+\.xml")
_SHARED_STRINGS_PART = "xl/sharedStrings.xml"
# The quick look at a worksheet part: every cell's reference as Excel and
# LibreOffice write it; anything else (cells without r, a formula, an error)
# sends the part to the exact scan.
_CELL_ROW = re.compile(rb'<c r="[A-Z]{1,3}([0-9]{1,7})"')
_CELL_COLUMN = re.compile(rb'<c r="([A-Z]{1,3})[0-9]')


@dataclass
class _SheetBytes:
    """What the byte scan of one worksheet part saw."""

    cells: int = 0
    columns: set[bytes] = field(default_factory=set)
    rows: set[bytes] = field(default_factory=set)
    referenced: int = 0
    formulas_or_errors: bool = False


def _zip_kind_of(names: set[str], archive: zipfile.ZipFile) -> str | None:
    if "xl/workbook.bin" in names:
        return "xlsb"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "word/document.xml" in names:
        return "DOCX"
    if "ppt/presentation.xml" in names:
        return "PPTX"
    try:
        info = archive.getinfo("mimetype")
        small = info.file_size <= 200 and info.compress_size <= 200
        mime = archive.read(info).strip() if small else b""
    except Exception:  # a missing or corrupt entry just means "not ODF"
        return None
    if mime == _ODS_MIME:
        return "ods"
    if mime.startswith(b"application/vnd.oasis.opendocument.text"):
        return "ODT"
    if mime.startswith(b"application/vnd.oasis.opendocument."):
        return mime.rsplit(b".", 1)[-1].decode("ascii", "replace").upper()
    return None


def _damaged(kind: str, detail: str) -> ReadProblem:
    if kind == "ods":
        return ReadProblem("not_ods", detail=detail)
    return ReadProblem("not_xlsx", kind="XLSX", detail=detail)


def _read_zip(data: bytes, name: str, ext: str, year_hint: int | None, limits: Limits) -> RawTable:
    want = "ods" if ext == ".ods" else "xlsx"
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:  # zipfile raises many types on hostile input
        raise _damaged(want, f"zip: {type(exc).__name__}") from exc
    with archive:
        infos = archive.infolist()
        names = {info.filename for info in infos}
        kind = _zip_kind_of(names, archive)
        if kind == "xlsb":
            raise ReadProblem("unsupported_xlsb", name=name)
        if kind in ("DOCX", "PPTX", "ODT"):
            raise ReadProblem("unsupported_document", kind=kind, name=name)
        if kind not in ("xlsx", "ods"):
            raise _damaged(want, f"no workbook ({kind or 'unknown zip'})")
        if kind == "xlsx" and "content.xml" in names:
            # calamine would fall back to reading it as ODS if the XLSX parts fail
            raise _damaged(kind, "both XLSX and ODS parts")
        label = "ODS" if kind == "ods" else "XLSX"
        try:
            _preflight(infos, limits)
            if kind == "ods" and _ods_encrypted(archive, names):
                raise ReadProblem("encrypted", name=name)
            sheet_bytes: dict[str, _SheetBytes] = {}
            for info in infos:
                stats = _prescan(archive, info, limits, kind)
                if stats is not None:
                    sheet_bytes[info.filename] = stats
            if kind == "ods":
                marks = _scan_ods(archive, limits)
            else:
                marks = _scan_xlsx(archive, sheet_bytes, limits)
        except ReadProblem as problem:
            if problem.code in ("zip_bomb", "xml_bomb", "not_xlsx"):
                problem.params.setdefault("kind", label)
            if kind == "ods" and problem.code == "not_xlsx":
                raise ReadProblem("not_ods", detail=str(problem.params.get("detail"))) from None
            raise
    return _read_workbook(data, kind, year_hint, limits, marks)


def _ods_encrypted(archive: zipfile.ZipFile, names: set[str]) -> bool:
    """LibreOffice's "Save with password": the manifest lists encryption data."""
    if "META-INF/manifest.xml" not in names:
        return False
    return any(
        b"encryption-data" in chunk
        for chunk in _chunks(archive, archive.getinfo("META-INF/manifest.xml"))
    )


def _preflight(infos: list[zipfile.ZipInfo], limits: Limits) -> None:
    """Zip-bomb checks on the central directory, before anything is inflated."""
    if len(infos) > limits.max_zip_entries:
        raise ReadProblem("zip_bomb", detail=f"{len(infos)} entries")
    total = 0
    for info in infos:
        parts = re.split(r"[/\\]", info.filename)
        unsafe = info.filename.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", info.filename)
        if unsafe or ".." in parts:
            raise ReadProblem("zip_bomb", detail=f"unsafe name {info.filename[:80]!r}")
        if info.flag_bits & 0x1:
            raise ReadProblem("not_xlsx", detail="encrypted zip entry")
        total += info.file_size
        if total > limits.max_unzipped_bytes:
            raise ReadProblem("zip_bomb", detail=f"declared size over {limits.max_unzipped_bytes}")
        if info.file_size > _BIG_ENTRY:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_compression_ratio:
                raise ReadProblem("zip_bomb", detail=f"{info.filename[:80]!r} ratio {ratio:.0f}")


def _start_tags(chunk: bytes) -> int:
    return chunk.count(b"<") - chunk.count(b"</") - chunk.count(b"<?") - chunk.count(b"<!")


def _open_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Any:
    try:
        return archive.open(info)
    except Exception as exc:
        raise ReadProblem(
            "not_xlsx", detail=f"open {info.filename[:80]!r}: {type(exc).__name__}"
        ) from exc


def _chunks(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The part's bytes, 64 KB at a time; at most the declared size (ZipExtFile
    stops there and checks the CRC)."""
    with _open_part(archive, info) as source:
        while True:
            try:
                chunk = source.read(_CHUNK)
            except Exception as exc:
                raise ReadProblem(
                    "not_xlsx", detail=f"read {info.filename[:80]!r}: {type(exc).__name__}"
                ) from exc
            yield chunk
            if not chunk:
                return


def _prescan(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, kind: str = "xlsx"
) -> _SheetBytes | None:
    """Stream one XML part and refuse what would make the parser hold too much:
    DTDs/entities, non-UTF-8 parts, huge rows, too many rows or shared strings,
    or an oversized tree. For an XLSX worksheet, also say what its cells are."""
    name = info.filename
    # A part is XML by content, not by name: workbook rels may point anywhere.
    # Binary parts (images, printer settings, vbaProject) contain NUL bytes.
    opaque_if_binary = not name.endswith((".xml", ".rels"))
    stats: _SheetBytes | None = None
    if kind == "xlsx" and _WORKSHEET_PART.fullmatch(name):
        splitter: re.Pattern[bytes] | None = _ROW_TAG
        segment_cap = _MAX_TAGS_PER_ROW
        max_segments = 2 * limits.max_rows + HEADER_SCAN_ROWS + 1000
        stats = _SheetBytes()
    elif kind == "ods" and name == "content.xml":
        splitter, segment_cap = _ODS_ROW_TAG, _MAX_TAGS_PER_ROW
        max_segments = 2 * limits.max_rows + HEADER_SCAN_ROWS + 1000
    elif kind == "xlsx" and name == _SHARED_STRINGS_PART:
        splitter, segment_cap, max_segments = _SI_TAG, _MAX_TAGS_PER_ROW, _MAX_SHARED_STRINGS
    else:
        splitter, segment_cap, max_segments = None, _MAX_TAGS_PER_PART, 0
    tags = 0
    segments = 0
    tail = b""
    first = True
    for chunk in _chunks(archive, info):
        if b"\x00" in chunk:
            if first and opaque_if_binary:
                return None
            raise ReadProblem("not_xlsx", detail=f"{name[:80]!r} is not UTF-8")
        buf = tail + chunk
        if first:
            first = False
            declared = _XML_DECL_ENCODING.match(buf)
            if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
                raise ReadProblem("not_xlsx", detail=f"{name[:80]!r} is not UTF-8")
        # (one search for "<!" in the common case, where no part has any)
        if b"<!" in buf and (b"<!DOCTYPE" in buf or b"<!ENTITY" in buf):
            raise ReadProblem("xml_bomb", detail=f"DTD in {name[:80]!r}")
        # Every tag that starts before the last "<" of the buffer ends before it:
        # the rest waits for the next chunk, so no tag is seen cut in two.
        if chunk:
            last = buf.rfind(b"<")
            cut = last if last > 0 else max(len(buf) - 64, 0)
        else:
            cut = len(buf)
        # Segments wholly inside this buffer hold fewer tags than any cap (a tag
        # is at least 3 bytes, a buffer about _CHUNK): only the segment running
        # in from the previous buffer and the one running on need counting.
        part = buf[:cut]
        first_start = last_start = -1
        found = 0
        if splitter is not None:
            found, first_start, last_start = _start_tags_of(splitter, part)
        previous = 0
        if found:
            tags += _start_tags(buf[:first_start])
            if tags > (segment_cap if segments else _MAX_TAGS_PER_PART):
                raise ReadProblem("zip_bomb", detail=f"{name[:80]!r}: oversized element")
            segments += found
            if segments > max_segments:
                if splitter is not _SI_TAG:
                    raise ReadProblem("too_many_rows", limit=limits.max_rows)
                raise ReadProblem("zip_bomb", detail=f"{name[:80]!r}: too many items")
            tags = 0
            previous = last_start
        tags += _start_tags(buf[previous:cut])
        if tags > (segment_cap if segments else _MAX_TAGS_PER_PART):
            raise ReadProblem("zip_bomb", detail=f"{name[:80]!r}: oversized element")
        if stats is not None:
            rows = _CELL_ROW.findall(part)
            stats.referenced += len(rows)
            # a prefixed sheet ("x:c") counts as cells without references, for the exact scan
            stats.cells += _cells_in(part, len(rows))
            # (a prefix needs a ":", and most of a sheet has none: one byte search)
            colon = b":" in part
            if colon and (b":sheetData" in part or b":row" in part):
                stats.cells += 1
            stats.columns.update(_CELL_COLUMN.findall(part))
            stats.rows.update(rows)
            # "<f" starts every formula element (and nothing else in a sheet but
            # autoFilter's <filters>, which only sends the part to the exact scan)
            stats.formulas_or_errors = (
                stats.formulas_or_errors
                or b"<f" in part
                or (colon and b":f" in part)
                or b't="e"' in part
            )
        tail = buf[cut:]
        if not chunk:
            return stats
    return stats


def _cells_in(part: bytes, references: int) -> int:
    """The cells of a worksheet's bytes as Excel and LibreOffice write them
    ("<c ", "<c>", "<c/"), given how many cell references (_CELL_ROW) it has.
    Every reference starts a "<c " and every cell a "<c": as many "<c" as
    references means as many cells, with one count of the part, not three."""
    starts = part.count(b"<c")
    if starts == references:
        return starts
    return part.count(b"<c ") + part.count(b"<c>") + part.count(b"<c/")


# The splitters as the literal their start tags begin with, and what a prefixed
# one contains ("x:row"); a start tag's name ends with a space, "/" or ">".
_SPLITTER_LITERALS: Final[dict[re.Pattern[bytes], tuple[bytes, bytes | None]]] = {
    _ROW_TAG: (b"<row", b":row"),
    _SI_TAG: (b"<si", b":si"),
    _ODS_ROW_TAG: (b"<table:table-row", None),
}
_NAME_ENDS: Final = frozenset(b" \t\n\r\f\v/>")  # \s of a bytes pattern, "/", ">"


def _start_tags_of(splitter: re.Pattern[bytes], part: bytes) -> tuple[int, int, int]:
    """How many matches of `splitter` in `part`, where the first and the last start
    (-1 for none). Found with bytes.find where no tag can be prefixed: the regex
    steps through every "<" of the part, find jumps to the next literal."""
    literal, prefixed = _SPLITTER_LITERALS[splitter]
    found, first, last = 0, -1, -1
    if prefixed is not None and b":" in part and prefixed in part:
        for match in splitter.finditer(part):
            last = match.start()
            if first < 0:
                first = last
            found += 1
        return found, first, last
    size = len(literal)
    at = part.find(literal)
    while at >= 0:
        if at + size < len(part) and part[at + size] in _NAME_ENDS:
            last = at
            if first < 0:
                first = at
            found += 1
        at = part.find(literal, at + size)
    return found, first, last


def _parse_part(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None],
    text: Callable[[str], None] | None = None,
) -> None:
    """Run expat over a part the byte scan has passed (no DTD, so no entity can
    expand); names keep their prefixes, as calamine matches them."""
    parser = expat.ParserCreate()
    parser.buffer_text = True

    def no_doctype(*_: object) -> None:
        raise ReadProblem("xml_bomb", detail=f"DTD in {info.filename[:80]!r}")

    parser.StartDoctypeDeclHandler = no_doctype
    parser.EntityDeclHandler = no_doctype
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    if text is not None:
        parser.CharacterDataHandler = text
    try:
        for chunk in _chunks(archive, info):
            parser.Parse(chunk, not chunk)
    except expat.ExpatError as exc:
        raise ReadProblem("not_xlsx", detail=f"{info.filename[:80]!r}: {exc}") from exc


_REF = re.compile(r"([A-Z]{1,3})([0-9]{1,7})")


def _local(name: str) -> str:
    return name.rpartition(":")[2]


def _scan_xlsx(
    archive: zipfile.ZipFile, sheet_bytes: dict[str, _SheetBytes], limits: Limits
) -> dict[str, _Marks]:
    """Bound every worksheet; find formula cells with no stored value and errors.

    Most parts pass on their bytes alone (every cell has a reference in
    bounds, no formula). The rest are parsed exactly, as calamine will."""
    by_part: dict[str, _Marks] = {}
    names: dict[str, str] | None = None
    for part, stats in sheet_bytes.items():
        if not stats.referenced and not stats.cells:
            continue
        if stats.referenced == stats.cells and not stats.formulas_or_errors:
            columns = max(_column_index(c.decode()) for c in stats.columns) + 1
            rows = max(int(r) for r in stats.rows)
            top = min(int(r) for r in stats.rows)
            left = min(_column_index(c.decode()) for c in stats.columns)
            if (
                columns <= limits.max_columns
                and rows <= HEADER_SCAN_ROWS + 2 * limits.max_rows
                and (rows - top + 1) * (columns - left) <= limits.max_cells
            ):
                continue
        if names is None:
            names = _xlsx_sheet_parts(archive)
        where = {"sheet": names.get(part, part.rsplit("/", 1)[-1])}
        marks = _scan_xlsx_sheet(archive, archive.getinfo(part), limits, where)
        if marks:
            by_part[part] = marks
    if not by_part or names is None:
        return {}
    return {names.get(part, part): marks for part, marks in by_part.items()}


def _scan_xlsx_sheet(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, where: dict[str, str]
) -> _Marks:
    extent = _Extent(limits, where)
    marks: _Marks = {}
    state: dict[str, Any] = {"row": -1, "col": -1, "cell": None, "in_value": False}
    value: list[str] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        local = _local(name)
        if local == "row":
            r = attrs.get("r")
            state["row"] = int(r) - 1 if r and r.isdigit() else state["row"] + 1
            state["col"] = -1
        elif local == "c":
            ref = _REF.fullmatch(attrs.get("r", ""))
            if ref:
                row, col = int(ref.group(2)) - 1, _column_index(ref.group(1))
            else:
                row, col = state["row"], state["col"] + 1
            state["col"] = col
            state["cell"] = [row, col, attrs.get("t", "n"), False, False]  # formula, value
            value.clear()
        elif state["cell"] is not None:
            if local == "f":
                state["cell"][3] = True
            elif local in ("v", "t"):
                state["cell"][4] = True
                state["in_value"] = True

    def text(data: str) -> None:
        if state["in_value"] and len(value) < 4:
            value.append(data[:200])

    def end(name: str) -> None:
        local = _local(name)
        if local in ("v", "t"):
            state["in_value"] = False
        if local != "c" or state["cell"] is None:
            return
        row, col, kind, has_formula, has_value = state["cell"]
        state["cell"] = None
        stored = has_value and "".join(value).strip() != ""
        if kind == "e" and stored:
            marks[(row, col)] = _Error("".join(value).strip())
        elif has_formula and not stored and kind not in ("str", "s", "inlineStr"):
            marks[(row, col)] = _FORMULA
        elif not stored:
            return
        extent.add(row, col)

    _parse_part(archive, info, start, end, text)
    return marks


def _xlsx_sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part name → sheet title, from workbook.xml and its rels."""
    rel_ids: dict[str, str] = {}
    targets: dict[str, str] = {}

    def sheet(name: str, attrs: dict[str, str]) -> None:
        if _local(name) == "sheet":
            rid = next((v for k, v in attrs.items() if _local(k) == "id"), None)
            if rid is not None and "name" in attrs:
                rel_ids[rid] = attrs["name"]

    def rel(name: str, attrs: dict[str, str]) -> None:
        if _local(name) == "Relationship" and "Id" in attrs and "Target" in attrs:
            target = attrs["Target"]
            path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            targets[attrs["Id"]] = re.sub(r"[^/]+/\.\./", "", path)

    def nothing(name: str) -> None:
        return None

    _parse_part(archive, archive.getinfo("xl/workbook.xml"), sheet, nothing)
    try:
        rels = archive.getinfo("xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    _parse_part(archive, rels, rel, nothing)
    return {targets[rid]: title for rid, title in rel_ids.items() if rid in targets}


_ODS_VALUE_ATTRS: Final = (
    "office:value",
    "office:string-value",
    "office:date-value",
    "office:time-value",
    "office:boolean-value",
)


def _scan_ods(archive: zipfile.ZipFile, limits: Limits) -> dict[str, _Marks]:
    """Every table of content.xml (calamine reads them all when it opens the file):
    rows and columns as repeated, bounded; formulas with no value and errors."""
    try:
        info = archive.getinfo("content.xml")
    except KeyError:
        raise ReadProblem("not_ods", detail="no content.xml") from None
    sheets: dict[str, _Marks] = {}
    state: dict[str, Any] = {"table": None, "extent": None, "row": 0, "col": 0, "cell": None}
    row_repeat = [1]
    cell_text: list[str] = []
    spaces = [0]

    def start(name: str, attrs: dict[str, str]) -> None:
        if name == "table:table":
            title = attrs.get("table:name", "")
            state.update(table=title, row=0, col=0, cell=None)
            state["extent"] = _Extent(limits, {"sheet": title})
            sheets.setdefault(title, {})
        elif state["table"] is None:
            return
        elif name == "table:table-row":
            row_repeat[0] = _repeat(attrs.get("table:number-rows-repeated"))
            state["col"] = 0
        elif name in ("table:table-cell", "table:covered-table-cell"):
            repeat = _repeat(attrs.get("table:number-columns-repeated"))
            formula = "table:formula" in attrs
            error = attrs.get("calcext:value-type") == "error"
            valued = any(a in attrs for a in _ODS_VALUE_ATTRS)
            typed = "office:value-type" in attrs
            state["cell"] = [state["col"], repeat, formula, error, valued, typed]
            cell_text.clear()
            spaces[0] = 0
        elif name == "text:s" and state["cell"] is not None:
            spaces[0] += _repeat(attrs.get("text:c"))
            if spaces[0] > limits.max_cell_chars:
                col = state["cell"][0]
                where = {"sheet": state["table"]}
                raise _too_long(state["row"] + 1, col, limits, where)

    def text(data: str) -> None:
        if state["cell"] is not None and len(cell_text) < 4:
            cell_text.append(data[:200])

    def end(name: str) -> None:
        if state["table"] is None:
            return
        if name == "table:table":
            state["table"] = None
        elif name == "table:table-row":
            state["row"] += row_repeat[0]
        elif name in ("table:table-cell", "table:covered-table-cell"):
            col, repeat, formula, error, valued, typed = state["cell"]
            state["cell"] = None
            state["col"] = col + repeat
            content = "".join(cell_text).strip()
            mark: _Mark | None = None
            if error:
                mark = _Error(content or "#ERR")
            elif formula and not valued and not typed:
                mark = _FORMULA
            elif not (valued or typed or content or formula):
                return  # an empty cell, however often repeated
            row = state["row"]
            extent: _Extent = state["extent"]
            extent.add(row, col, row_repeat[0], repeat)
            if mark is not None:
                marks = sheets[state["table"]]
                for r in range(row, row + row_repeat[0]):
                    for c in range(col, col + repeat):
                        marks[(r, c)] = mark

    _parse_part(archive, info, start, end, text)
    return {title: marks for title, marks in sheets.items() if marks}


def _repeat(value: str | None) -> int:
    if value is None:
        return 1
    try:
        n = int(value)
    except ValueError:
        raise ReadProblem("not_ods", detail=f"repeat {value[:20]!r}") from None
    return max(n, 1)


# --------------------------------------------------------------------------- XLS (BIFF8 in OLE2)

_XLS_ERRORS: Final = {
    0x00: "#NULL!",
    0x07: "#DIV/0!",
    0x0F: "#VALUE!",
    0x17: "#REF!",
    0x1D: "#NAME?",
    0x24: "#NUM!",
    0x2A: "#N/A",
}
# BIFF cell records: (row u16, col u16) at the start of their data
_XLS_CELLS: Final = frozenset({0x0203, 0x0204, 0x00D6, 0x0205, 0x027E, 0x00FD, 0x0006})


def _read_xls(data: bytes, name: str, year_hint: int | None, limits: Limits) -> RawTable:
    stream = _xls_workbook_stream(data, name)
    marks = _scan_biff(stream, limits)
    return _read_workbook(data, "xls", year_hint, limits, marks)


def _xls_workbook_stream(data: bytes, name: str) -> bytes:
    """The BIFF stream of an OLE2 file, after checking the header fields that
    calamine's own OLE2 reader sizes its tables by."""
    import olefile  # imported here: only .xls uploads need it

    if len(data) < 512:
        raise ReadProblem("not_xls", detail="shorter than an OLE2 header")
    shift = struct.unpack_from("<H", data, 0x1E)[0]
    if shift not in (9, 12):
        raise ReadProblem("not_xls", detail=f"sector shift {shift}")
    sectors = len(data) // (1 << shift) + 1
    counts = {
        "FAT": struct.unpack_from("<I", data, 0x2C)[0],
        "MiniFAT": struct.unpack_from("<I", data, 0x40)[0],
        "DIFAT": struct.unpack_from("<I", data, 0x48)[0],
    }
    for what, count in counts.items():
        if count > sectors:
            raise ReadProblem("not_xls", detail=f"{what} sectors {count} > {sectors}")
    try:
        ole = olefile.OleFileIO(io.BytesIO(data), raise_defects=olefile.DEFECT_INCORRECT)
    except Exception as exc:  # olefile raises OSError and its own types on bad input
        raise ReadProblem("not_xls", detail=f"ole: {type(exc).__name__}") from exc
    with ole:
        if ole.exists("EncryptionInfo") or ole.exists("EncryptedPackage"):
            raise ReadProblem("encrypted", name=name)
        entry = next((s for s in ("Workbook", "Book") if ole.exists(s)), None)
        if entry is None:
            streams = {"/".join(p) for p in ole.listdir()}
            if "WordDocument" in streams:
                raise ReadProblem("unsupported_document", kind="DOC", name=name)
            if "PowerPoint Document" in streams:
                raise ReadProblem("unsupported_document", kind="PPT", name=name)
            raise ReadProblem("not_xls", detail="no Workbook stream")
        try:
            with ole.openstream(entry) as source:
                stream: bytes = source.read()
        except Exception as exc:
            raise ReadProblem("not_xls", detail=f"stream: {type(exc).__name__}") from exc
    return stream


def _scan_biff(stream: bytes, limits: Limits) -> dict[str, _Marks]:
    """Walk the BIFF records: refuse a password (FILEPASS), declared dimensions or
    cell positions out of bounds in any sheet; mark error results."""
    sheets: dict[int, str] = {}  # stream offset of a sheet's BOF → its name
    marks: dict[str, _Marks] = {}
    extent: _Extent | None = None
    current: str | None = None
    depth = 0
    pos = 0
    end = len(stream)
    while pos + 4 <= end:
        kind, size = struct.unpack_from("<HH", stream, pos)
        body = stream[pos + 4 : pos + 4 + size]
        if len(body) < size:
            raise ReadProblem("not_xls", detail=f"record 0x{kind:04X} cut short")
        if kind == 0x0809:  # BOF
            if pos in sheets:
                current = sheets[pos]
                extent = _Extent(limits, {"sheet": current})
                depth = 1
            elif depth:
                depth += 1
        elif kind == 0x000A:  # EOF
            depth = max(depth - 1, 0)
            if depth == 0:
                current, extent = None, None
        elif kind == 0x002F:  # FILEPASS: the workbook is encrypted
            raise ReadProblem("encrypted", name="")
        elif kind == 0x0085 and size >= 8:  # BOUNDSHEET: where a sheet starts, and its name
            offset = struct.unpack_from("<I", body, 0)[0]
            sheets[offset] = _biff_sheet_name(body[6:])
        elif extent is not None and depth == 1:
            _biff_cell(kind, body, extent, marks.setdefault(current or "", {}), limits)
        pos += 4 + size
    return {name: found for name, found in marks.items() if found}


def _biff_sheet_name(data: bytes) -> str:
    if len(data) < 2:
        return ""
    count, flags = data[0], data[1]
    if flags & 0x01:
        return data[2 : 2 + 2 * count].decode("utf-16-le", "replace")
    return data[2 : 2 + count].decode("latin-1")


def _biff_cell(kind: int, body: bytes, extent: _Extent, marks: _Marks, limits: Limits) -> None:
    if kind == 0x0200:  # DIMENSIONS: calamine reserves rows × columns of it
        if len(body) == 14:
            first, last, left, right = struct.unpack_from("<IIHH", body, 0)
        elif len(body) == 10:
            first, last, left, right = struct.unpack_from("<HHHH", body, 0)
        else:
            raise ReadProblem("not_xls", detail="DIMENSIONS record size")
        if last > 65536 or right > 256 or first > last or left > right:
            raise ReadProblem("not_xls", detail=f"dimensions {first}:{last} {left}:{right}")
        if (last - first) * (right - left) > 4 * limits.max_cells:
            raise ReadProblem("too_many_rows", limit=limits.max_rows, row=last, **extent.where)
        return
    if kind == 0x00BD and len(body) >= 6:  # MULRK: one row, a run of columns
        row, first_col = struct.unpack_from("<HH", body, 0)
        last_col = struct.unpack_from("<H", body, len(body) - 2)[0]
        if last_col >= first_col:
            extent.add(row, first_col, 1, last_col - first_col + 1)
        return
    if kind not in _XLS_CELLS or len(body) < 4:
        return
    row, col = struct.unpack_from("<HH", body, 0)
    extent.add(row, col)
    if kind == 0x0006 and len(body) >= 14:  # FORMULA: its stored result
        if body[12:14] == b"\xff\xff" and body[6] == 0x02:
            marks[(row, col)] = _Error(_XLS_ERRORS.get(body[8], "#ERR"))
    elif kind == 0x0205 and len(body) >= 8 and body[7] == 0x01:  # BOOLERR holding an error
        marks[(row, col)] = _Error(_XLS_ERRORS.get(body[6], "#ERR"))


# --------------------------------------------------------------------------- calamine


def _is_notes_sheet(title: str) -> bool:
    folded = _fold(title)
    return any(folded == p or folded.startswith(p + " ") for p in _NOTES_SHEETS)


def _calamine_problem(exc: BaseException, kind: str, stage: str) -> ReadProblem:
    detail = f"{stage}: {type(exc).__name__}"
    if type(exc).__name__ == "PasswordError":
        return ReadProblem("encrypted", name="")
    if kind == "ods":
        return ReadProblem("not_ods", detail=detail)
    if kind == "xls":
        return ReadProblem("not_xls", detail=detail)
    return ReadProblem("not_xlsx", kind="XLSX", detail=detail)


def _guarded(kind: str, stage: str, call: Callable[[], Any]) -> Any:
    """Run one calamine call; any failure, a Rust panic included (pyo3 raises it
    as a BaseException), is a damaged file, never a crash."""
    try:
        return call()
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:
        raise _calamine_problem(exc, kind, stage) from exc


def _read_workbook(
    data: bytes, kind: str, year_hint: int | None, limits: Limits, marks: dict[str, _Marks]
) -> RawTable:
    import python_calamine  # imported here: a CSV-only process never loads it

    source = io.BytesIO(data)
    workbook = _guarded(
        kind, "open", lambda: python_calamine.CalamineWorkbook.from_filelike(source)
    )
    try:
        return _read_sheets(workbook, kind, year_hint, limits, marks)
    finally:
        _guarded(kind, "close", workbook.close)
        source.close()


def _read_sheets(
    workbook: Any, kind: str, year_hint: int | None, limits: Limits, marks: dict[str, _Marks]
) -> RawTable:
    metadata = _guarded(kind, "sheets", lambda: list(workbook.sheets_metadata))
    titles = [str(m.name) for m in metadata]
    candidates = [
        str(m.name)
        for m in metadata
        if str(m.visible).endswith(".Visible")
        and str(m.typ).endswith(".WorkSheet")
        and not _is_notes_sheet(str(m.name))
    ]
    if not candidates:
        raise ReadProblem("no_data_sheet", sheets=", ".join(f"«{t}»" for t in titles) or "—")
    if year_hint is not None:
        year = re.compile(rf"(?<!\d){year_hint}(?!\d)")
        matching = [title for title in candidates if year.search(title)]
        candidates = matching or candidates
    seen_any = False
    table_kind: Kind = "ods" if kind == "ods" else "xls" if kind == "xls" else "xlsx"
    for title in candidates:
        where = {"sheet": title}
        sheet = _guarded(kind, "sheet", functools.partial(workbook.get_sheet_by_name, title))
        sheet_marks = marks.get(title, {})
        rows = _sheet_rows(sheet, kind, sheet_marks)
        try:
            header, seen = _find_header(rows, limits, where)
            seen_any = seen_any or seen
            if header is not None:
                # _sheet_rows numbers rows from 1; a mark's row is 0-based
                marked = frozenset(row + 1 for row, _ in sheet_marks)
                return _read_body(
                    header, rows, limits, where, kind=table_kind, sheet=title, marked=marked
                )
        finally:
            rows.close()
    if seen_any:
        raise _no_header(sheet=candidates[0])
    raise ReadProblem("empty", sheet=candidates[0])


def _sheet_rows(sheet: Any, kind: str, marks: _Marks) -> _Rows:
    """The sheet's rows from A1, numbered as the user sees them, with the marks
    of the byte scan laid over calamine's values (a formula cell with no value
    is not in calamine's rectangle at all)."""
    start = _guarded(kind, "range", lambda: sheet.start)
    # python-calamine yields empty rows above the rectangle, but starts each
    # row at its left edge
    left = int(start[1]) if start is not None else 0
    by_row: dict[int, list[tuple[int, _Mark]]] = {}
    for (r, c), mark in marks.items():
        by_row.setdefault(r, []).append((c, mark))
    last_mark = max(by_row, default=-1)
    # an empty sheet has no rectangle, and python-calamine cannot iterate one
    it: Iterator[list[object]] = (
        iter(()) if start is None else _guarded(kind, "rows", sheet.iter_rows)
    )
    pad: list[_Cell] = [None] * left
    # A sheet repeats its values down the rows (years, groups, maxima, each unit's
    # name once a year): each distinct text or number is converted once. Kept
    # apart by type (True == 1 == 1.0 as keys) and without 0.0 (equal to -0.0).
    texts, floats = _Converted(), _Converted()

    number = 0  # 0-based here; yielded 1-based
    while True:
        try:
            values = next(it, None)
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException as exc:  # a Rust panic included
            raise _calamine_problem(exc, kind, "row") from exc
        if values is None:
            if number > last_mark:
                return
            values = []
        cells: list[_Cell] = [
            texts[v] if type(v) is str else floats[v] if type(v) is float and v else _cell_value(v)
            for v in values
        ]
        if pad and cells:  # one list a row where the rectangle starts at column A
            cells[:0] = pad
        if number in by_row:
            for col, mark in by_row[number]:
                if col >= len(cells):
                    cells += [None] * (col + 1 - len(cells))
                cells[col] = mark
        while cells and cells[-1] is None:  # the row's own list: trimmed, not copied
            cells.pop()
        number += 1
        yield number, cells


class _Converted(dict[Any, _Cell]):
    """A sheet's distinct texts (or floats) converted once each: `memo[value]`
    converts a value not seen yet, and is one dict lookup after that."""

    def __missing__(self, value: object) -> _Cell:
        found = _cell_value(value)
        if value == value:  # NaN equals nothing, so is never found again: not kept
            self[value] = found
        return found


def _cell_value(value: object) -> _Cell:
    kind = type(value)
    if kind is str:
        return _clean(value)  # type: ignore[arg-type]
    if kind is float:
        if not math.isfinite(value):  # type: ignore[arg-type]
            return str(value)
        return Decimal(format(value, ".15g"))
    if isinstance(value, str):
        return _clean(value) if value else None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return Decimal(format(value, ".15g"))
    if isinstance(value, datetime):
        return str(value)
    if isinstance(value, date):  # calamine gives a date for a whole day: as Excel lists it
        return str(datetime(value.year, value.month, value.day))
    if isinstance(value, time | timedelta):
        return str(value)
    return _clean(str(value)) if value is not None else None
