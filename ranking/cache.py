"""Results of one score-data version, kept for the next answer that asks the same.

The rows of a version are never updated (ranking/store/scores.py), so what is
read and computed from them holds until an import or an undo moves the
score-data generation; a page of a ranking or a unit's card is then asked again
and again (buttons, the same command from many officials) and costs no read.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class VersionCache(Generic[V]):
    """Values by key, all of one generation, the least recently used dropped past
    `max_entries`. A value stored for another generation empties it first, so an
    entry is never served for data it was not computed from. Values are shared by
    every answer that gets them: they must not be changed (frozen dataclasses)."""

    def __init__(self, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._generation: int | None = None
        self._values: OrderedDict[Hashable, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._values)

    def clear(self) -> None:
        self._values.clear()

    def get(self, generation: int, key: Hashable) -> V | None:
        if generation != self._generation:
            return None
        value = self._values.get(key)
        if value is not None:
            self._values.move_to_end(key)
        return value

    def put(self, generation: int, key: Hashable, value: V) -> None:
        if generation != self._generation:
            self._values.clear()
            self._generation = generation
        self._values[key] = value
        self._values.move_to_end(key)
        while len(self._values) > self.max_entries:
            self._values.popitem(last=False)
