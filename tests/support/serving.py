"""Run the real Application against a fake Bot API server, as `run_polling` would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.channels.telegram.app import build_application, post_init, post_shutdown
from bot.settings import Settings


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """post_init, polling and start on entry; stop, shutdown and post_shutdown on exit.

    `Application.initialize()` does not call post_init (only run_polling does), so the
    tests call it here exactly as run_polling would.
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
    await post_shutdown(app)
