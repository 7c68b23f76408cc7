"""The Zalo channel, wired in this one place: `ZaloChannel.start` and `stop`.

It runs on the loop `python -m bot run` runs (bot/service.py), beside Telegram if
that is configured too, on the same store and `Answers`. How updates arrive, per
ZALO_WEBHOOK_URL (docs/zalo.md, "Receiving updates"):

* unset: long polling. getUpdates hands out one update per call and has no offset:
  Zalo counts an update as delivered once it answers, so one whose answer is lost
  (a dropped connection, or the poll cancelled at shutdown) is gone. Zalo itself
  recommends polling for development only; pictures cannot be sent (no public URL).
* set: a webhook on the bot's own HTTP server (bot/channels/zalo/server.py), with a
  secret checked in constant time, which also serves the chart pictures Zalo
  fetches by URL. setWebhook is called at each start with the secret
  (ZALO_WEBHOOK_SECRET, or a random one made for this run).

Updates are handled concurrently across chats (at most CONCURRENT at once), in
order within one chat, so a typed "2" is read after the reply that offered it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Coroutine
from typing import Any

from bot.answers import Answers
from bot.channels.zalo.chat import ZaloChat
from bot.channels.zalo.choices import ChoiceMemory
from bot.channels.zalo.client import (
    BadRequest,
    BotInfo,
    InvalidToken,
    Unreachable,
    Update,
    ZaloBotClient,
    ZaloError,
)
from bot.channels.zalo.outbox import ZaloOutbox
from bot.channels.zalo.replies import Replier
from bot.channels.zalo.sending import Sender
from bot.channels.zalo.server import MEDIA_PATH, WEBHOOK_PATH, WebhookServer, public_url
from bot.channels.zalo.shelf import Shelf
from bot.chart_cache import ChartCache
from bot.flood import FloodGuard
from bot.settings import Settings
from ranking.store import Store

log = logging.getLogger("rankbot.zalo")

POLL_SECONDS = 30  # getUpdates' long poll (the docs' default)
CONCURRENT = 8  # updates handled at once
STOP_WAIT = 10.0  # seconds the updates being answered get to finish at shutdown
MAX_BACKOFF = 60.0


class ZaloChannel:
    def __init__(
        self, settings: Settings, store: Store, answers: Answers, client: ZaloBotClient
    ) -> None:
        self.settings = settings
        self.store = store
        self.answers = answers
        self.client = client
        self.sender = Sender(client, settings.zalo_sends_per_second)
        self.me: BotInfo | None = None
        self.shelf: Shelf | None = None
        self.server: WebhookServer | None = None
        self.chat: ZaloChat | None = None
        self.outbox: ZaloOutbox | None = None
        self._poller: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(CONCURRENT)
        self._chat_locks: dict[str, asyncio.Lock] = {}
        self._chat_waiting: dict[str, int] = {}
        self._stopping = False

    @classmethod
    async def start(cls, settings: Settings, store: Store, answers: Answers) -> ZaloChannel:
        """getMe (InvalidToken, Unreachable… come out of here), then the webhook or the
        poll, then the outbox worker (which settles what the last run left in flight)."""
        token = settings.zalo_token()
        if not token:
            raise ValueError("ZALO_BOT_TOKEN is not set")
        client = ZaloBotClient(token, base_url=settings.zalo_api_base_url)
        channel = cls(settings, store, answers, client)
        try:
            await channel._start()
        except BaseException:
            await channel.stop()
            raise
        return channel

    async def _start(self) -> None:
        settings = self.settings
        self.me = me = await self.client.get_me()
        if me.can_join_groups is False:
            log.info("Zalo: this bot cannot join groups (getMe can_join_groups=false)")
        base = settings.zalo_webhook_url
        if base:
            self.shelf = Shelf(public_url(base, MEDIA_PATH))
        extras = me.model_extra or {}
        names = [
            settings.zalo_bot_name or "",
            me.account_name or "",
            *(str(extras[k]) for k in ("display_name", "name") if extras.get(k)),
        ]
        flood = None
        if settings.flood_per_minute:
            flood = FloodGuard(
                rate=settings.flood_per_minute, per=60.0, burst=settings.flood_burst
            )
        self.chat = ZaloChat(
            answers=self.answers,
            replier=Replier(self.sender, self.answers, ChoiceMemory(), ChartCache(), self.shelf),
            store=self.store,
            admin_ids=settings.zalo_admin_ids,
            bot_id=me.id,
            bot_names=names,
            flood=flood,
            db_path=settings.db_path,
        )
        if base and self.shelf is not None:
            secret = (
                settings.zalo_webhook_secret.get_secret_value()
                if settings.zalo_webhook_secret
                else secrets.token_urlsafe(32)
            )
            self.server = WebhookServer(base, secret, self.shelf, self.accept)
            port = self.server.start(settings.zalo_webhook_listen, settings.zalo_webhook_port)
            await self.client.set_webhook(public_url(base, WEBHOOK_PATH), secret)
            log.info("Zalo: webhook set, listening on port %d", port)
        else:
            # getUpdates does not work while a webhook is set (an earlier run's)
            await self.client.delete_webhook()
            self._poller = asyncio.create_task(self._poll(), name="zalo-poll")
            log.info("Zalo: long polling")
        self.outbox = await ZaloOutbox.start(self.sender, self.store)

    def wake_outbox(self) -> None:
        """Something was queued (an upload confirmed on Telegram): send it now."""
        if self.outbox is not None:
            self.outbox.wake()

    # ---- updates ------------------------------------------------------------------------

    def accept(self, update: Update) -> None:
        """Handle `update` in the background (the webhook answers Zalo at once)."""
        if self._stopping or self.chat is None:
            return
        self._spawn(self._run(update))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, update: Update) -> None:
        assert self.chat is not None
        chat_id = update.message.chat.id if update.message else ""
        lock = self._chat_locks.setdefault(chat_id, asyncio.Lock())
        self._chat_waiting[chat_id] = self._chat_waiting.get(chat_id, 0) + 1
        try:
            async with lock, self._slots:  # the chat's turn first: one chat cannot take every slot
                await self.chat.handle(update)
        finally:
            self._chat_waiting[chat_id] -= 1
            if not self._chat_waiting[chat_id]:
                del self._chat_waiting[chat_id]
                del self._chat_locks[chat_id]

    async def _poll(self) -> None:
        delay = 1.0
        while not self._stopping:
            try:
                updates = await self.client.get_updates(timeout=POLL_SECONDS)
            except Unreachable as exc:
                log.warning("Zalo unreachable (%s): polling again in %.0f s", exc, delay)
            except InvalidToken as exc:
                log.error("Zalo refused the bot token (%s): polling again in 60 s", exc)
                delay = MAX_BACKOFF
            except BadRequest as exc:
                # a webhook set meanwhile (by another copy of the bot?) stops getUpdates
                log.error("Zalo refused getUpdates (%s): removing any webhook", exc)
                with contextlib.suppress(ZaloError):
                    await self.client.delete_webhook()
            except ZaloError as exc:
                # an answer lost or garbled: Zalo may have handed out an update with it
                log.warning("getUpdates failed (%s): an update may have been lost", exc)
            else:
                delay = 1.0
                for update in updates:
                    self.accept(update)
                continue
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)

    # ---- stopping -----------------------------------------------------------------------

    async def stop(self) -> None:
        """No new updates; the ones being answered finish (STOP_WAIT at most); the
        outbox's send in flight is recorded; then the connections close."""
        self._stopping = True
        poller, self._poller = self._poller, None
        if poller is not None:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        server, self.server = self.server, None
        if server is not None:
            await server.stop()
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=STOP_WAIT)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        outbox, self.outbox = self.outbox, None
        if outbox is not None:
            await outbox.stop()
        await self.client.aclose()
