"""End to end: the real Application polls the fake Bot API server on 127.0.0.1.

The real HTTP stack, handlers, parse mode and Telegram's validation all run;
nothing reaches the internet.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import Application

from bot.channels.telegram import app as telegram_app
from bot.channels.telegram.app import build_application, post_init, post_shutdown
from bot.logs import setup_logging
from bot.settings import Settings
from fakes.telegram import (
    DEFAULT_GROUP_ID,
    DEFAULT_USER_ID,
    Call,
    FakeBotAPI,
    parse_html,
)
from ranking.catalog import load_catalog
from ranking.importer import read_and_validate, sha256
from ranking.publishing import load_shipped_data
from ranking.store import Store
from tests.support.serving import serving
from tests.support.waiting import eventually

TOKEN = "123456789:AAFtestTOKENabcdefghijklmnopqrstuvwxyz0123"
EDITED = ("editMessageText", None)  # a button's handler ends by editing its message
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Bot:
    srv: FakeBotAPI
    app: Application[Any, Any, Any, Any, Any, Any]

    async def say(self, text: str, **kw: Any) -> Call:
        mark = self.srv.mark()
        self.srv.push_update(self.srv.message(text, **kw))
        return await self.srv.wait_for("sendMessage", since=mark)

    async def silent(self, text: str, **kw: Any) -> None:
        mark = self.srv.mark()
        self.srv.push_update(self.srv.message(text, **kw))
        await self.srv.wait_idle(quiet=0.3)
        assert self.srv.calls_since(mark, "sendMessage") == []

    async def press(
        self,
        message: dict[str, Any],
        data: str,
        *,
        then: tuple[str, Callable[[Call], bool] | None] | None = None,
    ) -> list[Call]:
        """Press a button; the calls it caused. ``then`` is the (method, predicate) of the
        call the handler ends with, waited for: a handler may work a while without a request
        (an import's commit) after answering the button, which no quiet period can tell."""
        mark = self.srv.mark()
        self.srv.push_update(self.srv.callback_query(data, message=message))
        await self.srv.wait_for("answerCallbackQuery", since=mark)
        if then is not None:
            method, predicate = then
            await self.srv.wait_for(method, predicate, since=mark, timeout=15)
        await self.srv.wait_idle(quiet=0.2)
        return self.srv.calls_since(mark)


def settings_for(srv: FakeBotAPI, db: Path, *, flood_per_minute: int = 0) -> Settings:
    """One simulated user asks far faster than a person: the flood guard is off
    unless a test turns it on (test_flood_guard_asks_to_wait_once)."""
    return Settings(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=srv.base_url,
        TELEGRAM_FILE_BASE_URL=srv.base_file_url,
        RANKBOT_DB=str(db),
        RANKBOT_FLOOD_PER_MINUTE=flood_per_minute,
    )


async def seed_2023(db: Path) -> None:
    """A second year with a complete 30-unit group, so pages and year buttons appear."""
    store = await Store.open(db)
    try:
        catalog = load_catalog()
        await load_shipped_data(store, catalog)
        rows = "".join(
            f"2023;huyen;{i};Đơn vị thử {i:02d};{900 - i * 10};1.000;30;QĐ 9/QĐ-UBND 2024\n"
            for i in range(1, 31)
        )
        data = ("Năm;Nhóm;Xếp hạng;Đơn vị;Điểm;Điểm tối đa;Số đơn vị;Căn cứ\n" + rows).encode()
        dataset = read_and_validate(data, "2023.csv", catalog)
        await store.scores.commit_version(
            dataset.slices, file_name="2023.csv", sha256=sha256(data), uploaded_by=1
        )
    finally:
        await store.close()


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Bot]:
    async with FakeBotAPI() as srv:
        async with serving(settings_for(srv, tmp_path / "bot.sqlite3")) as app:
            yield Bot(srv, app)
        assert srv.violations == []


def plain(call: Call) -> str:
    text, _ = parse_html(call.params["text"])
    return text


async def test_top_in_private_chat(running: Bot) -> None:
    call = await running.say("/top 10 huyen 2022")
    assert call.ok and call.params["parse_mode"] == "HTML"
    text = plain(call)
    assert "1. Thành phố Lào Cai — 651,93 (65,19 %) · Nâng cao" in text
    assert "2. Huyện Bắc Hà — 585,45 (58,55 %) · Nâng cao" in text
    assert "3. Huyện Bát Xát — 585,22 (58,52 %) · Nâng cao" in text
    assert "… hạng 4–8 chưa được công bố" in text
    assert "9. Huyện Văn Bàn — 449,13 (44,91 %) · Hình thành" in text
    assert text.index("Lào Cai") < text.index("Bắc Hà") < text.index("Bát Xát")


async def test_top_in_group_with_mention_and_group_etiquette(running: Bot) -> None:
    group = {"chat_id": DEFAULT_GROUP_ID, "chat_type": "group"}
    call = await running.say("/top@laocai_cds_bot 10 huyen 2022", **group)
    assert call.params["chat_id"] == DEFAULT_GROUP_ID
    assert "651,93" in plain(call)
    await running.silent("bac ha", **group)  # ordinary chatter
    await running.silent("/top@some_other_bot 5", **group)  # another bot's command
    await running.silent("/xyz", **group)  # unknown, not addressed to us
    call = await running.say("@laocai_cds_bot bac ha", **group)
    assert "Huyện Bắc Hà" in plain(call) and "585,45" in plain(call)


async def test_plain_text_lookup_in_private_chat(running: Bot) -> None:
    call = await running.say("bac ha")
    assert plain(call).startswith("🏛 Huyện Bắc Hà")
    assert "585,45/1.000" in plain(call)
    call = await running.say("top 5 huyện 2022")
    assert "… hạng 4–5 chưa được công bố" in plain(call)


async def test_every_query_command_answers(running: Bot) -> None:
    for text, needle in [
        ("/start", "Xin chào"),
        ("/trogiup", "/top [N] [nhóm] [năm]"),
        ("/help", "/cuoi"),
        ("/cuoi 1 tthc", "Sở Du lịch"),
        ("/bottom 1 tthc", "Sở Du lịch"),
        ("/donvi so du lich", "Nguồn công bố mức «Hoàn thành»"),
        ("/unit tuyen giao", "402"),
        ("/nam", "2022"),
        ("/years", "2022"),
        ("/nhom", "tối đa 750 điểm"),
        ("/groups", "huyen"),
        ("/muc", "Dẫn dắt: trên 75 %"),
        ("/levels 2022", "Khởi động: 1"),
        ("/top 10 xyz 1999", "Chưa có dữ liệu năm 1999"),
        ("/top 500", "không hợp lệ"),
        ("/lenhla", "Không có lệnh /lenhla"),
    ]:
        call = await running.say(text)
        assert call.ok
        assert needle in plain(call), (text, plain(call))


async def test_edited_message_is_not_a_new_question(running: Bot) -> None:
    mark = running.srv.mark()
    running.srv.push_update(running.srv.message("/top 3", edited=True))
    await running.srv.wait_idle(quiet=0.3)
    assert running.srv.calls_since(mark, "sendMessage") == []


async def test_buttons_switch_group_and_stale_ones_are_answered(running: Bot) -> None:
    call = await running.say("/top 3 huyen 2022")
    markup = call.params["reply_markup"]["inline_keyboard"]
    buttons = {b["text"]: b["callback_data"] for row in markup for b in row}
    assert all(len(data.encode()) <= 64 for data in buttons.values())
    assert "• Huyện, thị xã, TP" in buttons
    message = call.result
    calls = await running.press(message, buttons["Có TTHC"], then=EDITED)
    (edit,) = [c for c in calls if c.method == "editMessageText"]
    assert edit.ok and "Sở Giáo dục và Đào tạo — 625,3" in plain(edit)
    # the same button again: Telegram says "not modified"; the user sees no error
    calls = await running.press(message, buttons["Có TTHC"])
    assert [c.method for c in calls if c.method == "sendMessage"] == []
    # forged / stale data
    for data in ("r:t:cds:nope:2022:10:1", "garbage", "r:t:cds:huyen:2022:999:1", "u:999999"):
        calls = await running.press(message, data)
        answer = next(c for c in calls if c.method == "answerCallbackQuery")
        assert answer.ok
        assert [c for c in calls if c.method == "sendMessage"] == []
    stale = next(
        c for c in await running.press(message, "garbage") if c.method == "answerCallbackQuery"
    )
    assert "cũ hoặc không hợp lệ" in stale.params["text"]


async def test_pages_and_year_buttons(tmp_path: Path) -> None:
    await seed_2023(tmp_path / "bot.sqlite3")
    async with FakeBotAPI() as srv:
        async with serving(settings_for(srv, tmp_path / "bot.sqlite3")) as app:
            bot = Bot(srv, app)
            call = await bot.say("/top 30 huyen 2023")
            assert "1. Đơn vị thử 01" in plain(call) and "21." not in plain(call)
            rows = call.params["reply_markup"]["inline_keyboard"]
            buttons = {b["text"]: b["callback_data"] for row in rows for b in row}
            assert {"Sau »", "1/2", "2022", "• 2023"} <= set(buttons)
            calls = await bot.press(call.result, buttons["Sau »"], then=EDITED)
            (edit,) = [c for c in calls if c.method == "editMessageText"]
            assert "21. Đơn vị thử 21" in plain(edit) and "1. Đơn vị thử 01" not in plain(edit)
            assert "Trang 2/2" in plain(edit)
            calls = await bot.press(call.result, buttons["2022"], then=EDITED)
            (edit,) = [c for c in calls if c.method == "editMessageText"]
            assert "Thành phố Lào Cai" in plain(edit)
        assert srv.violations == []


async def test_unit_choice_buttons(running: Bot) -> None:
    call = await running.say("/donvi ban")
    rows = call.params["reply_markup"]["inline_keyboard"]
    data = {b["text"]: b["callback_data"] for row in rows for b in row}
    calls = await running.press(call.result, data["Ban Dân tộc"], then=EDITED)
    (edit,) = [c for c in calls if c.method == "editMessageText"]
    assert "562,2" in plain(edit)


async def test_inline_query_offers_cards(running: Bot) -> None:
    mark = running.srv.mark()
    running.srv.push_update(running.srv.inline_query("bac ha"))
    call = await running.srv.wait_for("answerInlineQuery", since=mark)
    assert call.ok
    results = call.params["results"]
    assert 1 <= len(results) <= 50
    assert results[0]["title"] == "Huyện Bắc Hà"
    assert "585,45" in results[0]["input_message_content"]["message_text"]
    mark = running.srv.mark()
    running.srv.push_update(running.srv.inline_query("top huyen 2022"))
    call = await running.srv.wait_for("answerInlineQuery", since=mark)
    assert "651,93" in call.params["results"][0]["input_message_content"]["message_text"]


async def test_deep_links(running: Bot) -> None:
    card = await running.say("bac ha")
    unit_button = card.params["reply_markup"]["inline_keyboard"][0][0]
    assert unit_button["callback_data"].startswith("r:t:cds:huyen:2022")
    call = await running.say("/start top_huyen_2022")
    assert "651,93" in plain(call)
    store: Store = running.app.bot_data.store
    unit_id = (await store.scores.unit_keys("cds"))["huyen bac ha"]
    call = await running.say(f"/start donvi_{unit_id}")
    assert plain(call).startswith("🏛 Huyện Bắc Hà")


async def test_language_from_telegram_and_switch(running: Bot) -> None:
    call = await running.say("/top 1 huyen", user_id=555, language_code="en")
    assert "1. Thành phố Lào Cai — 651.93 (65.19%) · Advanced" in plain(call)
    call = await running.say("/ngonngu vi", user_id=555, language_code="en")
    assert "Tiếng Việt" in plain(call)
    call = await running.say("/top 1 huyen", user_id=555, language_code="en")
    assert "651,93 (65,19 %) · Nâng cao" in plain(call)
    store: Store = running.app.bot_data.store
    assert await store.people.language(555) == "vi"  # remembered in the store


async def test_a_language_chosen_before_the_start_answers_the_first_question(
    tmp_path: Path,
) -> None:
    """The stored choices are read once, not one trip per person's first question."""
    db = tmp_path / "bot.sqlite3"
    store = await Store.open(db)
    try:
        await store.people.set_language(777, "en")
    finally:
        await store.close()
    async with FakeBotAPI() as srv, serving(settings_for(srv, db)) as app:
        bot = Bot(srv, app)
        call = await bot.say("/top 1 huyen", user_id=777, language_code="vi")
        assert "651.93 (65.19%) · Advanced" in plain(call)
        call = await bot.say("/top 1 huyen", user_id=778, language_code="vi")
        assert "651,93 (65,19 %) · Nâng cao" in plain(call)  # no choice: Telegram's
        assert app.bot_data.languages == {777: "en"}
        assert srv.violations == []


async def test_menus_and_descriptions_are_set(running: Bot) -> None:
    def methods() -> list[str]:
        return [c.method for c in running.srv.calls if c.done]

    # after the first update's answer, or a second without one (SET_UP_AFTER)
    await eventually(lambda: methods().count("setMyShortDescription") == 2, "set-up calls")
    assert methods().count("setMyCommands") == 6
    commands = [c for c in running.srv.calls if c.method == "setMyCommands"]
    vi = next(c for c in commands if "language_code" not in c.params)
    assert [cmd["command"] for cmd in vi.params["commands"]][:3] == ["top", "cuoi", "donvi"]
    en = next(c for c in commands if c.params.get("language_code") == "en")
    assert "unit" in [cmd["command"] for cmd in en.params["commands"]]
    assert "setMyDescription" in methods()


async def test_set_up_calls_do_not_delay_the_first_answer(tmp_path: Path) -> None:
    async with FakeBotAPI() as srv:
        srv.delay_next("setMyCommands", 60)  # held far longer than an answer takes
        async with serving(settings_for(srv, tmp_path / "bot.sqlite3")) as app:
            call = await Bot(srv, app).say("/top 1 huyen")
            assert "651,93" in plain(call)
            await eventually(lambda: held(srv) != [], "the set-up calls began")
            assert len(held(srv)) == 1 and not held(srv)[0].done  # answered while held


def held(srv: FakeBotAPI) -> list[Call]:
    return [c for c in srv.calls if c.method == "setMyCommands"]


async def test_set_up_calls_go_out_after_the_first_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not beside the first poll: the loop answers the question that waited first."""
    monkeypatch.setattr(telegram_app, "SET_UP_AFTER", 60.0)  # only the answer lets them go
    async with FakeBotAPI() as srv, serving(settings_for(srv, tmp_path / "db.sqlite3")) as app:
        await asyncio.sleep(0.3)
        assert held(srv) == []  # no update yet: none of them
        call = await Bot(srv, app).say("/top 1 huyen")
        await eventually(lambda: held(srv) != [], "the set-up calls began")
        assert call.at <= held(srv)[0].at


async def test_a_stop_before_any_update_does_not_wait_for_the_set_up_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(telegram_app, "SET_UP_AFTER", 60.0)
    async with FakeBotAPI() as srv:
        bot = serving(settings_for(srv, tmp_path / "bot.sqlite3"))
        await bot.__aenter__()
        stopping = time.monotonic()
        await bot.__aexit__(None, None, None)
        # not held SET_UP_GRACE by set-up calls that never began
        assert time.monotonic() - stopping < telegram_app.SET_UP_GRACE
        assert held(srv) == []


async def test_failed_set_up_calls_do_not_stop_the_bot(tmp_path: Path) -> None:
    async with FakeBotAPI() as srv:
        srv.fail_next("setMyCommands", status=500, count=10)
        async with serving(settings_for(srv, tmp_path / "bot.sqlite3")) as app:
            call = await Bot(srv, app).say("/top 1 huyen")
            assert "651,93" in plain(call)


async def test_server_faults_are_survived(running: Bot) -> None:
    running.srv.fail_next("getUpdates", status=500)
    call = await running.say("/top 1 huyen")
    assert "651,93" in plain(call)
    # a server error on send may come after Telegram accepted the message: it is
    # never re-sent (a duplicate in an official's chat), the user gets the apology
    running.srv.fail_next("sendMessage", status=500)
    mark = running.srv.mark()
    running.srv.push_update(running.srv.message("/nam"))
    apology = await running.srv.wait_for("sendMessage", lambda c: c.ok, since=mark, timeout=10)
    assert "Xin lỗi" in apology.params["text"]
    sends = running.srv.calls_since(mark, "sendMessage")
    assert [c.ok for c in sends if "Xin lỗi" not in c.params["text"]] == [False]
    # a failure that retrying cannot fix: the error handler logs it and apologises
    running.srv.fail_next("sendMessage", status=400, description="Bad Request: chat busy")
    mark = running.srv.mark()
    running.srv.push_update(running.srv.message("/nam"))
    apology = await running.srv.wait_for("sendMessage", lambda c: c.ok, since=mark, timeout=10)
    assert "Xin lỗi" in apology.params["text"]
    call = await running.say("/nam")  # and the bot still answers afterwards
    assert "2022" in plain(call)


async def test_a_timed_out_send_is_not_resent(tmp_path: Path) -> None:
    """Telegram may have delivered a message whose answer timed out: no blind resend."""
    async with FakeBotAPI() as srv:
        settings = settings_for(srv, tmp_path / "bot.sqlite3").replace(request_timeout=0.5)
        async with serving(settings) as app:
            srv.delay_next("sendMessage", 1.5)
            mark = srv.mark()
            srv.push_update(srv.message("/nam"))
            apology = await srv.wait_for(
                "sendMessage", lambda c: "Xin lỗi" in c.params["text"], since=mark, timeout=10
            )
            assert apology.ok
            await srv.wait_idle(quiet=1.6)
            answers = [
                c
                for c in srv.calls_since(mark, "sendMessage")
                if "Xin lỗi" not in c.params["text"]
            ]
            assert len(answers) == 1  # sent once (and delivered late), never resent
            call = await Bot(srv, app).say("/nam")  # the bot goes on
            assert "2022" in plain(call)


async def test_long_replies_fit_telegram_limits(running: Bot) -> None:
    # all three groups at once, 100 ranks each: still within 4096 chars / 100 entities
    call = await running.say("/top 100")
    assert call.ok
    text, entities = parse_html(call.params["text"])
    assert len(text.encode("utf-16-le")) // 2 <= 4096 and len(entities) <= 100


async def test_token_never_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    setup_logging(TOKEN)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("httpx").setLevel(logging.DEBUG)  # the worst case: URLs logged
    try:
        async with FakeBotAPI() as srv:
            async with serving(settings_for(srv, tmp_path / "bot.sqlite3")) as app:
                bot = Bot(srv, app)
                await bot.say("/top 1")
                srv.fail_next("sendMessage", status=400, description="Bad Request: x")
                mark = srv.mark()
                srv.push_update(srv.message("/nam"))
                await srv.wait_for("sendMessage", lambda c: c.ok, since=mark, timeout=10)
            logging.getLogger("rankbot").error("token in an error: %s", f"bot{TOKEN}/getMe")
    finally:
        logging.getLogger("httpx").setLevel(logging.WARNING)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "getUpdates" in text or "sendMessage" in text  # the logs were really captured
    assert TOKEN not in text and TOKEN.split(":")[1] not in text
    for call in srv.calls:
        if call.method == "sendMessage":
            assert TOKEN not in call.params["text"]


async def test_shutdown_leaves_no_database_thread(tmp_path: Path) -> None:
    before = {t.ident for t in threading.enumerate()}
    async with FakeBotAPI() as srv:
        app = build_application(settings_for(srv, tmp_path / "bot.sqlite3"))
        async with app:
            await post_init(app)
        await post_shutdown(app)

    # the loop's own executor threads (asyncio_N) belong to the test's loop, not to us
    def ours() -> list[threading.Thread]:
        return [
            t
            for t in threading.enumerate()
            if t.ident not in before and t.is_alive() and not t.name.startswith("asyncio_")
        ]

    # a closed connection's thread ends just after close() returns: wait for that
    await eventually(lambda: not ours(), "the database threads ended")
    left = ours()
    assert left == []
    assert app.bot_data.store is None


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_python_m_bot_run_against_the_fake_server(tmp_path: Path, sig: int) -> None:
    """The stable interface: `python -m bot run`, configured only by the environment."""
    async with FakeBotAPI() as srv:
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": srv.base_url,
            "TELEGRAM_FILE_BASE_URL": srv.base_file_url,
            "RANKBOT_DB": str(tmp_path / "run.sqlite3"),
        }
        # an update that arrived while the bot was down is still answered
        srv.push_update(srv.message("bac ha", user_id=DEFAULT_USER_ID))
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            call = await srv.wait_for("sendMessage", timeout=30)
            assert "585,45" in plain(call)
            mark = srv.mark()
            srv.push_update(srv.message("/top 10 huyen 2022"))
            call = await srv.wait_for("sendMessage", since=mark, timeout=10)
            assert "651,93" in plain(call)
        finally:
            proc.send_signal(sig)
            _, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
        assert proc.returncode == 0, stderr.decode()
        assert TOKEN not in stderr.decode()
        assert "Traceback" not in stderr.decode()
        # the new database was made ready by the forked process (bot/prepare.py)
        assert "not prepared" not in stderr.decode()
        assert "loaded shipped data" not in stderr.decode()


def test_run_without_token_is_one_clear_line(tmp_path: Path) -> None:
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": "", "RANKBOT_DB": str(tmp_path / "x.sqlite3")}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "TELEGRAM_BOT_TOKEN" in done.stderr


def test_run_with_malformed_token_is_one_clear_line(tmp_path: Path) -> None:
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": "not-a-token", "RANKBOT_DB": str(tmp_path / "x")}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "TELEGRAM_BOT_TOKEN" in done.stderr
    assert "not-a-token" not in done.stderr


async def test_flood_guard_asks_to_wait_once(tmp_path: Path) -> None:
    """A user pasting 25 questions at once: the first 10 (the burst) are answered,
    then one polite "chờ một chút", then silence; others are not held up, and
    after the wait the same user is answered again."""
    async with FakeBotAPI() as srv:
        settings = settings_for(srv, tmp_path / "f.sqlite3", flood_per_minute=60)
        async with serving(settings) as app:
            bot = Bot(srv, app)
            mark = srv.mark()
            pushed = time.monotonic()  # the clock of the fake's calls (Call.at)
            for _ in range(25):
                srv.push_update(srv.message("/top 3 huyen", user_id=555001, chat_id=555001))
            # the burst's answers and the one "wait" have to arrive: wait for them by count,
            # then for quiet, to see that nothing more follows
            await srv.wait_for(
                "sendMessage",
                lambda c: len(srv.calls_since(mark, "sendMessage")) >= 11,
                since=mark,
                timeout=30,
            )
            await srv.wait_idle(quiet=0.5)
            calls = srv.calls_since(mark, "sendMessage")
            replies = [plain(c) for c in calls]
            waits = [r for r in replies if "Chờ một chút" in r]
            assert len(waits) == 1, replies
            # the burst of 10, and one more for each second (60 a minute) the 25 took to be
            # decided: every decision came between the push and the last reply. A loaded
            # machine takes longer, so the bound follows the time taken, not a guess of it.
            window = max(c.at for c in calls) - pushed
            assert 10 <= len(replies) - 1 <= 10 + int(window) + 1, (len(replies), window)
            other = await bot.say("/top 3 huyen", user_id=555002, chat_id=555002)
            assert "Thành phố Lào Cai" in plain(other)
            await asyncio.sleep(1.1)  # one token back (60 a minute)
            again = await bot.say("/top 3 huyen", user_id=555001, chat_id=555001)
            assert "Thành phố Lào Cai" in plain(again)
        assert srv.violations == []
