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
from ranking.store import StoreFailure, store_failure

log = logging.getLogger("rankbot")

REPORT_INTERVAL = 60.0  # seconds between two reports to the admins
REPORT_CHARS = 3000  # of the traceback, so the report fits one message
STORE_REPORT_INTERVAL = 3600.0  # seconds between two reports of the same store failure


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
    failure = store_failure(error)
    if failure is None:
        log.error("update failed: %s", error, exc_info=error)
    if isinstance(update, Update):
        t = Translator(await _language(update, context))
        text = (
            t("error.internal")
            if failure is None
            else t("error.store_user", reason=t(f"store.{failure.value}"))
        )
        if update.callback_query is not None:
            with contextlib.suppress(TelegramError):
                await update.callback_query.answer(text, show_alert=failure is not None)
        elif update.effective_message is not None:
            try:
                await update.effective_message.reply_text(text)
            except TelegramError:
                log.warning("could not send the apology either")
    if failure is not None:
        await report_store_failure(context, failure, error)
        return
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


async def report_store_failure(
    context: BotContext, failure: StoreFailure, error: BaseException | None
) -> None:
    """A full disk, a read-only or locked database, a missing folder: one log line
    and one message to the admins per kind an hour, not a traceback per update.
    Nothing is switched off: every write tries again, so the bot recovers by
    itself once the cause is gone."""
    data = context.bot_data
    now = time.monotonic()
    last = data.store_failures.get(failure.value)
    if last is not None and now - last < STORE_REPORT_INTERVAL:
        log.debug("store still failing (%s)", failure.value)
        return
    data.store_failures[failure.value] = now
    db = context.settings.db_path
    log.error("store failure (%s) on %s: %s", failure.value, db, data.redacting.redact(str(error)))
    t = Translator("vi")
    text = t("error.store_admin", reason=t(f"store.{failure.value}"), db=html.escape(db))
    for admin_id in sorted(context.settings.admin_ids):
        try:
            await context.bot.send_message(admin_id, text)
        except TelegramError as exc:
            log.warning("could not tell admin %s of the store failure: %s", admin_id, exc)
