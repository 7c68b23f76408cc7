"""A channel-neutral `Reply` as Telegram messages: HTML text, inline keyboards,
cut within Telegram's limits, sent under the one retry rule (delivery.py)."""

from __future__ import annotations

import contextlib

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ChatType, MessageLimit
from telegram.error import BadRequest

from bot.channels.telegram.delivery import send_with_retry
from bot.reply import Choice, Reply
from bot.splitting import split_marked

# Leave room under 4096 for what Telegram counts differently from us.
SAFE_TEXT_LENGTH = MessageLimit.MAX_TEXT_LENGTH - 96
SAFE_ENTITIES = 90


def split_html(markup: str) -> list[str]:
    """Marked text (Telegram's HTML subset) in chunks that each fit one message."""
    return split_marked(markup, max_units=SAFE_TEXT_LENGTH, max_entities=SAFE_ENTITIES)


def keyboard(choices: list[list[Choice]]) -> InlineKeyboardMarkup | None:
    if not choices:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    c.label, callback_data=c.action, url=c.url, switch_inline_query=c.share
                )
                for c in row
            ]
            for row in choices
        ]
    )


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
        await query.edit_message_text(text, reply_markup=keyboard(reply.choices))
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


async def edit_result(query: CallbackQuery, markup: str) -> None:
    """A confirmation's outcome: the buttons go, the outcome is a new message."""
    with contextlib.suppress(BadRequest):  # already without buttons
        await query.edit_message_reply_markup(reply_markup=None)
    if isinstance(query.message, Message):
        await send_text(query.message, markup)
