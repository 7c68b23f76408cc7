"""What an answer costs in trips to the database thread: one freshness check per
answer (not one per read of the cached slices, index or links), made without a
trip while nothing was committed (PRAGMA data_version on the loop's thread), and
one trip per statement. Counted at aiosqlite's connection (bench/trips.py), where
the hops are."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import pytest

from bench.trips import counting_trips
from bot.answers import Answers
from bot.reply import to_plain
from ranking.catalog import Catalog
from ranking.publishing import load_shipped_data
from ranking.queries import Rankings
from ranking.store import NewSlice, Store
from tests.test_years import score, slice_of


def count_version_checks(rankings: Rankings, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    original = rankings.store.scores.data_version

    def data_version() -> int | None:
        calls.append(1)
        return original()

    monkeypatch.setattr(rankings.store.scores, "data_version", data_version)
    return calls


def count_generation_reads(rankings: Rankings, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    original = rankings.store.scores.generation

    async def generation() -> int:
        calls.append(1)
        return await original()

    monkeypatch.setattr(rankings.store.scores, "generation", generation)
    return calls


@pytest.mark.parametrize(
    "question",
    ["/top 10 huyen 2022", "/top", "/cuoi 5 huyen", "/donvi Sở Tài chính", "bac ha", "/muc"],
)
async def test_one_freshness_check_per_answer(
    rankings: Rankings, monkeypatch: pytest.MonkeyPatch, question: str
) -> None:
    answers = Answers(rankings)
    await answers.to_text(question, lang="vi", user_id=1)  # the caches are built
    checks = count_version_checks(rankings, monkeypatch)
    reads = count_generation_reads(rankings, monkeypatch)
    reply = await answers.to_text(question, lang="vi", user_id=1)
    assert reply is not None and reply.text
    assert len(checks) == 1
    assert reads == []  # nothing was committed since the last read of the generation


async def test_a_commit_costs_the_next_answer_one_read_of_the_generation(
    rankings: Rankings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A language choice moves SQLite's data_version, not the score data: the next
    answer reads the generation once (no rebuild), the one after it does not."""
    answers = Answers(rankings)
    first = await answers.to_text("/top 5 huyen", lang="vi", user_id=1)
    built = rankings.rebuilds
    reads = count_generation_reads(rankings, monkeypatch)
    await rankings.store.people.set_language(1, "en")
    second = await answers.to_text("/top 5 huyen", lang="vi", user_id=1)
    assert len(reads) == 1
    third = await answers.to_text("/top 5 huyen", lang="vi", user_id=1)
    assert len(reads) == 1
    assert rankings.rebuilds == built
    assert first is not None and second is not None and third is not None
    assert first.text == second.text == third.text


async def test_an_import_through_other_connections_is_seen_by_the_next_answer(
    rankings: Rankings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another Store on the same file (as `python -m bot import` in another process
    opens one) commits an undo: the next answer reads the new generation."""
    answers = Answers(rankings)
    before = await answers.to_text("/top 1 huyen 2022", lang="vi", user_id=1)
    assert before is not None and "651,93" in to_plain(before.text)
    reads = count_generation_reads(rankings, monkeypatch)
    other = await Store.open(rankings.store.path)
    try:
        await other.scores.undo_latest(undone_by=None)
    finally:
        await other.close()
    after = await answers.to_text("/top 1 huyen 2022", lang="vi", user_id=1)
    assert after is not None and "651,93" not in to_plain(after.text)
    assert len(reads) == 1


async def test_a_ranking_page_is_one_statement(rankings: Rankings) -> None:
    answers = Answers(rankings)
    await answers.to_text("/top 10 tthc 2022", lang="vi", user_id=1)  # the caches are built
    with counting_trips() as trips:
        await answers.to_text("/top 10 huyen 2022", lang="vi", user_id=1)
    # the page's rows (no earlier year of 2022 on record: no moves); the freshness
    # check was no trip: nothing was committed since the generation was read
    assert trips.count == 1


async def test_a_page_asked_again_is_the_freshness_check_alone(rankings: Rankings) -> None:
    answers = Answers(rankings)
    first = await answers.to_text("/top 10 huyen 2022", lang="vi", user_id=1)
    with counting_trips() as trips:
        again = await answers.to_text("/top 10 huyen 2022", lang="vi", user_id=1)
    assert trips.count == 0  # the page is kept for the data version, which has not moved
    assert first is not None and again is not None and again.text == first.text


async def test_a_card_asked_again_is_the_freshness_check_alone(rankings: Rankings) -> None:
    answers = Answers(rankings)
    first = await answers.to_text("/donvi Sở Tài chính", lang="vi", user_id=1)
    with counting_trips() as trips:
        again = await answers.to_text("/donvi Sở Tài chính", lang="vi", user_id=1)
    assert trips.count == 0
    assert first is not None and again is not None and again.text == first.text


async def test_the_next_answer_sees_an_undo(rankings: Rankings) -> None:
    answers = Answers(rankings)
    before = await answers.to_text("/top 1 huyen 2022", lang="vi", user_id=1)
    assert before is not None and "651,93" in to_plain(before.text)
    await rankings.store.scores.undo_latest(undone_by=None)
    after = await answers.to_text("/top 1 huyen 2022", lang="vi", user_id=1)
    assert after is not None and "651,93" not in to_plain(after.text)


async def test_concurrent_answers_check_each_for_itself(
    rankings: Rankings, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = Answers(rankings)
    await answers.to_text("/top", lang="vi", user_id=1)
    calls = count_version_checks(rankings, monkeypatch)
    replies = await asyncio.gather(
        *(answers.to_text(q, lang="vi", user_id=1) for q in ("/top", "/nam", "/nhom", "bac ha"))
    )
    assert all(r is not None and r.text for r in replies)
    assert len(calls) == 4


async def test_outside_an_answer_every_read_checks(
    rankings: Rankings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await rankings.slices()
    calls = count_version_checks(rankings, monkeypatch)
    await rankings.slices()
    await rankings.years("cds")
    assert len(calls) == 2
    async with rankings.checked_once():
        await rankings.slices()
        await rankings.years("cds")
        async with rankings.checked_once():  # nested: the outer check stands
            await rankings.find_units("bac ha")
    assert len(calls) == 3


async def test_opening_a_new_store_costs_the_trips_of_an_existing_one(tmp_path: Path) -> None:
    """The migrations run on one thread in one go (a plain connection), not a trip
    to aiosqlite's thread a statement: a new file and an existing one are opened
    with the same trips: one for each connection's settings (aiosqlite makes the
    connection itself on its thread without this count)."""
    path = tmp_path / "new.sqlite3"
    with counting_trips() as new:
        store = await Store.open(path)
    await store.close()
    with counting_trips() as existing:
        store = await Store.open(path)
    await store.close()
    assert new.count == existing.count == 2


async def test_the_shipped_files_on_record_are_one_statement(
    tmp_path: Path, catalog: Catalog
) -> None:
    """At each start, the shipped files already loaded cost one look-up together."""
    store = await Store.open(tmp_path / "shipped.sqlite3")
    try:
        assert await load_shipped_data(store, catalog)  # a new store: every file loads
        with counting_trips() as trips:
            assert await load_shipped_data(store, catalog) == []
        assert trips.count == 1
    finally:
        await store.close()


async def test_an_import_costs_the_same_trips_whatever_its_slice_count(tmp_path: Path) -> None:
    """Each kind of statement of an import is one trip for all its slices (the
    slices, their rows, the units they stop being current, the slices pointed
    current): thirty groups cost what one does. The collector is paused while the
    rows are written, and as it was after."""
    store = await Store.open(tmp_path / "slices.sqlite3")
    try:

        def slices(year: int, count: int) -> list[NewSlice]:
            return [
                slice_of(
                    year,
                    f"nhom-{g}",
                    2,
                    score(f"Đơn vị {g}-1", 1, "900"),
                    score(f"Đơn vị {g}-2", 2, "800"),
                )
                for g in range(count)
            ]

        async def trips_of(year: int, count: int) -> int:
            with counting_trips() as trips:
                await store.scores.commit_version(
                    slices(year, count),
                    file_name="f.csv",
                    sha256=f"{year}-{count}",
                    uploaded_by=None,
                )
            return trips.count

        for year in (2022, 2023):  # a first import, then one replacing its slices
            assert await trips_of(year, 1) == await trips_of(year + 10, 30)
            assert await trips_of(year, 30) == await trips_of(year + 10, 1)
        paused: list[bool] = []
        original = store.scores._add_units  # called inside the write (links, then rows)

        async def watched(*args: object, **kwargs: object) -> None:
            paused.append(not gc.isenabled())
            await original(*args, **kwargs)  # type: ignore[arg-type]

        store.scores._add_units = watched  # type: ignore[method-assign]
        assert gc.isenabled()
        await store.scores.commit_version(
            slices(2024, 2), file_name="f.csv", sha256="2024", uploaded_by=None
        )
        assert paused == [True, True] and gc.isenabled()
    finally:
        await store.close()
