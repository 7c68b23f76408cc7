"""Issue #13 end to end: through the fake Bot API (an admin's uploads, the answers,
undo) and through `python -m bot import`, on every data set shipped in data/."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.test_media import ask, caption, sent_file
from tests.test_telegram import Bot, plain
from tests.test_uploads import admin_bot, confirm, upload

pytestmark = pytest.mark.all_shipped_data
ROOT = Path(__file__).resolve().parent.parent
SOURCE_2025 = "QĐ 99/QĐ-UBND ngày 01/3/2026"

RESULTS_2025 = (
    "Năm;Nhóm;Tên cơ quan, đơn vị;Tổng điểm;Điểm tối đa;Xếp hạng;Số đơn vị;Căn cứ\r\n"
    f"2025;Sở, ban, ngành;Sở Khoa học và Công nghệ;812,5;1.000;1;14;{SOURCE_2025}\r\n"
    f"2025;Sở, ban, ngành;Sở Tài chính;790,25;1.000;2;14;{SOURCE_2025}\r\n"
    f"2025;Xã, phường;Phường Cam Đường;850;1.000;1;99;{SOURCE_2025}\r\n"
    f"2025;Xã, phường;Xã Bắc Hà;801,4;1.000;2;99;{SOURCE_2025}\r\n"
    f"2025;Xã, phường;Phường Yên Bái;750;1.000;3;99;{SOURCE_2025}\r\n"
)
MERGER_2025 = (
    "Từ ngày,Đơn vị mới,Đơn vị cũ,Căn cứ\r\n"
    "01/3/2025,Sở Khoa học và Công nghệ,Sở Khoa học và Công nghệ,NQ 05/NQ-HĐND\r\n"
    "01/3/2025,Sở Khoa học và Công nghệ,Sở Thông tin và Truyền thông,NQ 05/NQ-HĐND\r\n"
)


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Bot]:
    async with admin_bot(tmp_path) as bot:
        yield bot


async def test_a_2025_file_with_new_groups_then_undo(running: Bot) -> None:
    preview = plain(await upload(running, RESULTS_2025.encode(), "ket-qua-2025.csv"))
    assert "Nhóm mới «Sở, ban, ngành»" in preview and "Nhóm mới «Xã, phường»" in preview
    assert "cách gõ: xa phuong, xa" in preview and "3/99 đơn vị" in preview
    preview_call = await upload(running, RESULTS_2025.encode(), "ket-qua-2025.csv")
    assert "Đã công bố dữ liệu năm 2025" in plain(await confirm(running, preview_call))
    top = plain(await running.say("/top 3 xa 2025"))
    assert "1. Phường Cam Đường — 850" in top and "3. Phường Yên Bái — 750" in top
    assert "Dẫn dắt" in top and "Nâng cao" in top  # 75 % exactly is Nâng cao
    missing = plain(await running.say("/top huyen 2025"))
    assert "Năm 2025 không có nhóm «Huyện, thị xã, thành phố»" in missing
    assert "Xã, phường" in missing and "Sở, ban, ngành" in missing
    # the default year is the group's own newest
    assert "2022" in plain(await running.say("/top 3 huyen"))
    assert "2023" in plain(await running.say("/top 3 tthc"))
    groups = plain(await running.say("/nhom 2025"))
    assert "Xã, phường" in groups and "99 đơn vị" in groups
    # the new groups' export re-imports unchanged, and their chart is drawn
    export = await ask(running, "/xuat 2025", "sendDocument")
    name, data = sent_file(export, "document")
    assert name == "xep-hang-cds-2025.xlsx"
    again = plain(await upload(running, data, name))
    assert "Nội dung tệp trùng với dữ liệu đang công bố (5 dòng" in again
    chart = await ask(running, "/bieudo xa 2025", "sendPhoto")
    assert chart.ok and "Xã, phường" in caption(chart)
    # undo removes the groups with the version
    undo = await running.say("/hoantac")
    assert "Đã hoàn tác" in plain(await confirm(running, undo))
    gone = plain(await running.say("/top 3 xa 2025"))
    assert "Phường Cam Đường" not in gone


async def test_a_merger_file_and_a_merge_year_in_compare(running: Bot) -> None:
    preview = await upload(running, MERGER_2025.encode(), "sap-xep-2025.csv")
    text = plain(preview)
    assert "Tệp sắp xếp đơn vị" in text
    assert "Sở Khoa học và Công nghệ ← Sở Khoa học và Công nghệ, Sở Thông tin" in text
    assert "Đã ghi nhận việc sắp xếp đơn vị: 2 dòng" in plain(await confirm(running, preview))
    card = plain(await running.say("/donvi so thong tin va truyen thong"))
    assert "Từ 01/3/2025 hợp nhất vào Sở Khoa học và Công nghệ" in card
    # then 2025 results: the merged department's move against 2023 is not printed
    results = await upload(running, RESULTS_2025.encode(), "ket-qua-2025.csv")
    await confirm(running, results)
    science = plain(await running.say("/donvi so khoa hoc va cong nghe"))
    assert "hình thành từ: Sở Khoa học và Công nghệ (cũ), Sở Thông tin và Truyền thông" in science
    compare = plain(await running.say("/sosanh so khoa hoc va cong nghe, so tai chinh"))
    assert "2025" in compare and "▲" not in compare.split("2025")[-1]
    # undo of each: the 2025 results, then the merger
    for _ in range(2):
        await confirm(running, await running.say("/hoantac"))
    card = plain(await running.say("/donvi so thong tin va truyen thong"))
    assert "hợp nhất vào" not in card


async def test_the_shipped_data_answers_the_done_when_questions(running: Bot) -> None:
    yen_bai = plain(await running.say("/donvi yen bai dti"))
    assert "hạng 15/63" in yen_bai and "Từ 01/7/2025 hợp nhất vào Lào Cai" in yen_bai
    lao_cai = plain(await running.say("Lào Cai xếp thứ mấy cả nước?"))
    assert "xếp hạng 14/34" in lao_cai and "Bộ KH&CN" in lao_cai
    assert "Hạng 38/63" in lao_cai and "Điểm: 0,7167" in lao_cai
    assert "▲" not in lao_cai and "▼" not in lao_cai
    assert "xếp hạng 38/63" in plain(await running.say("Lào Cai xếp thứ mấy cả nước năm 2022?"))
    top = plain(await running.say("/top 3 tthc 2023"))
    assert "1. Sở Lao động - Thương binh và Xã hội — 731,61" in top
    assert "2. Sở Y tế — 71,77 % (chỉ công bố tỷ lệ) · Nâng cao" in top
    assert "3. Sở Thông tin và Truyền thông — 70,84 % (chỉ công bố tỷ lệ) · Nâng cao" in top
    assert "QĐ 684/QĐ-UBND ngày 03/4/2024" in top
    dti = plain(await running.say("/top 5 dti 2024"))
    assert "Bộ KH&CN" in dti and "Bộ TT&TT" not in dti


def test_reimporting_a_year_without_diacritics_keeps_the_earlier_names(tmp_path: Path) -> None:
    env = {**os.environ, "RANKBOT_DB": str(tmp_path / "cli.sqlite3")}
    env.pop("RANKBOT_DATA_DIR", None)  # every shipped data set
    file = tmp_path / "2024.csv"
    file.write_text(
        "Năm;Nhóm;Tên cơ quan, đơn vị;Tổng điểm;Điểm tối đa;Xếp hạng;Số đơn vị;Căn cứ\n"
        "2024;huyen;Huyen Bac Ha;600;1.000;1;9;QĐ 50/QĐ-UBND ngày 1/4/2025\n",
        encoding="utf-8",
    )

    def bot(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        return done.stdout

    preview = bot("import", str(file))
    assert "«Huyen Bac Ha» là «Huyện Bắc Hà» đã có" in preview
    card = bot("ask", "bac ha")
    assert card.startswith("🏛 Huyện Bắc Hà")  # the better-written title
    assert "Tên khi công bố: Huyen Bac Ha" in card  # 2024 as published
    year_2022 = card.split("2022 ·")[1].split("2024 ·")[0]
    assert "Tên khi công bố" not in year_2022  # 2022 keeps its own name
