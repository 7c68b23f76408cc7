"""The bot's HTTP client sends a call's parameters as one JSON object of the strings
PTB would have put in a form (bot/channels/telegram/sending.py: JsonBodyClient);
uploads and calls without parameters go as PTB sends them. The fake Bot API reads
a JSON body as Telegram does, to the same parameters as the form."""

from __future__ import annotations

import json

import httpx
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.constants import ParseMode
from telegram.request import HTTPXRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from bot.channels.telegram.sending import JsonBodyClient, ReplyRequest
from fakes.telegram import DEFAULT_USER_ID, FakeBotAPI

TOKEN = "123456789:AAFtestTOKENabcdefghijklmnopqrstuvwxyz01"
KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("Trang 2/3 ▶", callback_data="r:t:2")]])


async def test_parameters_go_as_one_json_object_of_the_form_strings() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True, "result": True})

    form = {"chat_id": "42", "text": 'Sở "GD&ĐT" <b>1</b> & 100%', "reply_markup": '{"a": 1}'}
    async with JsonBodyClient(transport=httpx.MockTransport(answer)) as client:
        await client.request("POST", "http://x/bot/sendMessage", data=form)
        await client.request("POST", "http://x/bot/getMe", data={})
        await client.request(
            "POST", "http://x/bot/sendDocument", data={"chat_id": "42"}, files={"document": b"x"}
        )
    sent, empty, upload = seen
    assert sent.headers["content-type"] == "application/json"
    assert json.loads(sent.content) == form
    assert empty.content == b""
    assert upload.headers["content-type"].startswith("multipart/form-data")


async def test_ptb_s_own_calls_go_as_json() -> None:
    """As PTB calls the client: with its dict of upload parts, empty when there are none
    (a check for `files is None` sent every reply as a form)."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True, "result": True})

    request = ReplyRequest(httpx_kwargs={"transport": httpx.MockTransport(answer)})
    await request.initialize()
    try:
        parameters = [
            RequestParameter.from_input("chat_id", 42),
            RequestParameter.from_input("text", "Sở Tài chính <b>1</b>"),
        ]
        await request.post("http://x/bot/sendMessage", request_data=RequestData(parameters))
        document = InputFile(b"x", filename="x.csv")
        upload = [RequestParameter.from_input("document", document)]
        await request.post("http://x/bot/sendDocument", request_data=RequestData(upload))
    finally:
        await request.shutdown()
    sent, uploaded = seen
    assert sent.headers["content-type"] == "application/json"
    assert json.loads(sent.content) == {"chat_id": "42", "text": "Sở Tài chính <b>1</b>"}
    assert uploaded.headers["content-type"].startswith("multipart/form-data")


async def test_the_fake_reads_a_json_body_as_the_form() -> None:
    """The same calls through PTB's own request (a form) and the bot's (JSON)."""
    async with FakeBotAPI() as srv:
        recorded = []
        for request in (HTTPXRequest(), ReplyRequest()):
            bot = Bot(TOKEN, base_url=srv.base_url, request=request)
            async with bot:
                start = len(srv.calls)
                await bot.send_message(
                    DEFAULT_USER_ID,
                    "<b>Bảng</b> 1/18 &amp; 100%",
                    parse_mode=ParseMode.HTML,
                    reply_markup=KEYBOARD,
                    disable_notification=True,
                )
                recorded.append([(c.method, c.params) for c in srv.calls[start:]])
        assert recorded[0] == recorded[1]
        assert recorded[1][-1][1]["reply_markup"] == KEYBOARD.to_dict()
        assert recorded[1][-1][1]["disable_notification"] is True
