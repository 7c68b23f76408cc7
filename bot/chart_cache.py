"""The cache of rendered charts, and what the bot needs to know about charts
without importing matplotlib (about 0.5 s and 60 MB at start-up): that import
happens in bot/charts.py, on the first chart actually drawn.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Hashable
from decimal import Decimal
from typing import Final

ViewRow = tuple[int, str, Decimal | None, str | None]  # rank, name, score, level code
MAX_ROWS: Final = 100  # /top's own limit; 100 rows make 800 × 4690 px


class ChartCache:
    """Rendered PNGs by (data version, key), least recently used out first.

    The key must hold everything the picture depends on besides the data:
    language, ranking, year, group, kind, N… The data version (the score-data
    generation, ``Rankings.generation``) changes with every import or undo, so a
    chart is never served for data it was not drawn from; entries of other
    versions are dropped when a new one is stored. Used from the event loop only;
    the render itself runs in a worker thread, and concurrent requests for one key
    share one render.
    """

    def __init__(self, max_entries: int = 64) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[int, Hashable], bytes] = OrderedDict()
        self._pending: dict[tuple[int, Hashable], asyncio.Task[bytes]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, data_version: int, key: Hashable) -> bytes | None:
        full = (data_version, key)
        png = self._entries.get(full)
        if png is not None:
            self._entries.move_to_end(full)
        return png

    def put(self, data_version: int, key: Hashable, png: bytes) -> None:
        for stale in [k for k in self._entries if k[0] != data_version]:
            del self._entries[stale]
        self._entries[(data_version, key)] = png
        self._entries.move_to_end((data_version, key))
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def get_or_render(
        self, data_version: int, key: Hashable, render: Callable[[], bytes]
    ) -> bytes:
        """Synchronous: the cached PNG, or `render()` stored and returned."""
        png = self.get(data_version, key)
        if png is None:
            png = render()
            self.put(data_version, key, png)
        return png

    async def fetch(self, data_version: int, key: Hashable, render: Callable[[], bytes]) -> bytes:
        """The cached PNG, or `render` run in a worker thread (once, however many
        requests for the same chart arrive while it runs)."""
        png = self.get(data_version, key)
        if png is not None:
            return png
        full = (data_version, key)
        task = self._pending.get(full)
        if task is None:
            task = asyncio.create_task(self._render(data_version, key, render))
            self._pending[full] = task
            task.add_done_callback(_retrieve)
        # shield: one requester giving up does not cancel the others' render
        return await asyncio.shield(task)

    async def _render(
        self, data_version: int, key: Hashable, render: Callable[[], bytes]
    ) -> bytes:
        try:
            png = await asyncio.to_thread(render)
            self.put(data_version, key, png)
            return png
        finally:
            self._pending.pop((data_version, key), None)


def _retrieve(task: asyncio.Task[bytes]) -> None:
    """Mark a failed render's exception as seen when every requester gave up."""
    if not task.cancelled():
        task.exception()
