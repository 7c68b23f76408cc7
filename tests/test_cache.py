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


async def test_a_kept_reply_is_a_new_reply_each_time(rankings: Rankings) -> None:
    """Callers add to the reply they get (a headline, another reading's button): that
    must not reach the next answer."""
    answers = Answers(rankings)
    t = Translator("vi")
    unit_id = (await rankings.find_units("Sở Tài chính")).matches[0].unit_id
    first = await answers.unit_by_id(unit_id, t)
    text, choices = first.text, [list(row) for row in first.choices]
    first.text += "\n\nadded"
    first.choices.append([])
    first.choices[0].append(first.choices[0][0])
    again = await answers.unit_by_id(unit_id, t)
    assert again.text == text
    assert again.choices == choices


async def test_a_kept_ranking_is_rendered_once_per_language(
    rankings: Rankings, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = Answers(rankings)
    vi = await answers.to_text("/top 5 huyen 2022", lang="vi")
    en = await answers.to_text("/top 5 huyen 2022", lang="en")
    assert vi is not None and en is not None and vi.text != en.text

    async def no_views(*args: object, **kwargs: object) -> None:
        raise AssertionError("read again")

    monkeypatch.setattr(rankings, "ranking_views", no_views)
    again_vi = await answers.to_text("/top 5 huyen 2022", lang="vi")
    again_en = await answers.to_text("/top 5 huyen 2022", lang="en")
    assert again_vi is not None and again_vi.text == vi.text and again_vi.choices == vi.choices
    assert again_en is not None and again_en.text == en.text
