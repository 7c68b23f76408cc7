"""One rule for "did it reach Telegram?", for replies and the outbox alike.

A request is re-sent only when it provably never left this machine: the
connection was refused or could not be made (DNS, connect timeout), or no pooled
connection was free before anything was written. Anything after the request was
written — a read timeout, a disconnect without an answer, a 5xx, a body that is
not JSON — may mean Telegram accepted it: re-sending could put the same message
in an official's chat twice, so it is *uncertain* and never repeated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import TypeVar

import httpx
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut

T = TypeVar("T")

# httpx errors raised before a byte of the request was sent
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
ATTEMPTS = 3
FIRST_DELAY = 0.5  # seconds; doubled after each attempt


class UncertainSend(NetworkError):
    """A reply's request was written but got no clear answer: it may have arrived, so
    it is not sent again; counted in /trangthai."""


class Outcome(Enum):
    NEVER_SENT = "never_sent"  # safe to send again
    UNCERTAIN = "uncertain"  # may have been delivered: never send again
    REFUSED = "refused"  # Telegram answered no (400, 403, …): the same request fails again


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def outcome(exc: BaseException) -> Outcome:
    """What a failed request tells about its message."""
    if any(isinstance(cause, _NEVER_SENT) for cause in _causes(exc)):
        return Outcome.NEVER_SENT
    if isinstance(exc, BadRequest):  # a NetworkError in PTB, but Telegram's clear "no"
        return Outcome.REFUSED
    if isinstance(exc, TimedOut | NetworkError):
        # NetworkError also stands for a 5xx answer or a dropped connection
        return Outcome.UNCERTAIN
    if isinstance(exc, TelegramError) and not exc.message.lower().startswith(
        "invalid server response"
    ):
        return Outcome.REFUSED  # BadRequest, Forbidden, ChatMigrated, RetryAfter, …
    return Outcome.UNCERTAIN  # a 200 whose body was garbage, or an unknown failure


async def send_with_retry(send: Callable[[], Awaitable[T]], attempts: int = ATTEMPTS) -> T:
    """`send()`, again (with backoff) only while the request never left."""
    delay = FIRST_DELAY
    for attempt in range(attempts):
        try:
            return await send()
        except TelegramError as exc:
            verdict = outcome(exc)
            if verdict is Outcome.UNCERTAIN and not isinstance(exc, UncertainSend):
                raise UncertainSend(str(exc)) from exc
            if verdict is not Outcome.NEVER_SENT or attempt == attempts - 1:
                raise
        await asyncio.sleep(delay)
        delay *= 2
    raise AssertionError("unreachable")  # pragma: no cover
