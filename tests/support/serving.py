"""Run the real Application against a fake Bot API server, as `run_polling` would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.channels.telegram.app import build_application, post_init, post_shutdown, post_stop
from bot.settings import Settings


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """post_init, polling and start on entry; stop, post_stop, shutdown and post_shutdown
    on exit.

    `Application.initialize()` does not call post_init nor post_stop (only run_polling
    does), so the tests call them here exactly as run_polling would: post_stop lets the
    set-up calls end before shutdown closes the HTTP client (closed under a call still
    connecting, on a loaded machine, it left a socket unclosed for a later test to trip on).
    """
    app = build_application(settings)
    async with app:
        await post_init(app)
        assert app.updater is not None
        await app.updater.start_polling(
            poll_interval=0, timeout=1, allowed_updates=Update.ALL_TYPES
        )
        await app.start()
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()
            await post_stop(app)
    await post_shutdown(app)
