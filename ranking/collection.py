"""The cyclic garbage collector paused while a file is read, validated or written.

An import builds a few objects a cell and keeps them all, and none is in a cycle:
each collection their allocations set off walks every object kept so far, for
nothing. Pausing it also keeps the objects that die before the pause ends (the raw
cells, once validated) from ever being walked.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import ParamSpec, TypeVar

__all__ = ["collection_paused", "paused_while_awaited"]

_P = ParamSpec("_P")
_T = TypeVar("_T")

_pause_lock = threading.Lock()
_pauses = 0  # readers and validators running (the bot runs them in threads)
_collecting = False  # whether the cyclic collector ran before the first of them


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """No cyclic garbage collection inside (see the module): a tenth to a fifth of
    a large file's read and validation went to collections that freed nothing.
    Pauses nest and may run at once in threads (the bot reads uploads in worker
    threads): collection resumes when the last one ends, if it ran before the first."""
    global _pauses, _collecting
    with _pause_lock:
        if _pauses == 0:
            _collecting = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _collecting:
                gc.enable()


def paused_while_awaited(fn: Callable[_P, Awaitable[_T]]) -> Callable[_P, Awaitable[_T]]:
    """`fn`, a coroutine function, run under `collection_paused` until it returns
    (the context manager as a decorator would cover only making the coroutine)."""

    @functools.wraps(fn)
    async def paused(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        with collection_paused():
            return await fn(*args, **kwargs)

    return paused
