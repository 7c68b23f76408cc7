"""The numbered migrations: databases of every earlier schema upgrade, a newer one is
refused, a broken migration leaves nothing behind, released files never change."""

from __future__ import annotations

import asyncio
import hashlib
import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

import ranking.store.db
from ranking.catalog import Catalog
from ranking.publishing import load_shipped_data
from ranking.store import SCHEMA_VERSION, Store, StoreError, migrations
from ranking.store.db import Migration, statements

# What each released file says, comments and layout aside. A database created by
# a released program holds exactly this: change the schema with a new file.
RELEASED = {
    "0001_scores.sql": "00afe5754fca6cf06aeb34501d8dd71900e479e2f15f16cf89a2a542d6ff9db3",
    "0002_admins_audit.sql": "392be388ae64037c593107295416c4b6fcdea52bbd4bce7de0d47744df4409be",
    "0003_outbox.sql": "a9129b6e6c39f5f3ec98ded9e0bb4668ce6c7568d4a98220acd3f11cf382b602",
    "0004_score_generation.sql": (
        "19a74be50c368e3206be9f7eed17bcdef6a9f6c277d0b3a7cb9f55bf1b2bd124"
    ),
}


def normalised(sql: str) -> str:
    return " ".join(re.sub(r"--[^\n]*", "", sql).split())


def old_database(path: Path, schema: int) -> None:
    """A database as the program of schema `schema` left it, with a row in each
    table that schema has, written by plain sqlite3 (not the Store)."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        for migration in migrations()[:schema]:
            conn.executescript(migration.sql())
        conn.executescript(
            """
            BEGIN;
            INSERT INTO units (id, ranking, name, name_key) VALUES (1, 'cds', 'Sở A', 'so a');
            INSERT INTO versions (id, created_at, uploaded_by, file_name, sha256, row_count)
                VALUES (1, '2024-01-01T00:00:00+00:00', NULL, 'old.csv', 'abc', 1);
            INSERT INTO slices (version_id, ranking, year, group_code, max_score, unit_count,
                                band_scheme, source)
                VALUES (1, 'cds', 2022, 'tthc', '1000', 18, 'cds', 'QĐ 1');
            INSERT INTO scores (version_id, ranking, year, group_code, unit_id, name, score,
                                rank, rank_official, source)
                VALUES (1, 'cds', 2022, 'tthc', 1, 'Sở A', '912.50', 1, 1, 'QĐ 1');
            INSERT INTO current_slices (ranking, year, group_code, version_id)
                VALUES ('cds', 2022, 'tthc', 1);
            INSERT INTO user_settings (user_id, language) VALUES (5, 'en');
            COMMIT;
            """
        )
        if schema >= 2:
            conn.execute("INSERT INTO admins VALUES (7, 1, '2024-01-01T00:00:00+00:00')")
            conn.execute("INSERT INTO audit_log (at, user_id, action) VALUES ('t', 1, 'old')")
        if schema >= 3:
            conn.execute(
                "INSERT INTO subscriptions (chat_id, chat_type, groups, created_at)"
                " VALUES (-100, 'group', '[\"tthc\"]', 't')"
            )
        assert conn.execute("PRAGMA user_version").fetchone()[0] == schema


def user_version(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def test_files_are_numbered_without_a_gap_and_each_sets_its_number() -> None:
    found = migrations()
    assert [m.number for m in found] == list(range(1, SCHEMA_VERSION + 1))
    assert SCHEMA_VERSION >= 4
    with closing(sqlite3.connect(":memory:")) as conn:
        for migration in found:
            for statement in statements(migration.sql()):
                conn.execute(statement)
            assert conn.execute("PRAGMA user_version").fetchone()[0] == migration.number


def test_released_migrations_are_never_edited() -> None:
    files = {m.file_name: m.sql() for m in migrations()}
    for name, digest in RELEASED.items():
        assert hashlib.sha256(normalised(files[name]).encode()).hexdigest() == digest, (
            f"{name} has shipped: change the schema in a new numbered file instead"
        )


@pytest.mark.parametrize("schema", [1, 2, 3])
async def test_a_database_of_an_earlier_schema_upgrades(
    tmp_path: Path, catalog: Catalog, schema: int
) -> None:
    path = tmp_path / f"schema{schema}.sqlite3"
    old_database(path, schema)
    store = await Store.open(path)
    try:
        # what was there is still there, read through the new code
        (slice_,) = await store.scores.current_slices()
        assert (slice_.ranking, slice_.year, slice_.group_code, slice_.published) == (
            "cds",
            2022,
            "tthc",
            1,
        )
        (record,) = await store.scores.slice_records(slice_)
        assert (record.name, str(record.score), record.rank) == ("Sở A", "912.50", 1)
        assert await store.people.language(5) == "en"
        assert await store.people.admin_ids() == ({7} if schema >= 2 else set())
        assert await store.outbox.subscription(-100) == (("tthc",) if schema >= 3 else False)
        # and the newer tables work: an import counts in the new score generation
        assert await store.scores.generation() == 0
        assert await load_shipped_data(store, catalog) == ["dti-2022.csv", "laocai-cds-2022.csv"]
        assert await store.scores.generation() == 2
        assert [v.file_name for v in await store.scores.versions()][-1] == "old.csv"
    finally:
        await store.close()
    assert user_version(path) == SCHEMA_VERSION


async def test_stores_upgrading_one_old_database_at_once(tmp_path: Path) -> None:
    """The bot and a CLI import starting together on an old database: one upgrades it,
    the others find it done (each step re-reads the version under the write lock)."""
    path = tmp_path / "old.sqlite3"
    old_database(path, 3)
    stores = await asyncio.gather(*(Store.open(path) for _ in range(4)))
    try:
        assert {await s.scores.generation() for s in stores} == {0}
    finally:
        for s in stores:
            await s.close()
    assert user_version(path) == SCHEMA_VERSION
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM score_generation").fetchone()[0] == 1


async def test_an_in_memory_database_is_refused() -> None:
    """The writer and the reader are two connections: in memory, two databases (the
    reader would see neither the schema nor a row). Refused with a reason."""
    with pytest.raises(StoreError, match="in-memory"):
        await Store.open(":memory:")


async def test_a_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "newer.sqlite3"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer"):
        await Store.open(path)
    assert user_version(path) == SCHEMA_VERSION + 1
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM sqlite_schema").fetchone()[0] == 0


class Unfinished(Migration):
    """A migration that forgot to set its number."""

    def sql(self) -> str:
        return "CREATE TABLE half_done (x INTEGER);\n"


async def tables_after_a_failed_upgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, added: list[Migration]
) -> set[str]:
    """A database at SCHEMA_VERSION, then opened with `added` after the released files
    (the last of them broken): the open fails and the version stays; its tables."""
    path = tmp_path / "db.sqlite3"
    store = await Store.open(path)
    await store.close()
    released = migrations()
    monkeypatch.setattr(ranking.store.db, "migrations", lambda: [*released, *added])
    monkeypatch.setattr(ranking.store.db, "SCHEMA_VERSION", SCHEMA_VERSION + len(added))
    with pytest.raises(StoreError, match="PRAGMA user_version"):
        await Store.open(path)
    assert user_version(path) == SCHEMA_VERSION
    with closing(sqlite3.connect(path)) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_schema")}


async def test_a_migration_that_does_not_set_its_number_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = Unfinished(SCHEMA_VERSION + 1, f"{SCHEMA_VERSION + 1:04d}_unfinished.sql")
    tables = await tables_after_a_failed_upgrade(tmp_path, monkeypatch, [broken])
    assert "half_done" not in tables


def test_a_script_ending_inside_a_statement_is_an_error() -> None:
    assert statements("CREATE TABLE a (x);\n-- done\n") == ["CREATE TABLE a (x);"]
    with pytest.raises(StoreError):
        statements("CREATE TABLE a (x);\nCREATE TABLE b (\n")


class Fine(Migration):
    def sql(self) -> str:
        return f"CREATE TABLE fine (x INTEGER);\nPRAGMA user_version = {self.number};\n"


async def test_the_missing_migrations_are_one_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new database is made with one commit, and an upgrade is all or nothing: a
    good file before a broken one is rolled back with it."""
    fine = Fine(SCHEMA_VERSION + 1, f"{SCHEMA_VERSION + 1:04d}_fine.sql")
    broken = Unfinished(SCHEMA_VERSION + 2, f"{SCHEMA_VERSION + 2:04d}_unfinished.sql")
    tables = await tables_after_a_failed_upgrade(tmp_path, monkeypatch, [fine, broken])
    assert not tables & {"fine", "half_done"}
