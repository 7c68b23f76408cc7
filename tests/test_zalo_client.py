"""The Zalo Bot API client against the fake Zalo server on 127.0.0.1.

Each method over a real socket; each way a request can fail mapped to the exception the
outbox decides by (never sent → send again; uncertain → never again; refused); and the
token, which is in every URL, in no exception text and no log line.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import socket
import traceback
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.channels.zalo.client import (
    DEFAULT_BASE_URL,
    MAX_TEXT_LENGTH,
    SECRET_HEADER,
    BadRequest,
    EventName,
    Forbidden,
    InvalidToken,
    RateLimited,
    Uncertain,
    Unreachable,
    ZaloBotClient,
    ZaloError,
    parse_webhook_update,
    secret_matches,
)
from fakes.zalo import (
    DEFAULT_BOT_ID,
    DEFAULT_GROUP_ID,
    DEFAULT_USER_ID,
    FakeZaloBotAPI,
)

# recognisable: a leak shows up as this text, whole or its secret part
TOKEN = "1459232241454765289:LeakCanary_zalo-0123456789abcdefABCDEF"
SECRET_PART = TOKEN.split(":", 1)[1]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def leaks(text: str) -> bool:
    return TOKEN in text or SECRET_PART in text


@pytest.fixture
async def srv() -> AsyncIterator[FakeZaloBotAPI]:
    async with FakeZaloBotAPI(valid_tokens=[TOKEN]) as fake:
        yield fake


@pytest.fixture
async def client(srv: FakeZaloBotAPI) -> AsyncIterator[ZaloBotClient]:
    async with ZaloBotClient(TOKEN, base_url=srv.base_url) as zalo:
        yield zalo


class Endpoint:
    """A small HTTP server on 127.0.0.1 standing in for the bot's own: its webhook and
    the chart pictures it serves."""

    def __init__(self, secret: str = "") -> None:
        self.secret = secret
        self.requests: asyncio.Queue[tuple[str | None, bytes]] = asyncio.Queue()
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> Endpoint:
        app = web.Application()
        app.router.add_post("/zalo/webhook", self._webhook)
        app.router.add_get("/charts/a1b2c3.png", self._png)
        app.router.add_get("/charts/not-a-picture", self._text)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()

    async def _webhook(self, request: web.Request) -> web.Response:
        received = request.headers.get(SECRET_HEADER)
        await self.requests.put((received, await request.read()))
        if not secret_matches(received, self.secret):
            return web.Response(status=403)
        return web.Response(text="ok")

    async def _png(self, request: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    async def _text(self, request: web.Request) -> web.Response:
        return web.Response(text="hello", content_type="text/plain")


# ---- methods -----------------------------------------------------------------------------


async def test_get_me_gives_the_bot_account(client: ZaloBotClient) -> None:
    me = await client.get_me()
    assert me.id == DEFAULT_BOT_ID
    assert me.account_name == "bot.LaoCaiCDS"
    assert me.account_type == "BASIC"


async def test_a_long_poll_returns_the_text_a_user_sends_while_it_waits(
    srv: FakeZaloBotAPI, client: ZaloBotClient
) -> None:
    poll = asyncio.create_task(client.get_updates(timeout=5))
    await srv.wait_polling()
    srv.user_sends_text("bac ha", name="Lò Thị Mai")
    [update] = await poll
    assert update.event_name == EventName.TEXT
    assert update.text == "bac ha"
    assert update.message is not None
    assert update.message.chat.is_private
    # a private chat's id is the user's id
    assert update.message.chat.id == update.message.sender.id == DEFAULT_USER_ID
    assert update.message.sender.name == "Lò Thị Mai"
    assert not update.message.sender.is_bot
    assert update.message.sent_at is not None
    call = await srv.wait_for("getUpdates")
    assert call.params["timeout"] == "5"  # a string, as the docs type it


async def test_an_update_is_handed_out_once_and_an_empty_poll_gives_nothing() -> None:
    async with (
        FakeZaloBotAPI(max_poll_timeout=0.05) as srv,
        ZaloBotClient(TOKEN, base_url=srv.base_url) as client,
    ):
        srv.user_sends_text("/top 10 huyen 2022")
        [update] = await client.get_updates(timeout=30)
        assert update.text == "/top 10 huyen 2022"
        # the poll ends with Zalo's 408, which is "no update", not a failure
        assert await client.get_updates(timeout=30) == []
        empty = srv.calls_of("getUpdates")[-1]
        assert empty.error_code == 408


async def test_in_a_group_only_messages_addressed_to_the_bot_arrive() -> None:
    async with (
        FakeZaloBotAPI(max_poll_timeout=0.05) as srv,
        ZaloBotClient(TOKEN, base_url=srv.base_url) as client,
    ):
        assert srv.group_message("chuyện khác", addressed=None) is None
        srv.group_message("/dangky")
        [update] = await client.get_updates()
        assert update.message is not None
        assert update.message.chat.is_group
        assert update.message.chat.id == DEFAULT_GROUP_ID
        assert update.message.sender.id == DEFAULT_USER_ID
        assert update.text == f"@{srv.bot_name} /dangky"
        assert await client.get_updates() == []  # the chatter never reached the bot
        assert [m["text"] for m in srv.undelivered] == ["chuyện khác"]


async def test_pictures_stickers_and_protected_senders_are_events_too(
    srv: FakeZaloBotAPI, client: ZaloBotClient
) -> None:
    srv.user_sends_image("https://example.org/a.jpg", "bảng điểm")
    srv.user_sends_sticker()
    srv.protected_user_sends()
    kinds = []
    for _ in range(3):
        [update] = await client.get_updates(timeout=5)
        kinds.append(update.event_name)
        assert update.text is None  # only a text message has text
        assert update.message is not None
        if update.event_name == EventName.IMAGE:
            assert update.message.photo == "https://example.org/a.jpg"
            assert update.message.caption == "bảng điểm"
    assert kinds == [EventName.IMAGE, EventName.STICKER, EventName.UNSUPPORTED]


@pytest.mark.parametrize(
    ("text", "fits"),
    [
        ("x" * MAX_TEXT_LENGTH, True),
        ("x" * (MAX_TEXT_LENGTH + 1), False),
        # an emoji is two UTF-16 units: counted so, a reply is safe whichever Zalo counts
        ("📊" * (MAX_TEXT_LENGTH // 2), True),
        ("📊" * (MAX_TEXT_LENGTH // 2 + 1), False),
        ("", False),
    ],
)
async def test_send_message_within_2000_characters(
    srv: FakeZaloBotAPI, client: ZaloBotClient, text: str, fits: bool
) -> None:
    if fits:
        sent = await client.send_message(DEFAULT_USER_ID, text)
        [record] = srv.sent_to(DEFAULT_USER_ID)
        assert record.text == text
        assert record.message_id == sent.message_id
        assert sent.date is not None
    else:
        with pytest.raises(BadRequest, match="1 to 2000"):
            await client.send_message(DEFAULT_USER_ID, text)
        assert srv.sent == []


async def test_send_photo_by_url_which_zalo_downloads() -> None:
    async with (
        FakeZaloBotAPI(fetch_photos=True) as srv,
        ZaloBotClient(TOKEN, base_url=srv.base_url) as client,
        Endpoint() as bot_server,
    ):
        url = f"{bot_server.url}/charts/a1b2c3.png"
        sent = await client.send_photo(DEFAULT_GROUP_ID, url, caption="Xếp hạng 2022")
        [record] = srv.sent
        assert (record.kind, record.photo, record.caption) == ("photo", url, "Xếp hạng 2022")
        assert record.photo_bytes == PNG
        assert record.message_id == sent.message_id
        for bad in (f"{bot_server.url}/charts/not-a-picture", f"{bot_server.url}/gone.png"):
            with pytest.raises(BadRequest, match="download"):
                await client.send_photo(DEFAULT_GROUP_ID, bad)
        with pytest.raises(BadRequest, match="caption"):
            await client.send_photo(DEFAULT_GROUP_ID, url, caption="x" * 2001)
        assert len(srv.sent) == 1


async def test_send_chat_action(srv: FakeZaloBotAPI, client: ZaloBotClient) -> None:
    await client.send_chat_action(DEFAULT_USER_ID)
    call = await srv.wait_for("sendChatAction")
    assert call.params == {"chat_id": DEFAULT_USER_ID, "action": "typing"}
    with pytest.raises(BadRequest, match="action"):
        await client.send_chat_action(DEFAULT_USER_ID, "record_video")  # type: ignore[arg-type]


async def test_a_webhook_gets_each_update_with_the_secret_in_its_header(
    srv: FakeZaloBotAPI, client: ZaloBotClient
) -> None:
    secret = "s3cret-Webhook_token"
    async with Endpoint(secret) as bot_server:
        url = f"{bot_server.url}/zalo/webhook"
        info = await client.set_webhook(url, secret)
        assert info.url == url
        assert (await client.get_webhook_info()).url == url
        srv.user_sends_text("bac ha")
        received, body = await bot_server.requests.get()
        assert received == secret
        update = parse_webhook_update(body)
        assert update.text == "bac ha"
        assert (await srv.wait_delivered()).status == 200
        # polling and a webhook exclude each other
        with pytest.raises(BadRequest, match="webhook"):
            await client.get_updates(timeout=1)
        # a request without our secret is refused by the bot's endpoint
        await client.set_webhook(url, "an-attackers-guess")
        srv.user_sends_text("giả mạo")
        received, _ = await bot_server.requests.get()
        assert not secret_matches(received, secret)
        assert (await srv.wait_delivered(2)).status == 403
    assert (await client.delete_webhook()).url == ""
    poll = asyncio.create_task(client.get_updates(timeout=5))
    await srv.wait_polling()
    srv.user_sends_text("lại polling")
    assert [u.text for u in await poll] == ["lại polling"]


async def test_a_webhook_needs_https_and_an_8_to_256_character_secret(
    srv: FakeZaloBotAPI, client: ZaloBotClient
) -> None:
    with pytest.raises(BadRequest, match="HTTPS"):
        await client.set_webhook("http://bot.example.org/zalo", "long-enough-secret")
    mark = srv.mark()
    for secret in ("short", "x" * 257):
        with pytest.raises(ValueError, match="8 to 256"):
            await client.set_webhook("https://bot.example.org/zalo", secret)
    assert srv.calls_of("setWebhook", since=mark) == []  # refused before sending


def test_parse_webhook_update_takes_the_wrapped_and_the_bare_form() -> None:
    update = {
        "event_name": "message.text.received",
        "message": {
            "from": {"id": "6ede9afa66b88fe6d6a9", "display_name": "Ted", "is_bot": False},
            "chat": {"id": "6ede9afa66b88fe6d6a9", "chat_type": "PRIVATE"},
            "text": "Xin chào",
            "message_id": "2d758cb5e222177a4e35",
            "date": 1750316131602,
            "some_new_field": 1,
        },
    }
    wrapped = parse_webhook_update({"ok": True, "result": update})
    assert wrapped == parse_webhook_update(update)
    assert wrapped.text == "Xin chào"
    assert wrapped.message is not None
    assert wrapped.message.sender.name == "Ted"
    assert wrapped.message.model_extra == {"some_new_field": 1}
    for junk in (b"not json", b"[]", b'{"ok": true, "result": {}}', b'{"event_name": 3}'):
        with pytest.raises(ValueError, match="not a Zalo update"):
            parse_webhook_update(junk)


def test_secret_matches() -> None:
    assert secret_matches("abcdefgh", "abcdefgh")
    assert not secret_matches("abcdefgH", "abcdefgh")
    assert not secret_matches(None, "abcdefgh")
    assert not secret_matches("", "")  # no secret configured accepts nothing


# ---- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("http_status", ["200", "mirror"])
@pytest.mark.parametrize(
    ("method", "code", "expected"),
    [
        ("sendMessage", 400, BadRequest),
        ("sendMessage", 401, InvalidToken),
        ("sendMessage", 403, Uncertain),  # the docs' "Internal server error"
        ("sendMessage", 404, Forbidden),
        ("getMe", 404, BadRequest),
        ("sendMessage", 408, Uncertain),
        ("sendMessage", 429, RateLimited),
        ("sendMessage", 500, Uncertain),
        ("sendMessage", 409, BadRequest),
    ],
)
async def test_each_error_code_maps_to_its_exception(
    http_status: Any, method: str, code: int, expected: type[ZaloError]
) -> None:
    async with (
        FakeZaloBotAPI(error_http_status=http_status) as srv,
        ZaloBotClient(TOKEN, base_url=srv.base_url) as client,
    ):
        srv.fail_next(method, code)
        with pytest.raises(expected) as caught:
            if method == "getMe":
                await client.get_me()
            else:
                await client.send_message(DEFAULT_USER_ID, "Xin chào")
        assert type(caught.value) is expected
        assert caught.value.error_code == code
        assert caught.value.http_status == (200 if http_status == "200" else code)
        assert srv.sent == []


async def test_outcomes_tell_the_outbox_what_to_do() -> None:
    assert Unreachable.outcome == "never_sent"
    assert Uncertain.outcome == "uncertain"
    for refused in (RateLimited, Forbidden, BadRequest, InvalidToken):
        assert refused.outcome == "refused"


async def test_a_wrong_or_malformed_token(srv: FakeZaloBotAPI) -> None:
    async with ZaloBotClient("1459232241454765289:SomeoneElsesToken", base_url=srv.base_url) as c:
        with pytest.raises(InvalidToken) as caught:
            await c.get_me()
        assert caught.value.error_code == 401
    for malformed in ("", "no-colon", "123:has space", "abc:def", "123:a/b"):
        with pytest.raises(InvalidToken, match="<bot_id>:<secret>") as caught:
            ZaloBotClient(malformed, base_url=srv.base_url)
        assert not malformed or malformed not in str(caught.value)


async def test_a_user_who_blocked_the_bot_or_a_group_that_removed_it_is_forbidden(
    srv: FakeZaloBotAPI, client: ZaloBotClient
) -> None:
    srv.group_message("/dangky")
    await client.send_message(DEFAULT_GROUP_ID, "Đã đăng ký")
    srv.remove_bot_from_group(DEFAULT_GROUP_ID)
    srv.user_blocks_bot(DEFAULT_USER_ID)
    for chat_id in (DEFAULT_GROUP_ID, DEFAULT_USER_ID):
        with pytest.raises(Forbidden):
            await client.send_message(chat_id, "Thông báo mới")
    with pytest.raises(Forbidden):
        await client.send_photo(DEFAULT_GROUP_ID, "https://example.org/c.png")
    assert [s.text for s in srv.sent] == ["Đã đăng ký"]


async def test_accepted_then_dropped_is_uncertain_because_it_was_sent(
    srv: FakeZaloBotAPI, client: ZaloBotClient
) -> None:
    srv.drop_next("sendMessage")
    with pytest.raises(Uncertain, match="RemoteProtocolError"):
        await client.send_message(DEFAULT_GROUP_ID, "Thông báo")
    # the fake carried it out before dropping the connection: a resend would duplicate it
    assert [s.text for s in srv.sent] == ["Thông báo"]
    await client.send_message(DEFAULT_GROUP_ID, "tiếp")  # the client recovers


@pytest.mark.parametrize("fault", ["bad_gateway", "garbage", "garbage_empty", "not_envelope"])
async def test_a_502_or_a_body_that_is_not_the_apis_json_is_uncertain(
    srv: FakeZaloBotAPI, client: ZaloBotClient, fault: str
) -> None:
    if fault == "bad_gateway":
        srv.bad_gateway_next("sendMessage")
    elif fault == "garbage":
        srv.garbage_next("sendMessage")
    elif fault == "garbage_empty":
        srv.garbage_next("sendMessage", body=b"")
    else:
        srv.garbage_next("sendMessage", body=b'{"result": {"message_id": "1"}}')
    with pytest.raises(Uncertain, match="not the Bot API's JSON") as caught:
        await client.send_message(DEFAULT_USER_ID, "Xin chào")
    assert caught.value.http_status == (502 if fault == "bad_gateway" else 200)


async def test_an_ok_answer_without_the_documented_result_is_uncertain(
    srv: FakeZaloBotAPI, client: ZaloBotClient
) -> None:
    srv.garbage_next("sendMessage", body=b'{"ok": true, "result": "sent?"}')
    with pytest.raises(Uncertain, match="SentMessage"):
        await client.send_message(DEFAULT_USER_ID, "Xin chào")


async def test_a_refused_connection_is_unreachable() -> None:
    with socket.socket() as sock:  # a port nobody listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        async with ZaloBotClient(TOKEN, base_url=f"http://127.0.0.1:{port}/bot") as client:
            with pytest.raises(Unreachable, match="ConnectError"):
                await client.send_message(DEFAULT_USER_ID, "Xin chào")


async def test_no_free_connection_is_unreachable_and_nothing_was_sent(
    srv: FakeZaloBotAPI,
) -> None:
    async with ZaloBotClient(
        TOKEN, base_url=srv.base_url, max_connections=1, pool_timeout=0.05
    ) as client:
        hold = srv.hold_next("sendMessage")
        first = asyncio.create_task(client.send_message(DEFAULT_USER_ID, "một"))
        await hold.arrived.wait()  # the only connection is busy until the fake answers
        with pytest.raises(Unreachable, match="PoolTimeout"):
            await client.send_message(DEFAULT_USER_ID, "hai")
        hold.release()
        await first
    assert [s.text for s in srv.sent] == ["một"]
    assert len(srv.calls_of("sendMessage")) == 1  # "hai" never reached the server


async def test_a_read_timeout_is_uncertain_because_it_was_sent(srv: FakeZaloBotAPI) -> None:
    async with ZaloBotClient(TOKEN, base_url=srv.base_url, timeout=0.2) as client:
        hold = srv.hold_next("sendMessage")
        with pytest.raises(Uncertain, match="ReadTimeout"):
            await client.send_message(DEFAULT_GROUP_ID, "Thông báo")
        hold.release()
    assert [s.text for s in srv.sent] == ["Thông báo"]


async def test_rate_limits_are_refusals_with_an_optional_pause() -> None:
    async with (
        FakeZaloBotAPI(enforce_limits=True, per_chat_per_minute=2, retry_after_header=True) as srv,
        ZaloBotClient(TOKEN, base_url=srv.base_url) as client,
    ):
        await client.send_message(DEFAULT_GROUP_ID, "1")
        await client.send_message(DEFAULT_GROUP_ID, "2")
        with pytest.raises(RateLimited) as caught:
            await client.send_message(DEFAULT_GROUP_ID, "3")
        assert caught.value.error_code == 429
        assert caught.value.retry_after is not None and 1 <= caught.value.retry_after <= 60
        await client.send_message(DEFAULT_USER_ID, "another chat is not limited")
        assert [hit.kind for hit in srv.rate_limit_hits] == ["chat"]
        assert [s.text for s in srv.sent_to(DEFAULT_GROUP_ID)] == ["1", "2"]
        srv.rate_limit_next("sendMessage")  # Zalo documents no hint: None
        with pytest.raises(RateLimited) as caught:
            await client.send_message(DEFAULT_USER_ID, "x")
        assert caught.value.retry_after is None


def test_errors_survive_pickling() -> None:
    error = RateLimited("sendMessage", "error 429: Quota exceeded", retry_after=3, error_code=429)
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), str(copy), copy.retry_after) == (RateLimited, str(error), 3)
    uncertain = pickle.loads(pickle.dumps(Uncertain("getMe", "x", http_status=502)))
    assert (uncertain.method, uncertain.http_status) == ("getMe", 502)


async def test_the_token_is_in_no_error_text_and_no_log_line(
    srv: FakeZaloBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # the shell's logging setup quiets httpx to WARNING; hear everything here
    for noisy in ("httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=noisy)
    errors: list[ZaloError] = []
    # the platform echoing the token back in its description must not leak it either
    srv.fail_next("sendMessage", 400, f"bad chat for bot{TOKEN}")
    srv.drop_next("sendMessage")
    srv.bad_gateway_next("sendMessage")
    srv.garbage_next("sendMessage")
    srv.fail_next("sendMessage", 429)
    srv.remove_bot_from_group()
    async with ZaloBotClient(TOKEN, base_url=srv.base_url) as client:
        assert not leaks(repr(client))
        for _ in range(5):
            with pytest.raises(ZaloError) as caught:
                await client.send_message(DEFAULT_USER_ID, "x")
            errors.append(caught.value)
        with pytest.raises(Forbidden) as forbidden:
            await client.send_message(DEFAULT_GROUP_ID, "x")
        errors.append(forbidden.value)
    async with ZaloBotClient(TOKEN, base_url=srv.base_url, timeout=0.2) as impatient:
        hold = srv.hold_next("getMe")
        with pytest.raises(Uncertain) as timed_out:
            await impatient.get_me()
        hold.release()
        errors.append(timed_out.value)
    async with ZaloBotClient("1459232241454765289:Wrong0123456789", base_url=srv.base_url) as c:
        with pytest.raises(InvalidToken) as invalid:
            await c.get_me()
        errors.append(invalid.value)
    async with ZaloBotClient(TOKEN, base_url=f"http://127.0.0.1:{_free_port()}/bot") as client:
        with pytest.raises(Unreachable) as unreachable:
            await client.get_me()
        errors.append(unreachable.value)
    assert {type(e) for e in errors} >= {BadRequest, Uncertain, RateLimited, Forbidden}
    for error in errors:
        text = "".join(traceback.format_exception(error))
        assert not leaks(text), text
        assert not leaks(repr(error)) and not any(leaks(str(a)) for a in error.args)
        # raised outside the except that caught httpx's error: nothing chained carries
        # the request and its URL
        assert error.__cause__ is None and error.__context__ is None
    assert "<redacted>" in str(errors[0])
    # httpx logs every request URL at INFO: the line is there, the token is not
    requests = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert requests and all("/bot<redacted>/" in line for line in requests)
    assert not any(leaks(r.getMessage()) for r in caplog.records)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# ---- configuration and the fake's own controls --------------------------------------------


async def test_from_env_reads_the_token_and_base_url(srv: FakeZaloBotAPI) -> None:
    env = {"ZALO_BOT_TOKEN": f" {TOKEN} ", "ZALO_API_BASE_URL": srv.base_url}
    async with ZaloBotClient.from_env(env) as client:
        assert (await client.get_me()).id == DEFAULT_BOT_ID
        assert repr(client) == f"ZaloBotClient(base_url={srv.base_url!r})"
    async with ZaloBotClient.from_env({"ZALO_BOT_TOKEN": TOKEN}) as client:
        assert repr(client) == f"ZaloBotClient(base_url={DEFAULT_BASE_URL!r})"
    with pytest.raises(InvalidToken):
        ZaloBotClient.from_env({})
    for bad in ("ftp://x/bot", "bot-api.zaloplatforms.com/bot", "http://h/bot?x=1"):
        with pytest.raises(ValueError, match="ZALO_API_BASE_URL"):
            ZaloBotClient(TOKEN, base_url=bad)


async def test_the_bots_own_sends_can_come_back_as_updates() -> None:
    async with (
        FakeZaloBotAPI(echo_own_messages=True) as srv,
        ZaloBotClient(TOKEN, base_url=srv.base_url) as client,
    ):
        await client.send_message(DEFAULT_USER_ID, "Kết quả")
        [echo] = await client.get_updates(timeout=5)
        assert echo.message is not None
        assert echo.message.sender.is_bot and echo.message.sender.id == DEFAULT_BOT_ID


async def test_the_control_api_for_manual_runs() -> None:
    async with (
        FakeZaloBotAPI(control_api=True) as srv,
        ZaloBotClient(TOKEN, base_url=srv.base_url) as client,
        aiohttp.ClientSession() as http,
    ):
        root = srv.base_url.removesuffix("/bot")
        async with http.post(f"{root}/_control/updates", json={"text": "bac ha"}) as response:
            assert (await response.json())["delivered"] is True
        group = {"text": "/dangky", "group_id": DEFAULT_GROUP_ID}
        async with http.post(f"{root}/_control/updates", json=group):
            pass
        texts = [(await client.get_updates(timeout=5))[0].text for _ in range(2)]
        assert texts == ["bac ha", f"@{srv.bot_name} /dangky"]
        async with http.post(f"{root}/_control/chats/{DEFAULT_GROUP_ID}/unreachable"):
            pass
        with pytest.raises(Forbidden):
            await client.send_message(DEFAULT_GROUP_ID, "x")
        async with http.get(f"{root}/_control/calls?since=0") as response:
            calls = (await response.json())["calls"]
        assert [c["method"] for c in calls] == ["getUpdates", "getUpdates", "sendMessage"]
        assert calls[-1]["error_code"] == 404
        async with http.get(f"{root}/_control/state") as response:
            assert (await response.json())["unreachable"] == [DEFAULT_GROUP_ID]
