"""Who is asking, in which language, and whether they may: the checks every
Telegram handler shares.

Who is an admin: numeric ids from RANKBOT_ADMIN_IDS plus ids an admin added
with /quantri; never a username, never Telegram's anonymous-admin or service
accounts, only in a private chat, and never a message sent on behalf of a chat
(sender_chat). Everyone else is refused politely and the attempt is logged.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.constants import ChatType

from bot.channels.telegram.context import BotContext
from bot.channels.telegram.sending import send_text
from bot.flood import Verdict
from bot.i18n import Translator, pick_language
from bot.settings import FORBIDDEN_ADMIN_IDS

log = logging.getLogger("rankbot.access")

Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


async def language_of(update: Update, context: BotContext) -> str:
    """The user's stored choice, else Telegram's language_code, else Vietnamese."""
    user = update.effective_user
    if user is None:
        return pick_language(None)
    if context.user_data is not None and context.user_data.lang is not None:
        return context.user_data.lang
    known = context.bot_data.languages
    if known is None:
        known = context.bot_data.languages = await context.store.people.languages()
    lang = known.get(user.id) or pick_language(user.language_code)
    if context.user_data is not None:
        context.user_data.lang = lang
    return lang


async def translator(update: Update, context: BotContext) -> Translator:
    return Translator(await language_of(update, context))


async def is_admin(user_id: int, context: BotContext) -> bool:
    if user_id in FORBIDDEN_ADMIN_IDS:
        return False
    return (
        user_id in context.settings.admin_ids or user_id in await context.store.people.admin_ids()
    )


def admin_only(handler: Handler) -> Handler:
    """Run `handler` only for an admin, in a private chat, speaking as themself."""

    async def guarded(update: Update, context: BotContext) -> None:
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None:
            return
        t = await translator(update, context)
        reason = None
        if message.sender_chat is not None:
            reason = "sender_chat"
        elif message.chat.type != ChatType.PRIVATE:
            reason = "not_private"
        elif not await is_admin(user.id, context):
            reason = "not_admin"
        if reason is not None:
            skipped = context.bot_data.refusals.note(user.id)
            if skipped is not None:  # else recorded a moment ago: counted for the next row
                detail = f"{handler.__name__}: {reason}"
                if skipped:
                    detail += f" (+{skipped} refused before, not recorded one by one)"
                log.warning("refused %s to user %s (%s)", handler.__name__, user.id, detail)
                await context.store.people.audit(user.id, "refused", detail)
            key = "admin.private_only" if reason == "not_private" else "admin.refused"
            await send_text(message, t(key))
            return
        await handler(update, context)

    guarded.__name__ = handler.__name__
    return guarded


async def let_through(update: Update, context: BotContext, t: Translator | None = None) -> bool:
    """True when this user's query may be answered. Over the limit, the user hears
    "chờ một chút" once (with how long), and further messages get no reply until
    the bucket refills, so the bot does not become the flood. Admins are exempt."""
    guard = context.bot_data.flood
    user = update.effective_user
    if guard is None or user is None:
        return True
    verdict = guard.check(user.id)
    if verdict is Verdict.ALLOW or await is_admin(user.id, context):
        return True
    query = update.callback_query
    if verdict is Verdict.WARN and t is not None:
        seconds = max(1, math.ceil(guard.retry_after(user.id)))
        text = t("flood.wait", seconds=seconds)
        log.info("flood guard: user %s asked too fast", user.id)
        if query is not None:
            await query.answer(text, show_alert=False)
        elif update.effective_message is not None:
            await send_text(update.effective_message, text)
    elif query is not None:
        await query.answer()  # stops the button's spinner, says nothing
    return False
