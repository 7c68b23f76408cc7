"""/bieudo, /xuat and the card's history chart, end to end through the fake Bot API:
the PNG and the XLSX/CSV that come back are opened and checked, and an export
uploaded again by an admin is a preview without changes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from PIL import Image
from telegram.ext import Application

from bot import charts, media
from bot.answers import Answers
from bot.charts import LEVEL_COLORS, NO_LEVEL_COLOR, draw_ranking_chart
from bot.i18n import Translator
from fakes.telegram import DEFAULT_GROUP_ID, Call, parse_html
from ranking.export import HEADERS, NOTES_SHEET_TITLE
from tests.test_charts import PNG_MAGIC, bar_count, pixels
from tests.test_telegram import Bot, plain
from tests.test_uploads import admin_bot, buttons, upload

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
GROUP: dict[str, Any] = {"chat_id": DEFAULT_GROUP_ID, "chat_type": "group"}
SOURCE = "Nguồn: QĐ 791/QĐ-UBND ngày 11/4/2023"
STALE = "cũ hoặc không hợp lệ"


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Bot]:
    async with admin_bot(tmp_path) as bot:
        yield bot


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every chart actually rendered (not served from the cache), by kind."""
    done: list[str] = []

    def counting(kind: str, real: Callable[..., bytes]) -> Callable[..., bytes]:
        def render(*args: Any, **kw: Any) -> bytes:
            done.append(kind)
            return real(*args, **kw)

        return render

    monkeypatch.setattr(charts, "ranking_chart", counting("ranking", charts.ranking_chart))
    monkeypatch.setattr(charts, "history_chart", counting("history", charts.history_chart))
    return done


async def ask(bot: Bot, text: str, method: str, **kw: Any) -> Call:
    mark = bot.srv.mark()
    bot.srv.push_update(bot.srv.message(text, **kw))
    call = await bot.srv.wait_for(method, since=mark, timeout=15)
    await bot.srv.wait_idle(quiet=0.2)
    return call


def caption(call: Call) -> str:
    text, _ = parse_html(call.params["caption"])
    return text


def sent_file(call: Call, part: str) -> tuple[str, bytes]:
    name, data = call.files[part]
    return name, data


async def chart_of(bot: Bot, text: str, **kw: Any) -> tuple[Call, bytes]:
    call = await ask(bot, text, "sendPhoto", **kw)
    assert call.ok, call.summary()
    _, png = sent_file(call, "photo")
    assert png.startswith(PNG_MAGIC)
    with Image.open(io.BytesIO(png)) as image:
        image.verify()
    return call, png


def answers(bot: Bot) -> Answers:
    result: Answers = bot.app.bot_data.answers
    return result


# ---- /bieudo --------------------------------------------------------------------------------


async def test_chart_of_huyen_2022_in_ranking_order_coloured_by_level(
    running: Bot, renders: list[str]
) -> None:
    call, png = await chart_of(running, "/bieudo huyen 2022")
    text = caption(call)
    assert "Xếp hạng chuyển đổi số tỉnh Lào Cai năm 2022 · Huyện, thị xã, thành phố" in text
    assert SOURCE in text
    # the picture is the chart of exactly the data on record…
    rankings = answers(running).rankings
    (slice_,) = [s for s in await rankings.slices("cds") if s.group_code == "huyen"]
    data = await media.ranking_chart_data(rankings, slice_, Translator("vi"))
    drawn = draw_ranking_chart(data.spec.rows, **data.spec.kwargs())
    assert drawn.png == png
    assert [r.label for r in drawn.rows] == [
        "1. Thành phố Lào Cai",
        "2. Huyện Bắc Hà",
        "3. Huyện Bát Xát",
        "4–8",
        "9. Huyện Văn Bàn",
    ]
    # …and on its pixels alone the bars run top to bottom in ranking order, in
    # the level colours (Nâng cao ×3, the unpublished 4–8 without a bar, Hình thành)
    img = pixels(png)
    runs = bar_count(img, round(drawn.plot_box[0]) + 4)
    assert [name for name, _, _ in runs] == ["nang_cao", "nang_cao", "nang_cao", "hinh_thanh"]
    bars = [r for r in drawn.rows if r.bar is not None]
    for (_, top, bottom), row in zip(runs, bars, strict=True):
        assert row.bar is not None
        assert abs(top - row.bar[1]) <= 1.5 and abs(bottom - row.bar[3]) <= 1.5
    assert [r.color for r in bars] == [LEVEL_COLORS["nang_cao"]] * 3 + [LEVEL_COLORS["hinh_thanh"]]
    # the year's other groups are one button away
    assert set(buttons(call)) == {"📊 Có TTHC", "📊 Không có TTHC"}
    assert renders == ["ranking"]


async def test_a_repeated_chart_is_not_rendered_again(running: Bot, renders: list[str]) -> None:
    _, png = await chart_of(running, "/bieudo huyen 2022")
    mark = running.srv.mark()
    _, same = await chart_of(running, "/chart 2022 huyện")
    assert same == png and renders == ["ranking"]
    assert running.srv.calls_since(mark, "sendChatAction") == []  # nothing to wait for
    # in a group, addressed to us; another bot's /bieudo is not ours
    in_group, same = await chart_of(running, "/bieudo@laocai_cds_bot huyen 2022", **GROUP)
    assert in_group.params["chat_id"] == DEFAULT_GROUP_ID and same == png
    assert in_group.params.get("reply_parameters")  # quotes the question in a group
    mark = running.srv.mark()
    running.srv.push_update(running.srv.message("/bieudo@other_bot huyen", **GROUP))
    await running.srv.wait_idle(quiet=0.3)
    assert [c.method for c in running.srv.calls_since(mark) if c.method.startswith("send")] == []
    # another language is another picture
    english, other = await chart_of(running, "/chart huyen 2022", user_id=555, language_code="en")
    assert other != png and renders == ["ranking", "ranking"]
    assert "Lào Cai digital-transformation ranking 2022 · Districts, town and city" in caption(
        english
    )


async def test_chart_without_arguments_and_its_group_buttons(
    running: Bot, renders: list[str]
) -> None:
    call, _ = await chart_of(running, "/bieudo")
    assert "2022 · Cơ quan, đơn vị có thủ tục hành chính" in caption(call)
    assert "Sở Du lịch" in caption(call)  # published "Hoàn thành", coloured by the rules
    choices = buttons(call)
    assert choices == {
        "📊 Không có TTHC": "c:cds:khong-tthc:2022",
        "📊 Huyện, thị xã, TP": ("c:cds:huyen:2022"),
    }
    mark = running.srv.mark()
    calls = await running.press(call.result, choices["📊 Huyện, thị xã, TP"])
    (answer,) = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answer.ok and "text" not in answer.params
    photo = await running.srv.wait_for("sendPhoto", since=mark, timeout=15)
    assert "Huyện, thị xã, thành phố" in caption(photo)
    assert renders == ["ranking", "ranking"]


async def test_national_dti_chart_has_no_levels(running: Bot) -> None:
    call, png = await chart_of(running, "/bieudo dti 2022")
    text = caption(call)
    assert "Bảng này không chia mức." in text and "Bộ TT&amp;TT" not in text
    assert "Bộ TT&TT" in text
    assert buttons(call) == {}
    with Image.open(io.BytesIO(png)) as image:
        width, height = image.size
    assert width == 800 and width + height <= 10_000
    img = pixels(png)
    rankings = answers(running).rankings
    (slice_,) = await rankings.slices("dti")
    data = await media.ranking_chart_data(rankings, slice_, Translator("vi"))
    drawn = draw_ranking_chart(data.spec.rows, **data.spec.kwargs())
    assert drawn.png == png
    assert {r.color for r in drawn.rows} == {NO_LEVEL_COLOR, None}  # grey, or no score
    runs = bar_count(img, round(drawn.plot_box[0]) + 4)
    assert runs and {name for name, _, _ in runs} == {"none"}
    # the shared 15th place is two rows; there is no 16th
    ranks = [r.first_rank for r in drawn.rows]
    assert ranks.count(15) == 2 and 16 not in ranks and ranks == sorted(ranks)


async def test_bad_chart_and_export_arguments_get_a_short_message(running: Bot) -> None:
    for text, needles in [
        ("/bieudo xyz", ["Bot chưa hiểu «xyz».", "Nhóm hợp lệ:", "Ví dụ: /bieudo huyen 2022"]),
        ("/bieudo huyen 1999", ["Chưa có dữ liệu năm 1999", "Ví dụ: /bieudo huyen 2022"]),
        ("/bieudo dti huyen", ["Nhóm huyen không thuộc bảng xếp hạng đã chọn."]),
        ("/xuat 2021", ["Chưa có dữ liệu năm 2021. Các năm có dữ liệu: 2022", "/xuat 2022"]),
        ("/xuat pdf", ["Bot chưa hiểu «pdf».", "Ví dụ: /xuat 2022"]),
        ("/export huyen 2022 2023", ["Chỉ chọn một năm trong một lệnh."]),
        ("/bieudo@laocai_cds_bot 1999", ["Chưa có dữ liệu năm 1999"]),
    ]:
        kw = GROUP if "@" in text else {}
        mark = running.srv.mark()
        call = await running.say(text, **kw)
        reply = plain(call)
        assert all(n in reply for n in needles), (text, reply)
        assert "Traceback" not in reply and len(reply) < 400
        await running.srv.wait_idle(quiet=0.2)
        sent = {c.method for c in running.srv.calls_since(mark)}
        assert not sent & {"sendPhoto", "sendDocument"}, text
        assert [c.method for c in running.srv.calls_since(mark, "sendMessage")] == [
            "sendMessage"
        ]  # one answer: the generic handlers stayed quiet


async def test_a_failed_render_is_an_apology_not_a_traceback(
    running: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kw: Any) -> bytes:
        raise RuntimeError("matplotlib fell over")

    monkeypatch.setattr(charts, "ranking_chart", broken)
    mark = running.srv.mark()
    call = await running.say("/bieudo huyen 2022")
    await running.srv.wait_idle(quiet=0.2)
    assert plain(call) == Translator("vi")("error.internal")
    assert len(running.srv.calls_since(mark, "sendMessage")) == 1


# ---- the card's history chart ---------------------------------------------------------------


async def test_history_chart_from_the_card(running: Bot, renders: list[str]) -> None:
    card = await running.say("/donvi bac ha")
    choices = buttons(card)
    data = choices["📈 Biểu đồ qua các năm"]
    assert data.startswith("h:") and len(data.encode()) <= 64
    for _ in range(2):
        mark = running.srv.mark()
        calls = await running.press(card.result, data)
        (answer,) = [c for c in calls if c.method == "answerCallbackQuery"]
        assert answer.ok and "text" not in answer.params
        photo = await running.srv.wait_for("sendPhoto", since=mark, timeout=15)
        assert "Huyện Bắc Hà · điểm và hạng qua các năm" in caption(photo)
        assert SOURCE in caption(photo)
        _, png = sent_file(photo, "photo")
        with Image.open(io.BytesIO(png)) as image:
            assert image.size == (800, 450)
    assert renders == ["history"]  # the second press came from the cache
    # a unit with no published score (Lào Cai in the national DTI) has no chart button
    national = await running.say("/donvi lao cai dti")
    assert "38/63" in plain(national)
    assert not any(d.startswith("h:") for d in buttons(national).values())


async def test_stale_or_forged_chart_buttons(running: Bot) -> None:
    card = await running.say("/donvi bac ha")
    national = await running.say("/donvi lao cai dti")
    lao_cai_dti = plain(national)
    assert lao_cai_dti
    for data in (
        "h:999999",
        "h:abc",
        "h:",
        "c:cds:tinh:2022",
        "c:cds:huyen:1999",
        "c:nope:huyen:2022",
        "c:cds:huyen:2022:extra",
    ):
        calls = await running.press(card.result, data)
        answer = next(c for c in calls if c.method == "answerCallbackQuery")
        assert answer.ok and STALE in answer.params.get("text", ""), data
        assert [c for c in calls if c.method in ("sendPhoto", "sendMessage")] == [], data


# ---- /xuat ----------------------------------------------------------------------------------


async def test_export_2022_xlsx_and_its_reupload_is_a_no_op(
    running: Bot, renders: list[str]
) -> None:
    call = await ask(running, "/xuat 2022", "sendDocument")
    assert call.ok
    name, data = sent_file(call, "document")
    assert name == "xep-hang-cds-2022.xlsx"
    assert call.result["document"]["file_name"] == "xep-hang-cds-2022.xlsx"
    text = caption(call)
    assert "tất cả các nhóm: 19 dòng" in text and SOURCE in text
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]] == list(HEADERS)
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert len(rows) == 19
    assert {r[2] for r in rows} == {
        "Cơ quan, đơn vị có thủ tục hành chính",
        "Cơ quan, đơn vị không có thủ tục hành chính",
        "Huyện, thị xã, thành phố",
    }
    lao_cai = next(r for r in rows if r[4] == "Thành phố Lào Cai")
    assert lao_cai[:7] == [
        2022,
        "cds",
        "Huyện, thị xã, thành phố",
        1,
        "Thành phố Lào Cai",
        651.93,
        1000,
    ]
    du_lich = next(row for row in sheet.iter_rows(min_row=2) if row[4].value == "Sở Du lịch")
    assert du_lich[5].data_type == "n" and du_lich[5].value == 235.4
    assert du_lich[5].number_format == "0.00" and du_lich[7].value == "Hoàn thành"
    assert book.worksheets[1].title == NOTES_SHEET_TITLE
    # the file as downloaded, uploaded again by an admin: the same content, so nothing is
    # written or announced (issue #14: rows are compared, not bytes), and no chart redrawn
    await chart_of(running, "/bieudo huyen 2022")
    again = plain(await upload(running, data, name))
    assert "Nội dung tệp trùng với dữ liệu đang công bố (19 dòng" in again
    await chart_of(running, "/bieudo huyen 2022")
    assert renders == ["ranking"]
    top = plain(await running.say("/top 10 huyen 2022"))
    assert "1. Thành phố Lào Cai — 651,93 (65,19 %) · Nâng cao" in top


async def test_export_one_group_as_csv_reuploads_unchanged(running: Bot) -> None:
    call = await ask(running, "/xuat huyen 2022 csv", "sendDocument")
    name, data = sent_file(call, "document")
    assert name == "xep-hang-cds-2022-huyen.csv"
    assert "Huyện, thị xã, thành phố: 4 dòng" in caption(call)
    assert data.startswith(b"\xef\xbb\xbf")
    records = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert records[0] == list(HEADERS)
    assert [r[3:6] for r in records[1:]] == [
        ["1", "Thành phố Lào Cai", "651.93"],
        ["2", "Huyện Bắc Hà", "585.45"],
        ["3", "Huyện Bát Xát", "585.22"],
        ["9", "Huyện Văn Bàn", "449.13"],
    ]
    preview = plain(await upload(running, data, name))
    assert preview.count("Không có thay đổi về điểm và hạng.") == 1
    assert "✎" not in preview and "＋" not in preview and "－" not in preview


async def test_export_in_a_group_and_of_the_national_index(running: Bot) -> None:
    call = await ask(running, "/export@laocai_cds_bot dti", "sendDocument", **GROUP)
    assert call.params["chat_id"] == DEFAULT_GROUP_ID
    name, data = sent_file(call, "document")
    assert name == "xep-hang-dti-2022.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert len(rows) == 63
    assert sum(1 for r in rows if r[3] == 15) == 2 and not any(r[3] == 16 for r in rows)
    lao_cai = next(r for r in rows if r[4] == "Lào Cai")
    assert lao_cai[3] == 38 and lao_cai[5] is None  # a rank, no published index
    english = await ask(
        running, "/export 2022 csv", "sendDocument", user_id=555, language_code="en"
    )
    assert "all groups: 19 rows" in caption(english)
