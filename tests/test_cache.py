"""The results kept per data version (ranking/cache.py): never served for another
version, the least recently used dropped first, and an import or an undo seen by
the next answer."""

from __future__ import annotations

import pytest

from bot.answers import Answers
from bot.i18n import Translator
from ranking.cache import VersionCache
from ranking.queries import Rankings


def test_a_value_is_served_for_its_own_generation_only() -> None:
    cache: VersionCache[str] = VersionCache(4)
    cache.put(1, "a", "one")
    assert cache.get(1, "a") == "one"
    assert cache.get(2, "a") is None
    cache.put(2, "b", "two")  # another generation: the old entries go
    assert cache.get(1, "a") is None
    assert cache.get(2, "a") is None
    assert len(cache) == 1


def test_the_least_recently_used_goes_first() -> None:
    cache: VersionCache[int] = VersionCache(2)
    cache.put(1, "a", 1)
    cache.put(1, "b", 2)
    assert cache.get(1, "a") == 1  # "b" is now the oldest use
    cache.put(1, "c", 3)
    assert cache.get(1, "b") is None
    assert (cache.get(1, "a"), cache.get(1, "c")) == (1, 3)


def test_a_cache_holds_something() -> None:
    with pytest.raises(ValueError):
        VersionCache(0)


async def test_a_kept_card_follows_an_undo(rankings: Rankings) -> None:
    answers = Answers(rankings)
    found = await rankings.find_units("Sở Tài chính")
    unit_id = found.matches[0].unit_id
    t = Translator("vi")
    before = await answers.unit_by_id(unit_id, t)
    assert (await answers.unit_by_id(unit_id, t)).text == before.text  # kept
    await rankings.store.scores.undo_latest(undone_by=None)
    after = await answers.unit_by_id(unit_id, t)
    assert after.text == t("unit.gone")
