"""The baseline: an echo bot built exactly like the bot (the same
`application_builder` of bot/channels/telegram/app.py: Defaults, 8 concurrent
updates, timeouts, AIORateLimiter), answering every update with a fixed text
(commands and plain text: one sendMessage; a button: answerCallbackQuery and
editMessageText), so it makes the same Bot API calls per update as the bot and
differs from it only in what it does with an update.

`--no-limiter` builds both without the limiter (bench/bot_runner.py). `--sized`
answers with a reply of the bot's size instead of "pong" (SIZED_TEXT, one of the
bot's own replies, with a three-button keyboard), through PTB's plain reply path:
what the bench's profile row needs to tell a reply's size from the bot's own
work. `--bare`
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

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

TEXT = "pong"
# the bot's answer to "/cuoi 5 khong-tthc" on the shipped data (its sendMessage body
# ≈ 900 bytes with the keyboard; the median of the bench's stream is ≈ 870)
SIZED_TEXT = """\
🔻 <b>Cuối bảng: Xếp hạng chuyển đổi số tỉnh Lào Cai 2022</b>

<b>Cơ quan, đơn vị không có thủ tục hành chính</b> · 22 đơn vị · tối đa 750 điểm
<i>… hạng 18–21 chưa được công bố</i>
22. Đảng uỷ Công ty Apatit — <b>210,70</b> (28,09 %) · Hình thành

<i>(%): tỷ lệ điểm trên điểm tối đa của nhóm, do bot tính từ điểm.</i>
<i>Nguồn: QĐ 791/QĐ-UBND ngày 11/4/2023</i>
<i>Ngày công bố: 11/4/2023 · bot nhận dữ liệu: 08/12/2026</i>"""
SIZED_KEYBOARD = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("◀ Trang trước", callback_data="r:b:cds:khong-tthc:2022:5:1"),
            InlineKeyboardButton("Huyện", callback_data="r:t:cds:huyen:2022:9:1"),
        ],
        [InlineKeyboardButton("Có TTHC", callback_data="r:t:cds:tthc:2022:20:1")],
    ]
)
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


async def sized_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    _slow_down()
    if update.effective_message is not None:
        await update.effective_message.reply_html(SIZED_TEXT, reply_markup=SIZED_KEYBOARD)


async def sized_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    _slow_down()
    query = update.callback_query
    if query is not None:
        await query.answer()
        await query.edit_message_text(SIZED_TEXT, reply_markup=SIZED_KEYBOARD)  # Defaults: HTML


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else "")
    parser.add_argument("--no-limiter", action="store_true")
    parser.add_argument("--sized", action="store_true")
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
    on_text, on_button = (sized_reply, sized_button) if args.sized else (reply, button)
    app.add_handler(CommandHandler(["top", "cuoi", "donvi", "start"], on_text))
    app.add_handler(MessageHandler(filters.TEXT, on_text))
    app.add_handler(CallbackQueryHandler(on_button))
    app.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
