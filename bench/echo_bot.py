"""The baseline: an echo bot built exactly like the bot (the same
`application_builder` of bot/channels/telegram/app.py: Defaults, 8 concurrent
updates, timeouts, AIORateLimiter), answering every update with a fixed text
(commands and plain text: one sendMessage; a button: answerCallbackQuery and
editMessageText), so it makes the same Bot API calls per update as the bot and
differs from it only in what it does with an update.

`--no-limiter` builds both without the limiter (bench/bot_runner.py). `--bare`
is python-telegram-bot's default build with none of the bot's modules imported:
the baseline of start-up time and memory (what any PTB bot costs).

BENCH_BREAK_BASELINE=<ms> makes it block its event loop that long on every
update: a baseline that can lose, to show that a benchmark's headline ratio
moves when its baseline does (tests/test_bench.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from telegram import Update
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

TEXT = "pong"
BREAK_BASELINE = "BENCH_BREAK_BASELINE"


def _handicap() -> float:
    """Seconds to block per update (BENCH_BREAK_BASELINE, in ms; "1" alone: 20 ms)."""
    raw = os.environ.get(BREAK_BASELINE, "").strip()
    if not raw or raw == "0":
        return 0.0
    return (20.0 if raw == "1" else float(raw)) / 1000


HANDICAP = _handicap()


def _slow_down() -> None:
    if HANDICAP:
        time.sleep(HANDICAP)  # blocking on purpose: a costlier baseline


async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    _slow_down()
    if update.effective_message is not None:
        await update.effective_message.reply_text(TEXT)


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    _slow_down()
    query = update.callback_query
    if query is not None:
        await query.answer()
        await query.edit_message_text(TEXT + " " + (query.data or ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else "")
    parser.add_argument("--no-limiter", action="store_true")
    parser.add_argument("--bare", action="store_true")
    args = parser.parse_args()
    if args.bare:
        builder: Any = (
            ApplicationBuilder()
            .token(os.environ["TELEGRAM_BOT_TOKEN"])
            .base_url(os.environ["TELEGRAM_API_BASE_URL"])
            .base_file_url(os.environ["TELEGRAM_FILE_BASE_URL"])
        )
    else:
        # imported here: the bare baseline must not load the bot's modules
        from bench.bot_runner import lift_limiter
        from bot.channels.telegram.app import application_builder
        from bot.cli import load_settings

        if args.no_limiter:
            lift_limiter()
        builder = application_builder(load_settings())
    app = builder.build()
    app.add_handler(CommandHandler(["top", "cuoi", "donvi", "start"], reply))
    app.add_handler(MessageHandler(filters.TEXT, reply))
    app.add_handler(CallbackQueryHandler(button))
    app.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
