"""Self-tests of the fake Telegram Bot API, driven by a real PTB ``Bot`` / ``Application``.

Why through PTB: the fake is only useful if PTB's real encoding, error mapping and polling
loop work against it exactly as against Telegram, so every check goes over HTTP with PTB.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import struct
import time
import warnings
import zlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from fakes.telegram import (
    DEFAULT_GROUP_ID,
    DEFAULT_USER_ID,
    FakeBotAPI,
    HtmlParseError,
    decode_param,
    parse_html,
)

# PTB 22 warns when it builds a RetryAfter with an int retry_after (a future timedelta).
pytestmark = pytest.mark.filterwarnings(
    r"ignore:.*`retry_after` will be of type:telegram.warnings.PTBDeprecationWarning"
)

TOKEN = "123456:AAF" + "abcdefghijklmnopqrstuvwxyzABCD"
USER = DEFAULT_USER_ID
GROUP = DEFAULT_GROUP_ID


@pytest.fixture
async def srv() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
async def bot(srv: FakeBotAPI) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=srv.base_url, base_file_url=srv.base_file_url) as b:
        yield b


def _retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x00" * width * 3 for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


# ---- HTML parser (tdlib's own test vectors, adapted) ----------------------------------------


@pytest.mark.parametrize(
    ("html", "message"),
    [
        ("🏟 🏟&lt;<abacaba", "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;<abac aba>", 'Unsupported start tag "abac" at byte offset 13'),
        ("🏟 🏟&lt;<i   =aba>", 'Empty attribute name in the tag "i" at byte offset 13'),
        (
            "🏟 🏟&lt;<i    aba>",
            'Expected equal sign in declaration of an attribute of the tag "i" at byte offset 13',
        ),
        ("🏟 🏟&lt;<i    aba  =  ", 'Unclosed start tag "i" at byte offset 13'),
        ("🏟 🏟&lt;<i    aba  =  190azAz-.,", "Unexpected end of name token at byte offset 27"),
        ('🏟 🏟&lt;<i    aba  =  "&lt;&gt;&quot;>', "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;</", "Unexpected end tag at byte offset 13"),
        ("🏟 🏟&lt;<b></b></", "Unexpected end tag at byte offset 20"),
        ("🏟 🏟&lt;<i>a</i   ", "Unclosed end tag at byte offset 17"),
        (
            "🏟 🏟&lt;<i>a</em   >",
            'Unmatched end tag at byte offset 17, expected "</i>", found "</em>"',
        ),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
def test_parse_html_errors_match_telegram(html: str, message: str) -> None:
    with pytest.raises(HtmlParseError) as info:
        parse_html(html)
    assert str(info.value) == message


def test_parse_html_entities_in_utf16() -> None:
    text, entities = parse_html(
        "🏟 🏟<i>🏟 &gt;<b aba   =   caba>&lt🏟</b></i> <a href='laocai.gov.vn'>x</a>"
        '<pre><code class="language-python">p</code></pre><tg-spoiler>s</tg-spoiler>'
        "<blockquote expandable>q</blockquote>&#128512;"
    )
    assert text == "🏟 🏟🏟 ><🏟 xpsq😀"
    assert entities == [
        {"type": "italic", "offset": 5, "length": 7},
        {"type": "bold", "offset": 9, "length": 3},
        {"type": "text_link", "offset": 13, "length": 1, "url": "http://laocai.gov.vn/"},
        {"type": "pre", "offset": 14, "length": 1, "language": "python"},
        {"type": "spoiler", "offset": 15, "length": 1},
        {"type": "expandable_blockquote", "offset": 16, "length": 1},
    ]


def test_parse_html_bare_ampersand_strict_vs_telegram() -> None:
    with pytest.raises(HtmlParseError, match='Unescaped "&"'):
        parse_html("Sở Tư pháp & Sở Y tế")
    with pytest.raises(HtmlParseError, match="&nbsp;"):
        parse_html("a&nbsp;b")
    # Telegram itself keeps them literally; strict=False mirrors that.
    assert parse_html("AT&T &nbsp;", strict=False) == ("AT&T &nbsp;", [])


def test_decode_param_by_name() -> None:
    assert decode_param("chat_id", "-1001") == -1001
    assert decode_param("text", "42") == "42"
    assert decode_param("text", "[1, 2]") == "[1, 2]"
    assert decode_param("reply_markup", '{"inline_keyboard": []}') == {"inline_keyboard": []}
    assert decode_param("disable_notification", "true") is True
    assert decode_param("chat_id", "@kenh") == "@kenh"


# ---- basic methods ---------------------------------------------------------------------------


async def test_get_me(srv: FakeBotAPI, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.first_name) == (7000001, "laocai_cds_bot", "Xếp hạng CĐS")
    assert me.can_join_groups and me.supports_inline_queries
    assert not me.can_read_all_group_messages
    assert srv.tokens_seen == [TOKEN]


async def test_bad_token_raises_invalid_token(srv: FakeBotAPI) -> None:
    bot = Bot("123:short", base_url=srv.base_url, base_file_url=srv.base_file_url)
    with pytest.raises(InvalidToken):
        await bot.initialize()
    await bot.shutdown()
    assert srv.calls[-1].status == 401
    async with FakeBotAPI(valid_tokens=[TOKEN]) as strict:
        revoked = Bot("654321:" + "x" * 35, base_url=strict.base_url)
        with pytest.raises(InvalidToken):
            await revoked.initialize()
        await revoked.shutdown()


async def test_send_message_html_ok_and_recorded(srv: FakeBotAPI, bot: Bot) -> None:
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Trang 2 ▶", callback_data="top:huyen:2022:p2")]]
    )
    msg = await bot.send_message(
        USER,
        "😀 <b>Xếp hạng</b> &amp; <i>chỉ số</i>",
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
    )
    assert msg.text == "😀 Xếp hạng & chỉ số"
    assert [(e.type, e.offset, e.length) for e in msg.entities] == [
        ("bold", 3, 8),
        ("italic", 14, 6),
    ]
    assert msg.from_user is not None and msg.from_user.id == srv.bot_id
    assert msg.reply_markup == markup
    call = await srv.wait_for("sendMessage")
    assert call.params["chat_id"] == USER
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == (
        "top:huyen:2022:p2"
    )
    (stored,) = srv.sent_messages(USER)
    assert stored["text"] == msg.text and stored["message_id"] == msg.message_id
    assert srv.violations == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<b>Xếp hạng", 'can\'t find end tag corresponding to start tag "b"'),
        ("<x>y</x>", 'unsupported start tag "x" at byte offset 0'),
        ("điểm</b>", "unexpected end tag at byte offset 7"),
        ("<b>x</i>", 'unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("Điểm < 50", 'unsupported start tag "" at byte offset 8'),
    ],
)
async def test_send_message_malformed_html_is_bad_request(
    bot: Bot, text: str, expected: str
) -> None:
    with pytest.raises(BadRequest) as info:
        await bot.send_message(USER, text, parse_mode=ParseMode.HTML)
    # PTB strips "Bad Request: " and capitalize()s the rest (which lower-cases it).
    assert info.value.message == f"Can't parse entities: {expected}".capitalize()


async def test_text_limits_count_utf16(srv: FakeBotAPI, bot: Bot) -> None:
    await bot.send_message(USER, "😀" * 2048)  # 4096 UTF-16 code units: the maximum
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "😀" * 2049)  # only 2049 characters, but 4098 units
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "<b>" + "x" * 4097 + "</b>", parse_mode=ParseMode.HTML)
    await bot.send_message(USER, "<b>" + "x" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(USER, "<b> </b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_document(USER, b"x", filename="a.csv", caption="c" * 1025)


async def test_too_many_entities_is_a_violation(srv: FakeBotAPI, bot: Bot) -> None:
    await bot.send_message(USER, "<b>x</b> " * 101, parse_mode=ParseMode.HTML)
    assert len(srv.violations) == 1 and "101 entities" in srv.violations[0]


@pytest.mark.parametrize("data", ["x" * 65, "huyện" * 13])  # 65 bytes of UTF-8 each
async def test_callback_data_over_64_bytes_is_rejected(bot: Bot, data: str) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data=data)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(USER, "x", reply_markup=markup)


async def test_too_many_buttons_is_rejected(bot: Bot) -> None:
    row = [InlineKeyboardButton(str(i), callback_data=str(i)) for i in range(9)]
    with pytest.raises(BadRequest, match="Reply markup is too long"):
        await bot.send_message(USER, "x", reply_markup=InlineKeyboardMarkup([row]))


async def test_edit_message_text(srv: FakeBotAPI, bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("▶", callback_data="p2")]])
    msg = await bot.send_message(USER, "<b>Trang 1</b>", parse_mode="HTML", reply_markup=markup)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "<b>Trang 1</b>", USER, msg.message_id, parse_mode="HTML", reply_markup=markup
        )
    edited = await bot.edit_message_text("<b>Trang 2</b>", USER, msg.message_id, parse_mode="HTML")
    assert isinstance(edited, type(msg)) and edited.text == "Trang 2"
    assert edited.reply_markup is None  # an edit without reply_markup drops the keyboard
    assert srv.sent_messages(USER)[0]["text"] == "Trang 2"
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(USER, msg.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", USER, 999_999)
    user_msg = srv.message("xin chào")["message"]
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await bot.edit_message_text("x", USER, user_msg["message_id"])
    assert await bot.delete_message(USER, msg.message_id)
    assert srv.sent_messages(USER) == []


# ---- updates ---------------------------------------------------------------------------------


async def test_get_updates_long_polling_and_offset(srv: FakeBotAPI, bot: Bot) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=3))
    await asyncio.sleep(0.2)
    assert not poll.done()
    first = srv.push_update(srv.message("/top 10 huyen 2022"))
    (update,) = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - started < 1.5
    assert update.update_id == first == 1
    assert update.message is not None and update.message.text == "/top 10 huyen 2022"
    entity = update.message.entities[0]
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, 4)

    second = srv.push_update(srv.message("hai"))
    assert [u.update_id for u in await bot.get_updates(limit=1)] == [first]  # not confirmed
    assert [u.update_id for u in await bot.get_updates(offset=first + 1)] == [second]
    assert await bot.get_updates(offset=second + 1, timeout=0) == ()
    assert srv.pending_updates == []

    started = time.monotonic()
    assert await bot.get_updates(offset=second + 1, timeout=1) == ()
    assert 0.9 < time.monotonic() - started < 2


async def test_webhook_blocks_get_updates(srv: FakeBotAPI, bot: Bot) -> None:
    await bot.set_webhook("https://example.invalid/hook")
    assert (await bot.get_webhook_info()).url == "https://example.invalid/hook"
    with pytest.raises(Conflict):
        await bot.get_updates()
    await bot.delete_webhook()
    assert await bot.get_updates() == ()


async def test_allowed_updates_drop_is_a_violation(srv: FakeBotAPI, bot: Bot) -> None:
    srv.push_update(srv.my_chat_member(GROUP, "group", "left", "member"))
    srv.push_update(srv.message("x"))
    updates = await bot.get_updates(allowed_updates=["message"])
    assert [u.message is not None for u in updates] == [True]
    assert len(srv.violations) == 1 and "my_chat_member" in srv.violations[0]


# ---- files -----------------------------------------------------------------------------------


async def test_get_file_and_download(srv: FakeBotAPI, bot: Bot) -> None:
    data = "huyen,diem\nBát Xát,71.5\n".encode()
    update = srv.document_message(data, "diem_2022.CSV", caption="/upload 2022")
    srv.push_update(update)
    (upd,) = await bot.get_updates()
    message = upd.message
    assert message is not None and message.document is not None
    assert message.document.file_size == len(data)
    assert message.document.mime_type == "text/csv"
    assert message.caption_entities[0].type == "bot_command"
    file = await message.document.get_file()
    assert file.file_path is not None and file.file_path.endswith("documents/file_0.csv")
    assert bytes(await file.download_as_bytearray()) == data

    big = srv.document_message(b"x", "big.xlsx", server_size=20_000_001, declared_size=None)
    assert "file_size" not in big["message"]["document"]
    with pytest.raises(BadRequest, match="File is too big"):
        await bot.get_file(big["message"]["document"]["file_id"])
    with pytest.raises(BadRequest, match="Invalid file_id"):
        await bot.get_file("nope")


async def test_send_document_and_photo_recorded(srv: FakeBotAPI, bot: Bot) -> None:
    msg = await bot.send_document(
        GROUP, b"a,b\n1,2\n", filename="xep_hang.csv", caption="<b>Kết quả</b>", parse_mode="HTML"
    )
    call = await srv.wait_for("sendDocument")
    assert call.files["document"] == ("xep_hang.csv", b"a,b\n1,2\n")
    assert call.params["caption"] == "<b>Kết quả</b>"
    assert msg.document is not None and msg.document.file_name == "xep_hang.csv"
    assert msg.caption == "Kết quả" and msg.caption_entities[0].type == "bold"
    again = await bot.get_file(msg.document.file_id)
    assert bytes(await again.download_as_bytearray()) == b"a,b\n1,2\n"

    photo = await bot.send_photo(USER, _png(40, 30), caption="biểu đồ")
    assert (photo.photo[-1].width, photo.photo[-1].height) == (40, 30)
    with pytest.raises(BadRequest, match="Image_process_failed"):
        await bot.send_photo(USER, b"not an image")
    await bot.send_chat_action(USER, "upload_document")
    with pytest.raises(BadRequest):
        await bot.send_chat_action(USER, "dancing")


# ---- faults ----------------------------------------------------------------------------------


async def test_fault_injection(srv: FakeBotAPI, bot: Bot) -> None:
    srv.fail_next("sendMessage")
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(USER, "x")

    srv.fail_next("sendMessage", status=429, parameters={"retry_after": 2})
    with pytest.raises(RetryAfter) as retry:
        await bot.send_message(USER, "x")
    assert _retry_seconds(retry.value) == 2

    srv.fail_next("sendMessage", status=403, description="Forbidden: bot was blocked by the user")
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "x")

    srv.fail_next(
        "sendMessage",
        status=400,
        description="Bad Request: group chat was upgraded to a supergroup chat",
        parameters={"migrate_to_chat_id": -1001234567890},
    )
    with pytest.raises(ChatMigrated) as migrated:
        await bot.send_message(GROUP, "x")
    assert migrated.value.new_chat_id == -1001234567890

    await bot.send_message(USER, "ok")  # faults are used up
    assert srv.sent_messages(USER)[-1]["text"] == "ok"
    assert [c.status for c in srv.calls_since(0, "sendMessage")] == [500, 429, 403, 400, 200]


async def test_delay_provokes_timeout_but_still_sends(srv: FakeBotAPI, bot: Bot) -> None:
    srv.delay_next("sendMessage", 0.5)
    with pytest.raises(TimedOut):
        await bot.send_message(USER, "chậm", read_timeout=0.1)
    call = await srv.wait_for("sendMessage", timeout=2)
    assert call.ok  # like Telegram: the client gave up, the message was sent anyway
    assert srv.sent_messages(USER)[-1]["text"] == "chậm"


async def test_forbidden_and_migrated_chats(srv: FakeBotAPI, bot: Bot) -> None:
    srv.push_update(srv.my_chat_member(GROUP, "group", "member", "kicked"))
    with pytest.raises(Forbidden, match="bot was kicked from the group chat"):
        await bot.send_message(GROUP, "x")
    srv.my_chat_member(GROUP, "group", "kicked", "member")
    await bot.send_message(GROUP, "x")

    srv.forbid_chat(USER)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "x")

    update = srv.migrate_message(-4001, -1004001)
    assert update["message"]["migrate_to_chat_id"] == -1004001
    with pytest.raises(ChatMigrated) as info:
        await bot.send_message(-4001, "x")
    assert info.value.new_chat_id == -1004001


async def test_unknown_method_is_404(bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("fooBar")


async def test_wait_for_timeout_lists_recent_calls(srv: FakeBotAPI, bot: Bot) -> None:
    await bot.send_message(USER, "x")
    with pytest.raises(AssertionError, match=r"(?s)no sendDocument call.*#0 getMe.*sendMessage"):
        await srv.wait_for("sendDocument", timeout=0.1)


# ---- rate limits -----------------------------------------------------------------------------


async def test_rate_limits_when_enforced() -> None:
    async with (
        FakeBotAPI(enforce_limits=True, group_per_minute=3) as srv,
        Bot(TOKEN, base_url=srv.base_url) as bot,
    ):
        for i in range(3):
            await bot.send_message(GROUP, f"nhóm {i}")
        with pytest.raises(RetryAfter) as group_hit:
            await bot.send_message(GROUP, "one too many")
        assert 55 <= _retry_seconds(group_hit.value) <= 60

        started = time.monotonic()
        for i in range(27):  # 3 + 27 = 30 sends
            await bot.send_message(USER + i, "x")
        assert time.monotonic() - started < 0.9, "too slow to test the 1 s window"
        with pytest.raises(RetryAfter) as overall_hit:
            await bot.send_message(USER, "31st within a second")
        assert _retry_seconds(overall_hit.value) == 1
        assert [h.kind for h in srv.rate_limit_hits] == ["group", "overall"]
        await asyncio.sleep(1.05)
        await bot.send_message(USER, "after the window")


async def test_limits_off_by_default(srv: FakeBotAPI, bot: Bot) -> None:
    await asyncio.gather(*(bot.send_message(GROUP, str(i)) for i in range(40)))
    assert srv.rate_limit_hits == []


# ---- queries, commands, chats ------------------------------------------------------------------


async def test_callback_and_inline_queries(srv: FakeBotAPI, bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("▶", callback_data="p2")]])
    sent = await bot.send_message(USER, "Trang 1", reply_markup=markup)
    (call,) = srv.calls_since(0, "sendMessage")
    update = srv.callback_query("p2", message=call.result)
    assert Update.de_json({"update_id": 1, **update}, bot).callback_query is not None
    query_id = update["callback_query"]["id"]
    assert srv.unanswered_callback_queries() == [query_id]
    assert update["callback_query"]["message"]["message_id"] == sent.message_id
    assert await bot.answer_callback_query(query_id)
    assert srv.unanswered_callback_queries() == []
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query_id)

    inline_id = srv.inline_query("huyen")["inline_query"]["id"]
    too_many = [
        InlineQueryResultArticle(str(i), f"r{i}", InputTextMessageContent("x")) for i in range(51)
    ]
    with pytest.raises(BadRequest, match="Results_too_much"):
        await bot.answer_inline_query(inline_id, too_many)
    duplicate = [InlineQueryResultArticle("1", "a", InputTextMessageContent("x"))] * 2
    with pytest.raises(BadRequest, match="Result_id_duplicate"):
        await bot.answer_inline_query(inline_id, duplicate)
    assert await bot.answer_inline_query(inline_id, too_many[:50])
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_inline_query(inline_id, too_many[:1])


async def test_commands_and_descriptions(srv: FakeBotAPI, bot: Bot) -> None:
    commands = [BotCommand("top", "Xếp hạng"), BotCommand("help", "Hướng dẫn")]
    scope = BotCommandScopeAllGroupChats()
    assert await bot.set_my_commands(commands, scope=scope, language_code="vi")
    assert await bot.get_my_commands(scope=scope, language_code="vi") == tuple(commands)
    assert await bot.get_my_commands() == ()
    assert srv.my_commands({"type": "all_group_chats"}, "vi")[0]["command"] == "top"
    for bad in ("Top", "xếp_hạng", "a" * 33):
        with pytest.raises(BadRequest):
            await bot.set_my_commands([BotCommand(bad, "x")])
    with pytest.raises(BadRequest, match="Bot_commands_too_much"):
        await bot.set_my_commands([BotCommand(f"c{i}", "x") for i in range(101)])
    assert await bot.delete_my_commands(scope=scope, language_code="vi")
    assert await bot.get_my_commands(scope=scope, language_code="vi") == ()

    assert await bot.set_my_description("Bot xếp hạng CĐS tỉnh Lào Cai", language_code="vi")
    assert (await bot.get_my_description("vi")).description.startswith("Bot xếp hạng")
    assert await bot.set_my_short_description("Xếp hạng CĐS")
    assert await bot.set_chat_menu_button()


async def test_chats_and_admins(srv: FakeBotAPI, bot: Bot) -> None:
    srv.set_chat_admins(GROUP, [USER, srv.bot_id], creator=42)
    admins = await bot.get_chat_administrators(GROUP)
    assert [(a.user.id, a.status) for a in admins] == [
        (42, "creator"),
        (USER, "administrator"),
        (srv.bot_id, "administrator"),
    ]
    assert (await bot.get_chat_member(GROUP, 555)).status == "member"
    assert (await bot.get_chat_member(GROUP, USER)).status == "administrator"
    chat = await bot.get_chat(GROUP)
    assert chat.type == "group" and chat.title
    with pytest.raises(BadRequest, match="There are no administrators in the private chat"):
        await bot.get_chat_administrators(USER)
    assert await bot.leave_chat(GROUP)
    assert srv.left_chats == [GROUP]
    with pytest.raises(Forbidden):
        await bot.send_message(GROUP, "x")
    assert await bot.close() and await bot.log_out()


# ---- control API -------------------------------------------------------------------------------


async def test_control_api() -> None:
    async with (
        FakeBotAPI(control_api=True) as srv,
        Bot(TOKEN, base_url=srv.base_url, base_file_url=srv.base_file_url) as bot,
        aiohttp.ClientSession(f"http://127.0.0.1:{srv.port}") as http,
    ):
        async with http.post(
            "/_control/updates", json={"text": "/start", "chat_id": 5, "user_id": 5}
        ) as r:
            assert (await r.json())["update_id"] == 1
        async with http.post("/_control/files?file_name=d.csv", data=b"a,b\n") as r:
            fields = await r.json()
        assert fields["file_name"] == "d.csv" and fields["file_size"] == 4
        body = {"file_id": fields["file_id"], "caption": "dữ liệu", "user_id": 5}
        async with http.post("/_control/updates", json=body) as r:
            assert (await r.json())["update_id"] == 2
        async with http.post("/_control/updates", json={"bogus": 1}) as r:
            assert r.status == 400
        updates = await bot.get_updates()
        assert updates[0].message is not None and updates[0].message.text == "/start"
        assert updates[1].message is not None and updates[1].message.document is not None
        await bot.send_message(5, "chào")
        async with http.get("/_control/calls?since=1") as r:
            calls = await r.json()
        assert [c["method"] for c in calls] == ["getUpdates", "sendMessage"]
        assert calls[1]["params"] == {"chat_id": 5, "text": "chào"}
        async with http.get("/_control/state") as r:
            assert (await r.json())["violations"] == []


# ---- a whole PTB Application -------------------------------------------------------------------


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Trang 2", callback_data="page:2")]])
    await update.effective_message.reply_html("<b>Chào mừng!</b>", reply_markup=markup)


async def _page(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    await query.edit_message_text("Trang 2")


async def test_application_end_to_end(srv: FakeBotAPI) -> None:
    app: Application[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(srv.base_url)
        .base_file_url(srv.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", _start))
    app.add_handler(CallbackQueryHandler(_page, pattern=r"^page:"))
    async with app:
        await app.updater.start_polling(poll_interval=0, timeout=1)  # type: ignore[union-attr]
        await app.start()
        try:
            mark = srv.mark()
            srv.push_update(srv.message("/start"))
            call = await srv.wait_for("sendMessage", since=mark)
            assert call.params["chat_id"] == USER and call.params["parse_mode"] == "HTML"

            mark = srv.mark()
            srv.push_update(srv.message("/start@laocai_cds_bot", chat_type="group"))
            call = await srv.wait_for("sendMessage", since=mark)
            assert call.params["chat_id"] == GROUP

            mark = srv.mark()
            srv.push_update(srv.message("/start@other_bot", chat_type="group"))
            srv.push_update(srv.callback_query("page:2", message=call.result))
            edit = await srv.wait_for("editMessageText", since=mark)
            assert edit.ok and srv.sent_messages(GROUP)[-1]["text"] == "Trang 2"
            await srv.wait_idle()
            assert srv.calls_since(mark, "sendMessage") == []  # /start@other_bot is ignored
            assert srv.unanswered_callback_queries() == []
        finally:
            await app.updater.stop()  # type: ignore[union-attr]
            await app.stop()
    assert srv.pending_updates == []
    assert srv.violations == []


async def test_builders_make_updates_ptb_accepts(srv: FakeBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(GROUP, "bảng xếp hạng")
    (sent_call,) = srv.calls_since(0, "sendMessage")
    builders: list[dict[str, Any]] = [
        srv.message("/top@laocai_cds_bot 5", chat_type="supergroup", username="an_nguyen"),
        srv.message("sửa", edited=True, message_id=424242),
        srv.message("/top", chat_type="group", sender_chat=GROUP),  # anonymous admin
        srv.message("tin kênh", chat_type="supergroup", sender_chat=-1009999),
        srv.message("trả lời", chat_type="group", reply_to=sent_call.result),
        srv.document_message(b"x", "a.xlsx", declared_size=999, chat_type="group"),
        srv.callback_query("p:1", message=sent_call.result),
        srv.inline_query("huyen 2022", offset="10"),
        srv.migrate_message(-4002, -1004002),
        srv.migrate_from_message(-4002, -1004002),
    ]
    for old, new in [("left", "member"), ("member", "administrator"), ("member", "kicked")]:
        builders.append(srv.my_chat_member(-4003, "group", old, new))
    builders.append(srv.my_chat_member(USER, "private", "member", "kicked"))
    builders.append(srv.my_chat_member(-1004004, "supergroup", "left", "restricted"))
    ids = [srv.push_update(b) for b in builders]
    updates = await bot.get_updates(allowed_updates=Update.ALL_TYPES)
    assert [u.update_id for u in updates] == ids
    first = updates[0].effective_message
    assert first is not None and first.entities[0].length == len("/top@laocai_cds_bot")
    assert first.from_user is not None and first.from_user.username == "an_nguyen"
    assert updates[1].edited_message is not None
    anonymous = updates[2].effective_message
    assert anonymous is not None and anonymous.sender_chat is not None
    assert anonymous.from_user is not None and anonymous.from_user.username == "GroupAnonymousBot"
    reply = updates[4].effective_message
    assert reply is not None and reply.reply_to_message is not None
    assert reply.reply_to_message.message_id == sent.message_id
    doc = updates[5].effective_message
    assert doc is not None and doc.document is not None and doc.document.file_size == 999
    assert updates[6].callback_query is not None and updates[6].callback_query.data == "p:1"
    assert updates[7].inline_query is not None and updates[7].inline_query.offset == "10"
    migrated = updates[8].effective_message
    assert migrated is not None and migrated.migrate_to_chat_id == -1004002
    statuses = [u.my_chat_member.new_chat_member.status for u in updates[10:] if u.my_chat_member]
    assert statuses == ["member", "administrator", "kicked", "kicked", "restricted"]
    assert srv.violations == []
