"""A reply's picture or file, sent to Telegram (made by bot/media.py)."""

from __future__ import annotations

import contextlib
from typing import Literal

from telegram import Message
from telegram.constants import ChatAction, ChatType, MessageLimit
from telegram.error import TelegramError

from bot.channels.telegram.context import BotContext
from bot.channels.telegram.delivery import send_with_retry
from bot.channels.telegram.sending import keyboard, send_reply
from bot.i18n import Translator
from bot.media import MediaFile, fit_caption, make_media
from bot.reply import MediaRequest

CAPTION_LIMIT = MessageLimit.CAPTION_LENGTH  # 1024, counted like Telegram (UTF-16)


async def send_media(
    message: Message, request: MediaRequest, t: Translator, context: BotContext
) -> None:
    async def busy(kind: Literal["photo", "document"]) -> None:
        """ "sending a photo…" while it renders; nothing is lost when it fails."""
        action = ChatAction.UPLOAD_PHOTO if kind == "photo" else ChatAction.UPLOAD_DOCUMENT
        with contextlib.suppress(TelegramError):
            await message.get_bot().send_chat_action(message.chat.id, action)

    made = await make_media(request, context.answers, context.bot_data.charts, t, busy)
    if not isinstance(made, MediaFile):
        await send_reply(message, made)
        return
    caption = fit_caption(made.caption, CAPTION_LIMIT)
    markup = keyboard(made.choices)
    quote = message.chat.type != ChatType.PRIVATE
    if made.kind == "photo":
        await send_with_retry(
            lambda: message.reply_photo(
                photo=made.data,
                filename=made.file_name,
                caption=caption,
                reply_markup=markup,
                do_quote=quote,
            )
        )
    else:
        await send_with_retry(
            lambda: message.reply_document(
                document=made.data,
                filename=made.file_name,
                caption=caption,
                reply_markup=markup,
                do_quote=quote,
            )
        )
