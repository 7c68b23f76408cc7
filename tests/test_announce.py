"""Announcements end to end: subscriptions, the outbox, Telegram's limits, faults, restarts.

The real Application polls the fake Bot API on 127.0.0.1; announcements go out
through the same bot while queries are answered.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import pytest
from telegram import Update

from bot.channels.telegram import announce
from bot.channels.telegram import app as telegram_app
from bot.channels.telegram.app import build_application, post_init, post_shutdown, post_stop
from bot.settings import Settings
from fakes.telegram import FakeBotAPI
from ranking.store import Store
from tests.support.waiting import eventually
from tests.test_telegram import ROOT, TOKEN, Bot, plain
from tests.test_uploads import buttons, csv_text, upload

ADMIN = 100001  # in RANKBOT_ADMIN_IDS
OWNER = 300003  # a group's administrator
MEMBER = 400004  # a plain member
GROUP = -400000077
CDS_2022 = 2  # the shipped versions: 1 is the national DTI, 2 the provincial 2022 results


@asynccontextmanager
async def started(
    srv: FakeBotAPI, db: Path, *, request_timeout: float = 15.0, **pacing: Any
) -> AsyncIterator[Bot]:
    """The application as `python -m bot run` starts it; with `pacing`, the outbox
    that post_init started is restarted with a faster or slower pace."""
    settings = Settings(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=srv.base_url,
        TELEGRAM_FILE_BASE_URL=srv.base_file_url,
        RANKBOT_DB=str(db),
        RANKBOT_ADMIN_IDS=str(ADMIN),
        RANKBOT_REQUEST_TIMEOUT=request_timeout,
    )
    app = build_application(settings)
    async with app:
        await post_init(app)
        outbox = app.bot_data.outbox
        assert outbox is not None and outbox.task is not None  # started by post_init itself
        if pacing:
            await telegram_app.stop_outbox(app)
            await telegram_app.start_outbox(app, **pacing)
        assert app.updater is not None
        await app.updater.start_polling(
            poll_interval=0, timeout=1, allowed_updates=Update.ALL_TYPES
        )
        await app.start()
        try:
            yield Bot(srv, app)
        finally:
            await app.updater.stop()
            await app.stop()
            await post_stop(app)
    await post_shutdown(app)


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Bot]:
    async with FakeBotAPI() as srv, started(srv, tmp_path / "bot.sqlite3") as bot:
        yield bot
        assert srv.violations == []


def store_of(bot: Bot) -> Store:
    store: Store = bot.app.bot_data.store
    return store


def in_group(chat_id: int = GROUP, **kw: Any) -> dict[str, Any]:
    return {"chat_id": chat_id, "chat_type": "group", **kw}


def delivered(bot: Bot, since: int = 0) -> Counter[int]:
    """Messages the fake actually accepted, per chat."""
    return Counter(
        int(c.params["chat_id"]) for c in bot.srv.calls_since(since, "sendMessage") if c.ok
    )


async def until_done(bot: Bot, announcement_id: int, timeout: float = 20.0) -> dict[str, int]:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while True:
        counts = await store_of(bot).outbox.announcement_status(announcement_id)
        if not counts.get("pending") and not counts.get("sending"):
            return counts
        assert time.monotonic() < deadline, counts
        await asyncio.sleep(0.05)


async def test_group_admins_subscribe_members_are_refused(running: Bot) -> None:
    srv, store = running.srv, store_of(running)
    srv.set_chat_admins(GROUP, [OWNER], creator=OWNER)
    refused = await running.say("/dangky", **in_group(user_id=MEMBER))
    assert "Chỉ quản trị viên của nhóm" in plain(refused)
    assert await store.outbox.subscription(GROUP) is False
    anonymous = await running.say("/dangky", **in_group(user_id=1087968824, sender_chat=GROUP))
    assert "tài khoản cá nhân" in plain(anonymous)
    unknown = await running.say("/dangky huyen xyz", **in_group(user_id=OWNER))
    assert "«xyz»" in plain(unknown) and await store.outbox.subscription(GROUP) is False
    done = await running.say("/dangky cấp huyện tthc", **in_group(user_id=OWNER))
    assert "Nhóm này sẽ nhận thông báo" in plain(done) and "Huyện" in plain(done)
    assert await store.outbox.subscription(GROUP) == ("huyen", "tthc")
    # the admin list is cached: one getChatAdministrators for three commands
    assert len(srv.calls_since(0, "getChatAdministrators")) == 1
    # a bot admin may subscribe any group; "tất cả" widens it again
    other = -400000078
    await running.say("/dangky tất cả", **in_group(other, user_id=ADMIN))
    assert await store.outbox.subscription(other) is None
    assert "Đã huỷ" in plain(await running.say("/huydangky", **in_group(user_id=OWNER)))
    assert await store.outbox.subscription(GROUP) is False
    assert "Chưa đăng ký" in plain(await running.say("/huydangky", **in_group(user_id=OWNER)))


async def test_private_subscription(running: Bot) -> None:
    reply = await running.say("/dangky", user_id=MEMBER, chat_id=MEMBER)
    assert "Bạn sẽ nhận thông báo" in plain(reply) and "tất cả các nhóm" in plain(reply)
    assert await store_of(running).outbox.subscription(MEMBER) is None
    reply = await running.say("/subscribe huyen", user_id=MEMBER, chat_id=MEMBER)
    assert await store_of(running).outbox.subscription(MEMBER) == ("huyen",)
    assert "Đã huỷ" in plain(await running.say("/unsubscribe", user_id=MEMBER, chat_id=MEMBER))


async def test_added_greets_kicked_unsubscribes_migration_moves(running: Bot) -> None:
    srv, store = running.srv, store_of(running)
    mark = srv.mark()
    srv.push_update(srv.my_chat_member(GROUP, "group", "left", "member", user_id=OWNER))
    greeting = await srv.wait_for("sendMessage", since=mark)
    assert greeting.params["chat_id"] == GROUP and "/dangky" in plain(greeting)
    await store.outbox.subscribe(GROUP, "group", ["huyen"], by=OWNER)
    new_id = -1009000000077
    srv.push_update(srv.migrate_message(GROUP, new_id))

    # both reactions are store writes that make no request: wait for the write itself
    async def moved() -> bool:
        return await store.outbox.subscription(new_id) == ("huyen",)

    await eventually(moved, f"the subscription moved from {GROUP} to {new_id}")
    assert await store.outbox.subscription(GROUP) is False
    assert await store.outbox.subscription(new_id) == ("huyen",)
    srv.push_update(srv.my_chat_member(new_id, "supergroup", "member", "kicked", user_id=OWNER))

    async def unsubscribed() -> bool:
        return await store.outbox.subscription(new_id) is False

    await eventually(unsubscribed, f"kicked from {new_id}, its subscription ended")
    assert await store.outbox.subscription(new_id) is False
    await srv.wait_idle(quiet=0.3)  # and nothing is sent about it
    assert len(srv.calls_since(mark, "sendMessage")) == 1  # only the greeting


async def test_announce_version_to_fifty_groups_within_limits(tmp_path: Path) -> None:
    async with FakeBotAPI(enforce_limits=True) as srv, started(srv, tmp_path / "b.db") as bot:
        store = store_of(bot)
        groups = [-400001000 - i for i in range(50)]
        for chat_id in groups:
            await store.outbox.subscribe(chat_id, "group", None, by=OWNER)
        narrowed, elsewhere = groups[0], groups[1]
        await store.outbox.subscribe(narrowed, "group", ["huyen"], by=OWNER)
        # the national DTI only
        await store.outbox.subscribe(elsewhere, "group", ["tinh"], by=OWNER)
        forbidden, migrating, new_id = groups[2], groups[3], -1009000001003
        srv.forbid_chat(forbidden)
        srv.migrate_message(migrating, new_id)  # sends to the old id now answer ChatMigrated
        await store.outbox.subscribe(MEMBER, "private", None, by=MEMBER)
        await store.people.set_language(MEMBER, "en")
        mark = srv.mark()
        announcement_id = await announce.announce_version(bot.app, CDS_2022, ADMIN)
        assert announcement_id is not None
        # queries are answered while the announcement goes out
        started_at = time.monotonic()
        srv.push_update(srv.message("/top 3 huyen", user_id=OWNER, chat_id=OWNER))
        top = await srv.wait_for("sendMessage", lambda c: c.params["chat_id"] == OWNER)
        assert "Thành phố Lào Cai" in plain(top) and time.monotonic() - started_at < 2
        counts = await until_done(bot, announcement_id)
        assert counts == {"sent": 49, "unreachable": 1}, counts
        sent = delivered(bot, mark)
        expected = set(groups) - {elsewhere, forbidden, migrating} | {new_id, MEMBER, OWNER}
        assert set(sent) == expected and all(n == 1 for n in sent.values()), sent
        assert srv.rate_limit_hits == []
        assert await store.outbox.subscription(forbidden) is False
        assert await store.outbox.subscription(migrating) is False
        assert await store.outbox.subscription(new_id) is None
        texts = {
            int(c.params["chat_id"]): plain(c)
            for c in srv.calls_since(mark, "sendMessage")
            if c.ok
        }
        full = texts[groups[5]]
        assert "Kết quả mới" in full and "1. Thành phố Lào Cai" in full
        assert "Có thủ tục hành chính" in full or "có thủ tục hành chính" in full
        assert "Số đơn vị theo mức: Dẫn dắt" in full and "QĐ 791/QĐ-UBND" in full
        assert "thủ tục hành chính" not in texts[narrowed] and "Huyện" in texts[narrowed]
        assert elsewhere not in texts  # follows only the national DTI: not in this version
        assert "New results" in texts[MEMBER]
        # announcing the same version again queues nothing
        assert await announce.announce_version(bot.app, CDS_2022, ADMIN) == announcement_id
        await srv.wait_idle(quiet=0.3)
        assert sum(delivered(bot, mark).values()) == len(expected)
        assert srv.violations == []


async def test_free_text_announcement_preview_confirm_once_and_status(running: Bot) -> None:
    srv, store = running.srv, store_of(running)
    assert "Chưa có thông báo" in plain(await running.say("/trangthai"))
    assert "Chưa có nhóm" in plain(await running.say("/thongbao Họp giao ban"))
    chats = [-400002001, -400002002, -400002003]
    for chat_id in chats:
        await store.outbox.subscribe(chat_id, "group", None, by=OWNER)
    refused = await running.say("/thongbao xin chào", user_id=MEMBER, chat_id=MEMBER)
    assert "quản trị viên" in plain(refused)
    assert "Cách dùng" in plain(await running.say("/thongbao"))
    preview = await running.say("/thongbao Họp giao ban thứ Hai lúc 8 giờ <sớm>")
    assert "Xem trước" in plain(preview) and "3 nơi" in plain(preview)
    assert set(buttons(preview)) == {"✅ Xác nhận", "❌ Huỷ"}
    data = buttons(preview)["✅ Xác nhận"]
    assert data.startswith("n:")
    mark = srv.mark()
    # someone else's press does nothing
    srv.push_update(srv.callback_query(data, message=preview.result, user_id=MEMBER))
    other = await srv.wait_for("answerCallbackQuery", since=mark)
    assert "Chỉ người soạn" in other.params["text"]
    first = await running.press(
        preview.result, data, then=("sendMessage", lambda c: "Đang gửi tới 3 nơi" in plain(c))
    )
    assert any("Đang gửi tới 3 nơi" in plain(c) for c in first if c.method == "sendMessage")
    second = await running.press(preview.result, data)
    assert any(
        "đã được xử lý" in c.params.get("text", "")
        for c in second
        if c.method == "answerCallbackQuery"
    )
    latest = await store.outbox.latest_announcement()
    assert latest is not None
    await until_done(running, latest[0])
    sent = delivered(running, mark)
    assert all(sent[c] == 1 for c in chats)
    message = next(
        c for c in srv.calls_since(mark, "sendMessage") if c.params["chat_id"] == chats[0]
    )
    assert "Thông báo" in plain(message) and "thứ Hai lúc 8 giờ <sớm>" in plain(message)
    status = plain(await running.say("/trangthai"))
    assert "Đã gửi: 3" in status and "Đang chờ: 0" in status
    # a cancelled preview sends nothing
    preview = await running.say("/thongbao không gửi")
    await running.press(preview.result, buttons(preview)["❌ Huỷ"])
    await srv.wait_idle(quiet=0.3)
    assert {c: n for c, n in delivered(running, mark).items() if c < 0} == dict.fromkeys(chats, 1)


async def test_faults_5xx_is_uncertain_429_waits_and_retries(tmp_path: Path) -> None:
    async with FakeBotAPI() as srv, started(srv, tmp_path / "f.db") as bot:
        store = store_of(bot)
        chats = [-400003001, -400003002]
        for chat_id in chats:
            await store.outbox.subscribe(chat_id, "group", None, by=OWNER)
        # a 502 may come after Telegram accepted the message: uncertain, never resent;
        # a 429 waits as long as asked and retries
        srv.fail_next("sendMessage", status=502)
        srv.fail_next("sendMessage", status=429, parameters={"retry_after": 1})
        mark = srv.mark()
        announcement_id = await announce.announce_version(bot.app, CDS_2022, ADMIN)
        assert announcement_id is not None
        counts = await until_done(bot, announcement_id)
        assert counts == {"sent": 1, "uncertain": 1}, counts
        assert all(n == 1 for n in delivered(bot, mark).values())


async def test_restart_in_the_middle_sends_each_exactly_once(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    groups = [-400004000 - i for i in range(15)]
    async with FakeBotAPI(enforce_limits=True) as srv:
        async with started(srv, db, per_second=5) as bot:
            for chat_id in groups:
                await store_of(bot).outbox.subscribe(chat_id, "group", None, by=OWNER)
            announcement_id = await announce.announce_version(bot.app, CDS_2022, ADMIN)
            assert announcement_id is not None
            await srv.wait_for(
                "sendMessage",
                lambda c: sum(1 for x in srv.calls if x.method == "sendMessage" and x.ok) >= 4,
            )
        first = delivered(bot)
        assert 4 <= sum(first.values()) < len(groups)
        async with started(srv, db) as bot:
            counts = await until_done(bot, announcement_id)
            assert counts == {"sent": len(groups)}, counts
        sent = delivered(bot)
        assert set(sent) == set(groups) and all(n == 1 for n in sent.values()), sent
        assert srv.rate_limit_hits == [] and srv.violations == []


async def test_a_timed_out_send_is_uncertain_and_never_repeated(tmp_path: Path) -> None:
    async with FakeBotAPI() as srv, started(srv, tmp_path / "t.db", request_timeout=1) as bot:
        await store_of(bot).outbox.subscribe(GROUP, "group", None, by=OWNER)
        srv.delay_next("sendMessage", 1.5)  # Telegram sends it, the bot sees TimedOut
        announcement_id = await announce.announce_version(bot.app, CDS_2022, ADMIN)
        assert announcement_id is not None
        assert await until_done(bot, announcement_id) == {"uncertain": 1}
        # the held send is still being answered (Telegram delivers it late): wait for that
        await srv.wait_for("sendMessage", lambda c: c.params["chat_id"] == GROUP, timeout=15)
        await srv.wait_idle(quiet=0.5)  # and no second copy follows
        assert delivered(bot)[GROUP] == 1
        status = plain(await bot.say("/trangthai"))
        assert "Chưa rõ: 1" in status and "Đã gửi: 0" in status


async def test_killed_process_resumes_a_200_group_broadcast(tmp_path: Path) -> None:
    """`python -m bot run` is SIGKILLed in the middle of announcing an upload to 200
    groups; the restarted process delivers the rest. Every group gets it, none twice;
    at most the one send in flight at the kill is left "uncertain" (not resent)."""
    db = tmp_path / "kill.sqlite3"
    groups = [-400005000 - i for i in range(200)]
    store = await Store.open(db)
    try:
        for chat_id in groups:
            await store.outbox.subscribe(chat_id, "group", None, by=OWNER)
    finally:
        await store.close()

    def to_groups(since: int = 0) -> Counter[int]:
        return Counter(
            int(c.params["chat_id"])
            for c in srv.calls_since(since, "sendMessage")
            if c.ok and int(c.params["chat_id"]) in wanted
        )

    wanted = set(groups)
    async with FakeBotAPI(enforce_limits=True) as srv:
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": srv.base_url,
            "TELEGRAM_FILE_BASE_URL": srv.base_file_url,
            "RANKBOT_DB": str(db),
            "RANKBOT_ADMIN_IDS": str(ADMIN),
        }

        async def start() -> asyncio.subprocess.Process:
            return await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=ROOT, env=env,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip

        first = await start()
        try:
            await srv.wait_for("getUpdates", timeout=30)
            preview = await upload(running_bot(srv), csv_text().encode(), "ket-qua-2023.csv")
            assert "✅ Xác nhận" in buttons(preview)
            mark = srv.mark()
            srv.push_update(
                srv.callback_query(
                    buttons(preview)["✅ Xác nhận"], message=preview.result, user_id=ADMIN
                )
            )
            await srv.wait_for(
                "sendMessage", lambda c: sum(to_groups(mark).values()) >= 40, timeout=30
            )
        finally:
            first.kill()
            await first.communicate()
        at_kill = sum(to_groups(mark).values())
        assert 40 <= at_kill < len(groups), at_kill

        second = await start()
        try:
            await srv.wait_for(
                "sendMessage", lambda c: len(to_groups(mark)) >= len(groups), timeout=60
            )
            await asyncio.sleep(0.5)  # nothing more, and no second copy, follows
        finally:
            second.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(second.communicate(), timeout=30)
        assert second.returncode == 0, stderr.decode()
        sent = to_groups(mark)
        duplicates = {chat: n for chat, n in sent.items() if n > 1}
        assert set(sent) == wanted, f"{len(wanted - set(sent))} groups never got it"
        assert duplicates == {}, duplicates
        assert srv.rate_limit_hits == [] and srv.violations == []
    store = await Store.open(db)
    try:
        latest = await store.outbox.latest_announcement()
        assert latest is not None
        counts = await store.outbox.announcement_status(latest[0])
    finally:
        await store.close()
    assert counts.get("sent", 0) + counts.get("uncertain", 0) == len(groups), counts
    assert counts.get("uncertain", 0) <= 1, counts


def running_bot(srv: FakeBotAPI) -> Bot:
    """The helpers in tests/test_uploads.py only use the server side of `Bot`."""
    return Bot(srv, cast(Any, None))


async def test_confirmed_upload_is_announced_once_even_when_pressed_twice(running: Bot) -> None:
    srv, store = running.srv, store_of(running)
    chats = [-400006001, -400006002, -400006003]
    for chat_id in chats:
        await store.outbox.subscribe(chat_id, "group", None, by=OWNER)
    preview = await upload(running, csv_text().encode(), "ket-qua-2023.csv")
    mark = srv.mark()
    data = buttons(preview)["✅ Xác nhận"]
    published = ("sendMessage", lambda c: "Đã công bố dữ liệu năm 2023" in plain(c))
    first = await running.press(preview.result, data, then=published)
    second = await running.press(preview.result, data)
    assert any(
        "Đã công bố dữ liệu năm 2023" in plain(c) for c in first if c.method == "sendMessage"
    )
    assert any(
        "đã được xử lý" in c.params.get("text", "")
        for c in second
        if c.method == "answerCallbackQuery"
    )
    latest = await store.outbox.latest_announcement()
    assert latest is not None
    assert await until_done(running, latest[0]) == {"sent": len(chats)}
    await srv.wait_idle(quiet=0.3)
    sent = delivered(running, mark)
    assert {chat: sent[chat] for chat in chats} == dict.fromkeys(chats, 1)
    text = plain(
        next(c for c in srv.calls_since(mark, "sendMessage") if c.params["chat_id"] == chats[0])
    )
    assert "2023" in text and "Kết quả mới" in text
