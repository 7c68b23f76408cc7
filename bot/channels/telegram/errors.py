"""The error handler: log, apologise once in the user's language, tell the admins.

As in python-telegram-bot's maintainers' rules-bot: the log gets the whole
traceback (through the redacting filter: never the token); the user gets one
short apology in their language; the admins get a trimmed, escaped report, at
most one a minute, so a failure storm does not become a message storm.
"""

from __future__ import annotations

import contextlib
import html
import logging
import time
import traceback
from collections.abc import Callable

from telegram import Update
from telegram.error import TelegramError

from bot.channels.telegram.access import language_of
from bot.channels.telegram.context import BotContext
from bot.channels.telegram.delivery import Outcome, UncertainSend, outcome
from bot.i18n import Translator, pick_language

log = logging.getLogger("rankbot")

REPORT_INTERVAL = 60.0  # seconds between two reports to the admins
REPORT_CHARS = 3000  # of the traceback, so the report fits one message


async def _language(update: Update, context: BotContext) -> str:
    """The user's language; Telegram's guess when even that fails (the store may
    be what broke)."""
    try:
        return await language_of(update, context)
    except Exception:
        user = update.effective_user
        return pick_language(user.language_code if user else None)


async def on_error(update: object, context: BotContext) -> None:
    error = context.error
    if isinstance(error, UncertainSend):
        # the reply was written and may have arrived: it is not sent again (the
        # apology below is all that follows); /trangthai counts it
        context.bot_data.uncertain_replies += 1
    log.error("update failed: %s", error, exc_info=error)
    if isinstance(update, Update):
        t = Translator(await _language(update, context))
        if update.callback_query is not None:
            with contextlib.suppress(TelegramError):
                await update.callback_query.answer(t("error.internal"))
        elif update.effective_message is not None:
            try:
                await update.effective_message.reply_text(t("error.internal"))
            except TelegramError:
                log.warning("could not send the apology either")
    if error is not None and not (
        isinstance(error, TelegramError) and outcome(error) is not Outcome.REFUSED
    ):
        # Telegram being slow or unreachable is not news for the admins
        await report_to_admins(update, context, error)


def report_text(update: object, error: BaseException, redact: Callable[[str], str]) -> str:
    """The error, where it happened and the traceback's end, without a secret (an
    error's text can carry the token: a Bot API URL), escaped for HTML."""
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    tail = redact("".join(lines))[-REPORT_CHARS:]
    where = ""
    if isinstance(update, Update):
        chat = update.effective_chat
        user = update.effective_user
        where = f"chat {chat.id if chat else '—'} ({chat.type if chat else '—'}), "
        where += f"user {user.id if user else '—'}"
    t = Translator("vi")
    return t(
        "error.report",
        error=html.escape(redact(f"{type(error).__name__}: {error}")[:300]),
        where=html.escape(where),
        trace=html.escape(tail),
    )


async def report_to_admins(update: object, context: BotContext, error: BaseException) -> None:
    data = context.bot_data
    now = time.monotonic()
    if data.last_error_report is not None and now - data.last_error_report < REPORT_INTERVAL:
        return
    data.last_error_report = now
    text = report_text(update, error, data.redacting.redact)
    # an admin who got the apology in this very chat needs no second message there
    here = (
        update.effective_chat.id if isinstance(update, Update) and update.effective_chat else None
    )
    for admin_id in sorted(context.settings.admin_ids - {here}):
        try:
            await context.bot.send_message(admin_id, text)
        except TelegramError as exc:
            log.warning("could not report the error to admin %s: %s", admin_id, exc)
