"""The template admins fill in (/mau): the upload format, one example row, notes.

Two files with the same content: .xlsx for Excel, and .ods, the OpenDocument
format state bodies are to publish editable files in (TT 19/2011/TT-BTTTT),
for LibreOffice. The .ods is written by hand (a zip of three small XML parts):
no library is needed for so little, and the reader reads it back in the tests.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from xml.sax.saxutils import escape

from bot.i18n import Translator
from ranking.export import HEADERS  # the upload format's columns, one definition

EXAMPLE = [
    2022,
    "cds",
    "Cơ quan, đơn vị có thủ tục hành chính",
    1,
    "Sở Giáo dục và Đào tạo",
    625.3,
    1000,
    "Nâng cao",
    18,
    "QĐ 791/QĐ-UBND ngày 11/4/2023",
    "",
]
WIDTHS = (7, 10, 38, 9, 38, 11, 11, 13, 10, 32, 30)
DATA_SHEET = "Xep hang"
NOTES_SHEET = "Ghi chu"


def template_xlsx(t: Translator) -> bytes:
    # imported here: only /mau needs openpyxl, and it is heavy to load at start-up
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = DATA_SHEET
    sheet.append(list(HEADERS))
    sheet.append(EXAMPLE)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for column, width in zip("ABCDEFGHIJK", WIDTHS, strict=True):
        sheet.column_dimensions[column].width = width
    notes = workbook.create_sheet(NOTES_SHEET)
    for line in t("template.notes").split("\n"):
        notes.append([line])
    notes.column_dimensions["A"].width = 110
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


_ODS_MIME = "application/vnd.oasis.opendocument.spreadsheet"
_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"'
)
_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
    ' manifest:version="1.2">'
    f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{_ODS_MIME}"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    '<manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<office:document-styles {_NS} office:version="1.2"><office:styles>'
    '<style:default-style style:family="table-cell">'
    '<style:text-properties fo:language="vi" fo:country="VN"/></style:default-style>'
    "</office:styles></office:document-styles>"
)


def _ods_cell(value: object, style: str | None = None) -> str:
    styled = f' table:style-name="{style}"' if style else ""
    if value is None or value == "":
        return "<table:table-cell/>"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (
            f'<table:table-cell{styled} office:value-type="float" office:value="{value}">'
            f"<text:p>{value}</text:p></table:table-cell>"
        )
    return (
        f'<table:table-cell{styled} office:value-type="string">'
        f"<text:p>{escape(str(value))}</text:p></table:table-cell>"
    )


def _ods_table(name: str, rows: Sequence[Sequence[object]], widths: Sequence[int]) -> str:
    columns = "".join(f'<table:table-column table:style-name="w{w}"/>' for w in widths)
    body = "".join(
        "<table:table-row>"
        + "".join(_ods_cell(v, "bold" if i == 0 and name == DATA_SHEET else None) for v in row)
        + "</table:table-row>"
        for i, row in enumerate(rows)
    )
    return f'<table:table table:name="{escape(name)}">{columns}{body}</table:table>'


def template_ods(t: Translator) -> bytes:
    """The same template as an OpenDocument spreadsheet (LibreOffice Calc)."""
    widths = sorted({*WIDTHS, 110})
    column_styles = "".join(
        f'<style:style style:name="w{w}" style:family="table-column">'
        f'<style:table-column-properties style:column-width="{w * 0.19:.2f}cm"/></style:style>'
        for w in widths
    )
    notes = [[line] for line in t("template.notes").split("\n")]
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<office:document-content {_NS} office:version="1.2">'
        f"<office:automatic-styles>{column_styles}"
        '<style:style style:name="bold" style:family="table-cell">'
        '<style:text-properties fo:font-weight="bold"/></style:style>'
        "</office:automatic-styles><office:body><office:spreadsheet>"
        + _ods_table(DATA_SHEET, [list(HEADERS), EXAMPLE], WIDTHS)
        + _ods_table(NOTES_SHEET, notes, (110,))
        + "</office:spreadsheet></office:body></office:document-content>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        # ODF: "mimetype" first and stored, so the file says what it is at a fixed offset
        archive.writestr(zipfile.ZipInfo("mimetype"), _ODS_MIME, zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", _MANIFEST)
        archive.writestr("styles.xml", _STYLES)
        archive.writestr("content.xml", content)
    return out.getvalue()
