"""The XLSX template admins fill in: the upload format, one example row, notes."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Font

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


def template_xlsx(t: Translator) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Xep hang"
    sheet.append(list(HEADERS))
    sheet.append(EXAMPLE)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for column, width in zip(
        "ABCDEFGHIJK", (7, 10, 38, 9, 38, 11, 11, 13, 10, 32, 30), strict=True
    ):
        sheet.column_dimensions[column].width = width
    notes = workbook.create_sheet("Ghi chu")
    for line in t("template.notes").split("\n"):
        notes.append([line])
    notes.column_dimensions["A"].width = 110
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
