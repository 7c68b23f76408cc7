"""Store and importer: migrations, atomic versions, undo, validation."""

from __future__ import annotations

from pathlib import Path

import aiosqlite
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ranking import importer
from ranking.catalog import Catalog, load_catalog
from ranking.importer import ImportFailed, read_and_validate, sha256
from ranking.publishing import load_shipped_data, publish
from ranking.queries import Rankings
from ranking.store import SCHEMA_VERSION, Store, StoreError

HEADER = "Năm;Nhóm;Xếp hạng;Tên cơ quan, đơn vị;Tổng điểm;Điểm tối đa;Số đơn vị;Căn cứ\n"
SOURCE = "QĐ 1/QĐ-UBND ngày 1/3/2024"


def csv(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode()


async def test_schema_is_versioned(store: Store) -> None:
    async with aiosqlite.connect(store.path) as db, db.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    assert row is not None and row[0] == SCHEMA_VERSION


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    async with aiosqlite.connect(path) as db:
        await db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        await db.commit()
    with pytest.raises(StoreError):
        await Store.open(path)


async def test_shipped_data_loads_once(store: Store, catalog: Catalog) -> None:
    assert await load_shipped_data(store, catalog) == ["dti-2022.csv", "laocai-cds-2022.csv"]
    assert await load_shipped_data(store, catalog) == []
    assert len(await store.scores.versions()) == 2
    slices = await store.scores.current_slices("cds")
    assert {(s.group_code, s.unit_count, str(s.max_score), s.published) for s in slices} == {
        ("tthc", 18, "1000", 11),
        ("khong-tthc", 22, "750", 4),
        ("huyen", 9, "1000", 4),
    }
    assert {s.source for s in slices} == {"QĐ 791/QĐ-UBND ngày 11/4/2023"}


async def test_each_slices_published_count_is_its_rows_on_record(
    store: Store, catalog: Catalog, tmp_path: Path
) -> None:
    # written with the slice since migration 11 (CURRENT_SLICES no longer counts them)
    await load_shipped_data(store, catalog)
    async with aiosqlite.connect(tmp_path / "test.sqlite3") as db:
        counted = await db.execute_fetchall(
            "SELECT s.version_id, s.ranking, s.year, s.group_code, s.published,"
            " (SELECT COUNT(*) FROM scores x WHERE x.version_id = s.version_id"
            "  AND x.ranking = s.ranking AND x.year = s.year AND x.group_code = s.group_code)"
            " FROM slices s"
        )
    assert counted and all(row[4] == row[5] > 0 for row in counted)


async def test_scores_keep_their_exact_digits(rankings: Rankings) -> None:
    (du_lich,) = [
        r
        for s in await rankings.slices("cds")
        for r in await rankings.store.scores.slice_records(s)
        if r.name == "Sở Du lịch"
    ]
    assert str(du_lich.score) == "235.40"
    assert du_lich.published_level == "Hoàn thành"
    assert du_lich.rank == 18 and du_lich.rank_official


async def test_new_version_switches_slices_and_undo_restores(
    rankings: Rankings, catalog: Catalog
) -> None:
    store = rankings.store
    data = csv(
        f"2022;huyen;1;Huyện Bắc Hà;700;1.000;9;{SOURCE}",
        f"2023;huyen;1;Huyện Sa Pa;650,5;1.000;9;{SOURCE}",
    )
    dataset = read_and_validate(data, "new.csv", catalog)
    version = await store.scores.commit_version(
        dataset.slices, file_name="new.csv", sha256=sha256(data), uploaded_by=42
    )
    assert await rankings.years("cds") == [2022, 2023]
    huyen_2022 = await store.scores.current_slice("cds", 2022, "huyen")
    assert huyen_2022 is not None and huyen_2022.version_id == version
    assert [r.name for r in await store.scores.slice_records(huyen_2022)] == ["Huyện Bắc Hà"]
    # the other 2022 groups are untouched
    tthc = await store.scores.current_slice("cds", 2022, "tthc")
    assert tthc is not None and tthc.version_id == 2  # the shipped file's version

    undone = await store.scores.undo_latest(undone_by=42)
    assert undone is not None and undone.id == version
    assert await rankings.years("cds") == [2022]
    huyen_2022 = await store.scores.current_slice("cds", 2022, "huyen")
    assert huyen_2022 is not None and huyen_2022.version_id == 2
    assert len(await store.scores.slice_records(huyen_2022)) == 4


async def test_failed_write_leaves_nothing(rankings: Rankings, catalog: Catalog) -> None:
    store = rankings.store
    before = await store.scores.versions()
    data = csv(f"2023;huyen;1;Huyện Sa Pa;650,5;1.000;9;{SOURCE}")
    dataset = read_and_validate(data, "x.csv", catalog)
    original = store.scores._writer_unit_keys

    async def boom(*args: object) -> dict[str, int]:
        raise RuntimeError("disk on fire")

    store.scores._writer_unit_keys = boom  # type: ignore[method-assign,assignment]
    with pytest.raises(RuntimeError):
        await store.scores.commit_version(
            dataset.slices, file_name="x.csv", sha256="d", uploaded_by=1
        )
    store.scores._writer_unit_keys = original  # type: ignore[method-assign]
    assert await store.scores.versions() == before
    assert await rankings.years("cds") == [2022]


def problems_of(data: bytes, catalog: Catalog) -> list[tuple[str, int | None]]:
    with pytest.raises(ImportFailed) as caught:
        read_and_validate(data, "bad.csv", catalog)
    return [(p.code, p.row) for p in caught.value.problems]


def test_every_bad_row_is_named(catalog: Catalog) -> None:
    data = csv(
        f"2023;huyen;1;A;abc;1.000;9;{SOURCE}",
        f"2023;huyen;2;B;-5;1.000;9;{SOURCE}",
        f"2023;huyen;3;C;1200;1.000;9;{SOURCE}",
        f"2023;huyn;4;D;500;1.000;9;{SOURCE}",
        f"1999;huyen;5;E;400;1.000;9;{SOURCE}",
    )
    assert sorted(problems_of(data, catalog)) == [
        ("negative_score", 3),
        ("not_a_number", 2),
        ("score_above_max", 4),
        ("year_out_of_range", 6),
    ]
    # groups change by year (issue #13): a group the catalog does not know is a new
    # group, called out in the preview with the known group it is close to
    dataset = read_and_validate(csv(f"2023;huyn;1;D;500;1.000;9;{SOURCE}"), "new.csv", catalog)
    assert [(f.code, f.row, f.params["close"]) for f in dataset.facts] == [
        ("fact_new_group_close", 2, "Huyện, thị xã, thành phố")
    ]
    assert [g.name_vi for g in dataset.new_groups] == ["huyn"]


def test_partial_list_needs_ranks(catalog: Catalog) -> None:
    data = csv(f"2023;huyen;;A;500;1.000;9;{SOURCE}")
    assert problems_of(data, catalog) == [("rank_needed", 2)]


def test_complete_list_gets_competition_ranks(catalog: Catalog) -> None:
    data = csv(
        f"2023;huyen;;A;500;1.000;3;{SOURCE}",
        f"2023;huyen;;B;600;1.000;3;{SOURCE}",
        f"2023;huyen;;C;600;1.000;3;{SOURCE}",
    )
    dataset = read_and_validate(data, "ok.csv", catalog)
    ranks = {r.name: (r.rank, r.rank_official) for r in dataset.slices[0].rows}
    assert ranks == {"B": (1, False), "C": (1, False), "A": (3, False)}


def test_ranks_contradicting_scores_duplicates_and_overflow(catalog: Catalog) -> None:
    # the source's ranks are kept as published, flagged for the preview
    dataset = read_and_validate(
        csv(f"2023;huyen;1;A;500;1.000;9;{SOURCE}", f"2023;huyen;2;B;600;1.000;9;{SOURCE}"),
        "ranks.csv",
        catalog,
    )
    assert [(w.code, w.row) for w in dataset.warnings if w.code != "group_incomplete"] == [
        ("rank_contradicts_score", 3)
    ]
    assert problems_of(
        csv(f"2023;huyen;1;A;500;1.000;9;{SOURCE}", f"2023;huyen;2;a;400;1.000;9;{SOURCE}"),
        catalog,
    ) == [("duplicate_unit", 3)]
    assert problems_of(
        csv(f"2023;huyen;1;A;500;1.000;1;{SOURCE}", f"2023;huyen;2;B;400;1.000;1;{SOURCE}"),
        catalog,
    ) == [("too_many_units", 3)]


def _outcome(data: bytes, catalog: Catalog) -> object:
    try:
        dataset = read_and_validate(data, "ranks.csv", catalog)
    except ImportFailed as failed:
        return [(p.code, p.row, p.params) for p in failed.problems]
    return dataset.slices, [(w.code, w.row, w.params) for w in dataset.warnings]


@given(
    st.lists(
        st.tuples(  # a rank and a score, now and then left out
            st.integers(0, 6).map(lambda rank: rank or None),
            st.integers(-2, 4).map(lambda n: None if n < 0 else n * 100),
        ),
        min_size=1,
        max_size=6,
    ),
    st.integers(1, 6),
)
def test_rank_checks_in_c_loops_find_what_the_row_loop_finds(
    rows: list[tuple[int | None, int | None]], count: int
) -> None:
    """The slice check that skips the rank by rank loop (ranks rising, scores
    falling) gives the same slices, warnings and errors as the loop alone."""
    catalog = load_catalog()
    data = csv(
        *(
            f"2023;huyen;{'' if rank is None else rank};U{i};{'' if score is None else score};"
            f"1.000;{count};{SOURCE}"
            for i, (rank, score) in enumerate(rows)
        )
    )
    with_check = _outcome(data, catalog)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(importer, "_in_order", lambda ordered, unit_count: False)
        assert _outcome(data, catalog) == with_check


def test_rank_only_rows_are_valid(catalog: Catalog) -> None:
    data = csv(f"2023;huyen;4;A;;1.000;9;{SOURCE}")
    (row,) = read_and_validate(data, "ok.csv", catalog).slices[0].rows
    assert row.score is None and row.rank == 4


def test_published_level_disagreement_is_a_warning(catalog: Catalog) -> None:
    data = (
        "nam,nhom,hang,don_vi,diem,diem_toi_da,muc,so_don_vi,can_cu\n"
        f'2023,tthc,1,A,"235,40",1000,Hoàn thành,18,"{SOURCE}"\n'
    ).encode()
    dataset = read_and_validate(data, "warn.csv", catalog)
    assert [w.code for w in dataset.warnings] == ["level_mismatch", "group_incomplete"]
    assert dataset.slices[0].rows[0].published_level == "Hoàn thành"


def test_missing_columns_are_named(catalog: Catalog) -> None:
    data = "Đơn vị;Điểm\nA;5\n".encode()
    with pytest.raises(ImportFailed) as caught:
        read_and_validate(data, "bad.csv", catalog)
    # each names the column as the template writes it, and where else it may stand
    assert [(p.code, p.params["column"]) for p in caught.value.problems] == [
        ("missing_group", "Nhóm"),
        ("missing_max", "Điểm tối đa"),
        ("missing_source", "Căn cứ"),
        ("missing_year", "Năm"),
    ]


async def test_only_imports_and_undos_rebuild_the_caches(
    rankings: Rankings, catalog: Catalog
) -> None:
    """The unit index and the slices are rebuilt when the score data changes, from
    this process or another, and not for a broadcast's delivery marks, an audit line
    or a language choice (PRAGMA data_version changes with each of those)."""
    store = rankings.store
    assert (await rankings.find_units("bac ha")).matches
    built, generation = rankings.rebuilds, await store.scores.generation()
    await store.outbox.subscribe(-5, "group", None, by=1)
    announcement, _ = await store.outbox.create_announcement("text", created_by=1, text_html="x")
    for state, expect in (("sending", "pending"), ("sent", "sending")):
        assert await store.outbox.mark_delivery(announcement, -5, state, expect=expect)
    await store.people.audit(1, "test", "a line")
    await store.people.set_language(1, "en")
    assert (await rankings.find_units("bac ha")).matches
    assert await rankings.years("cds") == [2022]
    assert rankings.rebuilds == built
    assert await store.scores.generation() == generation

    # an import through other connections, as `python -m bot import` does
    other = await Store.open(store.path)
    try:
        data = csv(f"2023;huyen;1;Huyện Sa Pa;650,5;1.000;9;{SOURCE}")
        await publish(other, catalog, data, "new.csv", uploaded_by=42)
    finally:
        await other.close()
    assert await rankings.years("cds") == [2022, 2023]
    assert (await rankings.find_units("sa pa")).matches
    assert rankings.rebuilds == built + 1

    await store.scores.undo_latest(undone_by=42)
    assert await rankings.years("cds") == [2022]
    assert rankings.rebuilds == built + 2
    assert await store.scores.generation() == generation + 2
