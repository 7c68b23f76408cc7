"""Round trips to aiosqlite's thread, counted at the connection.

Every call into a connection's worker thread goes through
`aiosqlite.Connection._execute` (a statement, a fetch, a cursor's close, a
commit): counting there counts the hops an answer waits for, whatever layer
asked for them (cProfile would count coroutine resumptions instead).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import aiosqlite


class TripCounter:
    def __init__(self) -> None:
        self.count = 0


@contextmanager
def counting_trips() -> Iterator[TripCounter]:
    """Count every hop to any aiosqlite connection's thread while inside."""
    counter = TripCounter()
    original: Callable[..., Awaitable[Any]] = aiosqlite.Connection._execute

    async def _execute(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        counter.count += 1
        return await original(self, fn, *args, **kwargs)

    aiosqlite.Connection._execute = _execute  # type: ignore[method-assign]
    try:
        yield counter
    finally:
        aiosqlite.Connection._execute = original  # type: ignore[method-assign,assignment]
