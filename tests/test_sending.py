"""Replies sent without decoding what Telegram answers (bot/channels/telegram/sending.py):
the calls, their Defaults and their errors stay PTB's."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import BadRequest
from telegram.ext import ApplicationBuilder

from bot.channels.telegram.app import application_builder
from bot.channels.telegram.sending import ReplyRequest, keyboard, result_unread
from bot.reply import Choice
from bot.settings import Settings
from fakes.telegram import DEFAULT_USER_ID, FakeBotAPI

TOKEN = "123456789:AAFtestTOKENabcdefghijklmnopqrstuvwxyz0123"


def payload(answer: dict[str, Any]) -> bytes:
    return json.dumps(answer).encode()


def test_a_message_answer_is_not_decoded_only_under_result_unread() -> None:
    sent = {"ok": True, "result": {"message_id": 7, "date": 0, "chat": {"id": 1}}}
    assert ReplyRequest.parse_json_payload(payload(sent)) == sent
    with result_unread():
        assert ReplyRequest.parse_json_payload(payload(sent)) == {"ok": True, "result": True}
    assert ReplyRequest.parse_json_payload(payload(sent)) == sent  # reset on the way out


def test_errors_and_other_answers_stay_whole_under_result_unread() -> None:
    refused = {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}
    updates = {"ok": True, "result": [{"update_id": 1}]}
    done = {"ok": True, "result": True}
    with result_unread():
        for answer in (refused, updates, done):
            assert ReplyRequest.parse_json_payload(payload(answer)) == answer


def test_a_keyboard_is_built_once_and_encodes_as_ptb_would() -> None:
    def choices() -> list[list[Choice]]:
        return [
            [Choice("Trang 2", action="r:t:cds:huyen:2022:9:2")],
            [Choice("Nguồn", url="https://example.org"), Choice("Chia sẻ", share="top 3")],
        ]

    shared = keyboard(choices())
    assert shared is keyboard(choices())  # equal choices, one object
    assert keyboard(choices()[:1]) is not shared
    assert keyboard([]) is None
    built = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Trang 2", callback_data="r:t:cds:huyen:2022:9:2")],
            [
                InlineKeyboardButton("Nguồn", url="https://example.org"),
                InlineKeyboardButton("Chia sẻ", switch_inline_query="top 3"),
            ],
        ]
    )
    assert shared is not None and shared.to_dict() == built.to_dict()
    assert shared.to_json() == built.to_json()
    assert shared == built


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[tuple[FakeBotAPI, Any]]:
    async with FakeBotAPI() as srv:
        settings = Settings(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=srv.base_url,
            TELEGRAM_FILE_BASE_URL=srv.base_file_url,
            RANKBOT_DB=str(tmp_path / "bot.sqlite3"),
        )
        application = application_builder(settings).build()
        await application.bot.initialize()
        try:
            yield srv, application.bot
        finally:
            await application.bot.shutdown()
        assert srv.violations == []


async def test_an_unread_send_keeps_the_defaults_and_the_errors(
    bot: tuple[FakeBotAPI, Any],
) -> None:
    srv, telegram_bot = bot
    assert isinstance(telegram_bot.request, ReplyRequest)  # every call but getUpdates
    read = await telegram_bot.send_message(DEFAULT_USER_ID, "<b>Top</b> 1")
    assert isinstance(read, Message) and read.entities  # decoded as PTB does
    with result_unread():
        unread = await telegram_bot.send_message(DEFAULT_USER_ID, "<b>Top</b> 2")
        assert unread is True
        with pytest.raises(BadRequest):  # Telegram's "no" is still raised
            await telegram_bot.edit_message_text("x", chat_id=DEFAULT_USER_ID, message_id=999_999)
    sends = srv.calls_since(0, "sendMessage")
    assert [call.params.get("parse_mode") for call in sends] == ["HTML", "HTML"]  # Defaults
    assert sends[0].params.get("link_preview_options") == sends[1].params.get(
        "link_preview_options"
    )
    assert [m["text"] for m in srv.sent_messages(DEFAULT_USER_ID)][-2:] == ["Top 1", "Top 2"]


def test_both_clients_share_one_tls_context_as_httpx_builds_it(tmp_path: Path) -> None:
    """getUpdates' client is the one PTB's builder makes (one connection, its
    timeouts), and both clients verify with the context httpx would build for each."""
    settings = Settings(TELEGRAM_BOT_TOKEN=TOKEN, RANKBOT_DB=str(tmp_path / "bot.sqlite3"))
    ours = application_builder(settings).build().bot._request
    ptb = ApplicationBuilder().token(TOKEN).build().bot._request

    def client(request: Any) -> tuple[Any, ...]:
        pool = request._client._transport._pool
        keeps = (pool._max_connections, pool._max_keepalive_connections, pool._http2)
        return (request._client.timeout, *keeps, request._client.trust_env)

    assert client(ours[0]) == client(ptb[0])  # getUpdates'
    contexts = [request._client._transport._pool._ssl_context for request in (*ours, ptb[0])]
    assert contexts[0] is contexts[1]
    shared, default = contexts[0], contexts[2]
    for attribute in ("protocol", "verify_mode", "check_hostname", "options", "verify_flags"):
        assert getattr(shared, attribute) == getattr(default, attribute), attribute
    assert shared.minimum_version == default.minimum_version
    assert shared.cert_store_stats() == default.cert_store_stats()
    assert shared.get_ciphers() == default.get_ciphers()
