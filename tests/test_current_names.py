"""Each unit's current name (migration 0009): kept right by imports and undo, and
filled from the rows already there when an older store upgrades."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from ranking.catalog import Catalog
from ranking.importer import read_and_validate, sha256
from ranking.queries import Rankings
from ranking.store import Store, migrations
from ranking.store.scores import REFRESH_NAMES

HEADER = "Năm;Nhóm;Xếp hạng;Tên cơ quan, đơn vị;Tổng điểm;Điểm tối đa;Số đơn vị;Căn cứ\n"
SOURCE = "QĐ 1/QĐ-UBND ngày 1/3/2024"

# What the table must hold, found the slow way: every unit with a current row →
# the name of its row in its latest current year (the first group code's of a tie).
FROM_SCORES = """
    SELECT x.unit_id, x.name, x.year, x.group_code
    FROM scores x
    JOIN current_slices c ON c.version_id = x.version_id AND c.ranking = x.ranking
         AND c.year = x.year AND c.group_code = x.group_code
    ORDER BY x.unit_id, x.year DESC, x.group_code
"""


def csv(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode()


def tables(path: str | Path) -> tuple[dict[int, tuple[str, int]], dict[int, tuple[str, int]]]:
    """(current_names as stored, current names found from the scores)."""
    with closing(sqlite3.connect(path)) as conn:
        conn.row_factory = sqlite3.Row
        stored = {
            r["unit_id"]: (r["name"], r["year"])
            for r in conn.execute("SELECT unit_id, name, year FROM current_names")
        }
        derived: dict[int, tuple[str, int]] = {}
        for r in conn.execute(FROM_SCORES):
            derived.setdefault(r["unit_id"], (r["name"], r["year"]))
    return stored, derived


def names(path: str | Path) -> dict[int, tuple[str, int]]:
    stored, derived = tables(path)
    assert stored == derived
    return stored


async def import_csv(store: Store, catalog: Catalog, data: bytes) -> int:
    dataset = read_and_validate(data, "new.csv", catalog)
    return await store.scores.commit_version(
        dataset.slices, file_name="new.csv", sha256=sha256(data), uploaded_by=42
    )


async def unit_named(rankings: Rankings, key: str) -> tuple[int, str]:
    (entry,) = [
        (uid, name)
        for uid, _, name, k in await rankings.store.scores.units_on_record()
        if k == key
    ]
    return entry


async def test_an_import_and_its_undo_keep_the_names(rankings: Rankings, catalog: Catalog) -> None:
    store = rankings.store
    shipped = names(store.path)
    bac_ha, name = await unit_named(rankings, "huyen bac ha")
    assert (name, shipped[bac_ha][1]) == ("Huyện Bắc Hà", 2022)

    # a later year writes the name otherwise: that is its current name now
    await import_csv(store, catalog, csv(f"2023;huyen;1;huyện Bắc Hà;650,5;1.000;9;{SOURCE}"))
    after = names(store.path)
    assert after[bac_ha] == ("huyện Bắc Hà", 2023)
    assert {uid: v for uid, v in after.items() if uid != bac_ha} == {
        uid: v for uid, v in shipped.items() if uid != bac_ha
    }
    assert await unit_named(rankings, "huyen bac ha") == (bac_ha, "huyện Bắc Hà")

    await store.scores.undo_latest(undone_by=42)
    assert names(store.path) == shipped
    assert await unit_named(rankings, "huyen bac ha") == (bac_ha, "Huyện Bắc Hà")


async def test_a_slice_replaced_without_a_unit_drops_it_and_undo_brings_it_back(
    rankings: Rankings, catalog: Catalog
) -> None:
    store = rankings.store
    shipped = names(store.path)
    huyen = await store.scores.current_slice("cds", 2022, "huyen")
    assert huyen is not None
    before = {r.name for r in await store.scores.slice_records(huyen)}
    assert len(before) > 1 and "Huyện Bắc Hà" in before

    # 2022's district results again, with one district only: the others have no
    # current row left, so no current name
    await import_csv(store, catalog, csv(f"2022;huyen;1;Huyện Bắc Hà;700;1.000;9;{SOURCE}"))
    after = names(store.path)
    dropped = set(shipped) - set(after)
    assert {shipped[uid][0] for uid in dropped} == before - {"Huyện Bắc Hà"}
    on_record = {name for _, _, name, _ in await store.scores.units_on_record()}
    assert on_record.isdisjoint(before - {"Huyện Bắc Hà"})

    await store.scores.undo_latest(undone_by=42)
    assert names(store.path) == shipped


@pytest.mark.parametrize(("schema", "sorts"), [(9, True), (len(migrations()), False)])
def test_the_name_refresh_reads_a_units_rows_in_order(schema: int, sorts: bool) -> None:
    """Since migration 0010 the refresh stops at a unit's first current row through
    scores_by_unit; before it, SQLite sorted each unit's rows (a temp B-tree)."""
    with closing(sqlite3.connect(":memory:", isolation_level=None)) as conn:
        for migration in migrations()[:schema]:
            conn.executescript(migration.sql())
        conn.execute("CREATE TEMP TABLE names_touched (unit_id INTEGER PRIMARY KEY)")
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + REFRESH_NAMES)]
    assert "SEARCH y USING INDEX scores_by_unit (unit_id=?)" in plan
    assert any("TEMP B-TREE" in step for step in plan) is sorts


def test_an_older_store_upgrades_with_its_names_filled(tmp_path: Path) -> None:
    path = tmp_path / "schema8.sqlite3"
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        for migration in migrations()[:8]:
            conn.executescript(migration.sql())
        conn.executescript(
            """
            BEGIN;
            INSERT INTO units (id, ranking, name, name_key) VALUES
                (1, 'cds', 'Sở A', 'so a'), (2, 'cds', 'Sở B', 'so b'),
                (3, 'cds', 'Sở C', 'so c');
            INSERT INTO versions (id, created_at, uploaded_by, file_name, sha256, row_count)
                VALUES (1, 't', NULL, 'a.csv', 'a', 4), (2, 't', NULL, 'b.csv', 'b', 2);
            INSERT INTO slices (version_id, ranking, year, group_code, max_score, unit_count,
                                band_scheme, source) VALUES
                (1, 'cds', 2022, 'tthc', '1000', 3, 'cds', 'QĐ 1'),
                (1, 'cds', 2023, 'tthc', '1000', 3, 'cds', 'QĐ 2'),
                (2, 'cds', 2023, 'tthc', '1000', 3, 'cds', 'QĐ 3');
            INSERT INTO scores (version_id, ranking, year, group_code, unit_id, name, score,
                                rank, rank_official, source) VALUES
                (1, 'cds', 2022, 'tthc', 1, 'Sở A (cũ)', '900', 1, 1, 'QĐ 1'),
                (1, 'cds', 2022, 'tthc', 2, 'Sở B', '800', 2, 1, 'QĐ 1'),
                (1, 'cds', 2023, 'tthc', 1, 'Sở A (bị thay)', '910', 1, 1, 'QĐ 2'),
                (1, 'cds', 2023, 'tthc', 3, 'Sở C (bị thay)', '700', 2, 1, 'QĐ 2'),
                (2, 'cds', 2023, 'tthc', 1, 'Sở A', '920', 1, 1, 'QĐ 3');
            -- 2023 is version 2's: unit 3 has no current row, unit 2 only 2022's
            INSERT INTO current_slices (ranking, year, group_code, version_id) VALUES
                ('cds', 2022, 'tthc', 1), ('cds', 2023, 'tthc', 2);
            COMMIT;
            """
        )

    async def upgrade() -> list[tuple[int, str, str, str]]:
        store = await Store.open(path)
        try:
            return await store.scores.units_on_record()
        finally:
            await store.close()

    on_record = asyncio.run(upgrade())
    assert names(path) == {1: ("Sở A", 2023), 2: ("Sở B", 2022)}
    assert sorted(on_record) == [(1, "cds", "Sở A", "so a"), (2, "cds", "Sở B", "so b")]


async def test_random_imports_and_undos_keep_the_names(
    rankings: Rankings, catalog: Catalog
) -> None:
    # units in two groups and several years, replaced, dropped and brought back by undo:
    # after every step the table is what the scores say (a tie of years goes to the
    # first group code)
    store = rankings.store
    rng = random.Random(9)
    units = [f"Đơn vị {i}" for i in range(12)]
    for _ in range(25):
        if rng.random() < 0.3:
            await store.scores.undo_latest(undone_by=42)
        else:
            rows = []
            for year in rng.sample(range(2020, 2025), rng.randint(1, 3)):
                for group in rng.sample(["huyen", "tthc"], rng.randint(1, 2)):
                    chosen = rng.sample(units, rng.randint(1, 5))
                    for rank, unit in enumerate(chosen, start=1):
                        name = unit if rng.random() < 0.5 else unit.lower()
                        score = 900 - rank
                        rows.append(f"{year};{group};{rank};{name};{score};1.000;12;{SOURCE}")
            await import_csv(store, catalog, csv(*rows))
        names(store.path)
