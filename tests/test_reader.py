"""ranking.reader: every encoding/format gives the same cells; every refusal has a code.

All fixture files are generated here as bytes (openpyxl for XLSX, zipfile for
hand-made hostile archives); nothing is read from disk except the .po files.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import random
import re
import string
import struct
import time
import tracemalloc
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from unittest import mock

import openpyxl
import pytest
from babel.messages.pofile import read_po
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ranking.collection as collection
import ranking.reader as reader_module
from ranking.reader import (
    CANONICAL_KEYS,
    PROBLEM_CODES,
    Limits,
    RawTable,
    ReadProblem,
    canonical_header,
    read_table,
)

LOCALES = Path(__file__).resolve().parent.parent / "locales"
LONG = os.environ.get("RANKBOT_LONG") == "1"
settings.register_profile("reader", max_examples=200, deadline=None)
settings.register_profile(
    "reader-long", max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck)
)
DEFAULT = Limits()
PROFILE = settings.get_profile("reader-long" if LONG else "reader")

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # openpyxl on odd workbooks

# --------------------------------------------------------------------------- the table

HEADER = [
    "STT",
    "Năm",
    "Bảng xếp hạng",
    "Nhóm",
    "Tên cơ quan, đơn vị",
    "Tổng điểm",
    "Điểm tối đa",
    "Xếp hạng",
    "Chỉ số hạ tầng số",
]
ROWS = [
    [
        "1",
        "2023",
        "Cơ quan, đơn vị có thủ tục hành chính",
        "Sở, ban, ngành",
        "Sở Giáo dục và Đào tạo",
        "731,61",
        "1.000",
        "1",
        "95,5",
    ],
    [
        "2",
        "2023",
        "Cơ quan, đơn vị có thủ tục hành chính",
        "Sở, ban, ngành",
        "Sở Lao động - Thương binh và Xã hội",
        "700",
        "1.000",
        "2",
        "",
    ],
    [
        "3",
        "2023",
        "Cơ quan, đơn vị có thủ tục hành chính",
        "UBND huyện, thị xã, thành phố",
        "Ủy ban nhân dân huyện Bảo Thắng; Thuỷ lợi",  # ";" inside, both tone spellings
        "612,4",
        "1.000",
        "3",
        "80",
    ],
]
TITLE = "KẾT QUẢ XẾP HẠNG CHỈ SỐ CHUYỂN ĐỔI SỐ NĂM 2023"
KEYS = ["nam", "bang", "nhom", "don_vi", "diem", "diem_toi_da", "hang"]
EXTRA = "Chỉ số hạ tầng số"


def expected_cells() -> list[dict[str, str | None]]:
    return [dict(zip(KEYS, row[1:8], strict=True)) for row in ROWS]


def expected_extras() -> list[dict[str, str | None]]:
    return [{EXTRA: row[8] or None} for row in ROWS]


def as_number(value: str | Decimal | None) -> Decimal | None:
    """Vietnamese number text → Decimal, to compare CSV text with XLSX numbers."""
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(value.replace(".", "").replace(",", "."))


TONES = "\u0300\u0301\u0303\u0309\u0323"  # grave, acute, tilde, hook above, dot below


def to_cp1258(text: str) -> bytes:
    """Encode as Windows does for Vietnamese: precomposed base letters (ơ, ư, â,
    ă, ê, ô, đ) with the five tone marks as combining characters."""
    out = bytearray()
    decomposed = unicodedata.normalize("NFD", text)
    i = 0
    while i < len(decomposed):
        j = i + 1
        while j < len(decomposed) and unicodedata.combining(decomposed[j]):
            j += 1
        base = decomposed[i] + "".join(m for m in decomposed[i + 1 : j] if m not in TONES)
        tones = "".join(m for m in decomposed[i + 1 : j] if m in TONES)
        out += (unicodedata.normalize("NFC", base) + tones).encode("cp1258")
        i = j
    return bytes(out)


def csv_text(delimiter: str, *, title: bool = False, quote_all: bool = False) -> str:
    buf = io.StringIO()
    writer = csv.writer(
        buf,
        delimiter=delimiter,
        lineterminator="\r\n",
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
    )
    if title:
        writer.writerow([TITLE] + [""] * (len(HEADER) - 1))
    writer.writerow(HEADER)
    writer.writerows(ROWS)
    return buf.getvalue()


def xlsx_bytes(
    build: Callable[[openpyxl.Workbook], None] | None = None,
    *,
    rows: Iterable[list[object]] | None = None,
) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    if build is not None:
        build(wb)
    else:
        for row in rows or []:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def table_workbook(wb: openpyxl.Workbook) -> None:
    """The table with a merged title row above the header, numbers as numbers."""
    ws = wb.active
    assert ws is not None
    ws.title = "2023"
    ws.append([TITLE])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    ws.append(HEADER)
    for i, row in enumerate(ROWS, start=3):
        values: list[object] = list(row)
        values[0] = f"=ROW()-{2}"  # STT as a formula: ignored column, tolerated
        values[1] = int(row[1])
        values[5] = float(row[5].replace(",", "."))
        values[6] = 1000
        values[7] = int(row[7])
        values[8] = float(row[8].replace(",", ".")) if row[8] else None
        ws.append(values)
        assert ws.cell(row=i, column=5).value == row[4]


def problem(
    data: bytes,
    name: str,
    code: str,
    *,
    limits: Limits = DEFAULT,
    year_hint: int | None = None,
) -> ReadProblem:
    with pytest.raises(ReadProblem) as info:
        read_table(data, name, limits=limits, year_hint=year_hint)
    assert info.value.code == code, info.value
    for lang in ("vi", "en"):  # every raised problem renders in both languages
        text = messages(lang)[f"reader.{code}"].format(**info.value.params)
        assert "{" not in text and text.strip()
    return info.value


_MESSAGES: dict[str, dict[str, str]] = {}


def messages(lang: str) -> dict[str, str]:
    if lang not in _MESSAGES:
        with (LOCALES / lang / "LC_MESSAGES" / "reader.po").open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        _MESSAGES[lang] = {str(m.id): str(m.string) for m in catalog if m.id and m.string}
    return _MESSAGES[lang]


# ------------------------------------------------------------------ same table, every format

CSV_VARIANTS = {
    "utf-8 ;": (csv_text(";").encode("utf-8"), "utf-8", ";"),
    "utf-8 ; title": (csv_text(";", title=True).encode("utf-8"), "utf-8", ";"),
    "utf-8-sig ,": (codecs.BOM_UTF8 + csv_text(",").encode("utf-8"), "utf-8-sig", ","),
    "utf-8 , quoted": (csv_text(",", quote_all=True).encode("utf-8"), "utf-8", ","),
    "utf-16 tab": (csv_text("\t").encode("utf-16"), "utf-16", "\t"),
    "utf-16-be tab": (codecs.BOM_UTF16_BE + csv_text("\t").encode("utf-16-be"), "utf-16", "\t"),
    "cp1258 ;": (to_cp1258(csv_text(";")), "cp1258", ";"),
    "utf-8 |": (csv_text("|").encode("utf-8"), "utf-8", "|"),
    "utf-8 NFD ;": (unicodedata.normalize("NFD", csv_text(";")).encode("utf-8"), "utf-8", ";"),
}


@pytest.mark.parametrize("variant", list(CSV_VARIANTS))
def test_a_rows_cells_by_place_are_its_cells_by_key(variant: str) -> None:
    # the validator reads `values` by `cell_positions`; tests and the odd row, `cells`
    table = read_table(CSV_VARIANTS[variant][0], "bang-diem.csv")
    for row in table.rows:
        assert row.values[-1] is None and len(row.values) == len(row.keys) + 1
        assert {key: row.get(key) for key in CANONICAL_KEYS} == {
            key: row.cells.get(key) for key in CANONICAL_KEYS
        }
    assert [row.get("don_vi") for row in table.rows] == [c["don_vi"] for c in expected_cells()]
    assert {row.get(key) for row in table.rows for key in ("ty_le", "ghi_chu")} == {None}


@pytest.mark.parametrize("variant", list(CSV_VARIANTS))
def test_csv_variants_give_the_same_cells(variant: str) -> None:
    data, encoding, delimiter = CSV_VARIANTS[variant]
    table = read_table(data, "bang-diem.csv")
    assert (table.kind, table.encoding, table.delimiter, table.sheet) == (
        "csv",
        encoding,
        delimiter,
        None,
    )
    assert table.header_row == (2 if "title" in variant else 1)
    assert [row.cells for row in table.rows] == expected_cells()
    assert [row.extras for row in table.rows] == expected_extras()
    assert [row.number for row in table.rows] == [table.header_row + i for i in (1, 2, 3)]
    assert table.columns == dict(zip(KEYS, HEADER[1:8], strict=True))
    assert table.column_letters == dict(zip(KEYS, "BCDEFGH", strict=True))
    assert table.extra_columns == [EXTRA]


def test_cp1258_really_is_decomposed_and_comes_back_nfc() -> None:
    data = to_cp1258("Sở Giáo dục; Thuỷ; Thủy")
    assert b"\xf5\xd2" in data  # "ơ" + combining hook above, as Windows writes it
    assert "Sở".encode() not in data
    table = read_table(to_cp1258(csv_text(";")), "x.csv")
    names = [row.cells["don_vi"] for row in table.rows]
    assert names == [row[4] for row in ROWS]
    assert all(isinstance(n, str) and unicodedata.is_normalized("NFC", n) for n in names)


def test_xlsx_gives_the_same_cells_with_real_numbers() -> None:
    table = read_table(xlsx_bytes(table_workbook), "bang-diem.xlsx")
    assert (table.kind, table.encoding, table.delimiter, table.sheet) == (
        "xlsx",
        None,
        None,
        "2023",
    )
    assert table.header_row == 2
    assert [row.number for row in table.rows] == [3, 4, 5]
    assert table.column_letters == dict(zip(KEYS, "BCDEFGH", strict=True))
    assert table.extra_columns == [EXTRA]
    for row, want in zip(table.rows, expected_cells(), strict=True):
        for key in ("bang", "nhom", "don_vi"):
            assert row.cells[key] == want[key]
        for key in ("nam", "diem", "diem_toi_da", "hang"):
            assert isinstance(row.cells[key], Decimal)
            assert row.cells[key] == as_number(want[key])
    assert [as_number(r.extras[EXTRA]) for r in table.rows] == [
        as_number(e[EXTRA]) for e in expected_extras()
    ]
    assert str(table.rows[0].cells["diem"]) == "731.61"


def test_decimal_comma_stays_text_and_names_are_kept_verbatim() -> None:
    text = 'Đơn vị;Điểm;Ghi chú\n  Sở  Tài chính  ;731,61;"a;b"\nUBND huyện Bắc Hà;1.000,5;\n'
    table = read_table(text.encode(), "x.csv")
    assert [r.cells for r in table.rows] == [
        {"don_vi": "Sở  Tài chính", "diem": "731,61", "ghi_chu": "a;b"},  # inner spaces kept
        {"don_vi": "UBND huyện Bắc Hà", "diem": "1.000,5", "ghi_chu": None},
    ]


# --------------------------------------------------------------------------- headers


@pytest.mark.parametrize(
    ("key", "name"),
    [(key, name) for key, names in reader_module._HEADER_NAMES.items() for name in names],
)
def test_every_alias_maps(key: str, name: str) -> None:
    assert canonical_header(name) == key
    assert canonical_header(name.upper()) == key
    assert canonical_header(unicodedata.normalize("NFD", f"  {name} ")) == key
    assert canonical_header(name.replace(" ", "  ").replace("_", " ")) == key


def test_no_alias_means_two_keys() -> None:
    folded = [
        (reader_module._fold(name), key)
        for key, names in reader_module._HEADER_NAMES.items()
        for name in names
    ]
    assert len({f for f, _ in folded}) == len(set(folded))


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Tổng điểm tối đa", "diem_toi_da"),
        ("TỔNG ĐIỂM", "diem"),
        ("Tong diem", "diem"),
        ("diem_toi_da", "diem_toi_da"),
        ("Diem-toi-da", "diem_toi_da"),
        ("Tên cơ quan,\nđơn vị", "don_vi"),
        ("Tỉnh/thành phố", "don_vi"),
        ("Xếp hạng:", "hang"),
        ("Mức xếp hạng", "muc"),
        ("Số đơn vị xếp hạng", "so_don_vi"),
        ("Tổng điểm (1000)", None),  # whole strings only, never prefixes
        ("Điểm thành phần", None),
        ("STT", None),
        ("", None),
    ],
)
def test_canonical_header_loose_but_whole(text: str, key: str | None) -> None:
    assert canonical_header(text) == key


def test_ascii_headers() -> None:
    text = "nam,bang_xep_hang,group,unit,score,max,rank,level,so_don_vi,source,note\n"
    text += "2023,cds,Sở,Sở Y tế,500,1000,4,Nâng cao,20,QĐ 1,\n"
    table = read_table(text.encode(), "x.csv")
    assert list(table.columns) == [
        "nam",
        "bang",
        "nhom",
        "don_vi",
        "diem",
        "diem_toi_da",
        "hang",
        "muc",
        "so_don_vi",
        "can_cu",
        "ghi_chu",
    ]
    assert table.rows[0].cells["muc"] == "Nâng cao"


def test_stt_ignored_empty_headers_only_with_data() -> None:
    text = (
        "TT;Đơn vị;;Hạng;Số thứ tự;;\n"
        "1;A;;1;1;;\n"
        ";;;;9;;\n"  # only an ignored column: blank row
        "2;B;;2;2;x;\n"
        "\n"
        "3;C;;3;3;;;;;\n"
    )
    table = read_table(text.encode(), "x.tsv")
    assert table.columns == {"don_vi": "Đơn vị", "hang": "Hạng"}
    assert table.extra_columns == ["Cột F"]
    assert [(r.number, r.cells["don_vi"], r.extras) for r in table.rows] == [
        (2, "A", {"Cột F": None}),
        (4, "B", {"Cột F": "x"}),
        (6, "C", {"Cột F": None}),
    ]


def test_unnamed_column_cannot_shadow_a_real_header() -> None:
    text = "Đơn vị;Điểm;Cột C;\nA;1;;x\n"
    assert read_table(text.encode(), "x.csv").extra_columns == ["Cột C", "Cột D"]
    text = "Đơn vị;Điểm;Cột D;\nA;1;;x\n"
    p = problem(text.encode(), "x.csv", "duplicate_column")
    assert (p.params["header"], p.params["column"], p.params["first_column"]) == (
        "Cột D",
        "D",
        "C",
    )


def test_sep_hint_line_and_lone_cr_line_ends() -> None:
    text = 'sep=,\r\nĐơn vị,Điểm\r\nA,"1,5"\r\n'
    table = read_table(text.encode(), "x.csv")
    assert (table.delimiter, table.header_row, table.rows[0].cells["diem"]) == (",", 1, "1,5")
    table = read_table("Đơn vị;Điểm\rA;1\rB;2\r".encode(), "x.csv")
    assert [r.number for r in table.rows] == [2, 3]


def test_quoted_multiline_cell_counts_as_one_record() -> None:
    text = 'Đơn vị;Điểm\n"Sở A\ndòng 2";1\nSở B;2\n'
    table = read_table(text.encode(), "x.csv")
    assert [(r.number, r.cells["don_vi"]) for r in table.rows] == [
        (2, "Sở A\ndòng 2"),
        (3, "Sở B"),
    ]


# --------------------------------------------------------------------------- XLSX specifics


def test_xlsx_sheet_choice() -> None:
    def build(wb: openpyxl.Workbook) -> None:
        notes = wb.active
        assert notes is not None
        notes.title = "Ghi chú"
        notes.append(["Đơn vị", "Điểm"])  # looks like data, but it is the notes sheet
        notes.append(["Sai", 1])
        for title in ("Năm 2022", "Năm 2023", "Ẩn 2024"):
            ws = wb.create_sheet(title)
            ws.append(["Đơn vị", "Điểm"])
            ws.append([title, 1])
        wb["Ẩn 2024"].sheet_state = "hidden"

    data = xlsx_bytes(build)
    assert read_table(data, "x.xlsx").sheet == "Năm 2022"
    assert read_table(data, "x.xlsx", year_hint=2023).sheet == "Năm 2023"
    assert read_table(data, "x.xlsx", year_hint=2023).rows[0].cells["don_vi"] == "Năm 2023"
    assert read_table(data, "x.xlsx", year_hint=2024).sheet == "Năm 2022"  # hidden: never
    assert read_table(data, "x.xlsx", year_hint=202).sheet == "Năm 2022"  # whole numbers only


def test_xlsx_skips_a_cover_sheet_without_header() -> None:
    def build(wb: openpyxl.Workbook) -> None:
        cover = wb.active
        assert cover is not None
        cover.title = "Bìa"
        cover.append(["UBND TỈNH LÀO CAI"])
        data = wb.create_sheet("Data")
        data.append(["Đơn vị", "Hạng"])
        data.append(["A", 1])

    assert read_table(xlsx_bytes(build), "x.xlsx").sheet == "Data"


def test_xlsx_values() -> None:
    import datetime as dt

    data = xlsx_bytes(
        rows=[
            ["Đơn vị", "Điểm", "A", "B", "C", "D"],
            [
                unicodedata.normalize("NFD", "  Sở Y tế "),
                0.1 + 0.2,
                True,
                dt.date(2023, 5, 1),
                1000.0,
                "  ",
            ],
            ["X", 731.6100000000001, 10**20, -0.0, 1e-7, 12],
        ]
    )
    table = read_table(data, "x.xlsx")
    first, second = table.rows
    assert first.cells == {"don_vi": "Sở Y tế", "diem": Decimal("0.3")}
    assert first.extras == {"A": "True", "B": "2023-05-01 00:00:00", "C": Decimal(1000), "D": None}
    assert second.cells["diem"] == Decimal("731.61")
    assert second.extras["A"] == Decimal(10**20)
    assert second.extras["C"] == Decimal("1e-7")


def test_xlsx_formula_refused_in_data_but_not_in_stt_or_title() -> None:
    def build(wb: openpyxl.Workbook) -> None:
        ws = wb.active
        assert ws is not None
        ws["A1"] = '="KẾT QUẢ NĂM "&2023'
        ws.append(["STT", "Đơn vị", "Điểm"])
        ws.append(["=ROW()-2", "Sở A", 10])
        ws.append(["=ROW()-2", "Sở B", "=SUM(1,2)"])

    p = problem(xlsx_bytes(build), "x.xlsx", "formula")
    assert (p.params["cell"], p.params["row"], p.params["column"]) == ("C4", 4, "C")
    assert p.params["sheet"] == "Sheet"


def test_xlsx_array_formula_refused() -> None:
    from openpyxl.worksheet.formula import ArrayFormula

    def build(wb: openpyxl.Workbook) -> None:
        ws = wb.active
        assert ws is not None
        ws.append(["Đơn vị", "Điểm"])
        ws.append(["Sở A", None])
        ws["B2"] = ArrayFormula("B2", "=SUM(1,2)")

    assert problem(xlsx_bytes(build), "x.xlsx", "formula").params["cell"] == "B2"


def test_xlsx_huge_dimension_is_not_trusted() -> None:
    data = xlsx_bytes(rows=[["Đơn vị", "Điểm"], ["A", 1]])
    sheet = read_entry(data, "xl/worksheets/sheet1.xml")
    assert b'<dimension ref="A1:B2" />' in sheet
    data = replace_entry(
        data,
        "xl/worksheets/sheet1.xml",
        sheet.replace(b'ref="A1:B2"', b'ref="A1:XFD1048576"'),
    )
    start = time.perf_counter()
    assert read_table(data, "x.xlsx").rows[0].cells == {"don_vi": "A", "diem": Decimal(1)}
    assert time.perf_counter() - start < 2


def test_xlsx_too_many_columns_and_rows() -> None:
    wide = xlsx_bytes(rows=[["Đơn vị", "Điểm"], ["A", 1, None, None, "x"]])
    p = problem(wide, "x.xlsx", "too_many_columns", limits=Limits(max_columns=4))
    assert (p.params["row"], p.params["limit"]) == (2, 4)
    assert read_table(wide, "x.xlsx", limits=Limits(max_columns=5)).extra_columns == ["Cột E"]
    long = xlsx_bytes(rows=[["Đơn vị", "Điểm"], *[[f"U{i}", i] for i in range(5)]])
    p = problem(long, "x.xlsx", "too_many_rows", limits=Limits(max_rows=4))
    assert p.params == {"limit": 4, "row": 6, "sheet": "Sheet"}
    assert len(read_table(long, "x.xlsx", limits=Limits(max_rows=5)).rows) == 5


def test_xlsx_cell_too_long() -> None:
    data = xlsx_bytes(rows=[["Đơn vị", "Điểm"], ["A" * 501, 1]])
    p = problem(data, "x.xlsx", "cell_too_long")
    assert (p.params["cell"], p.params["limit"]) == ("A2", 500)


def test_xlsx_no_data_sheet_and_empty() -> None:
    def notes_only(wb: openpyxl.Workbook) -> None:
        ws = wb.active
        assert ws is not None
        ws.title = "Hướng dẫn"
        ws.append(["Đơn vị", "Điểm"])
        hidden = wb.create_sheet("Data")
        hidden.append(["Đơn vị", "Điểm"])
        hidden.sheet_state = "veryHidden"

    p = problem(xlsx_bytes(notes_only), "x.xlsx", "no_data_sheet")
    assert p.params["sheets"] == "«Hướng dẫn», «Data»"
    problem(xlsx_bytes(rows=[]), "x.xlsx", "empty")
    problem(xlsx_bytes(rows=[["Đơn vị", "Điểm"]]), "x.xlsx", "empty")
    problem(xlsx_bytes(rows=[["Tên", "Số"], ["A", 1]]), "x.xlsx", "no_header")


def test_xlsx_workbook_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    import python_calamine

    closed: list[bool] = []
    real = python_calamine.CalamineWorkbook

    class Spy:
        @staticmethod
        def from_filelike(source: io.BytesIO) -> object:
            wb = real.from_filelike(source)

            class Closing:
                def __getattr__(self, name: str) -> object:
                    return getattr(wb, name)

                def close(self) -> None:
                    closed.append(True)
                    wb.close()

            return Closing()

    monkeypatch.setattr(python_calamine, "CalamineWorkbook", Spy)
    read_table(xlsx_bytes(table_workbook), "x.xlsx")
    problem(xlsx_bytes(rows=[["Tên"], ["A"]]), "x.xlsx", "no_header")
    assert closed == [True, True]


def test_reader_does_not_load_openpyxl() -> None:
    """openpyxl (which pulls numpy) is for writing exports; reading must not start it."""
    import subprocess
    import sys

    code = (
        "import sys; from ranking.reader import read_table;"
        f"read_table({xlsx_bytes(table_workbook)!r}, 'x.xlsx');"
        "print('openpyxl' in sys.modules, 'numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# --------------------------------------------------------------------------- refusals: types


OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)


def zip_bytes(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, content in entries.items():
            zf.writestr(name, content)
    return buf.getvalue()


def read_entry(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(name)


def replace_entry(data: bytes, name: str, content: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    entries[name] = content
    return zip_bytes(entries)


ODS = zip_bytes(
    {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"},
    zipfile.ZIP_STORED,
)
DOCX = zip_bytes({"[Content_Types].xml": b"<x/>", "word/document.xml": b"<x/>"})


@pytest.mark.parametrize(
    ("data", "name", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n", "anh.png", "PNG"),
        (b"Don vi;Diem\nA;1\n", "bang.json", "JSON"),
        (b"Don vi;Diem\nA;1\n", "bang", "bang"),
    ],
)
def test_unsupported_types(data: bytes, name: str, kind: str) -> None:
    p = problem(data, name, "unsupported_type")
    assert p.params["kind"] == kind


@pytest.mark.parametrize(
    ("data", "name", "code", "kind"),
    [
        (DOCX, "bang.xlsx", "unsupported_document", "DOCX"),
        (DOCX, "bang.docx", "unsupported_document", "DOCX"),
        (b"%PDF-1.7\n%...", "bang.pdf", "unsupported_pdf", None),
        (b"%PDF-1.7\n%...", "bang.xlsx", "unsupported_pdf", None),
        (b"%PDF-1.7\n%...", "bang.csv", "unsupported_pdf", None),
        (b"PK\x03\x04", "bang.numbers", "unsupported_numbers", None),
        (b"PK\x03\x04", "bang.xlsb", "unsupported_xlsb", None),
    ],
)
def test_documents_get_a_way_to_convert(
    data: bytes, name: str, code: str, kind: str | None
) -> None:
    p = problem(data, name, code)
    assert p.params.get("kind") == kind
    assert "LibreOffice" in messages("vi")[f"reader.{code}"] or code == "unsupported_numbers"


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (OLE, "bang.xls", "not_xls"),  # read as the old Excel file it claims to be
        (OLE, "bang.xlsx", "not_xls"),  # renamed old Excel file: its content decides
        (OLE, "bang.csv", "not_xls"),
        (OLE, "bang", "not_xls"),
        (ODS, "bang.ods", "not_ods"),
        (ODS, "bang.xlsx", "not_ods"),
        (ODS, "bang", "not_ods"),
    ],
)
def test_damaged_ods_and_xls_are_read_as_such(data: bytes, name: str, code: str) -> None:
    problem(data, name, code)


def test_encrypted_office_file() -> None:
    data = OLE + "EncryptionInfo".encode("utf-16-le") + bytes(64)
    problem(data, "bang.xlsx", "encrypted")


def test_binary_and_encoding() -> None:
    problem(b"Don vi;Diem\nA;1\x00\n", "x.csv", "binary")
    problem(xlsx_bytes(table_workbook), "bang.csv", "binary")  # an xlsx renamed .csv
    problem(b"\xff\xfe\x00\x00D\x00\x00\x00", "x.csv", "binary")  # UTF-32 is not UTF-16
    problem(b"Don vi;Diem\nA\x81\x8d;1\n", "x.csv", "encoding")  # neither UTF-8 nor cp1258
    problem(codecs.BOM_UTF8 + b"Don vi;Diem\n\xc3(;1\n", "x.csv", "encoding")
    problem(codecs.BOM_UTF16_LE + b"\x00\xd8", "x.csv", "encoding")  # lone surrogate


def test_not_xlsx() -> None:
    problem(b"Don vi;Diem\n", "x.xlsx", "not_xlsx")
    problem(b"PK\x03\x04garbage", "x.xlsx", "not_xlsx")
    problem(zip_bytes({"a.txt": b"hello"}), "x.xlsx", "not_xlsx")
    good = xlsx_bytes(table_workbook)
    problem(replace_entry(good, "xl/workbook.xml", b"<workbook"), "x.xlsx", "not_xlsx")
    problem(good[: len(good) // 2], "x.xlsx", "not_xlsx")
    utf16 = '<?xml version="1.0" encoding="UTF-16"?><a/>'.encode("utf-16")
    problem(replace_entry(good, "xl/styles.xml", utf16), "x.xlsx", "not_xlsx")


def test_empty_and_too_large() -> None:
    problem(b"", "x.csv", "empty")
    problem(b"", "x.xlsx", "empty")
    problem(b"\r\n \n;;;\n", "x.csv", "empty")
    problem(codecs.BOM_UTF8, "x.csv", "empty")
    problem("Đơn vị;Điểm\n;\n".encode(), "x.csv", "empty")
    p = problem(b"x" * 2_000_000, "x.csv", "too_large", limits=Limits(max_bytes=1_048_576))
    assert (p.params["size_mb"], p.params["limit_mb"]) == ("1.9", "1")
    problem(b"x" * (5 * 1024 * 1024 + 1), "x.xlsx", "too_large")


def test_no_header_and_duplicates() -> None:
    p = problem("Tên;Số\nA;1\n".encode(), "x.csv", "no_header")
    assert "«Tên cơ quan, đơn vị»" in str(p.params["expected"])
    lines = ["Tiêu đề"] * 15 + ["Đơn vị;Điểm", "A;1"]
    problem("\n".join(lines).encode(), "x.csv", "no_header")  # header on row 16: too late
    assert read_table("\n".join(lines[1:]).encode(), "x.csv").header_row == 15
    p = problem("Đơn vị;Điểm;Tổng điểm\nA;1;1\n".encode(), "x.csv", "duplicate_column")
    assert p.params == {
        "header": "Tổng điểm",
        "column": "C",
        "first_header": "Điểm",
        "first_column": "B",
    }
    problem("Đơn vị;Điểm;X;X\nA;1;1;1\n".encode(), "x.csv", "duplicate_column")


# --------------------------------------------------------------------------- refusals: limits


def test_csv_limits() -> None:
    rows = "Đơn vị;Điểm\n" + "".join(f"U{i};{i}\n" for i in range(5))
    p = problem(rows.encode(), "x.csv", "too_many_rows", limits=Limits(max_rows=4))
    assert p.params == {"limit": 4, "row": 6}
    assert len(read_table(rows.encode(), "x.csv", limits=Limits(max_rows=5)).rows) == 5
    padded = "Đơn vị;Điểm\nA;1\n" + "\n" * 20
    problem(padded.encode(), "x.csv", "too_many_rows", limits=Limits(max_rows=5))
    limits = Limits(max_columns=3)
    p = problem(b"Don vi;Diem;a;b\nA;1;2;3\n", "x.csv", "too_many_columns", limits=limits)
    assert p.params == {"row": 1, "limit": 3}
    trailing = "Đơn vị;Điểm" + ";" * 200 + "\nA;1" + ";" * 200 + "\n"
    assert len(read_table(trailing.encode(), "x.csv").rows) == 1  # Excel padding is not columns
    p = problem(f"Đơn vị;Điểm\n{'A' * 501};1\n".encode(), "x.csv", "cell_too_long")
    assert (p.params["cell"], p.params["row"], p.params["column"]) == ("A2", 2, "A")
    p = problem(f'Đơn vị;Điểm\nA;"{"x" * 10**6}"\n'.encode(), "x.csv", "cell_too_long")
    assert p.params["cell"] == "B2"


def test_million_column_row_is_refused_fast_with_bounded_memory() -> None:
    data = ("Đơn vị;Điểm\nA;1\n" + "1;" * 10**6 + "\n").encode()
    tracemalloc.start()
    start = time.perf_counter()
    try:
        p = problem(data, "x.csv", "too_many_columns")
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert p.params == {"row": 3, "limit": 100}
    assert elapsed < 3
    assert peak < 40 * 1024 * 1024  # the text itself is ~2 MB (×4 if it were UCS-4)
    # and as the very first line, before any header
    p = problem(("1," * 10**6).encode(), "x.csv", "too_many_columns")
    assert p.params["row"] == 1


# --------------------------------------------------------------------------- refusals: bombs


def set_declared_size(data: bytes, name: str, size: int) -> bytes:
    """Patch the central directory's uncompressed size of one entry."""
    out = bytearray(data)
    pos = out.find(b"PK\x01\x02")
    while pos >= 0:
        name_len = struct.unpack_from("<H", out, pos + 28)[0]
        if out[pos + 46 : pos + 46 + name_len] == name.encode():
            struct.pack_into("<I", out, pos + 24, size)
            return bytes(out)
        pos = out.find(b"PK\x01\x02", pos + 4)
    raise AssertionError(name)


def test_zip_bomb_highly_compressed_sheet() -> None:
    good = xlsx_bytes(table_workbook)
    sheet = read_entry(good, "xl/worksheets/sheet1.xml")
    padded = sheet.replace(b"<sheetData>", b"<sheetData>" + b" " * 8_000_000)
    data = replace_entry(good, "xl/worksheets/sheet1.xml", padded)
    assert len(data) < 100_000
    assert "ratio" in str(problem(data, "x.xlsx", "zip_bomb").params["detail"])


def test_zip_bomb_declared_size() -> None:
    good = xlsx_bytes(table_workbook)
    data = set_declared_size(good, "xl/worksheets/sheet1.xml", 0xFFFF_FFF0)
    problem(data, "x.xlsx", "zip_bomb")
    problem(good, "x.xlsx", "zip_bomb", limits=Limits(max_unzipped_bytes=1000))


def test_zip_that_lies_about_its_size_is_bounded() -> None:
    """The declared size passes the budget, the real content is 50 MB of zeros:
    zipfile stops at the declared size and the CRC check fails."""
    good = xlsx_bytes(table_workbook)
    bomb = replace_entry(good, "xl/worksheets/sheet1.xml", b"<a>" + bytes(50_000_000))
    data = set_declared_size(bomb, "xl/worksheets/sheet1.xml", 5000)
    tracemalloc.start()
    try:
        p = problem(data, "x.xlsx", "not_xlsx")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024, peak
    assert "BadZipFile" in str(p.params["detail"])


def test_binary_parts_are_opaque_but_xml_by_content_is_scanned() -> None:
    good = xlsx_bytes(table_workbook)
    with zipfile.ZipFile(io.BytesIO(good)) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(2000)
    with_media = dict(entries, **{"xl/media/image1.png": png, "xl/printerSettings/p.bin": OLE})
    assert len(read_table(zip_bytes(with_media), "x.xlsx").rows) == 3
    hidden_dtd = dict(entries, **{"xl/data.dat": BILLION_LAUGHS})
    problem(zip_bytes(hidden_dtd), "x.xlsx", "xml_bomb")


def test_problem_pickles() -> None:
    import pickle

    original = ReadProblem("cell_too_long", row=2, column="B", cell="B2", limit=500)
    copy = pickle.loads(pickle.dumps(original))
    assert (copy.code, copy.params, copy.key) == (
        original.code,
        original.params,
        "reader.cell_too_long",
    )


def test_zip_entry_count_and_names() -> None:
    good = xlsx_bytes(table_workbook)
    with zipfile.ZipFile(io.BytesIO(good)) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    many = dict(entries, **{f"xl/media/x{i}.bin": b"" for i in range(201)})
    assert "entries" in str(problem(zip_bytes(many), "x.xlsx", "zip_bomb").params["detail"])
    for evil in ("../evil.xml", "/etc/evil.xml", "xl/../../evil.xml", "C:/evil.xml"):
        problem(zip_bytes(dict(entries, **{evil: b"<a/>"})), "x.xlsx", "zip_bomb")


def test_row_with_too_many_cells_is_refused_before_openpyxl() -> None:
    good = xlsx_bytes(rows=[["Đơn vị", "Điểm"], ["A", 1]])
    sheet = read_entry(good, "xl/worksheets/sheet1.xml")
    rng = random.Random(0)  # incompressible enough to pass the ratio check
    cells = b"".join(b"<c><v>%d</v></c>" % rng.getrandbits(30) for _ in range(80_000))
    data = replace_entry(
        good,
        "xl/worksheets/sheet1.xml",
        sheet.replace(b"</sheetData>", b'<row r="3">' + cells + b"</row></sheetData>"),
    )
    assert "oversized" in str(problem(data, "x.xlsx", "zip_bomb").params["detail"])


def test_too_many_row_elements_is_refused_before_openpyxl() -> None:
    good = xlsx_bytes(rows=[["Đơn vị", "Điểm"], ["A", 1]])
    sheet = read_entry(good, "xl/worksheets/sheet1.xml")
    rows = b'<row r="1"/>' * 2100  # rows openpyxl would skip without yielding
    data = replace_entry(
        good, "xl/worksheets/sheet1.xml", sheet.replace(b"</sheetData>", rows + b"</sheetData>")
    )
    problem(data, "x.xlsx", "too_many_rows", limits=Limits(max_rows=500))


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">
<si><t>&lol9;</t></si></sst>"""


SST_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def with_shared_strings(xml: bytes) -> bytes:
    """A workbook whose A2 refers to shared string 0 (openpyxl itself writes
    inline strings, so register a sharedStrings part by hand)."""
    good = xlsx_bytes(rows=[["Đơn vị", "Điểm"], ["A", 1]])
    types = read_entry(good, "[Content_Types].xml").replace(
        b"</Types>",
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="' + SST_TYPE + b'"/></Types>',
    )
    sheet = read_entry(good, "xl/worksheets/sheet1.xml").replace(
        b'<c r="A2" t="inlineStr"><is><t>A</t></is></c>', b'<c r="A2" t="s"><v>0</v></c>'
    )
    with zipfile.ZipFile(io.BytesIO(good)) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    entries.update(
        {
            "[Content_Types].xml": types,
            "xl/worksheets/sheet1.xml": sheet,
            "xl/sharedStrings.xml": xml,
        }
    )
    return zip_bytes(entries)


def test_shared_strings_are_read() -> None:
    sst = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1"'
        b' uniqueCount="1"><si><t>S\xe1\xbb\x9f A</t></si></sst>'
    )
    assert read_table(with_shared_strings(sst), "x.xlsx").rows[0].cells["don_vi"] == "Sở A"


def billion_laughs_xlsx() -> bytes:
    return with_shared_strings(BILLION_LAUGHS)


def test_billion_laughs_shared_strings() -> None:
    start = time.perf_counter()
    problem(billion_laughs_xlsx(), "x.xlsx", "xml_bomb")
    assert time.perf_counter() - start < 2


def test_billion_laughs_also_stopped_by_the_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    """Second layer: with our byte-level prescan switched off, calamine's XML
    parser (quick-xml) does not expand the entities, and the file is refused
    with memory bounded."""
    monkeypatch.setattr(reader_module, "_prescan", lambda *args: None)
    tracemalloc.start()
    try:
        p = problem(billion_laughs_xlsx(), "x.xlsx", "not_xlsx")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "open" in str(p.params["detail"])
    assert peak < 30 * 1024 * 1024


def test_external_entity_refused() -> None:
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b"<si><t>&e;</t></si></sst>"
    )
    problem(with_shared_strings(xxe), "x.xlsx", "xml_bomb")


# --------------------------------------------------------------------------- locales


def test_every_code_has_messages_in_both_languages() -> None:
    for lang in ("vi", "en"):
        keys = {k for k in messages(lang) if k.startswith("reader.")}
        assert keys == {f"reader.{code}" for code in PROBLEM_CODES}, lang


# --------------------------------------------------------------------------- properties

NAMES = ["x.csv", "x.xlsx", "x.txt", "x.tsv", "x.xls", "x", "x.ods"]
VIETNAMESE = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂBCDĐEÊGHIKLMNOÔƠPQRSTUƯVXY"
    "àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
    "ÀÁẢÃẠỜỚỞỠỢỪỨỬỮỰ0123456789 ,.-()&/"
)


def outcome(data: bytes, name: str, limits: Limits = DEFAULT) -> RawTable | ReadProblem:
    try:
        table = read_table(data, name, limits=limits)
    except ReadProblem as problem:
        assert problem.code in PROBLEM_CODES
        return problem
    assert table.rows and all(row.cells or row.extras for row in table.rows)
    return table


@settings(PROFILE)
@given(st.binary(max_size=4096), st.sampled_from(NAMES))
def test_arbitrary_bytes_read_or_refused(data: bytes, name: str) -> None:
    outcome(data, name)


@settings(PROFILE)
@given(st.text(max_size=2000), st.sampled_from(["x.csv", "x.txt"]))
def test_arbitrary_text_read_or_refused(text: str, name: str) -> None:
    outcome(text.encode("utf-8", "surrogatepass"), name)


@settings(PROFILE)
@given(
    st.lists(
        st.lists(st.text(alphabet=string.printable + "ĐđơƯ;\"'", max_size=12), max_size=6),
        max_size=8,
    ),
    st.sampled_from([";", ",", "\t", "|"]),
)
def test_table_shaped_text_read_or_refused(rows: list[list[str]], delimiter: str) -> None:
    lines = [delimiter.join(["Đơn vị", "Điểm", "Tổng điểm tối đa"])]
    lines += [delimiter.join(row) for row in rows]
    outcome("\n".join(lines).encode(), "x.csv", Limits(max_rows=5, max_columns=5))


GOOD_XLSX = xlsx_bytes(table_workbook)
GOOD_CSV = CSV_VARIANTS["cp1258 ;"][0]
OFFICE = Path(__file__).resolve().parent / "fixtures" / "office"
# files LibreOffice wrote (tests/fixtures/office): each format's real structure
GOOD_OFFICE = [
    ((OFFICE / name).read_bytes(), name)
    for name in ("ket-qua-2023.ods", "ket-qua-2023.xls", "ket-qua-2022-phu-luc.xlsx")
]


@settings(PROFILE)
@given(
    st.sampled_from([(GOOD_XLSX, "x.xlsx"), (GOOD_CSV, "x.csv"), *GOOD_OFFICE]),
    st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=8),
    st.floats(0, 1),
)
def test_mutated_files_read_or_refused(
    base: tuple[bytes, str], flips: list[tuple[float, int]], cut: float
) -> None:
    data = bytearray(base[0])
    for where, value in flips:
        data[int(where * len(data))] = value
    outcome(bytes(data[: max(1, int(cut * len(data)))] if cut < 0.9 else data), base[1])


@settings(PROFILE)
@given(
    st.lists(
        st.text(alphabet=VIETNAMESE, min_size=1, max_size=30).filter(lambda s: s.strip()),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1258"]),
    st.booleans(),
)
def test_names_survive_every_encoding_as_nfc(
    names: list[str], encoding: str, decomposed: bool
) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Tên cơ quan, đơn vị", "Điểm"])
    writer.writerows([name, "1"] for name in names)
    text = unicodedata.normalize("NFD", buf.getvalue()) if decomposed else buf.getvalue()
    data = to_cp1258(text) if encoding == "cp1258" else text.encode(encoding)
    table = read_table(data, "x.csv")
    assert table.encoding == encoding
    want = [unicodedata.normalize("NFC", n).strip() for n in names]
    assert [row.cells["don_vi"] for row in table.rows] == want


def test_deflate_stream_is_really_small() -> None:
    # sanity for the bomb fixtures above: zlib does compress zeros ~1000:1
    assert len(zlib.compress(bytes(1_000_000))) < 2000


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("bang.ods", None),
        ("BANG.XLS", None),
        ("bang.xlsm", None),
        ("bang.csv", None),
        ("quyet-dinh.pdf", "unsupported_pdf"),
        ("phu-luc.docx", "unsupported_document"),
        ("bang.numbers", "unsupported_numbers"),
        ("bang.xlsb", "unsupported_xlsb"),
        ("anh.png", "unsupported_type"),
    ],
)
def test_refusal_by_name_before_download(name: str, code: str | None) -> None:
    """What the shell can say before downloading, the same as read_table would."""
    from ranking.reader import problem_for_name

    p = problem_for_name(name)
    assert (p.code if p else None) == code
    if p is not None:
        for lang in ("vi", "en"):
            assert "{" not in messages(lang)[p.key].format(**p.params)


# --------------------------------------------------------------------------- fast paths


@given(st.text(alphabet="0123456789٣ \t.,%+-–xa", max_size=30))
def test_number_like_in_one_pass_is_the_two_step_test(text: str) -> None:
    two_steps = bool(re.search(r"\d", text)) and bool(re.fullmatch(r"[\d\s.,%+\-–]*", text))
    assert reader_module._is_number_like(text) is two_steps


def test_number_like_does_not_backtrack_on_a_long_cell() -> None:
    started = time.perf_counter()
    assert not reader_module._is_number_like("1" * 200_000 + "x")
    assert not reader_module._is_number_like(" " * 200_000 + "x")
    assert time.perf_counter() - started < 0.5


def test_converted_values_keep_what_equal_keys_would_merge() -> None:
    floats = reader_module._Converted()
    assert str(floats[0.5]) == "0.5" and floats[0.5] is floats[0.5]
    nan = float("nan")
    assert floats[nan] == "nan" and nan not in floats  # never found again: not kept
    texts = reader_module._Converted()
    assert texts[""] is None and texts[" Bắc Hà "] == "Bắc Hà"


def test_a_sheet_keeps_zero_and_minus_zero_and_its_digits(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Tên cơ quan, đơn vị", "Tổng điểm", "Ghi chú"])
    ws.append(["A", 0.0, 731.6100000000001])
    ws.append(["B", -0.0, 731.61])
    ws.append(["C", 0.5, "0.5"])
    path = tmp_path / "z.xlsx"
    wb.save(path)
    table = read_table(path.read_bytes(), "z.xlsx")
    cells = [(r.cells["diem"], r.cells["ghi_chu"]) for r in table.rows]
    assert [(str(a), str(b)) for a, b in cells] == [
        ("0", "731.61"),
        ("-0", "731.61"),
        ("0.5", "0.5"),
    ]
    assert isinstance(cells[2][0], Decimal) and isinstance(cells[2][1], str)


def test_collection_is_paused_while_reading_and_restored_after() -> None:
    import gc

    assert gc.isenabled()
    with collection.collection_paused():
        assert not gc.isenabled()
        with collection.collection_paused():  # a second reader in another thread
            assert not gc.isenabled()
        assert not gc.isenabled()  # the first is still reading
    assert gc.isenabled()
    gc.disable()
    try:  # a process that turned it off keeps it off
        with collection.collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(ReadProblem):
        read_table(b"", "x.csv")
    assert gc.isenabled()


_XML_PIECES = st.sampled_from(
    [
        b'<row r="1">',
        b"<row>",
        b"<row/>",
        b"<row\t",
        b"<rowBreaks>",
        b"<x:row ",
        b"<x:rowx>",
        b"<si>",
        b"<si/>",
        b"<x:si>",
        b"<sio>",
        b"<table:table-row ",
        b"<table:table-row>",
        b"<table:table-rows>",
        b'<c r="A1">',
        b'<c r="AB12" t="s">',
        b'<c r="a1">',
        b'<c r="A12345678">',
        b"<c>",
        b"<c/>",
        b"<col ",
        b"<cols>",
        b"<cfRule>",
        b"<c",
        b"<",
        b"row",
        b":row",
        b" ",
        b"</row>",
        b"x",
    ]
)


@given(st.lists(_XML_PIECES, max_size=40).map(b"".join))
def test_start_tags_and_cells_are_counted_as_the_patterns_count_them(part: bytes) -> None:
    # the literal search finds what each splitter's regex finds, first and last included
    for splitter in (reader_module._ROW_TAG, reader_module._SI_TAG, reader_module._ODS_ROW_TAG):
        starts = [m.start() for m in splitter.finditer(part)]
        expected = (len(starts), starts[0], starts[-1]) if starts else (0, -1, -1)
        assert reader_module._start_tags_of(splitter, part) == expected
    # one count of "<c" stands for the three only when it gives the same number
    references = len(reader_module._CELL_ROW.findall(part))
    cells = part.count(b"<c ") + part.count(b"<c>") + part.count(b"<c/")
    assert reader_module._cells_in(part, references) == cells


# Letters, Vietnamese marks as precomposed and as combining characters (in both orders),
# Hangul jamo that compose, quotes, spaces and the delimiter: the cells a CSV of any of
# these gives must be what cleaning each cell by itself gives.
_CELL_CHARS = (
    "aAeoyd đĐơư\u00e2\u1ec7"  # letters, precomposed
    "\u0301\u0300\u0309\u0303\u0323\u0302\u031b"  # tone and vowel marks, combining
    "\u1100\u1161\u11a8"  # Hangul jamo, which compose into one syllable
    "\"' ,\t"
)


@given(
    st.lists(
        st.lists(st.text(alphabet=_CELL_CHARS, max_size=8), min_size=1, max_size=4),
        min_size=1,
        max_size=6,
    ),
    st.booleans(),
)
def test_csv_cells_are_each_cell_cleaned_alone(rows: list[list[str]], as_nfc: bool) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    text = buffer.getvalue()
    if as_nfc:  # the whole file in NFC: the path that skips NFC a cell
        text = unicodedata.normalize("NFC", text)
    records = csv.reader(io.StringIO(text))
    expected = [[reader_module._clean(cell) for cell in record] for record in records]
    got = reader_module._csv_rows(text, ",", reader_module.Limits())
    assert [cells for _, cells in got] == expected


def _guarded_and_fed(text: str, cap: int) -> tuple[object, object] | None:
    """What the guarded feed and the C-speed feed make of `text`: the records, or
    the pending text of the _Overflow they raise. None: the fed path would not
    be taken (a line of `cap` characters or more)."""
    lines = reader_module._short_lines(text, cap, lone_cr=False)
    if lines is None:
        return None

    def run(records: Iterable[list[str]]) -> object:
        try:
            return list(records)
        except reader_module._Overflow as overflow:
            return ("overflow", overflow.pending)

    guarded = run(reader_module._records(text, ",", cap, lone_cr=False))
    fed = run(reader_module._fed_records(lines, ",", cap, text_ended=text.endswith("\n")))
    return guarded, fed


@given(
    st.text(alphabet='ab ,"\n', max_size=60).map(lambda t: t.replace("\n", "\r\n", 1)),
    st.integers(min_value=1, max_value=30),
)
def test_csv_fed_at_c_speed_reads_as_the_guarded_feed(text: str, cap: int) -> None:
    """Records over several lines (quoted line breaks), CRLF and LF, a last line
    with and without its line end, records over the budget and under it: the same
    records, or the same overflow, as the feed that checks every line."""
    both = _guarded_and_fed(text, cap)
    if both is not None:
        guarded, fed = both
        assert fed == guarded


def test_csv_fed_at_c_speed_measures_a_record_over_several_lines() -> None:
    # three short lines, one record of 5 + 4 + 5 characters (two quoted line breaks)
    text = 'a,"b\nc,d\ne",f\n'
    assert _guarded_and_fed(text, 9) == (("overflow", 'a,"b\nc,d\ne'),) * 2
    assert _guarded_and_fed(text, 14) == ([["a", "b\nc,d\ne", "f"]],) * 2
    assert _guarded_and_fed(text, 13) == (("overflow", text),) * 2
    # the same without the last line end: one character fewer to count
    assert _guarded_and_fed(text[:-1], 13) == ([["a", "b\nc,d\ne", "f"]],) * 2
    assert _guarded_and_fed(text[:-1], 12) == (("overflow", text[:-1]),) * 2
    # a line as long as the budget is read by the guarded feed
    assert _guarded_and_fed("a" * 9 + "\n", 9) is None


# The pieces a CSV score table is made of, for the test below: data rows and every
# kind of row that must leave _read_body's quick path for its full checks.
_BODY_LINES = st.sampled_from(
    [
        "{n},Sở Tài chính {n},{n}50.5,{n}",
        "{n},Sở Tài chính {n},,{n}",
        "{n},Sở Tài chính {n},không có,",
        "{n},,720,{n}",
        "{n},Sở Tài chính {n},720,{n},thừa",
        "{n},Sở Tài chính {n},720,{n},,,",
        "{n},Sở Tài chính {n},720",
        "{n},{long},720,{n}",
        "{long},Sở Tài chính {n},720,{n}",
        '{n},"Sở Tài\nchính {n}",720,{n}',
        "",
        ",,,",
        "I. Cơ quan, đơn vị có TTHC",
        ",Cơ quan, đơn vị không có TTHC,,",
        "Nơi nhận:",
        "KT. CHỦ TỊCH",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_BODY_LINES, min_size=1, max_size=14), st.sampled_from(["", "STT,"]))
def test_csv_quick_path_reads_as_the_full_checks(lines: list[str], stt: str) -> None:
    """_read_body keeps a plain CSV data row as its list without the row's dict
    and checks (the quick path): a table, or a refusal, exactly as the full
    checks of every row give it, whatever rows come between the data rows."""
    header = f"{stt}Tên cơ quan đơn vị,Tổng điểm,Xếp hạng"
    # each line's first cell is the STT column's: dropped for a table without one
    body = [line.format(n=n, long="x" * 501) for n, line in enumerate(lines, start=1)]
    if not stt:
        body = [line.split(",", 1)[-1] if "," in line else line for line in body]
    data = "\n".join(["Năm 2023", header, *body]).encode()

    def read() -> object:
        try:
            table = read_table(data, "ket-qua.csv")
        except ReadProblem as problem:
            return (problem.code, problem.params)
        return table

    quick = read()
    with mock.patch.object(reader_module, "_plain_width", lambda *_: 0):  # no quick path
        full = read()
    assert quick == full
