"""Waiting on a condition instead of a fixed sleep.

For side effects the fake Bot API cannot see because they make no request (a store write, a
thread ending): poll the condition itself, with a deadline generous enough for a loaded
machine, and fail with a message that says what never happened.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable


async def eventually(
    condition: Callable[[], bool | Awaitable[bool]],
    what: str,
    *,
    timeout: float = 15.0,  # noqa: ASYNC109 - a plain deadline reads best in tests
) -> None:
    """Return as soon as ``condition()`` (sync or async) is true; AssertionError naming
    ``what`` if it is still false after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"still not true after {timeout} s: {what}")
        await asyncio.sleep(0.02)
