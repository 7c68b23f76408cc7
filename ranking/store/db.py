"""The connection layer: one writer and one reader connection, WAL, migrations.

- One writer connection behind an asyncio.Lock, every write transaction
  `BEGIN IMMEDIATE` (a deferred transaction that later writes gets
  SQLITE_BUSY without waiting for the busy timeout); one reader connection,
  which in WAL mode never waits for the writer.
- Rows are `aiosqlite.Row` on both connections: read by column name.
- A read is one `execute_fetchall`: one trip to the connection's thread per
  statement (execute, fetchall and closing the cursor would be three).
- A third, plain connection that never writes answers `PRAGMA data_version`
  (`Database.data_version`) on the caller's thread: whether anyone has committed
  since, without a trip to a connection's thread.
- The schema is the numbered files in migrations/ (0001_….sql, 0002_….sql, …),
  applied in order; `PRAGMA user_version` is the number of files applied, and
  each file ends by setting it to its own number.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Final, cast

import aiosqlite

from ranking.store.failures import store_failure

BUSY_TIMEOUT = 10.0  # seconds a connection waits for another one's write lock

# positional (`?`) or named (`:name`) parameters of one statement
Params = Iterable[Any] | Mapping[str, Any]


class StoreError(Exception):
    """The store cannot be used (corrupt, newer schema, …)."""


# ---- migrations ------------------------------------------------------------------------

# package data (pyproject.toml): found the same way in a checkout and an installed wheel
MIGRATIONS_DIR = resources.files("ranking.store") / "migrations"
MIGRATION_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    """One file of migrations/: it moves the schema from `number - 1` to `number`."""

    number: int
    file_name: str

    def sql(self) -> str:
        return (MIGRATIONS_DIR / self.file_name).read_text(encoding="utf-8")


def migrations() -> list[Migration]:
    """The migration files in order. Numbered 1, 2, 3, … without a gap: schema N is
    the first N files applied. Any other .sql file there is a mistake, not ignored."""
    found = []
    for entry in MIGRATIONS_DIR.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = MIGRATION_FILE.match(entry.name)
        if match is None:
            raise StoreError(f"migration file name not NNNN_name.sql: {entry.name}")
        found.append(Migration(int(match[1]), entry.name))
    found.sort(key=lambda m: m.number)
    if [m.number for m in found] != list(range(1, len(found) + 1)):
        raise StoreError("migrations must be numbered 1, 2, 3, … without a gap")
    return found


SCHEMA_VERSION: Final = len(migrations())  # the newest schema this program knows


def statements(script: str) -> list[str]:
    """Split a migration into statements; sqlite3 knows where one ends (comments too)."""
    found, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            found.append(pending.strip())
            pending = ""
    if pending.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in pending.splitlines()
    ):
        raise StoreError("migration ends inside a statement")
    return found


# ---- connections -------------------------------------------------------------------------


def now() -> str:
    """A timestamp as the store keeps them: UTC, ISO 8601, seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _prepare(path: str) -> sqlite3.Connection:
    """The file opened and made ready, on one thread, in one trip from the event loop:
    its header read (a file SQLite cannot open fails here, not inside aiosqlite's
    thread, which would outlive the failure), WAL switched on, the missing
    migrations applied. Returns the watching connection (`Database.data_version`).

    A plain connection does it: through aiosqlite each statement of the migrations
    was a trip to its thread and back (77 to open a new database); here the thread
    runs them all in one go. Its folder is made here too, off the event loop."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT)
    try:
        conn.execute("PRAGMA schema_version").fetchall()
        _wal(conn)
        _migrate(conn)
    finally:
        conn.close()
    return _watcher(path)


async def _connect(path: str) -> aiosqlite.Connection:
    """A connection to a prepared file (`_prepare`: WAL is a property of the file,
    set there once), with this connection's own settings, in one more trip."""
    # timeout: SQLite's busy handler waits that long for another connection's lock
    conn = await aiosqlite.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT)
    try:
        conn.row_factory = aiosqlite.Row
        # FULL: an admin who saw "import done" must not lose it to a power cut.
        # (a script: both settings in one trip; no transaction is open to commit)
        await conn.executescript("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
    except BaseException:
        await conn.close()  # else its thread keeps the process alive after the error
        raise
    return conn


def _wal(conn: sqlite3.Connection) -> None:
    """Switch a new database to WAL. The switch needs an exclusive lock and SQLite
    answers SQLITE_BUSY at once, without the busy handler, while another process
    opens the same new file: retry until the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL").fetchall()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # on _prepare's thread, not the event loop's


def _watcher(path: str) -> sqlite3.Connection:
    """The connection `Database.data_version` asks: it never writes, and with the busy
    timeout 0 it never waits for a lock (SQLite answers SQLITE_BUSY at once)."""
    return sqlite3.connect(path, isolation_level=None, timeout=0, check_same_thread=False)


def _user_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0]) if row else 0


def _migrate(conn: sqlite3.Connection) -> None:
    version = _user_version(conn)
    if version > SCHEMA_VERSION:
        raise StoreError(f"database schema {version} is newer than this program's")
    missing = migrations()[version:]
    if not missing:
        return
    scripts = [m.sql() for m in missing]
    # All the missing files in one transaction: a new database is created with one
    # commit (one sync to disk, not one a file: ≈ 2 ms each with synchronous=FULL),
    # and an upgrade is still all or nothing.
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Another process starting at the same moment may have migrated while we
        # waited for the lock: read the version again under it.
        done = _user_version(conn)
        for migration, script in zip(missing, scripts, strict=True):
            if done >= migration.number:
                continue
            for statement in statements(script):
                conn.execute(statement).fetchall()
            if _user_version(conn) != migration.number:
                raise StoreError(
                    f"{migration.file_name} must end with PRAGMA user_version = {migration.number}"
                )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # SQLite may have rolled back already (a full disk)
            conn.execute("ROLLBACK")
        raise


class Database:
    """The two connections and the write lock; the sub-stores share one."""

    def __init__(
        self,
        path: str,
        writer: aiosqlite.Connection,
        reader: aiosqlite.Connection,
        watcher: sqlite3.Connection | None = None,
    ):
        self.path = path
        self._writer = writer
        self._reader = reader
        self._watcher = watcher
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        path = str(path)
        if path == ":memory:":
            # one in-memory database a connection: the reader would never see the
            # writer's rows (nor its schema)
            raise StoreError("an in-memory database cannot be shared: give a file")
        try:
            watcher = await asyncio.to_thread(_prepare, path)
        except (sqlite3.Error, OSError) as exc:
            # one line at start, not a traceback: what is wrong with the file or folder
            kind = store_failure(exc)
            raise StoreError(f"cannot open the database ({kind.value if kind else exc})") from exc
        try:
            writer = await _connect(path)
        except BaseException:
            watcher.close()
            raise
        try:
            reader = await _connect(path)
        except BaseException:
            await writer.close()
            watcher.close()
            raise
        return cls(path, writer, reader, watcher)

    async def close(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.close()
        await self._reader.close()
        await self._writer.close()

    def data_version(self) -> int | None:
        """SQLite's `PRAGMA data_version` on the watching connection: it moves whenever
        another connection commits (this process's writer, another process's), so the
        same number twice means nothing was written in between. Asked on the calling
        thread, the event loop's: a read of the WAL index in shared memory, about 2 µs,
        that never waits (busy timeout 0). None when the database is in memory or
        SQLite is busy: the caller then asks the store as before."""
        if self._watcher is None:
            return None
        try:
            row = self._watcher.execute("PRAGMA data_version").fetchone()
        except sqlite3.Error:
            return None
        return int(row[0]) if row else None

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction: serialised, IMMEDIATE, all or nothing."""
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                # SQLite may have rolled back already (a full disk, an I/O error):
                # a second ROLLBACK would raise and hide the error that matters
                if self._writer.in_transaction:
                    await self._writer.execute("ROLLBACK")
                raise
            else:
                await self._writer.execute("COMMIT")

    async def rows(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        """Every row of one statement on the reader connection."""
        return list(await self._reader.execute_fetchall(sql, params))

    async def tuples(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        """Every row of one statement on the reader connection, as plain tuples: for
        reads of many rows (every unit's name), where a Row object each, and reading
        its fields by name, cost about as much as SQLite's own work."""
        async with self._reader.execute(sql, params) as cursor:
            cursor.row_factory = None  # applied as rows are fetched, to this cursor only
            return cast(list[tuple[Any, ...]], list(await cursor.fetchall()))

    async def row(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        """The first row of one statement on the reader connection, if any."""
        found = await self.rows(sql, params)
        return found[0] if found else None


async def rows_in(db: aiosqlite.Connection, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
    """Every row of one statement inside a write transaction (`Database.write`)."""
    return list(await db.execute_fetchall(sql, params))
