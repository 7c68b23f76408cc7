"""Turn an uploaded score file (bytes + file name) into a table of raw cells.

Pure: no Telegram, no database, no number parsing or value validation (that is
``ranking.importer``'s job). This module decides what the file is, decodes it,
bounds it, finds the header row and maps header texts to canonical keys.
Anything it refuses raises :class:`ReadProblem` whose ``code`` names a message
``reader.<code>`` in ``locales/*/LC_MESSAGES/reader.po``.

Problem codes and their params (every message may use any of them)::

    unsupported_type   kind, name        (kind: "XLS (Excel 97-2003)", "ODS", "PDF", "DOCX", ext)
    encrypted          name              (password-protected Office file)
    too_large          size_mb, limit_mb (strings like "7.3" / "5")
    too_many_rows      limit [, row, sheet]
    too_many_columns   row, limit [, sheet]
    cell_too_long      row, column, cell, limit [, sheet]
    zip_bomb           detail            (detail is for logs, not for users)
    xml_bomb           detail
    not_xlsx           detail
    formula            cell, row, column, sheet
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
* Fully blank rows are skipped; formulas in ignored columns or in the title
  rows above the header are tolerated, anywhere else they are refused.
* XLSX sheet: hidden sheets and notes sheets ("Ghi chú", "Hướng dẫn", "Notes"…)
  are never data. With ``year_hint``, only sheets whose title contains that
  year are candidates if there are any. The first candidate (in workbook
  order) with a header row in its first 15 rows is read.
* XLSX floats are kept to 15 significant digits, which is what Excel shows
  (731.6100000000001 stored by Excel is read as 731.61); non-finite → text.
* XLSX cells right of column ``max_columns + 1`` are not read at all (so a
  stray sheet dimension of A1:XFD1048576 costs nothing); a value in column
  ``max_columns + 1`` is refused as ``too_many_columns``.
* Row budget: more than ``max_rows`` non-blank data rows, or more than
  ``2 * max_rows`` physical rows after the header, is ``too_many_rows``.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final, Literal

import openpyxl
from defusedxml import DefusedXmlException
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

if openpyxl.DEFUSEDXML is not True:  # pragma: no cover - packaging guard
    raise ImportError("defusedxml must be installed: openpyxl would parse XML bombs")

__all__ = [
    "PROBLEM_CODES",
    "Limits",
    "RawRow",
    "RawTable",
    "ReadProblem",
    "canonical_header",
    "read_table",
]

PROBLEM_CODES: Final = frozenset(
    {
        "unsupported_type",
        "encrypted",
        "too_large",
        "too_many_rows",
        "too_many_columns",
        "cell_too_long",
        "zip_bomb",
        "xml_bomb",
        "not_xlsx",
        "formula",
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


Value = str | Decimal | None


@dataclass(frozen=True)
class RawRow:
    # row number as the user sees it in Excel / the CSV record number
    # (1-based, header included in the count)
    number: int
    cells: dict[str, Value]  # canonical key -> value (only mapped columns)
    extras: dict[str, Value]  # other headed columns (component scores), header text -> value


@dataclass(frozen=True)
class RawTable:
    kind: Literal["csv", "xlsx"]
    encoding: str | None  # csv only: "utf-8", "utf-8-sig", "utf-16", "cp1258"
    delimiter: str | None  # csv only
    sheet: str | None  # xlsx only
    header_row: int  # 1-based
    columns: dict[str, str]  # canonical key -> the header text as written
    column_letters: dict[str, str]  # canonical key -> "A", "B", ... (position in the file)
    extra_columns: list[str]  # header texts of unmapped non-empty columns, in order
    rows: list[RawRow]  # data rows, fully blank rows skipped


# --------------------------------------------------------------------------- headers

HEADER_SCAN_ROWS: Final = 15

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
}
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


def canonical_header(text: str) -> str | None:
    """The canonical key for a header text, matching whole folded strings only."""
    return _ALIASES.get(_fold(text))


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


# --------------------------------------------------------------------------- table building


class _Formula:
    """Marks a formula cell (the admin must paste values)."""

    __slots__ = ()


_FORMULA: Final = _Formula()
_Cell = str | Decimal | _Formula | None
_Rows = Generator[tuple[int, Sequence[_Cell]], None, None]


@dataclass(frozen=True)
class _Header:
    row: int
    mapped: dict[str, int]  # key -> column index
    columns: dict[str, str]  # key -> header text
    extras: dict[int, str]  # column index -> header text
    ignored: frozenset[int]


def _header_text(cell: _Cell) -> str | None:
    if cell is None or isinstance(cell, _Formula):
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


def _formula(number: int, index: int, sheet: str) -> ReadProblem:
    letter = column_letter(index)
    return ReadProblem("formula", cell=f"{letter}{number}", row=number, column=letter, sheet=sheet)


def _find_header(
    rows: _Rows, limits: Limits, where: dict[str, str]
) -> tuple[_Header | None, bool]:
    """Consume rows up to the header (within the first 15); also say if anything was seen."""
    seen = False
    for number, cells in rows:
        if number > HEADER_SCAN_ROWS:
            break
        _check_width(cells, number, limits, where)
        texts = [_header_text(c) for c in cells]
        if any(c is not None for c in cells):
            seen = True
        keys = {canonical_header(t) for t in texts if t}
        if "don_vi" in keys and keys & {"diem", "hang"}:
            return _make_header(number, cells, limits, where), True
    return None, seen


def _make_header(
    number: int, cells: Sequence[_Cell], limits: Limits, where: dict[str, str]
) -> _Header:
    mapped: dict[str, int] = {}
    columns: dict[str, str] = {}
    extras: dict[int, str] = {}
    extra_names: dict[str, int] = {}
    ignored: set[int] = set()
    for index, cell in enumerate(cells):
        if isinstance(cell, _Formula):
            raise _formula(number, index, where.get("sheet", ""))
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
    return _Header(number, mapped, columns, extras, frozenset(ignored))


def _read_body(
    header: _Header,
    rows: _Rows,
    limits: Limits,
    where: dict[str, str],
    *,
    kind: Literal["csv", "xlsx"],
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
) -> RawTable:
    named = set(header.mapped.values()) | set(header.extras) | header.ignored
    kept: list[tuple[int, dict[int, Value]]] = []
    unnamed_with_data: set[int] = set()
    last_physical = header.row + 2 * limits.max_rows
    for number, cells in rows:
        if number > last_physical:
            raise ReadProblem("too_many_rows", limit=limits.max_rows, row=number, **where)
        _check_width(cells, number, limits, where)
        values: dict[int, Value] = {}
        for index, cell in enumerate(cells):
            if cell is None or index in header.ignored:
                continue
            if isinstance(cell, _Formula):
                raise _formula(number, index, where.get("sheet", ""))
            if isinstance(cell, str) and len(cell) > limits.max_cell_chars:
                raise _too_long(number, index, limits, where)
            values[index] = cell
            if index not in named:
                unnamed_with_data.add(index)
        if not values:
            continue
        if len(kept) >= limits.max_rows:
            raise ReadProblem("too_many_rows", limit=limits.max_rows, row=number, **where)
        kept.append((number, values))
    if not kept:
        raise ReadProblem("empty", **where)

    extras = dict(header.extras)
    taken = {text: index for index, text in extras.items()}
    for index in sorted(unnamed_with_data):
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
    extra_order = sorted(extras)
    table_rows = [
        RawRow(
            number=number,
            cells={key: values.get(index) for key, index in header.mapped.items()},
            extras={extras[index]: values.get(index) for index in extra_order},
        )
        for number, values in kept
    ]
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
    )


# --------------------------------------------------------------------------- type detection

_OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS: Final = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_ENCRYPTION_STREAM: Final = "EncryptionInfo".encode("utf-16-le")
_XLS: Final = "XLS (Excel 97-2003)"
_KIND_BY_EXT: Final[dict[str, str]] = {
    ".xls": _XLS,
    ".ods": "ODS",
    ".pdf": "PDF",
    ".docx": "DOCX",
    ".doc": "DOC",
}
_TEXT_EXTS: Final = frozenset({".csv", ".txt", ".tsv"})
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
    """Read an uploaded CSV or XLSX file into raw cells, or raise ReadProblem."""
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
    if ext in (".xlsx", *_TEXT_EXTS) and magic in ("ole", "pdf"):
        kind = "PDF" if magic == "pdf" else _XLS
        raise ReadProblem("unsupported_type", kind=kind, name=name)
    if ext == ".xlsx":
        if not data:
            raise ReadProblem("empty")
        if magic != "zip":
            raise ReadProblem("not_xlsx", detail="not a zip archive")
        return _read_xlsx(data, name, year_hint, limits)
    if ext in _TEXT_EXTS:
        if magic == "zip":
            raise ReadProblem("binary")
        return _read_csv(data, limits)
    by_magic = {"ole": _XLS, "pdf": "PDF"}.get(magic or "")
    other = _KIND_BY_EXT.get(ext) or by_magic or ext[1:].upper() or name
    raise ReadProblem("unsupported_type", kind=other, name=name)


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

    def __init__(self, text: str, cap: int) -> None:
        self._lines = _lines(text)
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


def _records(text: str, delimiter: str, cap: int) -> Iterator[list[str]]:
    """csv records; raises _Overflow for a record longer than ``cap`` characters."""
    feed = _LineFeed(text, cap)
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


def _lines(text: str) -> Iterator[str]:
    """Physical lines with their endings (CRLF, LF or a lone CR), lazily."""
    if text.count("\r") != text.count("\r\n"):  # old Mac line ends: slower path
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


def _csv_rows(text: str, delimiter: str, limits: Limits) -> _Rows:
    cap = _record_cap(limits)
    number = 0
    try:
        for number, record in enumerate(_records(text, delimiter, cap), start=1):
            yield number, [_clean(c) for c in record]
    except _Overflow as overflow:
        raise _overflow_problem(overflow.pending, delimiter, number + 1, limits) from None


def _sniff(text: str, limits: Limits) -> str:
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
            for number, record in enumerate(_records(text, delimiter, cap), start=1):
                if not header_at:
                    if number > HEADER_SCAN_ROWS:
                        break
                    found = {canonical_header(c) for c in map(_clean, record) if c}
                    if "don_vi" in found and found & {"diem", "hang"}:
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
    if not any(line.strip(' \t\r\n,;|"') for line in _lines(text)):
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
    delimiter = forced.group(1) if forced else _sniff(text, limits)
    rows = _csv_rows(text, delimiter, limits)
    try:
        header, seen = _find_header(rows, limits, {})
        if header is None:
            raise _no_header() if seen else ReadProblem("empty")
        return _read_body(
            header, rows, limits, {}, kind="csv", encoding=encoding, delimiter=delimiter
        )
    finally:
        rows.close()


# --------------------------------------------------------------------------- XLSX

_BIG_ENTRY: Final = 1024 * 1024  # the compression-ratio check applies above this size
_CHUNK: Final = 64 * 1024
# Bounds on what openpyxl will hold in memory at once (start tags per segment):
# a worksheet row (16384 cells × a few tags each), a shared string, any other
# whole part parsed as one tree (styles, workbook, rels …).
_MAX_TAGS_PER_ROW: Final = 70_000
_MAX_TAGS_PER_PART: Final = 500_000
_MAX_SHARED_STRINGS: Final = 500_000
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.\-]{0,40}:)?row[\s/>]")
_SI_TAG = re.compile(rb"<(?:[A-Za-z_][\w.\-]{0,40}:)?si[\s/>]")
_XML_DECL_ENCODING = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)"
)
_WORKSHEET_PART = re.compile(r"xl/worksheets/[^/]+\.xml")
_SHARED_STRINGS_PART = "xl/sharedStrings.xml"


def _read_xlsx(data: bytes, name: str, year_hint: int | None, limits: Limits) -> RawTable:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:  # zipfile raises many types on hostile input
        raise ReadProblem("not_xlsx", detail=f"zip: {type(exc).__name__}") from exc
    with archive:
        infos = archive.infolist()
        names = {info.filename for info in infos}
        if "xl/workbook.xml" not in names:
            kind = _zip_kind(archive, names)
            if kind is not None:
                raise ReadProblem("unsupported_type", kind=kind, name=name)
            raise ReadProblem("not_xlsx", detail="no xl/workbook.xml")
        _preflight(infos, limits)
        for info in infos:
            _prescan(archive, info, limits)
    return _read_workbook(data, year_hint, limits)


def _zip_kind(archive: zipfile.ZipFile, names: set[str]) -> str | None:
    if "word/document.xml" in names:
        return "DOCX"
    if "ppt/presentation.xml" in names:
        return "PPTX"
    try:
        info = archive.getinfo("mimetype")
        small = info.file_size <= 200 and info.compress_size <= 200
        if small and archive.read(info).strip() == _ODS_MIME:
            return "ODS"
    except Exception:  # a missing or corrupt entry just means "not ODS"
        return None
    return None


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


def _prescan(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> None:
    """Stream one XML part and refuse what would make openpyxl hold too much:
    DTDs/entities, non-UTF-8 parts, huge rows, too many rows or shared strings,
    or an oversized tree. Reads at most the declared size (ZipExtFile stops
    there and checks the CRC)."""
    name = info.filename
    # A part is XML by content, not by name: workbook rels may point anywhere.
    # Binary parts (images, printer settings, vbaProject) contain NUL bytes.
    opaque_if_binary = not name.endswith((".xml", ".rels"))
    if _WORKSHEET_PART.fullmatch(name):
        splitter: re.Pattern[bytes] | None = _ROW_TAG
        segment_cap = _MAX_TAGS_PER_ROW
        max_segments = 2 * limits.max_rows + HEADER_SCAN_ROWS + 1000
    elif name == _SHARED_STRINGS_PART:
        splitter, segment_cap, max_segments = _SI_TAG, _MAX_TAGS_PER_ROW, _MAX_SHARED_STRINGS
    else:
        splitter, segment_cap, max_segments = None, _MAX_TAGS_PER_PART, 0
    tags = 0
    segments = 0
    tail = b""
    first = True
    try:
        source = archive.open(info)
    except Exception as exc:
        raise ReadProblem("not_xlsx", detail=f"open {name[:80]!r}: {type(exc).__name__}") from exc
    with source:
        while True:
            try:
                chunk = source.read(_CHUNK)
            except Exception as exc:
                raise ReadProblem(
                    "not_xlsx", detail=f"read {name[:80]!r}: {type(exc).__name__}"
                ) from exc
            if b"\x00" in chunk:
                if first and opaque_if_binary:
                    return
                raise ReadProblem("not_xlsx", detail=f"{name[:80]!r} is not UTF-8")
            buf = tail + chunk
            if first:
                first = False
                declared = _XML_DECL_ENCODING.match(buf)
                if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
                    raise ReadProblem("not_xlsx", detail=f"{name[:80]!r} is not UTF-8")
            if b"<!DOCTYPE" in buf or b"<!ENTITY" in buf:
                raise ReadProblem("xml_bomb", detail=f"DTD in {name[:80]!r}")
            cut = len(buf) if not chunk else max(len(buf) - 64, 0)
            starts = (
                [m.start() for m in splitter.finditer(buf) if m.start() < cut] if splitter else []
            )
            previous = 0
            for start in starts:
                tags += _start_tags(buf[previous:start])
                if tags > (segment_cap if segments else _MAX_TAGS_PER_PART):
                    raise ReadProblem("zip_bomb", detail=f"{name[:80]!r}: oversized element")
                segments += 1
                if segments > max_segments:
                    if splitter is _ROW_TAG:
                        raise ReadProblem("too_many_rows", limit=limits.max_rows)
                    raise ReadProblem("zip_bomb", detail=f"{name[:80]!r}: too many items")
                tags = 0
                previous = start
            tags += _start_tags(buf[previous:cut])
            if tags > (segment_cap if segments else _MAX_TAGS_PER_PART):
                raise ReadProblem("zip_bomb", detail=f"{name[:80]!r}: oversized element")
            tail = buf[cut:]
            if not chunk:
                return


def _openpyxl_problem(exc: BaseException, stage: str) -> ReadProblem:
    """xml_bomb if defusedxml refused something anywhere in the chain (openpyxl
    re-raises it as a plain ValueError), else not_xlsx."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, DefusedXmlException):
            return ReadProblem("xml_bomb", detail=type(cause).__name__)
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return ReadProblem("not_xlsx", detail=f"{stage}: {type(exc).__name__}")


def _is_notes_sheet(title: str) -> bool:
    folded = _fold(title)
    return any(folded == p or folded.startswith(p + " ") for p in _NOTES_SHEETS)


def _read_workbook(data: bytes, year_hint: int | None, limits: Limits) -> RawTable:
    source = io.BytesIO(data)
    try:
        workbook: Any = openpyxl.load_workbook(
            source, read_only=True, data_only=False, keep_links=False
        )
    except Exception as exc:  # openpyxl raises many types on malformed parts
        raise _openpyxl_problem(exc, "load") from exc
    try:
        return _read_sheets(workbook, year_hint, limits)
    finally:
        workbook.close()
        source.close()


def _read_sheets(workbook: Any, year_hint: int | None, limits: Limits) -> RawTable:
    try:
        sheets: list[Any] = list(workbook.worksheets)
        titles = [str(ws.title) for ws in sheets]
    except Exception as exc:
        raise ReadProblem("not_xlsx", detail=f"sheets: {type(exc).__name__}") from exc
    candidates = [
        ws
        for ws, title in zip(sheets, titles, strict=True)
        if getattr(ws, "sheet_state", "visible") == "visible" and not _is_notes_sheet(title)
    ]
    if not candidates:
        raise ReadProblem("no_data_sheet", sheets=", ".join(f"«{t}»" for t in titles) or "—")
    if year_hint is not None:
        year = re.compile(rf"(?<!\d){year_hint}(?!\d)")
        matching = [ws for ws in candidates if year.search(str(ws.title))]
        candidates = matching or candidates
    seen_any = False
    for ws in candidates:
        title = str(ws.title)
        where = {"sheet": title}
        rows = _xlsx_rows(ws, limits)
        try:
            header, seen = _find_header(rows, limits, where)
            seen_any = seen_any or seen
            if header is not None:
                return _read_body(header, rows, limits, where, kind="xlsx", sheet=title)
        finally:
            rows.close()
    first = str(candidates[0].title)
    if seen_any:
        raise _no_header(sheet=first)
    raise ReadProblem("empty", sheet=first)


def _xlsx_rows(ws: Any, limits: Limits) -> _Rows:
    try:
        ws.reset_dimensions()  # never trust <dimension>: A1:XFD1048576 would be 16384 wide
        it: Iterator[tuple[object, ...]] = ws.iter_rows(
            values_only=True, max_col=limits.max_columns + 1
        )
    except Exception as exc:
        raise ReadProblem("not_xlsx", detail=f"rows: {type(exc).__name__}") from exc
    number = 0
    try:
        while True:
            try:
                values = next(it)
            except StopIteration:
                return
            except Exception as exc:
                raise _openpyxl_problem(exc, "row") from exc
            number += 1
            width = len(values)
            while width and values[width - 1] is None:  # rows are max_columns + 1 wide
                width -= 1
            yield number, [_xlsx_value(values[i]) for i in range(width)]
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()


def _xlsx_value(value: object) -> _Cell:
    if value is None:
        return None
    if isinstance(value, str):
        if value.startswith("="):
            return _FORMULA
        return _clean(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return Decimal(format(value, ".15g"))
    if isinstance(value, datetime | date | time | timedelta):
        return str(value)
    if isinstance(value, ArrayFormula | DataTableFormula):
        return _FORMULA
    return _clean(str(value))
