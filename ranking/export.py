"""Export rankings in exactly the upload format, so that an export re-uploads unchanged.

An admin who downloads a ranking, fixes one cell and uploads it again must get
back what is on record plus that fix, nothing else. So the columns, headers
and values are the ones ``ranking.reader`` and ``ranking.importer`` accept, and
every value is written so that reading it back gives the same value:

* "Xếp hạng" is written only for ranks the source published
  (``rank_official``); a computed rank is left empty so that the re-import
  computes it again and keeps it marked as computed.
* "Nhóm" is the group's Vietnamese full name, "Bảng xếp hạng" the ranking
  code ("cds", "dti"): both are what the importer matches first.
* Scores are exact Decimals. In CSV they are written in plain form with all
  their digits ("235.40": trailing zeros survive). A plain number such as
  "1.000" or "12.345" would be ambiguous to the importer, which decides one
  decimal mark per file and reads an undecided "1.000" the Vietnamese way (a
  thousand); such numbers get a leading zero ("01.000", "012.345"), which
  is unambiguous, reads back as exactly the same Decimal and survives an
  admin deleting any other row.
* XLSX has only binary floating-point numbers and no trailing zeros: a score
  is written as a number when the reader's own conversion
  (``Decimal(format(value, ".15g"))``) gives back the same *value*
  (Decimal("235.40") → 235.4 → Decimal("235.4"), equal); the cell's number
  format shows the published digits ("0.00" → 235,40 in a Vietnamese
  Excel). A Decimal that does not survive that (more than 15 significant
  digits) is written as its exact text, which the importer parses.
* Text cells (names, notes, sources, published levels, headers) that a
  spreadsheet would run as a formula, i.e. that start with ``= + - @``, tab,
  CR or NUL, get a leading apostrophe (OWASP "CSV injection"). The
  apostrophe is kept by the re-import: a unit named "-ABC" comes back as
  "'-ABC". That is the price of never handing Excel a formula from an
  uploaded file; such names do not occur in the decisions. Numbers are never
  touched: a negative number is a number, not a formula.
* XLSX cannot hold some characters at all (C0 controls other than tab, LF,
  CR; U+FFFE, U+FFFF; lone surrogates): they are dropped from text cells.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Final

from ranking.catalog import Catalog
from ranking.store import ScoreRecord, SliceInfo

__all__ = [
    "HEADERS",
    "NOTES_SHEET_TITLE",
    "Cell",
    "export_rows",
    "neutralise",
    "to_csv",
    "to_xlsx",
]

Cell = str | Decimal | int | None

# The upload format's headers, in order (README "Score file format").
HEADERS: Final[tuple[str, ...]] = (
    "Năm",
    "Bảng xếp hạng",
    "Nhóm",
    "Xếp hạng",
    "Tên cơ quan, đơn vị",
    "Tổng điểm",
    "Điểm tối đa",
    "Mức xếp hạng",
    "Số đơn vị",
    "Căn cứ",
    "Ghi chú",
)
# ranking.reader never reads a sheet with this title as data.
NOTES_SHEET_TITLE: Final = "Ghi chú"
DEFAULT_SHEET_TITLE: Final = "Xep hang"

_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r", "\x00")
# The importer reads an undecided "1.000" as a thousand: plain numbers of this
# shape need a leading zero (mirrors ranking.numbers._DOT_GROUPS).
_AMBIGUOUS: Final = re.compile(r"([+-]?)([1-9]\d{0,2}(?:\.\d{3})+)")
# Characters XML 1.0 (and so XLSX) cannot hold.
_XML_ILLEGAL: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_MAX_COLUMN_WIDTH: Final = 60


def neutralise(text: str) -> str:
    """The text as a spreadsheet cannot run it: a leading apostrophe before a
    formula-starting character. Idempotent: "'=x" starts with an apostrophe."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def export_rows(
    slices: Sequence[tuple[SliceInfo, Sequence[ScoreRecord]]], catalog: Catalog
) -> tuple[list[str], list[list[Cell]]]:
    """The header and one row per record, in the given slice and record order.

    Values are raw (names as published, scores as Decimals); `to_csv` and
    `to_xlsx` apply the formula rule, so a preview can show the true names.
    Component columns follow the fixed ones in order of first appearance.
    """
    components: dict[str, None] = {}
    for _, records in slices:
        for record in records:
            components.update(dict.fromkeys(record.components))
    header = [*HEADERS, *components]
    rows: list[list[Cell]] = []
    for slice_, records in slices:
        group = catalog.groups[slice_.group_code].name_vi
        for record in records:
            rows.append(
                [
                    slice_.year,
                    slice_.ranking,
                    group,
                    record.rank if record.rank_official else None,
                    record.name,
                    record.score,
                    slice_.max_score,
                    record.published_level,
                    slice_.unit_count,
                    record.source,
                    record.note,
                    *(record.components.get(name) for name in components),
                ]
            )
    return header, rows


def plain_number(value: Decimal) -> str:
    """All the Decimal's digits, no exponent, never ambiguous to the importer."""
    text = format(value, "f")
    match = _AMBIGUOUS.fullmatch(text)
    return f"{match.group(1)}0{match.group(2)}" if match else text


def to_csv(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    """UTF-8 with BOM (so Excel reads the diacritics), comma-separated, RFC 4180
    quoting and CRLF line ends; numbers in plain form with all their digits."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=",", quotechar='"', lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([_csv_cell(cell) for cell in row])
    return buffer.getvalue().encode("utf-8-sig")


def _csv_cell(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, str):
        return neutralise(cell)
    if isinstance(cell, Decimal):
        return plain_number(cell)
    return str(cell)


def to_xlsx(
    header: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    *,
    sheet_title: str = DEFAULT_SHEET_TITLE,
    notes: Sequence[str] = (),
) -> bytes:
    """One data sheet (header in row 1, frozen) and, when `notes` are given, a
    second sheet "Ghi chú" holding them one per row (the reader skips it).

    `sheet_title` and `notes` are the caller's (translated) words.
    """
    # imported here: openpyxl (and the numpy it may pull in) costs start-up time and
    # memory, and only an XLSX export or the template needs it
    import openpyxl
    from openpyxl.styles import Font

    workbook: Any = openpyxl.Workbook()
    sheet: Any = workbook.active
    sheet.title = sheet_title
    widths: dict[int, int] = {}
    for col, text in enumerate(header, start=1):
        cell = _text_cell(sheet, 1, col, text)
        cell.font = Font(bold=True)
        widths[col] = len(text)
    for r, row in enumerate(rows, start=2):
        for col, value in enumerate(row, start=1):
            if value is None:
                continue
            if isinstance(value, str):
                _text_cell(sheet, r, col, value)
                shown = len(value)
            elif isinstance(value, Decimal):
                shown = _number_cell(sheet, r, col, value)
            else:
                sheet.cell(row=r, column=col, value=value)
                shown = len(str(value))
            widths[col] = max(widths.get(col, 0), shown)
    for col, width in widths.items():
        letter = openpyxl.utils.get_column_letter(col)
        sheet.column_dimensions[letter].width = min(width + 2, _MAX_COLUMN_WIDTH)
    sheet.freeze_panes = "A2"
    if notes:
        notes_sheet: Any = workbook.create_sheet(NOTES_SHEET_TITLE)
        for r, line in enumerate(notes, start=1):
            _text_cell(notes_sheet, r, 1, line)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _text_cell(sheet: Any, row: int, col: int, text: str) -> Any:
    """A string cell, never a formula or an error value ("#N/A")."""
    cell = sheet.cell(row=row, column=col, value=neutralise(_XML_ILLEGAL.sub("", text)))
    cell.data_type = "s"
    return cell


def _number_cell(sheet: Any, row: int, col: int, value: Decimal) -> int:
    """Write a Decimal as a float when the reader gets the same value back,
    else as its exact text. Returns the displayed width."""
    as_float = float(value)
    if Decimal(format(as_float, ".15g")) != value:
        text = plain_number(value)  # digits and a sign only: no formula rule
        sheet.cell(row=row, column=col, value=text).data_type = "s"
        return len(text)
    cell = sheet.cell(row=row, column=col, value=as_float)
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if places:
        cell.number_format = "0." + "0" * places
    return len(format(value, "f"))
