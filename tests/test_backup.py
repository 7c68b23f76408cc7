"""bot.backup: consistent online copies, rotation, and a restore that refuses bad files."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest

from bot.backup import (
    BACKUP_NAME,
    BackupError,
    backup_name,
    backup_to,
    backups_in,
    quick_check,
    restore,
    rotate,
)
from ranking.catalog import load_catalog
from ranking.publishing import load_shipped_data
from ranking.store import SCHEMA_VERSION, Store


def make_store(path: Path, *, shipped: bool = True) -> None:
    """A real store file (schema + shipped data), closed again."""

    async def build() -> None:
        store = await Store.open(path)
        try:
            if shipped:
                await load_shipped_data(store, load_catalog())
        finally:
            await store.close()

    asyncio.run(build())


def count(path: Path, table: str) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def test_backup_is_a_checked_self_contained_copy(tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite3"
    make_store(db)
    folder = tmp_path / "backups"
    folder.mkdir()
    copy = backup_to(str(db), folder)
    assert copy.parent == folder and BACKUP_NAME.match(copy.name)
    assert quick_check(str(copy)) == "ok"
    assert count(copy, "scores") == count(db, "scores") > 0
    assert not Path(f"{copy}-wal").exists()
    with closing(sqlite3.connect(copy, isolation_level=None)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert [p.name for p in folder.iterdir()] == [copy.name]  # no temp file left


def test_backup_to_a_file_name(tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite3"
    make_store(db, shipped=False)
    target = tmp_path / "sub" / "copy.sqlite3"
    assert backup_to(str(db), target) == target
    assert quick_check(str(target)) == "ok"


def test_backup_of_a_missing_database(tmp_path: Path) -> None:
    with pytest.raises(BackupError) as err:
        backup_to(str(tmp_path / "none.sqlite3"), tmp_path)
    assert err.value.key == "backup.no_database"
    assert not (tmp_path / "none.sqlite3").exists()


def test_backup_while_another_connection_writes(tmp_path: Path) -> None:
    """Each write transaction adds one version row and one audit row: a copy taken
    mid-stream must hold a committed state, so both counts are equal."""
    db = tmp_path / "live.sqlite3"
    make_store(db, shipped=False)
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 10000")
        try:
            while not stop.is_set():
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(
                    "INSERT INTO versions (created_at, file_name, sha256, row_count)"
                    " VALUES ('t', 'f', 's', 1)"
                )
                conn.execute("INSERT INTO audit_log (at, action) VALUES ('t', 'x')")
                conn.execute("COMMIT")
                written[0] += 1
        finally:
            conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        copies: list[Path] = []
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline or len(copies) < 5:
            copies.append(backup_to(str(db), tmp_path / f"copy{len(copies)}.sqlite3"))
    finally:
        stop.set()
        thread.join()
    seen = set()
    for copy in copies:
        assert quick_check(str(copy)) == "ok"
        versions, audits = count(copy, "versions"), count(copy, "audit_log")
        assert versions == audits
        seen.add(versions)
    assert written[0] > 0
    assert len(seen) > 1  # the writer really wrote between the copies


def test_rotate_keeps_the_newest(tmp_path: Path) -> None:
    names = [f"rankbot-2026010{d}-120000.sqlite3" for d in range(1, 8)]
    for name in reversed(names):  # creation order must not matter, the name does
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("keep me")
    (tmp_path / "rankbot-manual.sqlite3").write_bytes(b"x")
    removed = rotate(tmp_path, 3)
    assert sorted(p.name for p in removed) == names[:4]
    assert [p.name for p in backups_in(tmp_path)] == names[4:]
    assert (tmp_path / "notes.txt").exists() and (tmp_path / "rankbot-manual.sqlite3").exists()
    assert rotate(tmp_path, 3) == []
    assert rotate(tmp_path / "missing", 3) == []
    with pytest.raises(ValueError):
        rotate(tmp_path, 0)


def test_backup_names_sort_by_time() -> None:
    from datetime import UTC, datetime

    assert backup_name(datetime(2026, 11, 27, 9, 5, 1, tzinfo=UTC)) == (
        "rankbot-20261127-090501.sqlite3"
    )


def test_restore_round_trip(tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite3"
    make_store(db)
    saved = backup_to(str(db), tmp_path / "saved.sqlite3")
    before = count(db, "scores")
    # damage the data (not the file) after the backup
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("DELETE FROM current_slices")
    assert count(db, "current_slices") == 0
    restore(saved, str(db))
    assert count(db, "scores") == before and count(db, "current_slices") > 0
    assert quick_check(str(db)) == "ok"
    assert not Path(f"{db}-wal").exists()

    async def reopen() -> int:
        store = await Store.open(db)
        try:
            return len(await store.scores.current_slices())
        finally:
            await store.close()

    assert asyncio.run(reopen()) > 0
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_restore_into_a_new_place(tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite3"
    make_store(db)
    saved = backup_to(str(db), tmp_path / "saved.sqlite3")
    target = tmp_path / "new" / "rank.sqlite3"
    restore(saved, str(target))
    assert count(target, "scores") == count(db, "scores")


def test_restore_refuses_while_the_database_is_open(tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite3"
    make_store(db)
    saved = backup_to(str(db), tmp_path / "saved.sqlite3")

    async def attempt() -> str:
        store = await Store.open(db)  # the bot is running
        try:
            with pytest.raises(BackupError) as err:
                await asyncio.to_thread(restore, saved, str(db))
            return err.value.key
        finally:
            await store.close()

    assert asyncio.run(attempt()) == "restore.in_use"
    assert quick_check(str(db)) == "ok"


def test_restore_refuses_a_non_database(tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite3"
    make_store(db)
    before = db.read_bytes()
    junk = tmp_path / "scores.xlsx"
    junk.write_bytes(b"PK\x03\x04 not a database at all" * 100)
    with pytest.raises(BackupError) as err:
        restore(junk, str(db))
    assert err.value.key == "restore.not_sqlite"
    with pytest.raises(BackupError) as err:
        restore(tmp_path / "missing.sqlite3", str(db))
    assert err.value.key == "restore.missing"
    assert db.read_bytes() == before


def test_restore_refuses_a_corrupt_copy(tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite3"
    make_store(db)
    saved = backup_to(str(db), tmp_path / "saved.sqlite3")
    data = bytearray(saved.read_bytes())
    page = 4096
    assert len(data) > 4 * page
    for offset in range(2 * page + 100, 2 * page + 400):  # inside a b-tree page, past page 1
        data[offset] ^= 0xA5
    corrupt = tmp_path / "corrupt.sqlite3"
    corrupt.write_bytes(bytes(data))
    before = db.read_bytes()
    with pytest.raises(BackupError) as err:
        restore(corrupt, str(db))
    assert err.value.key == "restore.corrupt"
    assert err.value.params["detail"]
    assert db.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_restore_refuses_a_newer_schema(tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite3"
    make_store(db, shipped=False)
    newer = backup_to(str(db), tmp_path / "newer.sqlite3")
    with closing(sqlite3.connect(newer, isolation_level=None)) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(BackupError) as err:
        restore(newer, str(db))
    assert err.value.key == "restore.newer_schema"
    assert err.value.params == {"version": SCHEMA_VERSION + 1, "known": SCHEMA_VERSION}


def test_restore_refuses_another_programs_database(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite3"
    with closing(sqlite3.connect(other, isolation_level=None)) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("PRAGMA user_version = 1")
    empty = tmp_path / "empty.sqlite3"
    with closing(sqlite3.connect(empty, isolation_level=None)) as conn:
        conn.execute("CREATE TABLE versions (x)")
        conn.execute("CREATE TABLE scores (x)")  # user_version 0: not migrated by us
    for path in (other, empty):
        with pytest.raises(BackupError) as err:
            restore(path, str(tmp_path / "live.sqlite3"))
        assert err.value.key == "restore.not_rankbot"
    assert not (tmp_path / "live.sqlite3").exists()


def test_restore_over_a_destroyed_database_needs_force(tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite3"
    make_store(db)
    saved = backup_to(str(db), tmp_path / "saved.sqlite3")
    db.write_bytes(os.urandom(8192))
    Path(f"{db}-wal").write_bytes(os.urandom(4096))  # stale, from the destroyed file
    assert quick_check(str(db)) != "ok"
    with pytest.raises(BackupError) as err:
        restore(saved, str(db))
    assert err.value.key == "restore.target_unreadable"
    restore(saved, str(db), force=True)
    assert not Path(f"{db}-wal").exists()
    assert quick_check(str(db)) == "ok" and count(db, "scores") > 0


def test_quick_check_never_creates_a_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.sqlite3"
    assert quick_check(str(missing)) != "ok"
    assert not missing.exists()


def test_restore_from_a_raw_copy_of_a_closed_store(tmp_path: Path) -> None:
    """A file copied by hand (WAL mode in its header) restores, and nothing is
    created beside the backup (no -wal/-shm)."""
    db = tmp_path / "live.sqlite3"
    make_store(db)
    folder = tmp_path / "usb"
    folder.mkdir()
    raw = folder / "rankbot.sqlite3"
    raw.write_bytes(db.read_bytes())
    target = tmp_path / "restored.sqlite3"
    restore(raw, str(target))
    assert count(target, "scores") == count(db, "scores")
    assert [p.name for p in folder.iterdir()] == ["rankbot.sqlite3"]
