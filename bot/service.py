"""`python -m bot run`: every channel whose token is set, in one process, on one store.

TELEGRAM_BOT_TOKEN starts the Telegram channel (bot/channels/telegram), ZALO_BOT_TOKEN
the Zalo one (bot/channels/zalo); either or both. They share the loop, the store,
the `Answers` over it and the log, whose filter knows both tokens and both webhook
secrets. An upload confirmed on Telegram (or a CLI import) is queued once, with one
delivery row per subscriber of every channel; each channel's worker sends only its
own rows, so each group gets it once, and a restart resends none (the rows say what
went out). Telegram's "something was queued" also wakes the Zalo worker.

Start-up: a token the platform refuses is a configuration error (exit 2). An API
that cannot be reached: when it is the only channel, exit 1, as before; beside
another channel, the others serve meanwhile and it is tried again every
RETRY_FIRST … RETRY_MAX seconds. Telegram is blocked on some Vietnamese networks,
and that must not keep the officials' Zalo channel from starting.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.announcements import finish_announcements
from bot.answers import Answers
from bot.backup import refuse_damaged
from bot.logs import RedactingFilter, setup_logging
from bot.prepare import needed, start, wait
from bot.settings import TOKEN_PATTERN, Settings
from ranking.catalog import load_catalog
from ranking.publishing import load_shipped_data
from ranking.queries import Rankings
from ranking.store import Store, StoreError

log = logging.getLogger("rankbot")

RETRY_FIRST = 15.0  # seconds before a channel that could not be reached is tried again
RETRY_MAX = 300.0


class StartFailed(Exception):
    """A channel could not start; `code` is the exit status, the message one line."""

    def __init__(self, message: str, code: int, *, retry: bool) -> None:
        super().__init__(message)
        self.code = code
        self.retry = retry  # unreachable: worth trying again


@dataclass
class Running:
    name: str
    stop: Callable[[], Awaitable[None]]
    wake_outbox: Callable[[], None]
    # hears every other channel's "something was queued"
    also_wake: list[Callable[[], None]] | None = None


@dataclass
class Channel:
    name: str
    start: Callable[[], Awaitable[Running]]


@dataclass
class Service:
    settings: Settings
    store: Store
    answers: Answers
    redacting: RedactingFilter
    running: list[Running] = field(default_factory=list)
    retrying: set[asyncio.Task[None]] = field(default_factory=set)
    stopped: asyncio.Event = field(default_factory=asyncio.Event)
    exit_code: int = 0

    def channels(self) -> list[Channel]:
        found = []
        if self.settings.token():
            found.append(Channel("Telegram", self.start_telegram))
        if self.settings.zalo_token():
            found.append(Channel("Zalo", self.start_zalo))
        return found

    async def start_telegram(self) -> Running:
        # the Telegram stack is imported only when it really runs
        from telegram.error import InvalidToken, NetworkError

        from bot.channels.telegram.app import start_channel, stop_channel

        try:
            app = await start_channel(
                self.settings, store=self.store, answers=self.answers, redacting=self.redacting
            )
        except InvalidToken:
            raise StartFailed(
                "Telegram rejected TELEGRAM_BOT_TOKEN (check it with @BotFather)", 2, retry=False
            ) from None
        except NetworkError as exc:
            detail = self.redacting.redact(str(exc))
            raise StartFailed(
                f"cannot reach the Telegram Bot API: {detail}", 1, retry=True
            ) from None
        data = app.bot_data
        return Running("Telegram", lambda: stop_channel(app), data.wake_outbox, data.also_wake)

    async def start_zalo(self) -> Running:
        from bot.channels.zalo.app import ZaloChannel
        from bot.channels.zalo.client import InvalidToken, ZaloError

        try:
            zalo = await ZaloChannel.start(self.settings, self.store, self.answers)
        except InvalidToken:
            raise StartFailed(
                "Zalo rejected ZALO_BOT_TOKEN (check it in Zalo Bot Creator)", 2, retry=False
            ) from None
        except ZaloError as exc:
            if exc.outcome == "refused":  # e.g. setWebhook refusing ZALO_WEBHOOK_URL
                raise StartFailed(f"Zalo refused {exc}", 2, retry=False) from None
            raise StartFailed(f"cannot reach the Zalo Bot API: {exc}", 1, retry=True) from None
        except OSError as exc:  # the webhook's port is taken, or the address is wrong
            settings = self.settings
            where = f"{settings.zalo_webhook_listen}:{settings.zalo_webhook_port}"
            raise StartFailed(
                f"cannot listen on {where} for Zalo: {exc}", 2, retry=False
            ) from None
        return Running("Zalo", zalo.stop, zalo.wake_outbox)

    def connect(self, new: Running) -> None:
        """`new` runs: each channel's "queued" wakes the others' workers too."""
        for other in self.running:
            if other.also_wake is not None:
                other.also_wake.append(new.wake_outbox)
            if new.also_wake is not None:
                new.also_wake.append(other.wake_outbox)
        self.running.append(new)
        log.info("%s channel running", new.name)

    async def start_all(self) -> int:
        channels = self.channels()
        for channel in channels:
            try:
                self.connect(await channel.start())
            except StartFailed as failed:
                if not failed.retry or len(channels) == 1:
                    print(f"error: {failed}", file=sys.stderr)
                    return failed.code
                log.error("%s; the other channels run, it is tried again", failed)
                task = asyncio.create_task(self.keep_trying(channel), name=f"start-{channel.name}")
                self.retrying.add(task)
                task.add_done_callback(self.retrying.discard)
        return 0

    async def keep_trying(self, channel: Channel) -> None:
        delay = RETRY_FIRST
        while not self.stopped.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopped.wait(), delay)
            if self.stopped.is_set():
                return
            try:
                self.connect(await channel.start())
                return
            except StartFailed as failed:
                if not failed.retry:
                    log.error("%s: the bot stops", failed)
                    self.exit_code = failed.code
                    self.stopped.set()
                    return
                delay = min(delay * 2, RETRY_MAX)
                log.warning("%s; trying again in %.0f s", failed, delay)

    async def stop_all(self) -> None:
        self.stopped.set()
        for task in list(self.retrying):
            task.cancel()
        for running in reversed(self.running):
            try:
                await running.stop()
            except Exception:
                log.exception("stopping the %s channel failed", running.name)
        self.running.clear()


def check_tokens(settings: Settings) -> str | None:
    """What is wrong with the tokens, in one line; None when at least one is usable."""
    telegram, zalo = settings.token(), settings.zalo_token()
    if not telegram and not zalo:
        return (
            "neither TELEGRAM_BOT_TOKEN (from @BotFather) nor ZALO_BOT_TOKEN (from Zalo Bot"
            " Creator) is set; without one try `python -m bot ask`"
        )
    if telegram and not TOKEN_PATTERN.fullmatch(telegram):
        return (
            "TELEGRAM_BOT_TOKEN does not look like a bot token "
            "(digits, a colon, then 30+ letters, digits, _ or -)"
        )
    if zalo:
        from bot.channels.zalo.client import looks_like_token

        if not looks_like_token(zalo):
            return "ZALO_BOT_TOKEN does not look like a Zalo bot token (<bot id>:<secret>)"
    return None


def started() -> None:
    """The channels run: the cyclic collector back on, if bot/__main__.py turned it off
    for the start. What the start built (modules, tables, the application) is frozen
    first, so no collection ever scans it again; the little cyclic garbage the start
    left (≈ 130 KB in a run on the shipped data) stays with it."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def run(settings: Settings) -> int:
    problem = check_tokens(settings)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    refuse_damaged(settings.db_path)  # before reaching out to any platform
    secrets = [settings.token(), settings.zalo_token()]
    for secret in (settings.webhook_secret, settings.zalo_webhook_secret):
        secrets.append(secret.get_secret_value() if secret else None)
    redacting = setup_logging(*(s for s in secrets if s))
    # A new database is migrated and loaded in a forked process (bot/prepare.py) while
    # this one imports its channels' code: ≈ 60 ms of a first start's CPU on the other
    # core. On an existing database the import only comes before the loop instead of
    # inside the channel's start.
    preparing = start(settings.db_path, settings.data_dir) if needed(settings.db_path) else None
    import_channels(settings)
    return asyncio.run(serve(settings, redacting, preparing))


def import_channels(settings: Settings) -> None:
    """The code of every channel whose token is set (python-telegram-bot is most of a
    start), before the loop runs."""
    if settings.token():
        import bot.channels.telegram.app
    if settings.zalo_token():
        import bot.channels.zalo.app  # noqa: F401


async def serve(
    settings: Settings,
    redacting: RedactingFilter,
    preparing: int | None = None,
) -> int:
    """Until SIGINT or SIGTERM: the channels, then everything closed in order (each
    channel's send in flight recorded before the store closes). `preparing`: the pid
    of the process making the new database ready, waited for before it is opened."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if preparing is not None:
        await wait(preparing)
    try:
        store = await Store.open(settings.db_path)
    except StoreError as exc:
        print(f"error: {settings.db_path}: {exc}", file=sys.stderr)
        return 1
    service: Service | None = None
    try:
        catalog = load_catalog()
        loaded = await load_shipped_data(store, catalog, settings.data_dir)
        if loaded:
            log.info("loaded shipped data: %s", ", ".join(loaded))
        rankings = Rankings(store, catalog)
        await finish_announcements(rankings)  # a crash may have left one unrendered
        service = Service(settings, store, Answers(rankings), redacting)
        code = await service.start_all()
        if code:
            return code
        started()
        stopping = asyncio.ensure_future(stop.wait())
        failed = asyncio.ensure_future(service.stopped.wait())
        await asyncio.wait({stopping, failed}, return_when=asyncio.FIRST_COMPLETED)
        for waiter in (stopping, failed):
            waiter.cancel()
        return service.exit_code
    finally:
        if service is not None:
            await service.stop_all()
        await store.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
