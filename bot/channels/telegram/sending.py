"""A channel-neutral `Reply` as Telegram messages: HTML text, inline keyboards,
cut within Telegram's limits, sent under the one retry rule (delivery.py).

A reply's send or edit is made under `result_unread()`: nothing reads the Message
Telegram answers it with, and decoding it (its entities and keyboard become
objects) cost 0.5–1 ms of CPU a reply. `ReplyRequest` is the bot's HTTP client
for every call but getUpdates: PTB's own, which under `result_unread()` hands PTB
`True` for a message instead of its JSON, as Telegram does for an edited inline
message. Only the decoding is skipped: the call, its Defaults, the limiter, the
errors (a refusal is still raised) and the retries are PTB's and ours as before.
Its parameters travel as one JSON object (`JsonBodyClient`), not a form.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import httpx
from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ChatType, MessageLimit
from telegram.error import BadRequest
from telegram.request import HTTPXRequest

from bot.channels.telegram.delivery import send_with_retry
from bot.reply import Choice, Reply
from bot.splitting import split_marked

if TYPE_CHECKING:  # the type of BaseRequest.parse_json_payload's answer
    from telegram._utils.types import JSONDict

# Leave room under 4096 for what Telegram counts differently from us.
SAFE_TEXT_LENGTH = MessageLimit.MAX_TEXT_LENGTH - 96
SAFE_ENTITIES = 90

_RESULT_UNREAD: ContextVar[bool] = ContextVar("telegram_result_unread", default=False)


@contextlib.contextmanager
def result_unread() -> Iterator[None]:
    """Calls made in here return `True`, not a decoded Message (see ReplyRequest)."""
    token = _RESULT_UNREAD.set(True)
    try:
        yield
    finally:
        _RESULT_UNREAD.reset(token)


class JsonBodyClient(httpx.AsyncClient):
    """httpx's client, with a request's parameters sent as one JSON object instead of
    a form: the same strings PTB would put in the form (its `json_parameters`), which
    Telegram reads alike from either ("application/json (except for uploading
    files)", the Bot API's "Making requests"). Percent-encoding a reply's text and
    keyboard for a form cost ≈ 0.1 ms a message; json.dumps takes ≈ 5 µs. Uploads
    (`files`) and calls without parameters go as PTB sends them."""

    async def request(  # type: ignore[override]  # the one call PTB makes, by keyword
        self,
        method: str,
        url: str,
        *,
        data: dict[str, str] | None = None,
        files: Any = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        # PTB passes its (empty) dict of upload parts on every call, not None
        if not files and data:
            body = json.dumps(data, ensure_ascii=False).encode()
            headers = {**(headers or {}), "Content-Type": "application/json"}
            return await super().request(method, url, content=body, headers=headers, **kwargs)
        return await super().request(
            method, url, data=data, files=files, headers=headers, **kwargs
        )


class ReplyRequest(HTTPXRequest):
    """PTB's HTTPXRequest with a JSON body (JsonBodyClient); under `result_unread()` a
    message sent back is not decoded."""

    def _build_client(self) -> httpx.AsyncClient:
        # PTB builds (and after a shutdown rebuilds) its client here, from its settings
        return JsonBodyClient(**self._client_kwargs)

    @staticmethod
    def parse_json_payload(payload: bytes) -> JSONDict:
        answer = HTTPXRequest.parse_json_payload(payload)
        if _RESULT_UNREAD.get() and answer.get("ok") and isinstance(answer.get("result"), dict):
            # PTB returns a `True` result as it is (as for an edited inline message);
            # an error answer ("ok": false) is left whole, so it is raised as before
            return {**answer, "result": True}
        return answer


def split_html(markup: str) -> list[str]:
    """Marked text (Telegram's HTML subset) in chunks that each fit one message."""
    return split_marked(markup, max_units=SAFE_TEXT_LENGTH, max_entities=SAFE_ENTITIES)


class SharedKeyboard(InlineKeyboardMarkup):
    """An inline keyboard built once for each distinct set of choices and shared by
    every reply that shows it (PTB's objects are frozen), with the dict its requests
    are encoded from made once too: most replies repeat a few keyboards (pages, group
    switches), and building and encoding their buttons cost ≈ 0.1–0.3 ms a reply.
    PTB only reads that dict (to JSON); nothing may change it."""

    __slots__ = ("_encoded",)

    def __init__(self, rows: tuple[tuple[InlineKeyboardButton, ...], ...]) -> None:
        super().__init__(rows)
        with self._unfrozen():
            self._encoded = super().to_dict()

    def to_dict(self, recursive: bool = True) -> JSONDict:
        return self._encoded if recursive else super().to_dict(recursive=False)


@functools.lru_cache(maxsize=1024)
def _shared_keyboard(rows: tuple[tuple[Choice, ...], ...]) -> SharedKeyboard:
    return SharedKeyboard(
        tuple(
            tuple(
                InlineKeyboardButton(
                    c.label, callback_data=c.action, url=c.url, switch_inline_query=c.share
                )
                for c in row
            )
            for row in rows
        )
    )


def keyboard(choices: list[list[Choice]]) -> InlineKeyboardMarkup | None:
    if not choices:
        return None
    return _shared_keyboard(tuple(tuple(row) for row in choices))


async def send_text(
    message: Message, markup: str, buttons: InlineKeyboardMarkup | None = None
) -> None:
    """Every chunk as a reply to `message`; the buttons under the last one. In a
    group the reply quotes the question, so it is clear whom it answers."""
    chunks = split_html(markup)
    quote = message.chat.type != ChatType.PRIVATE
    for i, chunk in enumerate(chunks):
        under = buttons if i == len(chunks) - 1 else None

        async def send(chunk: str = chunk, under: InlineKeyboardMarkup | None = under) -> None:
            with result_unread():
                await message.reply_html(chunk, reply_markup=under, do_quote=quote)

        await send_with_retry(send)


async def send_reply(message: Message, reply: Reply) -> None:
    """A reply's text and choices (its media, if any, is bot/channels/telegram/media.py's)."""
    await send_text(message, reply.text, keyboard(reply.choices))


async def edit_reply(query: CallbackQuery, reply: Reply) -> None:
    """A button's answer in place of the message that held it (one message: a longer
    answer is cut, with "…")."""
    chunks = split_html(reply.text)
    text = chunks[0] if len(chunks) == 1 else chunks[0] + "\n…"
    try:
        with result_unread():
            await query.edit_message_text(text, reply_markup=keyboard(reply.choices))
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


async def edit_result(query: CallbackQuery, markup: str) -> None:
    """A confirmation's outcome: the buttons go, the outcome is a new message."""
    with contextlib.suppress(BadRequest), result_unread():  # already without buttons
        await query.edit_message_reply_markup(reply_markup=None)
    if isinstance(query.message, Message):
        await send_text(query.message, markup)
