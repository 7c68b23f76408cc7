"""The unit index is built by the first lookup of a data version, not with the
slices: a /top after an import or a restart does not wait for every unit's name."""

from __future__ import annotations

import asyncio

import pytest

from bot.answers import Answers
from ranking.queries import Rankings


def count_name_reads(rankings: Rankings, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    reads: list[int] = []
    original = rankings.store.scores.units_on_record

    async def units_on_record() -> list[tuple[int, str, str, str]]:
        reads.append(1)
        return await original()

    monkeypatch.setattr(rankings.store.scores, "units_on_record", units_on_record)
    return reads


async def test_a_ranking_page_does_not_build_the_index(
    rankings: Rankings, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = count_name_reads(rankings, monkeypatch)
    reply = await Answers(rankings).to_text("/top 10 huyen 2022", lang="vi", user_id=1)
    assert reply is not None and reply.text
    assert reads == []


async def test_lookups_arriving_together_build_it_once(
    rankings: Rankings, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = count_name_reads(rankings, monkeypatch)
    found = await asyncio.gather(*(rankings.find_units("bac ha") for _ in range(3)))
    assert [f.matches for f in found] == [found[0].matches] * 3 and found[0].matches
    assert len(reads) == 1
    assert (await rankings.find_units("Sở Tài chính")).matches
    assert len(reads) == 1  # kept for the data version


async def test_a_new_data_version_builds_it_again_on_its_first_lookup(
    rankings: Rankings, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = count_name_reads(rankings, monkeypatch)
    assert (await rankings.find_units("bac ha")).matches
    await rankings.store.scores.undo_latest(undone_by=42)
    assert await rankings.years("cds") == []  # the new version's slices: no index yet
    assert len(reads) == 1
    assert not (await rankings.find_units("bac ha")).matches
    assert len(reads) == 2
