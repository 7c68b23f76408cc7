"""The typed context every Telegram handler gets (python-telegram-bot's ContextTypes).

`context.bot_data` is a `BotData`, `context.user_data` a `UserData`: attributes
with types instead of string keys, so a handler reads `context.store` rather
than casting `bot_data["store"]` in every module.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot, JobQueue

from bot.answers import Answers
from bot.channels.telegram.outbox import Outbox
from bot.chart_cache import ChartCache
from bot.flood import FloodGuard, RefusalLog
from bot.logs import RedactingFilter
from bot.settings import Settings
from ranking.queries import Rankings
from ranking.store import Store


class BotData:
    """What the whole bot shares: set by build_application and post_init."""

    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.store: Store | None = None
        self.answers: Answers | None = None
        self.flood: FloodGuard | None = None
        # refused admin commands: one audit row per user a minute, the rest counted
        self.refusals = RefusalLog()
        self.outbox: Outbox | None = None
        self.set_up: asyncio.Task[None] | None = None  # menus and descriptions (post_init)
        # set when the first update has been handled: the set-up calls wait for it
        self.first_handled = asyncio.Event()
        self.set_up_begun = False  # the set-up calls have begun (else a stop cancels them)
        self.charts = ChartCache()
        # chat id → (monotonic time, its administrators' ids): /dangky in groups
        self.group_admins: dict[int, tuple[float, set[int]]] = {}
        # monotonic time of the last error report sent to the admins
        self.last_error_report: float | None = None
        # store failure kind (disk_full, …) → monotonic time it was last reported
        self.store_failures: dict[str, float] = {}
        # the filter that keeps the token out of logs; error reports go through it too
        self.redacting = RedactingFilter()
        # False when `python -m bot run` opened the store for every channel and closes it
        self.owns_store = True
        # replies sent without a clear answer since start (may have arrived: not resent)
        self.uncertain_replies = 0
        # the languages people chose (user_settings), read once on the first update: a
        # person's first question needs no trip to the database thread for it. Kept in
        # step by UserData.lang, which a choice made in this process sets first.
        self.languages: dict[int, str] | None = None
        # other channels' outbox workers in this process, woken with Telegram's
        self.also_wake: list[Callable[[], None]] = []

    def wake_outbox(self) -> None:
        """Something was queued: the workers need not wait for their next look."""
        if self.outbox is not None:
            self.outbox.wake()
        for wake in self.also_wake:
            wake()


class UserData:
    """Per user, in memory: the language once read, an upload being awaited."""

    def __init__(self) -> None:
        self.lang: str | None = None
        self.awaiting_upload: float | None = None  # monotonic time of /tailen


class BotContext(CallbackContext[ExtBot[None], UserData, dict[Any, Any], BotData]):
    @property
    def settings(self) -> Settings:
        settings = self.bot_data.settings
        if settings is None:  # pragma: no cover - build_application sets it
            raise RuntimeError("settings are not set")
        return settings

    @property
    def store(self) -> Store:
        store = self.bot_data.store
        if store is None:  # pragma: no cover - post_init opens it before any update
            raise RuntimeError("the store is not open")
        return store

    @property
    def answers(self) -> Answers:
        answers = self.bot_data.answers
        if answers is None:  # pragma: no cover - post_init sets it before any update
            raise RuntimeError("answers are not set up")
        return answers

    @property
    def rankings(self) -> Rankings:
        return self.answers.rankings


CONTEXT_TYPES = ContextTypes(context=BotContext, bot_data=BotData, user_data=UserData)
BotApp = Application[
    ExtBot[None], BotContext, UserData, dict[Any, Any], BotData, JobQueue[BotContext]
]
