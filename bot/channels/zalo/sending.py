"""Every send to Zalo goes through one `Sender`: one pace for replies and
announcements together, and the one rule for "send it again?".

Why one pace: Zalo publishes no rate limit, only an error 429 "Quota exceeded"
(docs/zalo.md), so the bot stays at ZALO_SENDS_PER_SECOND (4 by default) for all
its sends, whoever they are for; a reply waits at most a fraction of a second
behind an announcement, and a broadcast cannot push the replies over the limit.

Why the rule: a request is sent again only when it provably never left this
machine (`outcome == "never_sent"`) or Zalo refused it for the rate (429: nothing
was sent). An answer that is lost, late or garbled (`Uncertain`) may mean Zalo
delivered it: it is never repeated, so an official never gets the same message
twice. The outbox worker makes its own decisions and uses `send_once`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.channels.zalo.client import (
    RateLimited,
    SentMessage,
    ZaloBotClient,
    ZaloError,
)

log = logging.getLogger("rankbot.zalo")

T = TypeVar("T")

ATTEMPTS = 3  # tries of a reply that never left, or was refused for the rate
FIRST_DELAY = 0.5  # seconds before the second try; doubled after each
RATE_LIMIT_PAUSE = 2.0  # seconds, when a 429 says nothing about how long to wait


class Pacer:
    """At most one send every `gap` seconds, in the order they asked; `pause_until`
    holds every send back (after a 429)."""

    def __init__(self, per_second: float) -> None:
        self.gap = 1.0 / per_second
        self._next = 0.0  # monotonic time the next send may start
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            delay = self._next - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._next = max(self._next, time.monotonic()) + self.gap

    def pause_until(self, moment: float) -> None:
        self._next = max(self._next, moment)


class Sender:
    """The channel's client, paced. `text`/`photo` are for replies (retried under the
    rule above); `send_once` is for the outbox, which records each outcome itself."""

    def __init__(self, client: ZaloBotClient, per_second: float) -> None:
        self.client = client
        self.pacer = Pacer(per_second)

    async def send_once(self, chat_id: str, text: str, *, paced: bool = True) -> SentMessage:
        """One sendMessage, never retried; a 429 also holds back the sends after it.
        `paced=False`: the caller already waited for its slot (`pacer.wait()`)."""
        if paced:
            await self.pacer.wait()
        try:
            return await self.client.send_message(chat_id, text)
        except RateLimited as exc:
            self.pacer.pause_until(time.monotonic() + (exc.retry_after or RATE_LIMIT_PAUSE))
            raise

    async def text(self, chat_id: str, text: str) -> SentMessage:
        return await self._retried(lambda: self.client.send_message(chat_id, text))

    async def photo(self, chat_id: str, url: str, caption: str | None) -> SentMessage:
        return await self._retried(lambda: self.client.send_photo(chat_id, url, caption))

    async def typing(self, chat_id: str) -> None:
        """ "typing…" while a chart renders; not paced (not a message), and a failure
        costs nothing."""
        with contextlib.suppress(ZaloError):
            await self.client.send_chat_action(chat_id, "typing")

    async def _retried(self, send: Callable[[], Awaitable[T]]) -> T:
        delay = FIRST_DELAY
        for attempt in range(ATTEMPTS):
            await self.pacer.wait()
            try:
                return await send()
            except RateLimited as exc:
                wait = exc.retry_after or RATE_LIMIT_PAUSE
                self.pacer.pause_until(time.monotonic() + wait)
                if attempt == ATTEMPTS - 1:
                    raise
                log.warning("Zalo rate limit on a reply: trying again in %.1f s", wait)
            except ZaloError as exc:
                if exc.outcome != "never_sent" or attempt == ATTEMPTS - 1:
                    raise
                await asyncio.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover
