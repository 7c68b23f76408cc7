"""The Zalo channel end to end: the real channel against the fake Zalo Bot API on 127.0.0.1.

Queries in private chats and groups, numbered choices typed back (and expiring),
replies within Zalo's 2000 characters, group subscriptions and their announcements
through the durable outbox, a group that removed the bot, the outbox's failure
modes, the webhook with its secret, and charts sent as photos by URL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.announcements import queue_version
from bot.answers import Answers
from bot.channels.zalo import render
from bot.channels.zalo.app import ZaloChannel
from bot.channels.zalo.chat import question_in
from bot.channels.zalo.choices import ChoiceMemory, Picked
from bot.channels.zalo.client import SECRET_HEADER
from bot.channels.zalo.shelf import Shelf
from bot.i18n import Translator
from bot.reply import Choice, Reply, to_plain
from bot.settings import Settings
from fakes.zalo import (
    DEFAULT_GROUP_ID,
    DEFAULT_TOKEN,
    DEFAULT_USER_ID,
    FakeZaloBotAPI,
    Sent,
    utf16_len,
)
from fakes.zalo.server import DEFAULT_BOT_NAME
from ranking.catalog import load_catalog
from ranking.publishing import load_shipped_data
from ranking.queries import Rankings
from ranking.store import Store
from tests.support.disk import fill_the_disk, free_the_disk
from tests.support.waiting import eventually

ADMIN = "a0a0a0a0a0a0a0a0a0a0"  # in RANKBOT_ZALO_ADMIN_IDS
MEMBER = "b1b1b1b1b1b1b1b1b1b1"
OTHER_GROUP = "c2c2c2c2c2c2c2c2c2c2"
CDS_2022 = 2  # the shipped versions: 1 is the national DTI, 2 the provincial 2022 results


@dataclass
class ZaloBot:
    srv: FakeZaloBotAPI
    channel: ZaloChannel
    store: Store

    async def say(
        self,
        text: str,
        *,
        user_id: str = DEFAULT_USER_ID,
        group: str | None = None,
        addressed: Any = "mention",
        count: int = 1,
    ) -> list[Sent]:
        """Send `text` (in a private chat, or in `group`), wait for `count` replies there."""
        chat = group or user_id
        before = len(self.srv.sent_to(chat))
        if group is None:
            self.srv.user_sends_text(text, user_id=user_id)
        else:
            self.srv.group_message(text, group_id=group, user_id=user_id, addressed=addressed)
        await self.srv.wait_until(
            lambda: len(self.srv.sent_to(chat)) >= before + count,
            timeout=15,
            what=f"{count} replies to {text!r}",
        )
        return self.srv.sent_to(chat)[before:]

    async def text(self, text: str, **kw: Any) -> str:
        (reply,) = await self.say(text, **kw)
        assert reply.kind == "text" and reply.text is not None
        return reply.text


def zalo_settings(srv: FakeZaloBotAPI, db: Path, **extra: Any) -> Settings:
    fields: dict[str, Any] = {
        "ZALO_BOT_TOKEN": DEFAULT_TOKEN,
        "ZALO_API_BASE_URL": srv.base_url,
        "ZALO_BOT_NAME": DEFAULT_BOT_NAME,
        "RANKBOT_DB": str(db),
        "RANKBOT_ZALO_ADMIN_IDS": ADMIN,
        "RANKBOT_FLOOD_PER_MINUTE": 0,
        "TELEGRAM_BOT_TOKEN": "",
        **extra,
    }
    return Settings(**fields)


@asynccontextmanager
async def zalo_bot(settings: Settings, srv: FakeZaloBotAPI) -> AsyncIterator[ZaloBot]:
    """The Zalo channel as `python -m bot run` starts it (bot/service.py), on its own store."""
    store = await Store.open(settings.db_path)
    try:
        catalog = load_catalog()
        await load_shipped_data(store, catalog)
        channel = await ZaloChannel.start(settings, store, Answers(Rankings(store, catalog)))
        try:
            yield ZaloBot(srv, channel, store)
        finally:
            await channel.stop()
    finally:
        await store.close()


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[ZaloBot]:
    async with (
        FakeZaloBotAPI() as srv,
        zalo_bot(zalo_settings(srv, tmp_path / "zalo.sqlite3"), srv) as bot,
    ):
        yield bot


def within_zalo_limits(sent: list[Sent]) -> None:
    for message in sent:
        text = message.text if message.kind == "text" else message.caption
        assert text and 1 <= utf16_len(text) <= 2000
        assert "<b>" not in text and "</" not in text and "&lt;" not in text  # plain text


async def status(bot: ZaloBot, announcement_id: int) -> dict[str, int]:
    return await bot.store.outbox.announcement_status(announcement_id, channel="zalo")


async def until_done(bot: ZaloBot, announcement_id: int) -> dict[str, int]:
    async def done() -> bool:
        counts = await status(bot, announcement_id)
        return not counts.get("pending") and not counts.get("sending")

    await eventually(done, f"announcement {announcement_id} settled on Zalo", timeout=30)
    return await status(bot, announcement_id)


# ---- queries ---------------------------------------------------------------------------


async def test_private_queries_give_the_telegram_figures_as_plain_text(running: ZaloBot) -> None:
    card = await running.say("bac ha")
    within_zalo_limits(card)
    text = card[0].text or ""
    assert text.startswith("🏛 Huyện Bắc Hà")
    assert "Điểm: 585,45/1.000 (58,55 %) · hạng 2/9" in text
    top = await running.say("/top 10 huyen 2022")
    within_zalo_limits(top)
    text = top[0].text or ""
    # the same lines tests/test_telegram.py reads from Telegram's HTML
    assert "1. Thành phố Lào Cai — 651,93 (65,19 %) · Nâng cao" in text
    assert "2. Huyện Bắc Hà — 585,45 (58,55 %) · Nâng cao" in text
    assert "3. Huyện Bát Xát — 585,22 (58,52 %) · Nâng cao" in text
    assert "… hạng 4–8 chưa được công bố" in text
    assert "9. Huyện Văn Bàn — 449,13 (44,91 %) · Hình thành" in text
    # exactly the channel-neutral reply, its tags off, its choices numbered
    answers = running.channel.answers
    for question, sent in (("bac ha", card), ("/top 10 huyen 2022", top)):
        reply = await answers.to_text(question, lang="vi")
        assert reply is not None
        t = Translator("vi")
        assert sent[0].text == to_plain(render.with_choices(reply.text, reply.actions(), t))
    assert "Gõ số để chọn:\n[1] Có TTHC\n[2] Không có TTHC" in text


async def test_every_query_command_answers_in_zalo(running: ZaloBot) -> None:
    for question, needle in [
        ("/trogiup", "/top [N] [nhóm] [năm]"),
        ("/cuoi 1 tthc", "Sở Du lịch"),
        ("/donvi so du lich", "Nguồn công bố mức «Hoàn thành»"),
        ("/nam", "2022"),
        ("/muc", "Dẫn dắt: trên 75 %"),
        ("/sosanh bac ha, bat xat", "Bát Xát"),
        ("/top 10 xyz 1999", "Chưa có dữ liệu năm 1999"),
        ("/lenhla", "Không có lệnh /lenhla"),
    ]:
        sent = await running.say(question)
        within_zalo_limits(sent)
        assert needle in "\n".join(s.text or "" for s in sent), (question, sent)


async def test_long_replies_are_cut_within_zalo_limit(running: ZaloBot) -> None:
    sent = await running.say("/top 100")
    within_zalo_limits(sent)
    assert "Thành phố Lào Cai" in (sent[0].text or "")
    # a reply three times Zalo's limit, emoji (2 UTF-16 units each) included
    lines = [f"{i}. Đơn vị thử nghiệm số {i} 📈 — {i},5 điểm" for i in range(1, 200)]
    reply = Reply("\n".join(lines), [[Choice("Tiếp", "r:t:cds:*:2022:10:2")]])
    parts = render.messages(render.with_choices(reply.text, reply.actions(), Translator("vi")))
    assert len(parts) >= 3
    assert all(utf16_len(p) <= 2000 for p in parts)
    joined = "\n".join(parts)
    assert all(line in joined for line in lines) and joined.endswith("[1] Tiếp")


async def test_numbered_choices_are_picked_by_typing_and_expire(running: ZaloBot) -> None:
    await running.say("/top 3 huyen 2022")
    picked = await running.text("1")  # [1] Có TTHC
    assert "1. Sở Giáo dục và Đào tạo — 625,3" in picked
    units = await running.text("/donvi ban")
    assert "[1]" in units
    number = next(
        line.split("]")[0].strip("[")
        for line in units.splitlines()
        if line.endswith("] Ban Dân tộc")
    )
    assert "562,2" in await running.text(number)
    # another chat's choices are its own: a number there is a question like any other
    assert "[1]" not in await running.text("1", user_id=MEMBER)
    # a number beyond the choices is read as text, not as a pick
    await running.say("/top 3 huyen 2022")
    assert "Không tìm thấy" in await running.text("9")
    # the choices expire
    await running.say("/top 3 huyen 2022")
    memory = running.channel.chat.replier.memory if running.channel.chat else None
    assert memory is not None
    memory.ttl = -1.0
    assert "hết hạn" in await running.text("2")
    assert "Không tìm thấy" in await running.text("2")  # forgotten, not expired twice


def test_choice_memory_is_per_chat_bounded_and_expires() -> None:
    now = [100.0]
    memory = ChoiceMemory(ttl=60, max_chats=2, clock=lambda: now[0])
    memory.offer("a", ["x", "y"])
    assert memory.pick("a", "2") == Picked("y")
    assert memory.pick("a", "3") is None and memory.pick("a", "٢") is None
    assert memory.pick("b", "1") is None
    memory.offer("b", ["z"])
    memory.offer("c", ["w"])  # "a" is the oldest: forgotten
    assert len(memory) == 2 and memory.pick("a", "1") is None
    now[0] += 61
    assert memory.pick("b", "1") == Picked("z", expired=True)
    memory.offer("c", [])
    assert len(memory) == 0


async def test_language_choice_is_kept_per_zalo_user(running: ZaloBot) -> None:
    assert "English" in await running.text("/ngonngu en")
    assert "1. Thành phố Lào Cai — 651.93 (65.19%) · Advanced" in await running.text(
        "/top 1 huyen"
    )
    assert await running.store.people.channel_language("zalo", DEFAULT_USER_ID) == "en"
    assert "651,93 (65,19 %)" in await running.text("/top 1 huyen", user_id=MEMBER)


# ---- groups ----------------------------------------------------------------------------


def test_the_mention_is_taken_off() -> None:
    names = [DEFAULT_BOT_NAME, "bot.LaoCaiCDS"]
    assert question_in(f"@{DEFAULT_BOT_NAME} bac ha", names) == "bac ha"
    assert question_in(f"@{DEFAULT_BOT_NAME.upper()}   /top 5", names) == "/top 5"
    assert question_in(f"so sánh @{DEFAULT_BOT_NAME} bac ha", names) == "so sánh bac ha"
    assert question_in("bac ha", names) == "bac ha"  # a reply to the bot: no mention
    # a name we do not know: a /command after it still works
    assert question_in("@Bot Khác Tên /top 3 huyen", []) == "/top 3 huyen"


async def test_in_a_group_the_bot_answers_what_is_addressed_to_it(running: ZaloBot) -> None:
    card = await running.text("bac ha", group=DEFAULT_GROUP_ID)
    assert card.startswith("🏛 Huyện Bắc Hà") and "585,45" in card
    top = await running.text("/top 3 huyen 2022", group=DEFAULT_GROUP_ID, addressed="reply")
    assert "651,93" in top
    # a member answering the bot with a number picks from what it said in the group
    assert "Sở Giáo dục và Đào tạo" in await running.text(
        "1", group=DEFAULT_GROUP_ID, addressed="reply", user_id=MEMBER
    )
    # the bare mention: help
    assert "/top [N]" in await running.text("", group=DEFAULT_GROUP_ID)
    # chatter not addressed to the bot never reaches it (Zalo's rule, the fake's too)
    assert running.srv.group_message("bac ha", addressed=None) is None


async def test_without_the_bots_name_commands_still_work_in_groups(tmp_path: Path) -> None:
    async with FakeZaloBotAPI() as srv:
        settings = zalo_settings(srv, tmp_path / "g.sqlite3", ZALO_BOT_NAME="")
        async with zalo_bot(settings, srv) as bot:
            assert "651,93" in await bot.text("/top 1 huyen 2022", group=DEFAULT_GROUP_ID)


async def test_group_subscription_by_a_listed_zalo_admin_gets_the_announcement(
    running: ZaloBot,
) -> None:
    store = running.store
    refused = await running.text("/dangky", group=DEFAULT_GROUP_ID, user_id=MEMBER)
    assert "RANKBOT_ZALO_ADMIN_IDS" in refused and MEMBER in refused  # what is checked, and who
    assert await store.outbox.subscription(DEFAULT_GROUP_ID, channel="zalo") is False
    refused = await running.text("/huydangky", group=DEFAULT_GROUP_ID, user_id=MEMBER)
    assert "RANKBOT_ZALO_ADMIN_IDS" in refused
    done = await running.text("/dangky huyen", group=DEFAULT_GROUP_ID, user_id=ADMIN)
    assert "Nhóm này sẽ nhận thông báo" in done and "Huyện" in done
    assert await store.outbox.subscription(DEFAULT_GROUP_ID, channel="zalo") == ("huyen",)
    # a Telegram chat with the same digits is another chat: Zalo's ids are text
    assert await store.outbox.subscription(DEFAULT_GROUP_ID) is False
    await running.text("/dangky tất cả", group=OTHER_GROUP, user_id=ADMIN)
    assert "Bạn sẽ nhận" in await running.text("/dangky", user_id=MEMBER)  # anyone, privately
    unknown = await running.text("/dangky xyz", user_id=MEMBER)
    assert "«xyz»" in unknown
    srv = running.srv
    before = {chat: len(srv.sent_to(chat)) for chat in (DEFAULT_GROUP_ID, OTHER_GROUP, MEMBER)}
    announcement_id = await queue_version(running.channel.answers.rankings, CDS_2022, None)
    assert announcement_id is not None
    running.channel.wake_outbox()
    assert await until_done(running, announcement_id) == {"sent": 3}
    for chat in before:
        (message,) = srv.sent_to(chat)[before[chat] :]
        within_zalo_limits([message])
        assert "Kết quả mới" in (message.text or "") and "QĐ 791/QĐ-UBND" in (message.text or "")
    narrowed = srv.sent_to(DEFAULT_GROUP_ID)[-1].text or ""
    assert "Huyện" in narrowed and "thủ tục hành chính" not in narrowed
    # queued again: nothing more
    assert await queue_version(running.channel.answers.rankings, CDS_2022, None) == (
        announcement_id
    )
    running.channel.wake_outbox()
    assert "2022" in await running.text("/nam", user_id=MEMBER)  # the worker had its chance
    assert await status(running, announcement_id) == {"sent": 3}
    # each chat got the announcement once (the member also the answer to /nam)
    assert {chat: len(srv.sent_to(chat)) - before[chat] for chat in before} == {
        DEFAULT_GROUP_ID: 1,
        OTHER_GROUP: 1,
        MEMBER: 2,
    }
    # a member may unsubscribe their own private chat
    assert "Đã huỷ" in await running.text("/huydangky", user_id=MEMBER)
    assert await store.outbox.subscription(MEMBER, channel="zalo") is False


async def test_a_group_that_removed_the_bot_is_unsubscribed(running: ZaloBot) -> None:
    store, srv = running.store, running.srv
    for chat in (DEFAULT_GROUP_ID, OTHER_GROUP):
        await store.outbox.subscribe(chat, "group", None, by=None, channel="zalo")
    await store.outbox.subscribe(MEMBER, "private", None, by=None, channel="zalo")
    srv.remove_bot_from_group(DEFAULT_GROUP_ID)
    srv.user_blocks_bot(MEMBER)
    announcement_id = await queue_version(running.channel.answers.rankings, CDS_2022, None)
    assert announcement_id is not None
    running.channel.wake_outbox()
    assert await until_done(running, announcement_id) == {"sent": 1, "unreachable": 2}
    assert await store.outbox.subscription(DEFAULT_GROUP_ID, channel="zalo") is False
    assert await store.outbox.subscription(MEMBER, channel="zalo") is False
    assert await store.outbox.subscription(OTHER_GROUP, channel="zalo") is None
    assert srv.sent_to(DEFAULT_GROUP_ID) == [] and len(srv.sent_to(OTHER_GROUP)) == 1


async def test_outbox_uncertain_is_never_resent_and_a_quota_429_waits(tmp_path: Path) -> None:
    async with (
        FakeZaloBotAPI(retry_after_header=True) as srv,
        zalo_bot(zalo_settings(srv, tmp_path / "f.sqlite3"), srv) as bot,
    ):
        store = bot.store
        chats = [f"d{i:019d}" for i in range(3)]
        for chat in chats:
            await store.outbox.subscribe(chat, "group", None, by=None, channel="zalo")
        # the first send is carried out but its answer lost: uncertain, never resent;
        # the next is refused for the quota (nothing sent): it waits and goes out once
        srv.drop_next("sendMessage")
        srv.rate_limit_next("sendMessage", retry_after=1)
        rankings = bot.channel.answers.rankings
        announcement_id = await queue_version(rankings, CDS_2022, None)
        assert announcement_id is not None
        bot.channel.wake_outbox()
        assert await until_done(bot, announcement_id) == {"sent": 2, "uncertain": 1}
        assert srv.rate_limit_hits != []
        # every chat got it exactly once: the dropped one was delivered by the fake
        assert [len(srv.sent_to(chat)) for chat in chats] == [1, 1, 1]


async def test_admin_work_stays_on_telegram_and_the_cli(running: ZaloBot) -> None:
    told = await running.text("/tailen", user_id=ADMIN)
    assert "Telegram" in told and "python -m bot import" in told
    assert "Telegram" in await running.text("/thongbao họp", user_id=ADMIN)
    assert "chỉ dành cho quản trị viên" in await running.text("/hoantac", user_id=MEMBER)
    # a picture (what an admin might try as an upload) and a sticker
    srv = running.srv
    srv.user_sends_image("https://example.org/bang.png", user_id=ADMIN)
    await srv.wait_until(lambda: len(srv.sent_to(ADMIN)) >= 3)
    assert "Telegram" in (srv.sent_to(ADMIN)[-1].text or "")
    srv.user_sends_sticker(user_id=MEMBER)
    await srv.wait_until(lambda: len(srv.sent_to(MEMBER)) >= 2)
    assert "chỉ đọc tin nhắn chữ" in (srv.sent_to(MEMBER)[-1].text or "")
    # a protected account's message carries nothing: no answer (the next one is answered)
    srv.protected_user_sends(user_id=MEMBER)
    assert "2022" in await running.text("/nam", user_id=MEMBER)
    assert len(srv.sent_to(MEMBER)) == 3


async def test_a_full_disk_is_told_to_the_zalo_admins_once(running: ZaloBot) -> None:
    """On Zalo alone (Telegram blocked) the Zalo admins are the only ones to tell: the
    user's reply says the admins were told, and they are, once per kind an hour."""
    srv = running.srv
    await fill_the_disk(running.store)
    refused = await running.text("/dangky", user_id=MEMBER)
    assert "ổ đĩa đầy" in refused and "quản trị viên đã được báo" in refused
    await srv.wait_until(lambda: len(srv.sent_to(ADMIN)) >= 1, what="the admin told")
    (told,) = srv.sent_to(ADMIN)
    assert told.text is not None and "ổ đĩa đầy" in told.text and "tự chạy lại" in told.text
    assert "<b>" not in told.text  # plain text, as Zalo shows it
    assert "ổ đĩa đầy" in await running.text("/dangky", user_id=DEFAULT_USER_ID)
    assert "2022" in await running.text("/nam", user_id=MEMBER)  # reads go on
    assert len(srv.sent_to(ADMIN)) == 1  # not told again within the hour
    await free_the_disk(running.store)
    assert "ổ đĩa đầy" not in await running.text("/dangky", user_id=MEMBER)


async def test_polling_mode_says_where_the_chart_is(running: ZaloBot) -> None:
    said = await running.text("/bieudo huyen 2022")
    assert "Telegram" in said and "/bieudo huyen 2022" in said
    assert "[1] Bảng xếp hạng dạng chữ" in said
    assert "651,93" in await running.text("1")
    assert "/xuat huyen 2022" in await running.text("/xuat huyen")
    assert "Chưa có dữ liệu năm 1999" in await running.text("/bieudo huyen 1999")
    assert running.srv.calls_of("sendPhoto") == []


# ---- webhook mode ----------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


WEBHOOK_SECRET = "zalo_webhook-SECRET_canary_7"


@asynccontextmanager
async def webhook_bot(tmp_path: Path) -> AsyncIterator[tuple[ZaloBot, str]]:
    port = free_port()
    async with FakeZaloBotAPI(fetch_photos=True) as srv:
        settings = zalo_settings(
            srv,
            tmp_path / "hook.sqlite3",
            ZALO_WEBHOOK_URL=f"http://127.0.0.1:{port}/rankbot",  # loopback: the fake allows http
            ZALO_WEBHOOK_LISTEN="127.0.0.1",
            ZALO_WEBHOOK_PORT=port,
            ZALO_WEBHOOK_SECRET=WEBHOOK_SECRET,
        )
        async with zalo_bot(settings, srv) as bot:
            yield bot, f"http://127.0.0.1:{port}/rankbot/zalo/webhook"


async def test_webhook_checks_its_secret_and_charts_go_as_photos(tmp_path: Path) -> None:
    async with webhook_bot(tmp_path) as (bot, url):
        srv = bot.srv
        (set_hook,) = srv.calls_of("setWebhook")
        assert set_hook.params == {"url": url, "secret_token": WEBHOOK_SECRET}
        assert srv.calls_of("getUpdates") == []
        # Zalo's own deliveries carry the secret: answered
        assert "585,45" in await bot.text("bac ha")
        assert srv.deliveries[-1].status == 200
        # anyone else's are refused before they are read
        update = {"ok": True, "result": srv.deliveries[-1].update}
        async with httpx.AsyncClient() as client:
            for secret in (None, "", "wrong", WEBHOOK_SECRET[:-1], WEBHOOK_SECRET + "x"):
                headers = {SECRET_HEADER: secret} if secret is not None else {}
                answer = await client.post(url, json=update, headers=headers)
                assert answer.status_code == 403, secret
            garbage = await client.post(url, content=b"{", headers={SECRET_HEADER: WEBHOOK_SECRET})
            assert garbage.status_code == 400
        # a chart: sendPhoto with a URL the fake downloads, as Zalo does
        (photo,) = await bot.say("/bieudo huyen 2022")
        assert photo.kind == "photo" and photo.photo is not None
        assert photo.photo.startswith(url.removesuffix("/webhook") + "/media/")
        assert photo.photo_bytes is not None and photo.photo_bytes.startswith(b"\x89PNG")
        within_zalo_limits([photo])
        caption = photo.caption or ""
        assert "năm 2022 · Huyện, thị xã, thành phố" in caption
        assert "[1] 📊 Có TTHC" in caption
        # its numbered choices: another group's chart
        (other,) = await bot.say("1")
        assert other.kind == "photo" and other.photo != photo.photo
        # the path is a capability: a wrong or expired token finds nothing
        async with httpx.AsyncClient() as client:
            ok = await client.get(photo.photo)
            assert ok.status_code == 200 and ok.headers["content-type"] == "image/png"
            forged = photo.photo.rsplit("/", 2)[0] + "/" + "A" * 32 + "/x.png"
            assert (await client.get(forged)).status_code == 404
            renamed = photo.photo.rsplit("/", 1)[0] + "/other.png"
            assert (await client.get(renamed)).status_code == 404
            shelf = bot.channel.shelf
            assert shelf is not None
            shelf.ttl = 0.0  # what is shelved now has expired at once
            expired = shelf.put(b"\x89PNG", "expired.png")
            assert (await client.get(expired)).status_code == 404
            shelf.ttl = 600.0
        # an export: a link to the file on the same shelf
        link = await bot.text("/xuat huyen 2022")
        file_url = next(word for word in link.split() if word.startswith("http://"))
        async with httpx.AsyncClient() as client:
            xlsx = await client.get(file_url)
        assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")
        assert "attachment" in xlsx.headers["content-disposition"]


def test_the_shelf_expires_and_forgets_the_oldest() -> None:
    now = [0.0]
    shelf = Shelf("https://bot.example.vn/zalo/media", ttl=10, max_items=2, clock=lambda: now[0])
    first = shelf.put(b"1", "a.png")
    token = first.split("/")[-2]
    assert first == f"https://bot.example.vn/zalo/media/{token}/a.png" and len(token) == 32
    item = shelf.get(token, "a.png")
    assert item is not None and item.content_type == "image/png"
    assert shelf.get(token, "b.png") is None  # the name is part of the path
    shelf.put(b"2", "b.csv")
    shelf.put(b"3", "c.xlsx")
    assert shelf.get(token, "a.png") is None and len(shelf) == 2
    now[0] = 11
    assert all(shelf.get(url.split("/")[-2], url.split("/")[-1]) is None for url in [first])
    shelf.put(b"4", "d.png")
    assert len(shelf) == 1


async def test_replies_do_not_outrun_the_pace_under_zalo_limits(tmp_path: Path) -> None:
    """The fake enforces 5 sends a second and 20 a minute per chat: a broadcast to 12
    groups and queries at the same time stay within it (no 429)."""
    async with (
        FakeZaloBotAPI(enforce_limits=True) as srv,
        zalo_bot(zalo_settings(srv, tmp_path / "p.sqlite3"), srv) as bot,
    ):
        chats = [f"e{i:019d}" for i in range(12)]
        for chat in chats:
            await bot.store.outbox.subscribe(chat, "group", None, by=None, channel="zalo")
        rankings = bot.channel.answers.rankings
        announcement_id = await queue_version(rankings, CDS_2022, None)
        assert announcement_id is not None
        bot.channel.wake_outbox()
        answers = await asyncio.gather(
            *(bot.text("/top 1 huyen", user_id=f"f{i:019d}") for i in range(4))
        )
        assert all("651,93" in a for a in answers)
        assert await until_done(bot, announcement_id) == {"sent": len(chats)}
        assert srv.rate_limit_hits == []
