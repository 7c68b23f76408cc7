"""Admin uploads end to end: document → getFile → download → preview → ✅ → answers."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from bot import uploads
from bot.i18n import Translator
from bot.reply import to_plain
from bot.settings import Settings
from fakes.telegram import DEFAULT_GROUP_ID, Call, FakeBotAPI, parse_html
from ranking.importer import read_and_validate
from ranking.queries import Rankings
from ranking.reader import read_table
from ranking.store import Store
from tests.support.serving import serving
from tests.test_reader import to_cp1258
from tests.test_telegram import TOKEN, Bot, plain

ADMIN = 100001
OTHER = 200002
ROOT = Path(__file__).resolve().parent.parent

ROWS_2023 = [
    # Năm, Nhóm, Xếp hạng, Tên cơ quan, đơn vị, Tổng điểm, Điểm tối đa, Mức, Số đơn vị, Căn cứ
    (
        "2023",
        "Cơ quan, đơn vị có thủ tục hành chính",
        "1",
        "Sở Thông tin và Truyền thông",
        "731,61",
        "1.000",
        "Nâng cao",
        "18",
        "QĐ 123/QĐ-UBND ngày 5/4/2024",
    ),
    (
        "2023",
        "Cơ quan, đơn vị có thủ tục hành chính",
        "2",
        "Sở Giáo dục và Đào tạo",
        "702,5",
        "1.000",
        "Nâng cao",
        "18",
        "QĐ 123/QĐ-UBND ngày 5/4/2024",
    ),
    (
        "2023",
        "Cơ quan, đơn vị có thủ tục hành chính",
        "3",
        "Sở Tài chính",
        "690",
        "1.000",
        "Nâng cao",
        "18",
        "QĐ 123/QĐ-UBND ngày 5/4/2024",
    ),
    (
        "2023",
        "Cơ quan, đơn vị không có thủ tục hành chính",
        "1",
        "Văn phòng UBND tỉnh",
        "612,4",
        "800",
        "Dẫn dắt",
        "22",
        "QĐ 123/QĐ-UBND ngày 5/4/2024",
    ),
]
HEADER = [
    "Năm",
    "Nhóm",
    "Xếp hạng",
    "Tên cơ quan, đơn vị",
    "Tổng điểm",
    "Điểm tối đa",
    "Mức xếp hạng",
    "Số đơn vị",
    "Căn cứ",
]


def csv_text(sep: str = ";") -> str:
    def cell(value: str) -> str:
        return f'"{value}"' if sep in value else value

    return "\r\n".join(sep.join(cell(v) for v in row) for row in [HEADER, *ROWS_2023]) + "\r\n"


def xlsx_bytes() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["KẾT QUẢ XẾP HẠNG CHUYỂN ĐỔI SỐ NĂM 2023"])
    ws.append(HEADER)
    for row in ROWS_2023:
        values: list[Any] = list(row)
        values[0] = int(row[0])
        values[2] = int(row[2])
        values[4] = float(row[4].replace(",", "."))
        values[5] = int(row[5].replace(".", ""))
        values[7] = int(row[7])
        ws.append(values)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@asynccontextmanager
async def admin_bot(tmp_path: Path, **extra: Any) -> AsyncIterator[Bot]:
    """The running bot with ADMIN in RANKBOT_ADMIN_IDS (also tests/test_media.py and
    tests/test_guards.py); `extra`: further settings."""
    async with FakeBotAPI() as srv:
        settings = Settings(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=srv.base_url,
            TELEGRAM_FILE_BASE_URL=srv.base_file_url,
            RANKBOT_DB=str(tmp_path / "bot.sqlite3"),
            RANKBOT_ADMIN_IDS=str(ADMIN),
            **extra,
        )
        async with serving(settings) as app:
            yield Bot(srv, app)
        assert srv.violations == []


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Bot]:
    async with admin_bot(tmp_path) as bot:
        yield bot


async def upload(bot: Bot, data: bytes, name: str, *, user_id: int = ADMIN, **kw: Any) -> Call:
    mark = bot.srv.mark()
    kw.setdefault("caption", "/tailen")
    bot.srv.push_update(
        bot.srv.document_message(data, name, user_id=user_id, chat_id=user_id, **kw)
    )
    return await bot.srv.wait_for("sendMessage", since=mark, timeout=15)


def buttons(call: Call) -> dict[str, str]:
    markup = call.params.get("reply_markup") or {"inline_keyboard": []}
    return {b["text"]: b["callback_data"] for row in markup["inline_keyboard"] for b in row}


async def confirm(bot: Bot, preview: Call, label: str = "✅ Xác nhận", **kw: Any) -> Call:
    mark = bot.srv.mark()
    bot.srv.push_update(
        bot.srv.callback_query(buttons(preview)[label], message=preview.result, **kw)
    )
    return await bot.srv.wait_for("sendMessage", since=mark, timeout=15)


async def answer_of(bot: Bot, data: str, message: dict[str, Any], user_id: int = ADMIN) -> Call:
    mark = bot.srv.mark()
    bot.srv.push_update(bot.srv.callback_query(data, message=message, user_id=user_id))
    return await bot.srv.wait_for("answerCallbackQuery", since=mark)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (to_cp1258(csv_text(";")), "ket-qua-2023.csv"),  # Excel on Vietnamese Windows
        (b"\xef\xbb\xbf" + csv_text(",").encode(), "ket-qua-2023.csv"),  # CSV UTF-8
        (csv_text("\t").encode("utf-16"), "ket-qua-2023.txt"),  # Unicode text
        (xlsx_bytes(), "ket-qua-2023.xlsx"),
    ],
    ids=["cp1258", "utf8-bom", "utf16", "xlsx"],
)
async def test_upload_preview_confirm_answers(running: Bot, data: bytes, name: str) -> None:
    preview = await upload(running, data, name)
    text = plain(preview)
    assert "Xem trước" in text and "4 dòng hợp lệ" in text
    assert "mới, 3/18 đơn vị" in text and "1. Sở Thông tin và Truyền thông — 731,61" in text
    assert set(buttons(preview)) == {"✅ Xác nhận", "❌ Huỷ"}
    assert any(c.method == "getFile" for c in running.srv.calls)
    # nothing is written before the confirmation
    assert "2023" not in plain(await running.say("/nam"))
    done = await confirm(running, preview)
    assert "Đã công bố dữ liệu năm 2023" in plain(done)
    top = plain(await running.say("/top 3 tthc 2023"))
    assert "1. Sở Thông tin và Truyền thông — 731,61 (73,16 %) · Nâng cao" in top
    assert "2. Sở Giáo dục và Đào tạo — 702,5" in top
    assert "QĐ 123/QĐ-UBND ngày 5/4/2024" in top
    # the 2023 max of 800 for không có TTHC is its own, 2022's 750 unchanged
    card = plain(await running.say("/donvi van phong ubnd"))
    assert "428,67/750" in card and "612,4/800 (76,55 %)" in card and "Dẫn dắt" in card
    assert "📈" in card  # trend over the two years


async def test_bad_rows_are_all_named_and_nothing_written(running: Bot) -> None:
    rows = [
        "Năm;Nhóm;Xếp hạng;Đơn vị;Tổng điểm;Điểm tối đa;Số đơn vị;Căn cứ",
        "2023;huyen;1;Huyện A;abc;1.000;9;QĐ 1",
        "2023;huyen;2;Huyện B;-12;1.000;9;QĐ 1",
        "2023;huyen;3;Huyện C;1.200;1.000;9;QĐ 1",
    ]
    reply = await upload(running, "\n".join(rows).encode(), "loi.csv")
    text = plain(reply)
    assert "Tệp bị từ chối" in text and "3 lỗi" in text
    assert "dòng 2, cột E" in text and "«abc» không phải là số" in text
    assert "dòng 3" in text and "là số âm" in text
    assert "dòng 4" in text and "lớn hơn điểm tối đa" in text
    assert buttons(reply) == {}
    assert "Các năm có dữ liệu: 2022" in plain(await running.say("/top 1 2023"))
    years = plain(await running.say("/nam"))
    assert "2022" in years and "2023" not in years


async def test_non_admin_is_refused_and_logged(running: Bot) -> None:
    reply = await upload(running, csv_text(";").encode(), "x.csv", user_id=OTHER)
    assert "chỉ dành cho quản trị viên" in plain(reply)
    assert not any(c.method == "getFile" for c in running.srv.calls)
    for command in ("/tailen", "/lichsu", "/hoantac", "/quantri them 5", "/mau"):
        assert "chỉ dành cho quản trị viên" in plain(
            await running.say(command, user_id=OTHER, chat_id=OTHER)
        )
    store: Store = running.app.bot_data.store
    # one row a minute per user: the first refusal; the five after it are counted
    # into that user's next row (tests/test_guards.py)
    refused = await store.people.audit_entries("refused")
    assert [(user, detail) for user, _, detail in refused] == [
        (OTHER, "receive_upload: not_admin")
    ]
    assert await store.people.admin_ids() == set()


async def test_admin_tricks_gain_nothing(running: Bot) -> None:
    # the admin's command from a group, as the anonymous admin, or with sender_chat
    group = {"chat_id": DEFAULT_GROUP_ID, "chat_type": "group"}
    assert "chat riêng" in plain(await running.say("/lichsu", user_id=ADMIN, **group))
    assert "Lệnh quản trị" in plain(
        await running.say("/lichsu@laocai_cds_bot", user_id=1087968824, **group)
    )
    reply = await running.say(
        "/lichsu", user_id=ADMIN, chat_id=ADMIN, sender_chat={"id": -100123, "type": "channel"}
    )
    assert "quản trị viên" in plain(reply)
    # a username that looks like an admin's, without the admin's id
    assert "quản trị viên" in plain(
        await running.say("/lichsu", user_id=OTHER, chat_id=OTHER, username="admin")
    )
    assert "id Telegram dạng số" in plain(await running.say("/quantri them @admin"))
    assert "tài khoản dịch vụ" in plain(await running.say("/quantri them 777000"))


async def test_button_pressed_twice_by_someone_else_and_cancel(running: Bot) -> None:
    preview = await upload(running, to_cp1258(csv_text(";")), "a.csv")
    data = buttons(preview)["✅ Xác nhận"]
    other = await answer_of(running, data, preview.result, user_id=OTHER)
    assert "Chỉ người đã tải tệp lên" in other.params["text"]
    await confirm(running, preview)
    second = await answer_of(running, data, preview.result)
    assert "đã được xử lý" in second.params["text"]
    store: Store = running.app.bot_data.store
    assert len([v for v in await store.scores.versions() if v.file_name == "a.csv"]) == 1
    # a cancelled preview writes nothing
    rows = csv_text(";").replace("2023", "2024").replace("QĐ 123", "QĐ 7")
    preview = await upload(running, rows.encode(), "b.csv")
    cancelled = await confirm(running, preview, "❌ Huỷ")
    assert "Đã huỷ" in plain(cancelled)
    assert "2024" not in plain(await running.say("/nam"))
    stale = await answer_of(running, "a:doesnotexist:ok", preview.result)
    assert "cũ hoặc không hợp lệ" in stale.params["text"]


async def test_expired_preview_is_refused(running: Bot) -> None:
    preview = await upload(running, to_cp1258(csv_text(";")), "late.csv")
    action_id = buttons(preview)["✅ Xác nhận"].split(":")[1]
    store: Store = running.app.bot_data.store
    async with store.write() as db:  # sixteen minutes ago
        await db.execute(
            "UPDATE pending_actions SET created_at = ? WHERE id = ?",
            (time.time() - 16 * 60, action_id),
        )
    reply = await confirm(running, preview)
    assert "hết hạn" in plain(reply)
    assert "2023" not in plain(await running.say("/nam"))


async def test_identical_reupload_is_a_no_op_and_undo_restores(running: Bot) -> None:
    data = to_cp1258(csv_text(";"))
    await confirm(running, await upload(running, data, "2023.csv"))
    again = await upload(running, data, "2023-copy.csv")
    assert "đã được nhập trước đây" in plain(again) and buttons(again) == {}
    history = plain(await running.say("/lichsu"))
    assert "#3" in history and "2023.csv" in history and "#1" in history
    undo = await running.say("/hoantac")
    assert "Hoàn tác phiên bản #3" in plain(undo)
    done = await confirm(running, undo)
    assert "Đã hoàn tác phiên bản #3" in plain(done)
    assert "Các năm có dữ liệu: 2022" in plain(await running.say("/top 3 tthc 2023"))
    assert "đã hoàn tác" in plain(await running.say("/lichsu"))


async def test_a_corrected_year_shows_changes_in_the_preview(running: Bot) -> None:
    rows = [
        "Năm;Nhóm;Xếp hạng;Đơn vị;Tổng điểm;Điểm tối đa;Số đơn vị;Căn cứ",
        "2022;huyen;1;Thành phố Lào Cai;651,93;1.000;9;QĐ 791/QĐ-UBND ngày 11/4/2023",
        "2022;huyen;2;Huyện Bắc Hà;590;1.000;9;QĐ 791/QĐ-UBND ngày 11/4/2023",
        "2022;huyen;3;Huyện Bat Xat;585,22;1.000;9;QĐ 791/QĐ-UBND ngày 11/4/2023",
    ]
    preview = await upload(running, "\n".join(rows).encode(), "sua.csv")
    text = plain(preview)
    assert "thay dữ liệu hiện có" in text
    assert "Huyện Bắc Hà: 585,45 → 590 điểm" in text
    assert "－ Huyện Văn Bàn" in text
    # "Bat Xat" without diacritics is the same unit by key: not a new one
    assert "＋" not in text


async def test_near_name_becomes_an_alias_when_confirmed(running: Bot) -> None:
    rows = [
        "Năm;Nhóm;Xếp hạng;Đơn vị;Tổng điểm;Điểm tối đa;Số đơn vị;Căn cứ",
        "2023;huyen;1;Huyện Bắc Hà mới;600;1.000;9;QĐ 9",
    ]
    preview = await upload(running, "\n".join(rows).encode(), "alias.csv")
    assert "gần giống đơn vị đã có" in plain(preview)
    await confirm(running, preview, "✅ Xác nhận, cùng đơn vị")
    card = plain(await running.say("/donvi bac ha"))
    assert "2022" in card and "2023" in card  # one unit, two years


async def test_refusals_before_download(running: Bot) -> None:
    reply = await upload(running, b"%PDF-1.4", "ket-qua.pdf")
    assert "PDF" in plain(reply) and ".xlsx" in plain(reply)
    reply = await upload(running, b"x" * 10, "big.csv", declared_size=6 * 2**20)
    assert "5 MB" in plain(reply)
    assert not any(c.method == "getFile" for c in running.srv.calls)
    # no declared size: the download itself is capped
    reply = await upload(running, b"a;b\n" * (2 * 2**20), "huge.csv", declared_size=None)
    assert "5 MB" in plain(reply)


async def test_upload_command_then_document(running: Bot) -> None:
    assert "Hãy gửi tệp điểm" in plain(await running.say("/tailen"))
    preview = await upload(running, to_cp1258(csv_text(";")), "x.csv", caption=None)
    assert "Xem trước" in plain(preview)
    hint = await upload(running, to_cp1258(csv_text(";")), "y.csv", caption=None)
    assert "/tailen" in plain(hint)


async def test_admin_management_and_template(running: Bot) -> None:
    assert "Đã thêm quản trị viên 300003" in plain(await running.say("/quantri them 300003"))
    assert "300003" in plain(await running.say("/quantri"))
    reply = await running.say("/lichsu", user_id=300003, chat_id=300003)
    assert "Các phiên bản dữ liệu" in plain(reply)
    assert "cấu hình" in plain(await running.say(f"/quantri xoa {ADMIN}"))
    assert "Đã xoá quản trị viên 300003" in plain(await running.say("/quantri xoa 300003"))
    mark = running.srv.mark()
    running.srv.push_update(running.srv.message("/mau"))
    sent = await running.srv.wait_for("sendDocument", since=mark)
    (_, content) = next(iter(sent.files.values()))
    wb = openpyxl.load_workbook(io.BytesIO(content))
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]][:5] == [
        "Năm",
        "Bảng xếp hạng",
        "Nhóm",
        "Xếp hạng",
        "Tên cơ quan, đơn vị",
    ]
    assert ws["E2"].value == "Sở Giáo dục và Đào tạo" and len(wb.worksheets) == 2
    # and the same template as ODF, which the reader reads back
    ods = await running.srv.wait_for(
        "sendDocument", lambda c: "mau-xep-hang-cds.ods" in str(c.files), since=mark
    )
    (_, ods_content) = next(iter(ods.files.values()))
    assert read_table(ods_content, "mau.ods").columns["don_vi"] == "Tên cơ quan, đơn vị"


def test_cli_import_preview_and_errors(tmp_path: Path) -> None:
    env = {**os.environ, "RANKBOT_DB": str(tmp_path / "cli.sqlite3")}
    good = tmp_path / "2023.csv"
    good.write_bytes(to_cp1258(csv_text(";")))
    dry = subprocess.run(
        [sys.executable, "-m", "bot", "import", str(good), "--dry-run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert dry.returncode == 0, dry.stderr
    assert "Xem trước" in dry.stdout and "--dry-run" in dry.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("Năm;Nhóm;Đơn vị;Điểm;Điểm tối đa;Căn cứ\n2023;huyen;A;x;1000;QĐ\n")
    failed = subprocess.run(
        [sys.executable, "-m", "bot", "import", str(bad)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert failed.returncode == 1 and "không phải là số" in failed.stdout
    done = subprocess.run(
        [sys.executable, "-m", "bot", "import", str(good)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "phiên bản dữ liệu số 3" in done.stdout
    ask = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "/top 1 tthc 2023"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Sở Thông tin và Truyền thông — 731,61" in ask.stdout
    assert parse_html("<b>x</b>")[0] == "x"


async def test_near_name_check_is_bounded_and_says_so(
    rankings: Rankings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The near-name comparison runs on the event loop: only NEAR_CHECK_MAX new names
    per ranking are compared, and the preview says how many were not."""
    monkeypatch.setattr(uploads, "NEAR_CHECK_MAX", 3)
    names = ["Huyện Bắc Hàa", "Đơn vị mới 1", "Đơn vị mới 2", "Đơn vị mới 3", "Huyện Si Ma Caii"]
    rows = "".join(
        f"2023;huyen;{i};{name};{900 - i};1.000;5;QĐ 9/QĐ-UBND 2024\n"
        for i, name in enumerate(names, start=1)
    )
    data = ("Năm;Nhóm;Xếp hạng;Đơn vị;Điểm;Điểm tối đa;Số đơn vị;Căn cứ\n" + rows).encode()
    dataset = read_and_validate(data, "2023.csv", rankings.catalog)
    preview = await uploads.build_preview(dataset, rankings, Translator("vi"), file_name="x")
    text = to_plain(preview.html)
    assert "«Huyện Bắc Hàa» gần giống" in text  # among the first three: compared
    assert "Si Ma Caii" not in text.split("Top 3")[-1]  # the fifth: not compared
    assert "Đã so 3 tên mới" in text and "2 tên mới còn lại" in text
    assert [(r, new) for r, new, _ in preview.near_names] == [
        ("cds", dataset.slices[0].rows[0].name_key)
    ]
