"""The durable outbox's worker for Zalo: sends the Zalo rows the store has queued.

The same rows and the same rule as Telegram's worker (bot/channels/telegram/outbox.py):
every (announcement, chat) is a delivery row claimed (`pending` → `sending`) before
its send and settled after it, so a restart continues where it stopped, a row sent
is never sent again, and a send whose outcome is unknown is marked `uncertain` and
not repeated: a missing announcement is better than a duplicate in an official's
group. This worker reads and settles only the `zalo` rows; the Telegram worker in the
same process has its own.

Zalo's side, from the client's outcomes (bot/channels/zalo/client.py, docs/zalo.md):

* never sent (Zalo unreachable): pending again, with a backoff, at most MAX_ATTEMPTS;
* uncertain (a read timeout, a dropped connection, a 5xx or 403, a garbled answer):
  `uncertain`, never resent;
* 429 "Quota exceeded": nothing was sent, so pending again, and every send waits
  (Zalo's hint if it gives one, else a doubling pause). Zalo publishes no rate, and
  the quota may be a monthly one: after QUOTA_STRIKES 429s in a row the worker says so
  in the log and pauses for QUOTA_PAUSE, leaving the rows pending;
* the chat cannot be reached (the user blocked the bot, the bot was removed from the
  group: a 404 to a send): `unreachable`, and the subscription ends;
* a refused request (400): `failed`; a refused token (401): pending, and a pause.

Pacing: the channel's one `Sender` (≤ ZALO_SENDS_PER_SECOND for every send) and at
least CHAT_INTERVAL between two deliveries to one chat (Zalo documents no per-chat
limit; this stays under the 20 a minute that Telegram allows a group).

An announcement longer than one Zalo message (2000 characters, plain) goes out as
several; they belong to one row. If a later part fails, the row is not sent again
(its first parts arrived): it is `uncertain` or `failed` with which part failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from bot.channels.zalo.client import (
    Forbidden,
    InvalidToken,
    RateLimited,
    ZaloError,
)
from bot.channels.zalo.render import messages
from bot.channels.zalo.sending import Sender
from ranking.store import Store

log = logging.getLogger("rankbot.outbox.zalo")

CHANNEL = "zalo"
CHAT_INTERVAL = 3.0  # seconds between two deliveries to one chat
MAX_ATTEMPTS = 3  # sends that never left before a delivery is given up
RATE_LIMIT_FIRST_PAUSE = 5.0  # seconds after a 429 without a hint; doubled each time
QUOTA_STRIKES = 5  # 429s in a row that mean "the quota is used up", not "too fast"
QUOTA_PAUSE = 30 * 60.0
TOKEN_PAUSE = 60.0  # seconds after Zalo refused the token


class ZaloOutbox:
    """Sends pending Zalo deliveries one at a time, paced per chat and overall."""

    def __init__(self, sender: Sender, store: Store, *, chat_interval: float = CHAT_INTERVAL):
        self.sender = sender
        self.store = store
        self.chat_interval = chat_interval
        self.task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._chat_ready: dict[str, float] = {}
        self._paused_until = 0.0
        self._rate_limited = 0  # 429s in a row

    @classmethod
    async def start(
        cls, sender: Sender, store: Store, *, chat_interval: float = CHAT_INTERVAL
    ) -> ZaloOutbox:
        """Settle what the last run left in flight (only Zalo's rows), then start."""
        interrupted = await store.outbox.settle_interrupted(channel=CHANNEL)
        if interrupted:
            log.warning(
                "%d Zalo deliveries were in flight at the last stop: marked uncertain",
                interrupted,
            )
        outbox = cls(sender, store, chat_interval=chat_interval)
        outbox.task = asyncio.create_task(outbox.run(), name="zalo-outbox")
        return outbox

    def wake(self) -> None:
        self._wake.set()

    async def stop(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        self._stop.set()
        self._wake.set()
        if self.task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self.task), timeout)
        except TimeoutError:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when stopping."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), seconds)

    async def run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # before reading: a wake-up during the read is kept
            try:
                await self._sleep(self._paused_until - time.monotonic())
                batch = await self.store.outbox.next_pending_text_ids(CHANNEL, 100)
                if not batch:
                    # also re-read now and then: the CLI may queue from another process
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), 60)
                    continue
                queue = list(batch)
                while queue and not self._stop.is_set():
                    if self._paused_until > time.monotonic():
                        break  # read the queue again after the pause
                    # the chat that may be sent to soonest goes first
                    i = min(range(len(queue)), key=lambda k: self._chat_ready.get(queue[k][1], 0))
                    await self.deliver(*queue.pop(i))
            except Exception:  # the worker must outlive any one bad row or database hiccup
                log.exception("Zalo outbox failed; retrying in 1 s")
                await self._sleep(1.0)

    async def deliver(self, announcement_id: int, chat_id: str, text: str, attempts: int) -> None:
        """One delivery (one or more messages), its state written before and after."""
        await self._sleep(self._chat_ready.get(chat_id, 0.0) - time.monotonic())
        if self._stop.is_set():
            return  # still pending: the next start sends it
        # the send's slot first, then the claim: a process killed between the two leaves
        # the row `sending` (uncertain, never resent), so that moment is kept short
        await self.sender.pacer.wait()
        outbox = self.store.outbox
        if not await outbox.mark_delivery(
            announcement_id, chat_id, "sending", attempt=True, expect="pending", channel=CHANNEL
        ):
            return  # sent, moved or settled meanwhile
        self._chat_ready[chat_id] = time.monotonic() + self.chat_interval
        parts = messages(text)
        sent: list[str] = []
        try:
            for i, part in enumerate(parts):
                message = await self.sender.send_once(chat_id, part, paced=i > 0)
                sent.append(message.message_id)
        except ZaloError as exc:
            await self._failed(announcement_id, chat_id, exc, attempts, len(sent), len(parts))
        except Exception:
            # e.g. the HTTP client already closed at shutdown
            state = "pending" if not sent else "uncertain"
            await self._mark(announcement_id, chat_id, state, error="interrupted")
            raise
        else:
            self._rate_limited = 0
            if not parts:  # nothing to say (an empty text): nothing was sent
                await self._mark(announcement_id, chat_id, "failed", error="empty text")
                return
            await self._mark(announcement_id, chat_id, "sent", message_id=sent[0])

    async def _failed(
        self,
        announcement_id: int,
        chat_id: str,
        exc: ZaloError,
        attempts: int,
        sent: int,
        parts: int,
    ) -> None:
        error = str(exc)
        if sent:
            # the first parts arrived: sending the row again would repeat them
            state = "uncertain" if exc.outcome == "uncertain" else "failed"
            error = f"part {sent + 1} of {parts}: {error}"
            await self._mark(announcement_id, chat_id, state, error=error)
            if isinstance(exc, Forbidden):
                await self._unsubscribe(chat_id)
            return
        if isinstance(exc, RateLimited):
            await self._mark(announcement_id, chat_id, "pending", error=error)
            self._rate_limited += 1
            if self._rate_limited >= QUOTA_STRIKES:
                log.warning(
                    "Zalo answered 'Quota exceeded' %d times in a row: the quota looks used up;"
                    " Zalo announcements wait %d minutes (still pending)",
                    self._rate_limited,
                    QUOTA_PAUSE // 60,
                )
                pause = QUOTA_PAUSE
                self._rate_limited = 0
            else:
                pause = exc.retry_after or RATE_LIMIT_FIRST_PAUSE * 2 ** (self._rate_limited - 1)
                log.warning("Zalo rate limit: waiting %.1f s before the next delivery", pause)
            self._pause(pause)
        elif isinstance(exc, Forbidden):
            await self._mark(announcement_id, chat_id, "unreachable", error=error)
            await self._unsubscribe(chat_id)
        elif isinstance(exc, InvalidToken):
            # Zalo refused the request itself, nothing went out: keep it for later
            log.error("Zalo refused the bot token (reset in Zalo Bot Creator?): outbox paused")
            await self._mark(announcement_id, chat_id, "pending", error=error)
            self._pause(TOKEN_PAUSE)
        elif exc.outcome == "never_sent" and attempts + 1 < MAX_ATTEMPTS:
            await self._mark(announcement_id, chat_id, "pending", error=error)
            self._chat_ready[chat_id] = time.monotonic() + 0.5 * 2**attempts
        elif exc.outcome == "uncertain":
            await self._mark(announcement_id, chat_id, "uncertain", error=error)
        else:
            await self._mark(announcement_id, chat_id, "failed", error=error)

    def _pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def _mark(
        self,
        announcement_id: int,
        chat_id: str,
        state: str,
        *,
        error: str | None = None,
        message_id: str | None = None,
    ) -> None:
        await self.store.outbox.mark_delivery(
            announcement_id, chat_id, state, error=error, message_id=message_id, channel=CHANNEL
        )

    async def _unsubscribe(self, chat_id: str) -> None:
        # Zalo sends no "removed from the group" event: a failed send is how we learn it
        await self.store.outbox.unsubscribe(
            chat_id, by=None, reason="unreachable (blocked or removed)", channel=CHANNEL
        )
