"""The baseline: a bare python-telegram-bot bot that answers every update with a
fixed text (commands and plain text: one sendMessage; a button: answerCallbackQuery
and editMessageText), so it makes the same Bot API calls per update as the real bot.

`--limited` builds it like bot/app.py does (AIORateLimiter, 8 concurrent updates).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

TEXT = "pong"


async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_text(TEXT)


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is not None:
        await query.answer()
        await query.edit_message_text(TEXT + " " + (query.data or ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else "")
    parser.add_argument("--limited", action="store_true")
    args = parser.parse_args()
    builder: Any = (
        ApplicationBuilder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_API_BASE_URL"])
        .base_file_url(os.environ["TELEGRAM_FILE_BASE_URL"])
    )
    if args.limited:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3)).concurrent_updates(8)
    app = builder.build()
    app.add_handler(CommandHandler(["top", "cuoi", "donvi", "start"], reply))
    app.add_handler(MessageHandler(filters.TEXT, reply))
    app.add_handler(CallbackQueryHandler(button))
    app.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
