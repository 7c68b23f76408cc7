"""Score sheets as offices make them (issue 14), read from files LibreOffice wrote.

The fixtures in tests/fixtures/office/ were written by a real office program
(make_fixtures.py beside them says how, and regenerates them): the same
published results as .ods, .xls, .xlsx with formula totals, CSV in each
encoding, and the decision's annex layout with title rows, section rows and a
signature block. Hostile variants are made here from them, byte by byte.
"""

from __future__ import annotations

import io
import re
import shutil
import struct
import zipfile
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.answers import Answers
from bot.i18n import Translator
from bot.reply import to_plain
from bot.template import template_ods, template_xlsx
from bot.uploads import problem_lines, reader_message
from ranking.catalog import Catalog
from ranking.export import HEADERS, neutralise, to_csv
from ranking.importer import (
    Dataset,
    ImportFailed,
    Problem,
    parse_share,
    read_and_validate,
    sha256,
)
from ranking.layout import decision_in, is_footer, max_in_header, section_of, years_in_title
from ranking.publishing import load_shipped_data, publish
from ranking.queries import Rankings
from ranking.reader import PROBLEM_CODES, TEMPLATE_NAMES, Limits, ReadProblem, read_table
from ranking.store import Store

OFFICE = Path(__file__).resolve().parent / "fixtures" / "office"
INTERNAL_KEYS = ("nam", "nhom", "don_vi", "diem_toi_da", "can_cu", "so_don_vi", "ty_le", "hang")


def fixture(name: str) -> bytes:
    return (OFFICE / name).read_bytes()


def dataset(name: str, data: bytes | None = None) -> Dataset:
    from ranking.catalog import load_catalog

    return read_and_validate(fixture(name) if data is None else data, name, load_catalog())


def content(d: Dataset) -> list[Any]:
    """Everything a validated dataset says, except where in the file each row was."""
    return [
        (
            s.ranking,
            s.year,
            s.group_code,
            s.max_score,
            s.unit_count,
            s.band_scheme,
            s.source,
            [
                (
                    r.name,
                    r.name_key,
                    r.score,
                    r.rank,
                    r.rank_official,
                    r.published_level,
                    r.note,
                    r.share,
                    sorted(r.components.items()),
                    r.source,
                )
                for r in s.rows
            ],
        )
        for s in d.slices
    ]


# --------------------------------------------------------------------------- the same results

RESULTS_2022 = [
    ("ket-qua-2022.ods", "ods"),
    ("ket-qua-2022.xlsx", "xlsx"),
    ("ket-qua-2022.xls", "xls"),
    ("ket-qua-2022.csv", "csv"),
    ("ket-qua-2022-utf16.txt", "csv"),
    ("ket-qua-2022-phu-luc.ods", "ods"),
    ("ket-qua-2022-phu-luc.xlsx", "xlsx"),
    ("ket-qua-2022-phu-luc.xls", "xls"),
    ("ket-qua-2022-phu-luc-luu-lai.ods", "ods"),
    ("ket-qua-2022-luu-lai.xlsx", "xlsx"),
]


@pytest.mark.parametrize(("name", "kind"), RESULTS_2022)
def test_every_format_and_layout_gives_the_same_dataset(name: str, kind: str) -> None:
    assert read_table(fixture(name), name).kind == kind
    reference = dataset("ket-qua-2022.ods")
    got = dataset(name)
    assert content(got) == content(reference)
    assert got.content_digest == reference.content_digest
    assert got.rows == 19


def test_the_2022_values_are_the_published_ones() -> None:
    """Totals by =SUM, shares by =ROUND(…;4) as percent cells: the stored results."""
    d = dataset("ket-qua-2022.xls")
    by_group = {s.group_code: s for s in d.slices}
    assert [(s.max_score, s.unit_count) for s in by_group.values()] == [
        (Decimal(1000), 18),
        (Decimal(750), 22),
        (Decimal(1000), 9),
    ]
    tthc = by_group["tthc"].rows
    assert (tthc[0].name, tthc[0].score, tthc[0].rank, tthc[0].share) == (
        "Sở Giáo dục và Đào tạo",
        Decimal("625.3"),
        1,
        Decimal("62.53"),
    )
    last = tthc[-1]
    assert (last.name, last.score, last.rank, last.published_level) == (
        "Sở Du lịch",
        Decimal("235.4"),
        18,
        "Hoàn thành",
    )
    assert last.note and "Hoàn thành" in last.note
    assert last.components["Hạng theo điểm"] == 11  # =RANK over the listed rows
    office = by_group["khong-tthc"].rows[0]
    assert office.share == Decimal("57.16")  # =ROUND(428,67/750;4) shown as 57,16%
    assert all(r.source == "QĐ 791/QĐ-UBND ngày 11/4/2023" for s in d.slices for r in s.rows)
    # the IF column holds text: left out, and said so
    assert [f.params["header"] for f in d.facts if f.code == "fact_text_column"] == [
        "Mức theo điểm"
    ]


def test_windows_1258_csv_as_libreoffice_writes_it() -> None:
    """LibreOffice 7.4 writes a lowercase "ý" as y + combining GRAVE (0xCC) in
    Windows-1258 (uppercase "Ý" correctly as Y + 0xEC), so "Ban Quản lý" comes
    back as "Ban Quản lỳ". The reader decodes the code page as defined; the
    folded name (and so the unit) is the same, the spelling is what was sent."""
    data = fixture("ket-qua-2022-cp1258.csv")
    assert b"ly\xcc" in data and read_table(data, "x.csv").encoding == "cp1258"
    got = dataset("ket-qua-2022-cp1258.csv")
    sent = [r.name for s in got.slices for r in s.rows]
    assert "Ban Quản lỳ khu kinh tế" in sent and "Ban Quản lý khu kinh tế" not in sent
    fixed = [
        replace(s, rows=[replace(r, name=r.name.replace("lỳ", "lý")) for r in s.rows])
        for s in got.slices
    ]
    assert content(replace(got, slices=fixed)) == content(dataset("ket-qua-2022.ods"))


RESULTS_2023 = ["ket-qua-2023.ods", "ket-qua-2023.xlsx", "ket-qua-2023.xls", "ket-qua-2023.csv"]


@pytest.mark.parametrize("name", RESULTS_2023)
def test_2023_in_every_format_is_the_published_csv(name: str) -> None:
    want = dataset("laocai-cds-2023.csv")
    got = dataset(name)
    assert content(got) == content(want)
    assert got.content_digest == want.content_digest
    rows = got.slices[0].rows
    assert [(r.rank, r.score, r.share) for r in rows] == [
        (1, Decimal("731.61"), Decimal("73.16")),
        (2, None, Decimal("71.77")),
        (3, None, Decimal("70.84")),
        (18, None, None),
    ]


def test_percent_cells_say_they_were_fractions() -> None:
    facts = [f.code for f in dataset("ket-qua-2023.xlsx").facts]
    assert facts == ["fact_share_fraction"]
    assert dataset("laocai-cds-2023.csv").facts == []  # "73,16": a percent as written


async def answers_for(data: bytes, name: str, store: Store, catalog: Catalog) -> list[str]:
    await load_shipped_data(store, catalog)
    await publish(store, catalog, data, name, uploaded_by=1)
    answers = Answers(Rankings(store, catalog))
    replies = []
    for question in ("/top 5 tthc 2023", "/donvi so lao dong"):
        reply = await answers.to_text(question, lang="vi")
        assert reply is not None
        replies.append(to_plain(reply.text))
    return replies


async def test_the_bot_answers_the_same_from_every_2023_file(
    tmp_path: Path, catalog: Catalog
) -> None:
    seen = []
    for i, name in enumerate(["laocai-cds-2023.csv", *RESULTS_2023]):
        store = await Store.open(tmp_path / f"{i}.sqlite3")
        try:
            seen.append(await answers_for(fixture(name), name, store, catalog))
        finally:
            await store.close()
    assert all(replies == seen[0] for replies in seen)
    top, unit = seen[0]
    assert "Sở Lao động - Thương binh và Xã hội — 731,61" in top
    assert "2023" in unit and "731,61" in unit


# --------------------------------------------------------------------------- the annex layout


def test_the_annex_layout_states_what_it_read() -> None:
    d = dataset("ket-qua-2022-phu-luc.ods")
    facts = [(f.code, f.row, f.column, f.params) for f in d.facts]
    assert [f[:3] for f in facts[:7]] == [
        ("fact_year", 2, None),
        ("fact_source", 3, None),
        ("fact_text_column", 5, "C"),  # row, then column
        ("fact_header_max", 5, "F"),
        ("fact_share_fraction", 5, "G"),
        ("fact_text_column", 5, "L"),
        ("fact_section", 6, None),
    ]
    assert facts[6:9] == [
        (
            "fact_section",
            6,
            None,
            {
                "text": "I. Cơ quan, đơn vị có thủ tục hành chính (18 đơn vị)",
                "group": "Cơ quan, đơn vị có thủ tục hành chính",
            },
        ),
        (
            "fact_section_count",
            6,
            None,
            {"group": "Cơ quan, đơn vị có thủ tục hành chính", "count": 18},
        ),
        (
            "fact_section",
            18,
            None,
            {
                "text": "II. Cơ quan, đơn vị không có thủ tục hành chính (22 đơn vị, thang điểm"
                " 750)",
                "group": "Cơ quan, đơn vị không có thủ tục hành chính",
            },
        ),
    ]
    codes = {f.code: f for f in d.facts}
    assert codes["fact_year"].params["year"] == 2022 and codes["fact_year"].row == 2
    assert codes["fact_source"].params["source"] == "QĐ 791/QĐ-UBND ngày 11/4/2023"
    assert codes["fact_header_max"].params["max"] == Decimal(1000)
    assert codes["fact_header_max"].column == "F"
    assert codes["fact_section_max"].params["max"] == Decimal(750)
    assert {f.params["header"] for f in d.facts if f.code == "fact_text_column"} == {
        "Cơ quan chủ quản",
        "Mức theo điểm",
    }
    # and the preview says each, in words
    lines = problem_lines(d.facts, Translator("vi"))
    assert any("năm 2022" in line and "dòng 2" in line for line in lines)
    assert any("1.000" in line and "cột F" in line for line in lines)


def test_a_signature_block_ends_the_table_and_is_counted() -> None:
    for ext in ("ods", "xlsx", "xls"):
        name = f"ket-qua-2022-phu-luc.{ext}"
        table = read_table(fixture(name), name)
        assert (table.ignored_below, table.ignored_from, table.ignored_text) == (
            3,
            29,
            "Nơi nhận:",
        )
        d = dataset(name)
        assert d.ignored_below == 3
        (fact,) = [f for f in d.facts if f.code == "fact_ignored_below"]
        assert (fact.row, fact.params["count"]) == (29, 3)
        line = problem_lines([fact], Translator("vi"))[0]
        assert "dòng 29" in line and "3 dòng" in line and "Nơi nhận:" in line


def annex_csv(*, title: bool = True, decision: bool = True, sections: bool = True) -> bytes:
    lines = ["UBND TỈNH LÀO CAI;;;"]
    if title:
        lines.append("KẾT QUẢ XẾP HẠNG CHUYỂN ĐỔI SỐ NĂM 2023;;;")
    if decision:
        lines.append("(Kèm theo Quyết định số 684/QĐ-UBND ngày 03 tháng 4 năm 2024);;;")
    lines.append("STT;Tên cơ quan, đơn vị;Tổng điểm;Xếp hạng")
    if sections:
        lines.append("I;Cơ quan, đơn vị có thủ tục hành chính (thang điểm 1.000);;")
    lines += ["1;Sở A;731,61;1", "2;Sở B;700;2", "", "", "Người lập biểu;;;"]
    return "\n".join(lines).encode()


def test_annex_in_csv_with_a_word_date_and_a_section_maximum(catalog: Catalog) -> None:
    d = read_and_validate(annex_csv(), "phu-luc.csv", catalog)
    (s,) = d.slices
    assert (s.year, s.group_code, s.max_score, s.source) == (
        2023,
        "tthc",
        Decimal(1000),
        "QĐ 684/QĐ-UBND ngày 03/4/2024",
    )
    assert [(r.name, r.score) for r in s.rows] == [
        ("Sở A", Decimal("731.61")),
        ("Sở B", Decimal("700")),
    ]
    assert d.ignored_below == 1


@pytest.mark.parametrize(
    ("kwargs", "code", "column", "where"),
    [
        ({"title": False}, "missing_year", "Năm", "NĂM 2023"),
        ({"decision": False}, "missing_source", "Căn cứ", "Quyết định số"),
        ({"sections": False}, "missing_group", "Nhóm", "I. Cơ quan"),
    ],
)
def test_what_is_in_neither_place_is_asked_for_with_where(
    catalog: Catalog, kwargs: dict[str, bool], code: str, column: str, where: str
) -> None:
    with pytest.raises(ImportFailed) as caught:
        read_and_validate(annex_csv(**kwargs), "phu-luc.csv", catalog)
    codes = [p.code for p in caught.value.problems]
    assert code in codes
    (p,) = [p for p in caught.value.problems if p.code == code]
    assert p.params["column"] == column
    for lang in ("vi", "en"):
        text = problem_lines([p], Translator(lang))[0]
        assert f"«{column}»" in text and where in text


def test_a_maximum_nowhere_is_asked_for(catalog: Catalog) -> None:
    data = annex_csv().replace(" (thang điểm 1.000)".encode(), b"")
    with pytest.raises(ImportFailed) as caught:
        read_and_validate(data, "phu-luc.csv", catalog)
    (p,) = caught.value.problems
    assert (p.code, p.params["column"], p.params["score_column"]) == (
        "missing_max",
        "Điểm tối đa",
        "Tổng điểm",
    )


def test_rows_before_any_section_are_named(catalog: Catalog) -> None:
    data = annex_csv().replace(
        "I;Cơ quan".encode(), "1;Sở Z;500;3\nI;Cơ quan".encode()
    )  # a unit above the first section row
    with pytest.raises(ImportFailed) as caught:
        read_and_validate(data, "phu-luc.csv", catalog)
    (p,) = caught.value.problems
    assert (p.code, p.row, p.column, p.params["count"]) == ("no_section", 5, "B", 1)


def test_title_with_two_years_asks_for_the_column(catalog: Catalog) -> None:
    data = (
        annex_csv()
        .replace(b"NAM 2023", b"")
        .replace("NĂM 2023".encode(), "NĂM 2022 VÀ NĂM 2023".encode())
    )
    with pytest.raises(ImportFailed) as caught:
        read_and_validate(data, "phu-luc.csv", catalog)
    assert [(p.code, p.params["years"]) for p in caught.value.problems] == [
        ("title_years", "2022, 2023")
    ]


def test_layout_text_rules() -> None:
    assert max_in_header("Tổng điểm (tối đa 1.000)") == ("Tổng điểm", "1.000")
    assert max_in_header("Tổng điểm (thang điểm 800 điểm)") == ("Tổng điểm", "800")
    assert max_in_header("Tổng điểm (1000)") is None  # brackets alone say nothing certain
    s = section_of("II - Cơ quan, đơn vị không có TTHC (22 đơn vị, thang điểm 800)")
    assert (s.label, s.max_text, s.unit_count) == ("co quan don vi khong co tthc", "800", 22)
    assert section_of("Nhóm 3: Huyện, thị xã, thành phố").label == "huyen thi xa thanh pho"
    assert years_in_title("KẾT QUẢ XẾP HẠNG CĐS NĂM 2023") == [2023]
    assert years_in_title("(Kèm theo Quyết định số 684/QĐ-UBND ngày 03 tháng 4 năm 2024)") == []
    assert years_in_title("Lào Cai, ngày 03 tháng 4 năm 2024") == []
    d = decision_in("(Kèm theo Quyết định số 684 / QĐ-UBND ngày 3/4/2024 của UBND tỉnh)")
    assert d is not None and d.source == "QĐ 684/QĐ-UBND ngày 3/4/2024"
    assert decision_in("KẾT QUẢ XẾP HẠNG NĂM 2023") is None
    for footer in ("Nơi nhận:", "KT. CHỦ TỊCH", "TM. ỦY BAN NHÂN DÂN", "Người lập biểu"):
        assert is_footer(footer), footer
    assert is_footer("Lào Cai, ngày 03 tháng 4 năm 2024")
    for unit in ("Sở Y tế", "Văn phòng UBND tỉnh", "Huyện Bắc Hà", "Ban Dân tộc"):
        assert not is_footer(unit), unit


# --------------------------------------------------------------------------- identical content


def test_a_resaved_copy_has_new_bytes_and_the_same_content_digest() -> None:
    for first, again in (
        ("ket-qua-2022-phu-luc.ods", "ket-qua-2022-phu-luc-luu-lai.ods"),
        ("ket-qua-2022.xlsx", "ket-qua-2022-luu-lai.xlsx"),
    ):
        assert sha256(fixture(first)) != sha256(fixture(again))
        assert dataset(first).content_digest == dataset(again).content_digest


def test_the_digest_changes_with_the_content(catalog: Catalog) -> None:
    base = dataset("laocai-cds-2023.csv").content_digest
    text = fixture("laocai-cds-2023.csv").decode()
    for old, new in (("731,61", "731,62"), ("Sở Y tế", "Sở Y Tế"), (";2;Sở", ";4;Sở")):
        changed = read_and_validate(text.replace(old, new, 1).encode(), "x.csv", catalog)
        assert changed.content_digest != base, old
    # spelling of numbers and the order of columns and rows do not count
    respelled = text.replace("731,61", "731,610").replace("1.000", "1000")
    assert read_and_validate(respelled.encode(), "x.csv", catalog).content_digest == base
    header, *rows = text.strip().split("\n")
    swapped = "\n".join([header, *reversed(rows)])
    assert read_and_validate(swapped.encode(), "x.csv", catalog).content_digest == base


# --------------------------------------------------------------------------- formulas


def formula_workbook() -> bytes:
    """Written by openpyxl, which never calculates: formulas with no stored value."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["KẾT QUẢ NĂM 2023"])
    ws.append(["Năm", "Nhóm", "Tên cơ quan, đơn vị", "A", "B", "Tổng điểm", "Xếp hạng"])
    for i in range(3, 7):
        ws.append([2023, "tthc", f"Sở {i}", 300, 200, f"=SUM(D{i}:E{i})", f"=RANK(F{i},F$3:F$6)"])
    ws.append([2023, "tthc", "Sở 7", 300, 200, 500, "=RANK(F7,F$3:F$7)"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_formulas_never_calculated_are_listed_every_one() -> None:
    with pytest.raises(ReadProblem) as caught:
        read_table(formula_workbook(), "x.xlsx")
    p = caught.value
    assert p.code == "formula"
    assert p.params["count"] == 9
    assert p.params["cells"] == "«Tổng điểm» (F3–F6); «Xếp hạng» (G3–G7)"
    assert (p.params["cell"], p.params["sheet"]) == ("F3", "Sheet")
    text = reader_message(p, Translator("vi"))
    assert "9 ô" in text and "F3–F6" in text and "«Xếp hạng»" in text


def with_part(data: bytes, name: str, edit: Callable[[bytes], bytes]) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info)
            if info.filename == name:
                body = edit(body)
            method = zipfile.ZIP_STORED if info.filename == "mimetype" else zipfile.ZIP_DEFLATED
            target.writestr(info.filename, body, method)
    return out.getvalue()


def test_error_results_are_named_with_their_error() -> None:
    def div0(xml: bytes) -> bytes:
        # the total of the first unit as LibreOffice writes a =1/0 result
        return re.sub(
            rb'<c r="I2"([^>]*)t="n"><f([^>]*)>([^<]*)</f><v>[^<]*</v></c>',
            rb'<c r="I2"\1t="e"><f\2>1/0</f><v>#DIV/0!</v></c>',
            xml,
            count=1,
        )

    data = with_part(fixture("ket-qua-2022.xlsx"), "xl/worksheets/sheet1.xml", div0)
    with pytest.raises(ReadProblem) as caught:
        read_table(data, "x.xlsx")
    assert caught.value.code == "formula_error"
    assert caught.value.params["cells"] == "«Tổng điểm» (I2 #DIV/0!)"

    def ods_error(xml: bytes) -> bytes:
        return xml.replace(
            b'office:value-type="float" office:value="731.61" calcext:value-type="float">'
            b"<text:p>731,61</text:p>",
            b'office:value-type="string" office:string-value="" calcext:value-type="error">'
            b"<text:p>#VALUE!</text:p>",
            1,
        )

    ods = with_part(fixture("ket-qua-2023.ods"), "content.xml", ods_error)
    assert ods != fixture("ket-qua-2023.ods")
    with pytest.raises(ReadProblem) as caught:
        read_table(ods, "x.ods")
    assert caught.value.params["cells"] == "«Tổng điểm» (F2 #VALUE!)"


# --------------------------------------------------------------------------- bounds before parsing


def ods_with(extra_rows: bytes) -> bytes:
    def add(xml: bytes) -> bytes:
        return xml.replace(b"</table:table>", extra_rows + b"</table:table>", 1)

    return with_part(fixture("ket-qua-2023.ods"), "content.xml", add)


CELL = b'<table:table-cell office:value-type="string"><text:p>x</text:p></table:table-cell>'


@pytest.mark.parametrize(
    ("rows", "code"),
    [
        # one row element, a million rows of data: calamine would expand it
        (b'<table:table-row table:number-rows-repeated="1000000">' + CELL, "too_many_rows"),
        (
            b'<table:table-row><table:table-cell table:number-columns-repeated="16000"'
            b' office:value-type="float" office:value="1"/>',
            "too_many_columns",
        ),
        (
            b'<table:table-row><table:table-cell office:value-type="string"><text:p>'
            b'<text:s text:c="2000000000"/></text:p></table:table-cell>',
            "cell_too_long",
        ),
    ],
)
def test_ods_repeats_are_bounded_before_calamine(rows: bytes, code: str) -> None:
    data = ods_with(rows + b"</table:table-row>")
    with pytest.raises(ReadProblem) as caught:
        read_table(data, "x.ods")
    assert caught.value.code == code


def test_ods_empty_repeats_cost_nothing() -> None:
    """LibreOffice ends every sheet with a million empty rows as one element."""
    rows = (
        b'<table:table-row table:number-rows-repeated="1048000">'
        b'<table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
    )
    assert len(read_table(ods_with(rows), "x.ods").rows) == 4


def test_ods_dtd_is_refused() -> None:
    def dtd(xml: bytes) -> bytes:
        return xml.replace(b"?>", b'?><!DOCTYPE x [<!ENTITY a "aaaa">]>', 1)

    data = with_part(fixture("ket-qua-2023.ods"), "content.xml", dtd)
    with pytest.raises(ReadProblem) as caught:
        read_table(data, "x.ods")
    assert (caught.value.code, caught.value.params["kind"]) == ("xml_bomb", "ODS")


def test_xlsx_sparse_cells_far_apart_are_refused_before_calamine() -> None:
    """A value at A1 and one at CW1000000 would be a dense rectangle of 10^8 cells."""
    for ref, code in (("CW5", "too_many_columns"), ("B1000000", "too_many_rows")):

        def far(xml: bytes, ref: bytes = ref.encode()) -> bytes:
            row = ref.lstrip(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")
            cell = b'<row r="' + row + b'"><c r="' + ref + b'" t="n"><v>1</v></c></row>'
            return xml.replace(b"</sheetData>", cell + b"</sheetData>", 1)

        data = with_part(fixture("ket-qua-2023.xlsx"), "xl/worksheets/sheet1.xml", far)
        with pytest.raises(ReadProblem) as caught:
            read_table(data, "x.xlsx")
        assert (caught.value.code, caught.value.params["sheet"]) == (code, "2023"), ref
    # the product of both, each within bounds: too many cells
    limits = Limits(max_cells=100)
    with pytest.raises(ReadProblem) as caught:
        read_table(fixture("ket-qua-2022.xlsx"), "x.xlsx", limits=limits)
    assert caught.value.code == "too_many_rows"


def xls_records(stream: bytes) -> list[tuple[int, int, int]]:
    """(offset, type, size) of every BIFF record."""
    out, pos = [], 0
    while pos + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, pos)
        out.append((pos, kind, size))
        pos += 4 + size
    return out


def patched_xls(tmp_path: Path, edit: Callable[[bytearray], None]) -> bytes:
    import olefile

    path = tmp_path / "x.xls"
    shutil.copy(OFFICE / "ket-qua-2023.xls", path)
    with olefile.OleFileIO(str(path), write_mode=True) as ole:
        stream = bytearray(ole.openstream("Workbook").read())
        edit(stream)
        ole.write_stream("Workbook", bytes(stream))
    return path.read_bytes()


def first_record(stream: bytearray, kind: int, after: int = 0) -> tuple[int, int]:
    return next(
        (pos, size) for pos, k, size in xls_records(bytes(stream)) if k == kind and pos > after
    )


def test_xls_cells_and_dimensions_are_bounded_and_a_password_is_seen(tmp_path: Path) -> None:
    def far_column(stream: bytearray) -> None:
        pos, _ = first_record(stream, 0x0203)  # NUMBER: row, col, xf, value
        struct.pack_into("<H", stream, pos + 6, 200)

    def huge_dimensions(stream: bytearray) -> None:
        pos, size = first_record(stream, 0x0200)
        assert size == 14
        struct.pack_into("<II", stream, pos + 4, 0, 0xFFFF_FFF0)

    def password(stream: bytearray) -> None:
        pos, size = first_record(stream, 0x0042)  # CODEPAGE, in the globals
        struct.pack_into("<HH", stream, pos, 0x002F, size)  # now FILEPASS
        struct.pack_into("<H", stream, pos + 4, 1)

    for edit, code in (
        (far_column, "too_many_columns"),
        (huge_dimensions, "not_xls"),
        (password, "encrypted"),
    ):
        with pytest.raises(ReadProblem) as caught:
            read_table(patched_xls(tmp_path, edit), "x.xls")
        assert caught.value.code == code, edit.__name__


def test_xls_header_fields_are_checked_before_any_parser() -> None:
    data = bytearray(fixture("ket-qua-2023.xls"))
    struct.pack_into("<I", data, 0x2C, 0xFFFF_FFFF)  # FAT sector count
    with pytest.raises(ReadProblem) as caught:
        read_table(bytes(data), "x.xls")
    assert caught.value.code == "not_xls"


# --------------------------------------------------------------------------- columns and shares


@pytest.mark.parametrize(
    ("written", "share"),
    [
        ("71,77 %", "71.77"),
        ("71,77", "71.77"),
        ("73,16%", "73.16"),
        ("0,7177", "71.77"),
        ("100 %", "100"),
        ("0,5 %", "0.5"),  # written with "%": as written
    ],
)
def test_share_in_every_form(written: str, share: str) -> None:
    value, _ = parse_share(written, ",")
    assert value == Decimal(share)
    assert parse_share(Decimal("0.7177"), ",") == (Decimal("71.77"), True)
    assert parse_share(Decimal("73.16"), ",") == (Decimal("73.16"), False)


CSV_HEADER = "Năm;Nhóm;Xếp hạng;Tên cơ quan, đơn vị;Tổng điểm;Điểm tối đa;Số đơn vị;Căn cứ"
SOURCE = "QĐ 1/QĐ-UBND ngày 1/3/2024"


def csv_rows(*rows: str, header: str = CSV_HEADER) -> bytes:
    return "\n".join([header, *rows]).encode()


def test_text_columns_are_left_out_and_said_so(catalog: Catalog) -> None:
    header = CSV_HEADER + ";Cơ quan chủ quản;Điểm A;Tỷ lệ (%)"
    data = csv_rows(
        f"2023;huyen;1;A;500;1.000;2;{SOURCE};UBND tỉnh;250;50 %",
        f"2023;huyen;2;B;400;1.000;2;{SOURCE};Sở, ngành;200;40",
        header=header,
    )
    d = read_and_validate(data, "x.csv", catalog)
    rows = d.slices[0].rows
    # the share is kept as the row's own field (schema 5), not as a component
    assert rows[0].components == {"Điểm A": Decimal(250)} and rows[0].share == Decimal(50)
    assert [r.share for r in rows] == [Decimal(50), Decimal(40)]
    (fact,) = d.facts
    assert (fact.code, fact.column, fact.params["header"]) == (
        "fact_text_column",
        "I",
        "Cơ quan chủ quản",
    )


def test_warnings_for_what_looks_wrong_but_may_be_true(catalog: Catalog) -> None:
    data = csv_rows(
        f"2023;huyen;1;A;700;1.000;9;{SOURCE}",
        f"2023;huyen;2;B;690;1.000;9;{SOURCE}",
        f"2023;huyen;2;C;695;1.000;9;{SOURCE}",  # a tie between unequal scores
        f"2023;huyen;4;=SUM(1,2);710;1.000;9;{SOURCE}",  # ranked below lower scores
    )
    d = read_and_validate(data, "x.csv", catalog)
    warnings = [(w.code, w.row, w.column) for w in d.warnings]
    assert warnings == [
        ("group_incomplete", 2, "G"),
        ("tie_unequal_scores", 4, "C"),
        ("rank_contradicts_score", 5, "C"),
        ("name_looks_like_formula", 5, "D"),
    ]
    lines = problem_lines(d.warnings, Translator("vi"))
    assert "4 trong 9" in lines[0]
    assert "«C» (695 điểm) cùng hạng 2 với «B» (690 điểm)" in lines[1]
    assert "hạng 4 có điểm 710" in lines[2]
    assert "=SUM(1,2)" in lines[3]
    # what is kept is what the source says; an export cannot run the name
    names = [r.name for r in d.slices[0].rows]
    assert "=SUM(1,2)" in names
    exported = to_csv(list(HEADERS), [[None, None, None, None, "=SUM(1,2)"]]).decode("utf-8-sig")
    assert "'=SUM(1,2)" in exported and neutralise("=SUM(1,2)") == "'=SUM(1,2)"


# --------------------------------------------------------------------------- messages


def refusals(catalog: Catalog) -> list[Problem]:
    cases = [
        csv_rows(f"hai nghìn;huyen;1;A;500;1.000;9;{SOURCE}"),
        csv_rows(f";huyen;1;A;500;1.000;9;{SOURCE}"),
        csv_rows(f"2023;;1;A;500;1.000;9;{SOURCE}"),
        csv_rows(f"2023;huyen;1;;500;1.000;9;{SOURCE}"),
        csv_rows(f"2023;huyen;1;A;500;;9;{SOURCE}"),
        csv_rows("2023;huyen;1;A;500;1.000;9;"),
        csv_rows(f"2023;huyen;một;A;500;1.000;9;{SOURCE}"),
        csv_rows(f"2023;huyen;1;A;năm trăm;1.000;9;{SOURCE}"),
        csv_rows(f"2023;huyen;1;A;500;1.000;chín;{SOURCE}"),
        "Đơn vị;Điểm\nA;5\n".encode(),
        "Đơn vị;Hạng\nA;1\n".encode(),
    ]
    problems = []
    for data in cases:
        with pytest.raises(ImportFailed) as caught:
            read_and_validate(data, "bad.csv", catalog)
        problems += caught.value.problems
    return problems


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_refusal_names_columns_as_the_template_does(catalog: Catalog, lang: str) -> None:
    problems = refusals(catalog)
    t = Translator(lang)
    lines = problem_lines(problems, t, limit=len(problems))
    quotes = ("«{}»", "“{}”")  # Vietnamese and English quotes
    for line in lines:
        for key in INTERNAL_KEYS:
            assert not any(q.format(key) in line for q in quotes), line
    text = "\n".join(lines)
    for key in ("nam", "nhom", "don_vi", "diem_toi_da", "can_cu"):
        assert any(q.format(TEMPLATE_NAMES[key]) in text for q in quotes), key
    # (the share and a reorganisation file's columns are not columns of a score export)
    lineage = {"tu_ngay", "don_vi_moi", "don_vi_cu"}
    assert {TEMPLATE_NAMES[k] for k in TEMPLATE_NAMES if k not in {"ty_le", *lineage}} == set(
        HEADERS
    )


def test_hints_fit_the_column(catalog: Catalog) -> None:
    t = Translator("vi")
    with pytest.raises(ImportFailed) as caught:
        read_and_validate(csv_rows(f"hai nghìn;huyen;1;A;500;1.000;9;{SOURCE}"), "x.csv", catalog)
    (line,) = problem_lines(caught.value.problems, t)
    assert "năm" in line and "2023" in line and "731" not in line
    with pytest.raises(ImportFailed) as caught:
        read_and_validate(csv_rows(f"2023;huyen;1;A;1200;1.000;9;{SOURCE}"), "x.csv", catalog)
    (line,) = problem_lines(caught.value.problems, t)
    assert "1.200" in line and "1.000" in line  # numbers written the Vietnamese way


def test_problems_come_sorted_by_row_with_their_column(catalog: Catalog) -> None:
    data = csv_rows(
        f"2023;huyen;1;A;abc;1.000;9;{SOURCE}",
        "2023;huyen;2;B;-5;1.000;9;",
        f"19;huyen;3;C;1200;1.000;9;{SOURCE}",
    )
    with pytest.raises(ImportFailed) as caught:
        read_and_validate(data, "x.csv", catalog)
    where = [(p.row, p.column) for p in caught.value.problems]
    assert where == sorted(where, key=lambda w: (w[0] or 0, w[1] or ""))
    assert all(p.column for p in caught.value.problems)
    lines = problem_lines(caught.value.problems * 10, Translator("vi"))
    assert len(lines) == 21 and "lỗi khác" in lines[-1]


def test_a_cell_read_before_is_checked_again_on_every_row(catalog: Catalog) -> None:
    # validation keeps the cells it read without a problem; one with a problem is
    # reported on each of its rows, and a good one seen again reads the same
    data = csv_rows(
        f"2023;huyen;1;A;500;1.000;9;{SOURCE}",
        f"2023;huyen;0;B;400;1.000;9;{SOURCE}",
        f"2023;huyen;0;C;300;1.000;9;{SOURCE}",
        f"2023;huyen;1,5;D;200;1.000;9;{SOURCE}",
        f"2023;huyen;1,5;E;100;1.000;9;{SOURCE}",
        f"2023;huyen;5;F;90;;9;{SOURCE}",
        f"2023;huyen;6;G;80;;9;{SOURCE}",
    )
    with pytest.raises(ImportFailed) as caught:
        read_and_validate(data, "x.csv", catalog)
    assert [(p.code, p.row, p.column) for p in caught.value.problems] == [
        *[
            (code, row, "C")
            for row in (3, 4, 5, 6)
            for code in ("not_a_positive_integer", "rank_needed")
        ],
        ("empty_cell", 7, "F"),
        ("empty_cell", 8, "F"),
    ]
    good = read_and_validate(
        csv_rows(f"2023;huyen;1;A;500;1.000;2;{SOURCE}", f"2023;huyen;2;B;400;1.000;2;{SOURCE}"),
        "x.csv",
        catalog,
    )
    (s,) = good.slices
    assert (s.year, s.max_score, s.unit_count, [r.rank for r in s.rows]) == (
        2023,
        Decimal(1000),
        2,
        [1, 2],
    )


def test_a_group_with_two_maxima_or_counts_is_refused_with_both(catalog: Catalog) -> None:
    # the rows of a group share one maximum and one unit count (as one cell read
    # once, or as equal numbers spelled alike); two are named, in order
    for rows, key, values in (
        ([("1.000", "9"), ("1.000", "9"), ("800", "9")], "diem_toi_da", "1000 / 800"),
        ([("1.000", "9"), ("1000", "12"), ("1.000", "9")], "so_don_vi", "12 / 9"),
    ):
        lines = [
            f"2023;huyen;{rank};Đơn vị {rank};{500 - rank};{top};{count};{SOURCE}"
            for rank, (top, count) in enumerate(rows, start=1)
        ]
        with pytest.raises(ImportFailed) as caught:
            read_and_validate(csv_rows(*lines), "x.csv", catalog)
        (problem,) = caught.value.problems
        assert (problem.code, problem.row, problem.params["values"]) == (
            "inconsistent_in_group",
            4,
            values,
        )
        assert problem.column == {"diem_toi_da": "F", "so_don_vi": "G"}[key]
    same = [
        f"2023;huyen;{r};Đơn vị {r};{500 - r};{t};9;{SOURCE}"
        for r, t in ((1, "1.000"), (2, "1000"))
    ]
    (s,) = read_and_validate(csv_rows(*same), "x.csv", catalog).slices
    assert s.max_score == Decimal(1000)


def test_a_ranking_and_group_read_before_are_read_again_the_same(catalog: Catalog) -> None:
    # validation keeps the (ranking, group) texts it placed without a problem; an
    # unknown ranking is reported on each of its rows, a new group once
    header = "Bảng xếp hạng;" + CSV_HEADER
    rows = [
        ("cds", "huyen", "A"),
        ("xyz", "huyen", "B"),
        ("CDS", "Huyện, thị xã, thành phố", "C"),
        ("cds", "huyen", "D"),
        ("xyz", "huyen", "E"),
        ("", "Nhóm mới", "F"),
        ("cds", "Nhóm mới", "G"),
        ("", "huyen", "H"),
    ]
    lines = [
        f"{bang};2023;{nhom};{rank};{unit};{900 - rank};1.000;9;{SOURCE}"
        for rank, (bang, nhom, unit) in enumerate(rows, start=1)
    ]
    with pytest.raises(ImportFailed) as caught:
        read_and_validate(csv_rows(*lines, header=header), "x.csv", catalog)
    assert [(p.code, p.row, p.column) for p in caught.value.problems] == [
        ("unknown_ranking", 3, "A"),
        ("unknown_ranking", 6, "A"),
    ]
    kept = [line for line in lines if not line.startswith("xyz")]
    dataset = read_and_validate(csv_rows(*kept, header=header), "x.csv", catalog)
    placed = {(s.group_code, r.name) for s in dataset.slices for r in s.rows}
    new = [g.code for g in dataset.new_groups]
    assert placed == {
        *[("huyen", unit) for unit in "ACDH"],
        *[(code, unit) for unit in "FG" for code in new],
    }
    assert len(new) == 1
    assert [f.code for f in dataset.facts if f.code.startswith("fact_new_group")] == [
        "fact_new_group_close"
    ]


# --------------------------------------------------------------------------- the template


def test_the_template_comes_as_ods_too_and_reads_back(catalog: Catalog) -> None:
    t = Translator("vi")
    ods = template_ods(t)
    assert ods[30:38] == b"mimetype" and b"opendocument.spreadsheet" in ods[:100]
    table = read_table(ods, "mau.ods")
    assert (table.kind, table.sheet) == ("ods", "Xep hang")
    assert list(table.columns.values()) == list(HEADERS)
    from_ods = read_and_validate(ods, "mau.ods", catalog)
    from_xlsx = read_and_validate(template_xlsx(t), "mau.xlsx", catalog)
    assert content(from_ods) == content(from_xlsx)
    assert from_ods.content_digest == from_xlsx.content_digest


def test_a_nul_byte_deep_in_a_part_is_refused() -> None:
    """Binary parts are recognised by a NUL in their first bytes only: a NUL
    further into an XML part is damage, never a reason to skip the part."""

    def nul(xml: bytes) -> bytes:
        padding = b"<!--" + b" " * 200_000 + b"-->"
        return xml.replace(b"</sheetData>", b"</sheetData>" + padding + b"\x00", 1)

    data = with_part(fixture("ket-qua-2023.xlsx"), "xl/worksheets/sheet1.xml", nul)
    with pytest.raises(ReadProblem) as caught:
        read_table(data, "x.xlsx")
    assert (caught.value.code, "UTF-8" in str(caught.value.params["detail"])) == ("not_xlsx", True)


PARTS = [
    ("ket-qua-2023.ods", "content.xml"),
    ("ket-qua-2022-phu-luc.xlsx", "xl/worksheets/sheet1.xml"),
    ("ket-qua-2022-phu-luc.xlsx", "xl/sharedStrings.xml"),
]


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(PARTS),
    st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.binary(max_size=8)), max_size=6),
)
def test_damaged_xml_inside_a_valid_zip_is_read_or_refused(
    part: tuple[str, str], edits: list[tuple[float, bytes]]
) -> None:
    """Past the zip's CRCs: calamine itself gets the damaged XML, and the answer
    is a table or a ReadProblem, never a crash."""
    name, inner = part

    def damage(xml: bytes) -> bytes:
        out = bytearray(xml)
        for where, chunk in edits:
            at = int(where * len(out))
            out[at : at + len(chunk)] = chunk
        return bytes(out)

    data = with_part(fixture(name), inner, damage)
    try:
        read_table(data, name)
    except ReadProblem as problem:
        assert problem.code in PROBLEM_CODES


def test_a_password_protected_ods_is_named_so() -> None:
    def protect(xml: bytes) -> bytes:
        return xml.replace(
            b'manifest:full-path="content.xml" manifest:media-type="text/xml"/>',
            b'manifest:full-path="content.xml" manifest:media-type="text/xml">'
            b'<manifest:encryption-data manifest:checksum-type="SHA1/1K"/></manifest:file-entry>',
            1,
        )

    data = with_part(fixture("ket-qua-2023.ods"), "META-INF/manifest.xml", protect)
    assert b"encryption-data" in zipfile.ZipFile(io.BytesIO(data)).read("META-INF/manifest.xml")
    with pytest.raises(ReadProblem) as caught:
        read_table(data, "x.ods")
    assert caught.value.code == "encrypted"


def test_column_numbering_and_a_second_header_row_belong_to_the_header(
    catalog: Catalog,
) -> None:
    """Official tables number their columns under the header, and merge a group
    header ("Điểm thành phần") over its sub-columns, named in a second row."""
    rows = [
        "KẾT QUẢ XẾP HẠNG NĂM 2023;;;;;",
        "(Kèm theo Quyết định số 684/QĐ-UBND ngày 03/4/2024);;;;;",
        "STT;Tên cơ quan, đơn vị;Điểm thành phần;;Tổng điểm (tối đa 1.000);Xếp hạng",
        ";;Hạ tầng số;Nhân lực số;;",
        "(1);(2);(3);(4);(5);(6)",
        "I;Cơ quan, đơn vị có thủ tục hành chính;;;;",
        "1;Sở A;400,5;331,11;731,61;1",
        "2;Sở B;300;400;700;2",
    ]
    d = read_and_validate("\n".join(rows).encode(), "phu-luc.csv", catalog)
    (s,) = d.slices
    assert s.rows[0].components == {
        "Điểm thành phần: Hạ tầng số": Decimal("400.5"),
        "Điểm thành phần: Nhân lực số": Decimal("331.11"),
    }
    assert [(r.name, r.score, r.rank) for r in s.rows] == [
        ("Sở A", Decimal("731.61"), 1),
        ("Sở B", Decimal("700"), 2),
    ]
    assert [f.row for f in d.facts if f.code == "fact_header_row"] == [4, 5]


def test_slice_digests_compose_the_content_digest() -> None:
    from ranking.importer import content_digest, slice_digest

    d = dataset("ket-qua-2022.xls")
    annex = dataset("ket-qua-2022-phu-luc.ods")
    assert [slice_digest(s) for s in d.slices] == [slice_digest(s) for s in annex.slices]
    assert content_digest(d.slices) == d.content_digest
    # one group changed changes that group's digest only
    tthc, *others = d.slices
    fewer = replace(tthc, rows=list(tthc.rows)[:-1])
    assert slice_digest(fewer) != slice_digest(tthc)
    assert content_digest([fewer, *others]) != d.content_digest
    assert content_digest(list(reversed(d.slices))) == d.content_digest
