"""The 2022 figures and every bad-input case, through the same path as `ask`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.answers import Answers
from bot.reply import to_plain
from ranking.queries import Rankings

ROOT = Path(__file__).resolve().parent.parent


async def ask(rankings: Rankings, text: str, lang: str = "vi") -> str:
    reply = await Answers(rankings).to_text(text, lang=lang)
    assert reply is not None
    return to_plain(reply.text)


def lines_with(text: str, *needles: str) -> list[str]:
    return [line for line in text.splitlines() if all(n in line for n in needles)]


async def test_top_huyen_2022(rankings: Rankings) -> None:
    text = await ask(rankings, "/top 10 huyen 2022")
    rows = [line for line in text.splitlines() if line[:2].rstrip(".").isdigit() or "…" in line]
    assert rows == [
        "1. Thành phố Lào Cai — 651,93 (65,19 %) · Nâng cao",
        "2. Huyện Bắc Hà — 585,45 (58,55 %) · Nâng cao",
        "3. Huyện Bát Xát — 585,22 (58,52 %) · Nâng cao",
        "… hạng 4–8 chưa được công bố",
        "9. Huyện Văn Bàn — 449,13 (44,91 %) · Hình thành",
    ]
    assert "9 đơn vị" in text and "tối đa 1.000 điểm" in text
    assert "Nguồn: QĐ 791/QĐ-UBND ngày 11/4/2023" in text


async def test_top_tthc_2022_all_ten_in_order(rankings: Rankings) -> None:
    text = await ask(rankings, "/top 10 tthc 2022")
    expected = [
        ("Sở Giáo dục và Đào tạo", "625,3"),
        ("Sở Tài chính", "603,2"),
        ("Sở Thông tin và Truyền thông", "601,9"),
        ("Sở Nội vụ", "591,8"),
        ("Sở Kế hoạch và Đầu tư", "589,2"),
        ("Ban Quản lý khu kinh tế", "588,5"),
        ("Sở Lao động - Thương binh và Xã hội", "582,3"),
        ("Sở Nông nghiệp và Phát triển nông thôn", "573,9"),
        ("Ban Dân tộc", "562,2"),
        ("Sở Khoa học và Công nghệ", "549,9"),
    ]
    rows = [line for line in text.splitlines() if " — " in line]
    assert len(rows) == 10
    for rank, (row, (name, score)) in enumerate(zip(rows, expected, strict=True), start=1):
        assert row.startswith(f"{rank}. {name} — {score} (")
        assert row.endswith("· Nâng cao")
    assert "chưa được công bố" not in text  # 1–10 are all published


async def test_top_3_khong_tthc(rankings: Rankings) -> None:
    text = await ask(rankings, "/top 3 khong-tthc 2022")
    rows = [line for line in text.splitlines() if " — " in line]
    assert rows == [
        "1. Văn phòng UBND tỉnh — 428,67 (57,16 %) · Nâng cao",
        "2. Ban Tuyên giáo Tỉnh uỷ — 402,00 (53,60 %) · Nâng cao",
        "3. Đài Phát thanh - Truyền hình — 393,38 (52,45 %) · Nâng cao",
    ]
    assert "tối đa 750 điểm" in text and "22 đơn vị" in text


async def test_bottom_khong_tthc_shows_last_place(rankings: Rankings) -> None:
    text = await ask(rankings, "/cuoi 2 khong-tthc")
    assert "… hạng 21 chưa được công bố" in text
    assert "22. Đảng uỷ Công ty Apatit — 210,70 (28,09 %) · Hình thành" in text


async def test_all_groups_when_none_given(rankings: Rankings) -> None:
    text = await ask(rankings, "/top 3")
    assert text.count("đơn vị · tối đa") == 3  # one header per group
    assert "Sở Giáo dục và Đào tạo" in text and "Thành phố Lào Cai" in text


async def test_card_so_du_lich_flags_published_level(rankings: Rankings) -> None:
    text = await ask(rankings, "/donvi so du lich")
    assert "Sở Du lịch" in text
    assert "235,40/1.000 (23,54 %) · hạng 18/18" in text
    assert "Mức theo điểm: Khởi động" in text
    assert "Nguồn công bố mức «Hoàn thành», khác mức tính theo điểm (Khởi động)" in text
    assert "QĐ 791/QĐ-UBND ngày 11/4/2023" in text


async def test_ranking_row_flags_published_level(rankings: Rankings) -> None:
    text = await ask(rankings, "/cuoi 1 tthc 2022")
    assert "18. Sở Du lịch — 235,40 (23,54 %) · Khởi động ⚠️ nguồn ghi «Hoàn thành»" in text
    assert "khác mức tính theo điểm" in text


@pytest.mark.parametrize(
    ("query", "name", "score"),
    [
        ("bac ha", "Huyện Bắc Hà", "585,45"),
        ("bắc hà", "Huyện Bắc Hà", "585,45"),
        ("/donvi so giao duc", "Sở Giáo dục và Đào tạo", "625,3"),
        ("/unit Sở GD&ĐT", "Sở Giáo dục và Đào tạo", "625,3"),
        ("/donvi tuyen giao", "Ban Tuyên giáo Tỉnh uỷ", "402,00"),
        ("/donvi ban tuyen giao tinh ủy", "Ban Tuyên giáo Tỉnh uỷ", "402,00"),
        ("/donvi VP UBND tinh", "Văn phòng UBND tỉnh", "428,67"),
        ("/donvi dai PT-TH", "Đài Phát thanh - Truyền hình", "393,38"),
        ("/donvi so LĐ-TB&XH", "Sở Lao động - Thương binh và Xã hội", "582,3"),
        ("/donvi nn&ptnt", "Sở Nông nghiệp và Phát triển nông thôn", "573,9"),
        ("/donvi KH&ĐT", "Sở Kế hoạch và Đầu tư", "589,2"),
        ("/donvi KH&CN", "Sở Khoa học và Công nghệ", "549,9"),
        ("/donvi TT&TT", "Sở Thông tin và Truyền thông", "601,9"),
        ("/donvi dang uy apatit", "Đảng uỷ Công ty Apatit", "210,70"),
        ("/donvi Ba\u0306\u0301c Ha\u0300", "Huyện Bắc Hà", "585,45"),  # NFD input
        ("VĂN BÀN", "Huyện Văn Bàn", "449,13"),
        ("donvi lao cai", "Thành phố Lào Cai", "651,93"),
    ],
)
async def test_lookup_variants_reach_the_card(
    rankings: Rankings, query: str, name: str, score: str
) -> None:
    text = await ask(rankings, query)
    assert text.splitlines()[0] == f"🏛 {name}"
    assert f"Điểm: {score}/" in text


async def test_several_matches_offer_a_choice(rankings: Rankings) -> None:
    reply = await Answers(rankings).to_text("ban", lang="vi")
    assert reply is not None
    assert "Chọn một" in reply.text
    names = {b.label for row in reply.choices for b in row}
    assert {"Ban Quản lý khu kinh tế", "Ban Dân tộc", "Ban Tuyên giáo Tỉnh uỷ"} <= names
    assert all(b.action and b.action.startswith("u:") for row in reply.choices for b in row)


async def test_near_miss_suggests(rankings: Rankings) -> None:
    text = await ask(rankings, "/donvi bac haa")
    assert "Có phải bạn muốn tìm" in text and "Huyện Bắc Hà" in text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("/top 10 xyz 1999", ["Bot chưa hiểu «xyz»", "Chưa có dữ liệu năm 1999", "2022", "huyen"]),
        ("/top 0 huyen", ["Số lượng «0» không hợp lệ", "1 đến 100"]),
        ("/top 101", ["Số lượng «101» không hợp lệ"]),
        ("/top 5 1999", ["Chưa có dữ liệu năm 1999", "Các năm có dữ liệu: 2022"]),
        ("/top huyen tthc", ["Chỉ chọn một nhóm"]),
        ("/top 2021 2022", ["Chỉ chọn một năm"]),
        ("/xyz", ["Không có lệnh /xyz", "/trogiup"]),
        ("/donvi", ["Hãy ghi tên đơn vị"]),
        ("/donvi zzzz qqqq", ["Không tìm thấy đơn vị «zzzz qqqq»"]),
        ("/muc 1999", ["Chưa có dữ liệu năm 1999"]),
        ("/ngonngu fr", ["Không có ngôn ngữ «fr»"]),
    ],
)
async def test_bad_input_is_answered_in_vietnamese(
    rankings: Rankings, query: str, expected: list[str]
) -> None:
    text = await ask(rankings, query)
    for needle in expected:
        assert needle in text


async def test_levels_counts_2022(rankings: Rankings) -> None:
    text = await ask(rankings, "/muc 2022")
    assert "Dẫn dắt: trên 75 %" in text and "Khởi động: từ 25 % trở xuống" in text
    assert "Dẫn dắt: 0 · Nâng cao: 10 · Hình thành: 0 · Khởi động: 1" in text
    assert "Dẫn dắt: 0 · Nâng cao: 3 · Hình thành: 1 · Khởi động: 0" in text
    assert "Chưa công bố điểm: 7 đơn vị" in text
    assert "1 đơn vị có mức công bố khác" in text


async def test_years_groups_help(rankings: Rankings) -> None:
    assert "2022" in await ask(rankings, "/nam")
    groups = await ask(rankings, "/nhom")
    assert "• 2022: 22 đơn vị, tối đa 750 điểm, đã công bố 4" in groups
    assert "/top [N] [nhóm] [năm]" in await ask(rankings, "/trogiup")
    assert "/top [N] [group] [year]" in await ask(rankings, "/help", lang="en")


async def test_english(rankings: Rankings) -> None:
    text = await ask(rankings, "/top 3 huyen", lang="en")
    assert "1. Thành phố Lào Cai — 651.93 (65.19%) · Advanced" in text
    assert "Source: QĐ 791/QĐ-UBND ngày 11/4/2023" in text


async def test_plain_text_ranking_in_private_chat(rankings: Rankings) -> None:
    text = await ask(rankings, "top 5 huyện 2022")
    assert "… hạng 4–5 chưa được công bố" in text


async def test_group_chatter_is_ignored(rankings: Rankings) -> None:
    assert await Answers(rankings).to_text("bac ha", lang="vi", private=False) is None


def run_ask(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RANKBOT_DB": str(db), "TELEGRAM_BOT_TOKEN": ""}
    return subprocess.run(
        [sys.executable, "-m", "bot", "ask", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_ask_cli_prints_plain_text(tmp_path: Path) -> None:
    done = run_ask("/top 10 huyen 2022", db=tmp_path / "db.sqlite3")
    assert done.returncode == 0, done.stderr
    assert "1. Thành phố Lào Cai — 651,93 (65,19 %) · Nâng cao" in done.stdout
    assert "<b>" not in done.stdout


def test_ask_cli_user_error_exits_zero_without_traceback(tmp_path: Path) -> None:
    done = run_ask("/top 10 xyz 1999", db=tmp_path / "db.sqlite3")
    assert done.returncode == 0
    assert "Traceback" not in done.stdout + done.stderr
    assert "Bot chưa hiểu" in done.stdout


def test_ask_console_reads_until_eof(tmp_path: Path) -> None:
    env = {**os.environ, "RANKBOT_DB": str(tmp_path / "db.sqlite3")}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "ask"],
        cwd=ROOT,
        env=env,
        input="bac ha\n/ngonngu en\n/top 1 huyen\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Huyện Bắc Hà" in done.stdout
    assert "Language set to English." in done.stdout
    assert "1. Thành phố Lào Cai — 651.93 (65.19%) · Advanced" in done.stdout
