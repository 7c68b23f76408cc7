"""The durable outbox's worker: sends what the store has queued, paced under
Telegram's limits.

Why an outbox in SQLite rather than a loop of send_message calls: an import
can be announced to hundreds of groups, which takes minutes at Telegram's
rate limits, and the process may restart in the middle. Every (announcement,
chat) pair is a row whose state is written before and after its send, so a
restart continues where it stopped and a row already sent is never sent
again. A send whose outcome is unknown (see bot/channels/telegram/delivery.py)
is marked "uncertain" and not repeated: a missing announcement is better than
a duplicate in an official's group.

One background task with its own pacing (≤ 25 messages/s overall, ≤ 1 per 3 s
per group, ≤ 1 per s per person), below Telegram's limits, so the
AIORateLimiter stays a safety net and query replies keep flowing meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import warnings
from datetime import timedelta

from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from bot.channels.telegram.delivery import Outcome, outcome
from ranking.store import Store

log = logging.getLogger("rankbot.outbox")

OVERALL_PER_SECOND = 25.0  # Telegram allows ~30/s; stay under it
GROUP_INTERVAL = 3.0  # Telegram allows 20/min to one group
PRIVATE_INTERVAL = 1.0  # ~1/s to one person
MAX_ATTEMPTS = 3  # sends that never left before a delivery is given up


def retry_seconds(exc: RetryAfter) -> float:
    """retry_after is an int or (PTB_TIMEDELTA=1) a timedelta: seconds either way."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB's deprecation notice for the int form
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Outbox:
    """Sends pending deliveries one at a time, paced per chat and overall."""

    def __init__(
        self,
        bot: Bot,
        store: Store,
        *,
        per_second: float = OVERALL_PER_SECOND,
        group_interval: float = GROUP_INTERVAL,
    ) -> None:
        self.bot = bot
        self.store = store
        self.gap = 1.0 / per_second
        self.group_interval = group_interval
        self.task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._next_send = 0.0  # monotonic time of the next send (also RetryAfter pauses)
        self._chat_ready: dict[int, float] = {}

    @classmethod
    async def start(
        cls,
        bot: Bot,
        store: Store,
        *,
        per_second: float = OVERALL_PER_SECOND,
        group_interval: float = GROUP_INTERVAL,
    ) -> Outbox:
        """Settle what the last run left in flight, then start the worker.

        A plain asyncio task, not application.create_task: before Application.start
        PTB warns that it will not await such a task, and while running,
        Application.stop would wait forever for a loop that never ends.
        """
        interrupted = await store.outbox.settle_interrupted()
        if interrupted:
            log.warning(
                "%d deliveries were in flight at the last stop: marked uncertain", interrupted
            )
        outbox = cls(bot, store, per_second=per_second, group_interval=group_interval)
        outbox.task = asyncio.create_task(outbox.run(), name="announce-outbox")
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
                batch = await self.store.outbox.next_pending(100)
                if not batch:
                    # also re-read now and then: the CLI may queue from another process
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), 60)
                    continue
                queue = list(batch)
                while queue and not self._stop.is_set():
                    # the chat that may be sent to soonest goes first: a slow group
                    # does not hold up the others
                    i = min(range(len(queue)), key=lambda k: self._chat_ready.get(queue[k][1], 0))
                    await self.deliver(*queue.pop(i))
            except Exception:  # the worker must outlive any one bad row or database hiccup
                log.exception("announcement outbox failed; retrying in 1 s")
                await self._sleep(1.0)

    async def deliver(self, announcement_id: int, chat_id: int, text: str, attempts: int) -> None:
        """One send, its state written before and after."""
        ready = max(self._next_send, self._chat_ready.get(chat_id, 0.0))
        await self._sleep(ready - time.monotonic())
        if self._stop.is_set():
            return  # still pending: the next start sends it
        store = self.store
        if not await store.outbox.mark_delivery(
            announcement_id, chat_id, "sending", attempt=True, expect="pending"
        ):
            return  # sent, moved or settled meanwhile
        now = time.monotonic()
        self._next_send = max(self._next_send, now) + self.gap
        self._chat_ready[chat_id] = now + (
            self.group_interval if chat_id < 0 else PRIVATE_INTERVAL
        )
        try:
            message = await self.bot.send_message(chat_id, text)
        except RetryAfter as exc:
            wait = retry_seconds(exc)
            log.warning("flood control: waiting %.1f s before chat %s", wait, chat_id)
            self._next_send = max(self._next_send, time.monotonic() + wait)
            await store.outbox.mark_delivery(announcement_id, chat_id, "pending", error=str(exc))
        except Forbidden as exc:
            await store.outbox.mark_delivery(
                announcement_id, chat_id, "unreachable", error=exc.message
            )
            await store.outbox.unsubscribe(chat_id, by=None, reason="forbidden")
        except ChatMigrated as exc:
            new_id = exc.new_chat_id
            if new_id == chat_id or attempts + 1 >= MAX_ATTEMPTS:
                await store.outbox.mark_delivery(
                    announcement_id, chat_id, "failed", error=str(exc)
                )
                return
            # back to pending, then moved with the subscription: the loop resends it
            # once under the new id (attempts travel with it)
            await store.outbox.mark_delivery(announcement_id, chat_id, "pending", error=str(exc))
            await store.outbox.migrate_chat(chat_id, new_id)
        except BadRequest as exc:  # the same request would fail the same way
            gone = "chat not found" in exc.message.lower()
            await store.outbox.mark_delivery(
                announcement_id, chat_id, "unreachable" if gone else "failed", error=exc.message
            )
            if gone:
                await store.outbox.unsubscribe(chat_id, by=None, reason="chat not found")
        except TelegramError as exc:
            verdict = outcome(exc)
            if verdict is Outcome.NEVER_SENT and attempts + 1 < MAX_ATTEMPTS:
                await store.outbox.mark_delivery(
                    announcement_id, chat_id, "pending", error=str(exc)
                )
                self._chat_ready[chat_id] = time.monotonic() + 0.5 * 2**attempts
            elif verdict is Outcome.UNCERTAIN:
                # written, but no clear answer (timeout, dropped connection, 5xx,
                # garbage): Telegram may have delivered it, a resend could duplicate it
                await store.outbox.mark_delivery(
                    announcement_id, chat_id, "uncertain", error=str(exc)
                )
            else:
                await store.outbox.mark_delivery(
                    announcement_id, chat_id, "failed", error=str(exc)
                )
        except Exception:
            # e.g. the HTTP client already closed at shutdown: nothing went out
            await store.outbox.mark_delivery(
                announcement_id, chat_id, "pending", error="interrupted"
            )
            raise
        else:
            await store.outbox.mark_delivery(
                announcement_id, chat_id, "sent", message_id=message.message_id
            )
