"""What replies show: pages of published rows, level counts, printed digits, dates, examples."""

from __future__ import annotations

import re
from datetime import date

import pytest

from bot.answers import Answers
from bot.i18n import Translator
from bot.reply import to_plain
from ranking import queries
from ranking.queries import Rankings
from ranking.sources import published_on


async def ask(rankings: Rankings, text: str, lang: str = "vi") -> str:
    reply = await Answers(rankings).to_text(text, lang=lang)
    assert reply is not None
    return to_plain(reply.text)


def rows(text: str) -> list[str]:
    """The ranked lines and the gap lines, in order."""
    return [
        line
        for line in text.splitlines()
        if line.startswith("…") or (line.split(".")[0].isdigit() and ". " in line)
    ]


async def test_a_gap_never_takes_a_place_on_a_page(rankings: Rankings) -> None:
    text = await ask(rankings, "/top 22 khong-tthc 2022")
    assert rows(text) == [
        "1. Văn phòng UBND tỉnh — 428,67 (57,16 %) · Nâng cao",
        "2. Ban Tuyên giáo Tỉnh uỷ — 402,00 (53,60 %) · Nâng cao",
        "3. Đài Phát thanh - Truyền hình — 393,38 (52,45 %) · Nâng cao",
        "… hạng 4–21 chưa được công bố",
        "22. Đảng uỷ Công ty Apatit — 210,70 (28,09 %) · Hình thành",
    ]
    assert "Trang" not in text


async def test_top_n_shows_every_published_rank_up_to_n(rankings: Rankings) -> None:
    text = await ask(rankings, "/top 18 tthc 2022")
    ranked = [line for line in rows(text) if not line.startswith("…")]
    assert [int(line.split(".")[0]) for line in ranked] == [*range(1, 11), 18]
    assert "… hạng 11–17 chưa được công bố" in text


async def test_bottom_ends_at_the_last_place(rankings: Rankings) -> None:
    text = await ask(rankings, "/cuoi 10 dti 2022")
    ranked = rows(text)
    assert ranked[-1] == "63. Bắc Kạn — chưa công bố điểm"
    assert ranked[0].startswith("54. ") and len(ranked) == 10


async def test_bottom_pages_start_from_the_last_places(rankings: Rankings) -> None:
    """30 published places: page 1 of the bottom is the last 20 (44–63), page 2 the rest."""
    answers = Answers(rankings)
    first = await answers.to_text("/cuoi 30 dti 2022", lang="vi")
    assert first is not None
    text = to_plain(first.text)
    ranked = rows(text)
    assert ranked[0].startswith("44. ") and ranked[-1].startswith("63. Bắc Kạn")
    assert "Trang 1/2" in text
    nxt = [c.action for row in first.choices for c in row if "Sau" in c.label and c.action]
    assert nxt, first.choices
    second = await answers.to_action(nxt[0], lang="vi", user_id=None)
    assert second is not None
    ranked = rows(to_plain(second.text))
    assert ranked[0].startswith("34. ") and ranked[-1].startswith("43. ")


async def test_top_pages_hold_twenty_published_rows(rankings: Rankings) -> None:
    text = await ask(rankings, "/top 30 dti 2022")
    ranked = [line for line in rows(text) if not line.startswith("…")]
    assert len(ranked) == 20 and ranked[-1].startswith("20. ")
    assert "Trang 1/2" in text


async def test_band_less_levels_count_the_published_values(rankings: Rankings) -> None:
    text = await ask(rankings, "/muc dti 2022")
    assert "Đã công bố điểm: 7/63 đơn vị" in text
    assert "Chưa công bố điểm: 56 đơn vị" in text


async def test_levels_of_one_group(rankings: Rankings) -> None:
    text = await ask(rankings, "/muc tthc 2022")
    assert "Cơ quan, đơn vị có thủ tục hành chính · 18 đơn vị" in text
    assert "Dẫn dắt: 0 · Nâng cao: 10 · Hình thành: 0 · Khởi động: 1" in text
    assert "không có thủ tục" not in text and "Huyện" not in text
    assert "Dẫn dắt: trên 75 %" in text  # the decision's bounds, as it writes them


@pytest.mark.all_shipped_data
async def test_examples_fit_what_was_asked(rankings: Rankings) -> None:
    """The example names the command, ranking and group asked, with a year they have."""
    assert (await ask(rankings, "/muc 2021")).endswith("Ví dụ: /muc 2023")
    assert (await ask(rankings, "/top dti 2023")).endswith("Ví dụ: /top 10 dti 2024")
    text = await ask(rankings, "/xuat huyen 2030")
    assert "Các năm có dữ liệu: 2022." in text and text.endswith("Ví dụ: /xuat huyen 2022")
    assert (await ask(rankings, "/cuoi 3 khong-tthc 2019")).endswith(
        "Ví dụ: /cuoi 10 khong-tthc 2022"
    )
    assert (await ask(rankings, "/top dti 2023", "en")).endswith("Example: /top 10 dti 2024")


async def test_numbers_as_printed(rankings: Rankings) -> None:
    card = await ask(rankings, "/donvi so du lich")
    assert "235,40/1.000 (23,54 %)" in card
    dti = await ask(rankings, "/donvi da nang")
    assert "Thể chế số: 0,9000" in dti and "Nhận thức số: 1,0000" in dti
    text = await ask(rankings, "/top 3 khong-tthc 2022")
    assert "402,00 (53,60 %)" in text


@pytest.mark.parametrize(
    ("source", "day"),
    [
        ("QĐ 791/QĐ-UBND ngày 11/4/2023", date(2023, 4, 11)),
        ("Quyết định số 684/QĐ-UBND ngày 03 tháng 4 năm 2024", date(2024, 4, 3)),
        (
            "Bộ TT&TT, Báo cáo … năm 2022 (công bố 12/7/2023), dti.gov.vn/xep-hang-2022",
            date(2023, 7, 12),
        ),
        ("Nghị quyết 202/2025/QH15", None),  # a number, not a date
        ("Bộ TT&TT (mic.gov.vn): Hải Dương tăng 1 bậc, DTI 2022 = 0,6383", None),
        ("QĐ 1/QĐ ngày 31/2/2023", None),  # no such day
    ],
)
def test_the_day_a_source_was_published(source: str, day: date | None) -> None:
    assert published_on(source) == day


async def test_footer_has_the_decision_day_and_the_day_received(rankings: Rankings) -> None:
    """Both as officials write dates; the day received is the load day, in Lào Cai."""
    loaded = (await rankings.slices())[0].loaded_at
    received = Translator("vi").date(loaded)
    assert re.fullmatch(r"\d{2}/\d{1,2}/\d{4}", received)
    for question in ("/top 3 huyen 2022", "/donvi bac ha", "/muc 2022", "/sosanh bac ha, bat xat"):
        text = await ask(rankings, question)
        assert "Nguồn: QĐ 791/QĐ-UBND ngày 11/4/2023" in text, question
        assert f"Ngày công bố: 11/4/2023 · bot nhận dữ liệu: {received}" in text, question
        assert "-" not in received and not re.search(r"\d{4}-\d{2}-\d{2}", text), question
    english = await ask(rankings, "/top 3 huyen 2022", "en")
    assert "Published: 11 Apr 2023 · received by the bot: " in english


async def test_derived_shares_are_labelled(rankings: Rankings) -> None:
    text = await ask(rankings, "/top 3 huyen 2022")
    assert "(%): tỷ lệ điểm trên điểm tối đa của nhóm, do bot tính từ điểm." in text
    dti = await ask(rankings, "/top 3 dti 2022")  # no shares there
    assert "do bot tính" not in dti


async def test_compare_never_prints_an_empty_nearest(rankings: Rankings) -> None:
    text = await ask(rankings, "/sosanh xyzabc, bac ha")
    assert "Không tìm thấy đơn vị nào tên «xyzabc»" in text
    assert "gần nhất" not in text and "—" not in text


async def test_announcements_show_figures_as_printed(rankings: Rankings) -> None:
    from bot.announcements import version_text

    versions = {s.version_id for s in await rankings.slices("cds")}
    version = min(versions)
    published = await rankings.store.scores.version_groups(version)
    text = to_plain(
        await version_text(rankings, published, {"khong-tthc"}, Translator("vi"), version)
    )
    assert "2. Ban Tuyên giáo Tỉnh uỷ — 402,00 (53,60 %) · Nâng cao" in text
    assert "do bot tính từ điểm" in text
    # the decision's day and, apart, the day the bot received the data, as on a card
    assert "Ngày công bố: 11/4/2023 · bot nhận dữ liệu: " in text


def test_a_group_with_no_published_row_is_one_empty_page() -> None:
    # Found by a corpus question on a slice with nothing published in the range asked:
    # the pager used to fail on zip(strict=True) instead of giving one empty page.
    for kind in ("top", "bottom"):
        chunks, spans = queries._pages([], 1, 10, kind)
        assert chunks == [[]]
        assert spans == [(1, 10)]
