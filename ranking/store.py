"""The SQLite store: all SQL lives here, plain, with numbered migrations.

Design:
- Every import is a *version*; its rows are never updated. A (ranking, year,
  group) as published in one version is a *slice*; `current_slices` points
  each (ranking, year, group) at the newest version that is not undone, so
  an import switches whole slices at once and undo simply moves the pointer
  back. Readers on their own connection see the old pointer or the new one,
  never a mix (WAL snapshot isolation).
- One writer connection behind an asyncio.Lock, every write transaction
  `BEGIN IMMEDIATE` (a deferred transaction that later writes gets
  SQLITE_BUSY without waiting for busy_timeout); one reader connection.
- Scores are TEXT holding the exact Decimal as published: no float ever.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import aiosqlite

# Each entry moves the schema from version i to i+1 (PRAGMA user_version).
MIGRATIONS: list[str] = [
    # 1: units, versions, slices, scores, the current-slice pointer, user settings
    """
    CREATE TABLE units (
        id        INTEGER PRIMARY KEY,
        ranking   TEXT NOT NULL,
        name      TEXT NOT NULL,          -- as first published, NFC
        name_key  TEXT NOT NULL,          -- folded + abbreviations expanded: identity
        UNIQUE (ranking, name_key)
    );
    CREATE TABLE unit_aliases (
        ranking   TEXT NOT NULL,
        alias_key TEXT NOT NULL,
        unit_id   INTEGER NOT NULL REFERENCES units(id),
        PRIMARY KEY (ranking, alias_key)
    );
    CREATE TABLE versions (
        id           INTEGER PRIMARY KEY,
        created_at   TEXT NOT NULL,
        uploaded_by  INTEGER,              -- Telegram user id; NULL for shipped data
        file_name    TEXT NOT NULL,
        sha256       TEXT NOT NULL,
        row_count    INTEGER NOT NULL,
        undone_at    TEXT,
        undone_by    INTEGER
    );
    CREATE INDEX versions_sha ON versions(sha256);
    CREATE TABLE slices (
        version_id   INTEGER NOT NULL REFERENCES versions(id),
        ranking      TEXT NOT NULL,
        year         INTEGER NOT NULL,
        group_code   TEXT NOT NULL,
        max_score    TEXT NOT NULL,
        unit_count   INTEGER NOT NULL,    -- units ranked in the group that year
        band_scheme  TEXT,                -- NULL: this ranking has no levels
        source       TEXT NOT NULL,       -- decision number and date (most rows')
        PRIMARY KEY (version_id, ranking, year, group_code)
    );
    CREATE TABLE scores (
        version_id      INTEGER NOT NULL,
        ranking         TEXT NOT NULL,
        year            INTEGER NOT NULL,
        group_code      TEXT NOT NULL,
        unit_id         INTEGER NOT NULL REFERENCES units(id),
        name            TEXT NOT NULL,    -- as written in this file
        score           TEXT,             -- NULL: the source gives the rank only
        rank            INTEGER NOT NULL,
        rank_official   INTEGER NOT NULL, -- 1: from the source; 0: computed from scores
        published_level TEXT,             -- verbatim, may disagree with the score
        note            TEXT,
        components      TEXT,             -- JSON {column: "decimal"}
        source          TEXT NOT NULL,    -- this row's source; usually the slice's
        source_row      INTEGER,
        PRIMARY KEY (version_id, ranking, year, group_code, unit_id),
        FOREIGN KEY (version_id, ranking, year, group_code)
            REFERENCES slices(version_id, ranking, year, group_code)
    );
    CREATE INDEX scores_by_rank ON scores(version_id, ranking, year, group_code, rank);
    CREATE INDEX scores_by_unit ON scores(unit_id);
    CREATE TABLE current_slices (
        ranking     TEXT NOT NULL,
        year        INTEGER NOT NULL,
        group_code  TEXT NOT NULL,
        version_id  INTEGER NOT NULL REFERENCES versions(id),
        PRIMARY KEY (ranking, year, group_code)
    );
    CREATE TABLE user_settings (
        user_id   INTEGER PRIMARY KEY,
        language  TEXT NOT NULL
    );
    """,
    # 2: admins added in the bot, confirmations waiting for a button, an audit trail
    """
    CREATE TABLE admins (
        user_id   INTEGER PRIMARY KEY,
        added_by  INTEGER NOT NULL,
        added_at  TEXT NOT NULL
    );
    CREATE TABLE pending_actions (
        id          TEXT PRIMARY KEY,     -- random, carried in the buttons' callback data
        kind        TEXT NOT NULL,        -- 'import' | 'undo'
        user_id     INTEGER NOT NULL,     -- only this user may press the buttons
        chat_id     INTEGER NOT NULL,
        created_at  REAL NOT NULL,        -- epoch seconds: previews expire
        file_name   TEXT,
        sha256      TEXT,
        payload     BLOB,                 -- the uploaded file, so a restart loses nothing
        aliases     TEXT,                 -- JSON [[ranking, new key, known key], ...]
        target      INTEGER,              -- undo: the version previewed
        state       TEXT NOT NULL DEFAULT 'pending'  -- pending | done | cancelled
    );
    CREATE TABLE audit_log (
        id       INTEGER PRIMARY KEY,
        at       TEXT NOT NULL,
        user_id  INTEGER,
        action   TEXT NOT NULL,
        detail   TEXT
    );
    """,
    # 3: group announcements: who follows what, what was announced, a durable outbox
    """
    CREATE TABLE subscriptions (
        chat_id        INTEGER PRIMARY KEY,  -- a group, supergroup or a person's private chat
        chat_type      TEXT NOT NULL,
        groups         TEXT,                 -- JSON list of group codes; NULL: every group
        subscribed_by  INTEGER,
        created_at     TEXT NOT NULL
    );
    CREATE TABLE announcements (
        id          INTEGER PRIMARY KEY,
        kind        TEXT NOT NULL,           -- 'version' | 'text'
        version_id  INTEGER UNIQUE,          -- one announcement per imported version
        text_html   TEXT,                    -- 'text': the message; 'version': the fallback
        created_by  INTEGER,
        created_at  TEXT NOT NULL,
        state       TEXT NOT NULL DEFAULT 'queued'  -- draft | queued | cancelled
    );
    CREATE TABLE deliveries (
        announcement_id  INTEGER NOT NULL REFERENCES announcements(id),
        chat_id          INTEGER NOT NULL,
        state            TEXT NOT NULL DEFAULT 'pending',
            -- pending | sending | sent | uncertain | failed | unreachable
        attempts         INTEGER NOT NULL DEFAULT 0,
        last_error       TEXT,
        updated_at       TEXT NOT NULL,
        message_id       INTEGER,
        text_html        TEXT,               -- per-chat text; NULL: the announcement's
        PRIMARY KEY (announcement_id, chat_id)
    );
    CREATE INDEX deliveries_by_state ON deliveries(state, announcement_id, chat_id);
    """,
]


@dataclass(frozen=True)
class SliceInfo:
    ranking: str
    year: int
    group_code: str
    max_score: Decimal
    unit_count: int
    band_scheme: str | None
    source: str
    version_id: int
    loaded_at: str
    published: int  # rows on record


@dataclass(frozen=True)
class ScoreRecord:
    unit_id: int
    name: str
    score: Decimal | None
    rank: int
    rank_official: bool
    published_level: str | None
    note: str | None
    components: dict[str, Decimal]
    source: str


@dataclass(frozen=True)
class HistoryRecord:
    slice: SliceInfo
    record: ScoreRecord


@dataclass(frozen=True)
class VersionInfo:
    id: int
    created_at: str
    uploaded_by: int | None
    file_name: str
    sha256: str
    row_count: int
    undone_at: str | None


@dataclass(frozen=True)
class PendingAction:
    id: str
    kind: str
    user_id: int
    chat_id: int
    created_at: float
    file_name: str | None
    sha256: str | None
    payload: bytes | None
    aliases: list[tuple[str, str, str]]
    target: int | None
    state: str


class ActionTaken(Exception):
    """The confirmation was already used (a second press) or cancelled."""


class AlreadyImported(Exception):
    """commit_version(unless_known=...): a version of this file is already on record."""

    def __init__(self, version_id: int):
        super().__init__(f"already imported as version {version_id}")
        self.version_id = version_id


@dataclass(frozen=True)
class NewScore:
    """One row to write; the importer has validated it."""

    name: str
    name_key: str
    score: Decimal | None
    rank: int
    rank_official: bool
    published_level: str | None
    note: str | None
    components: dict[str, Decimal]
    source: str
    source_row: int | None
    # the published share of the maximum, in percent ("73,16 %" → 73.16); not stored yet
    share: Decimal | None = None


@dataclass(frozen=True)
class NewSlice:
    ranking: str
    year: int
    group_code: str
    max_score: Decimal
    unit_count: int
    band_scheme: str | None
    source: str
    rows: Sequence[NewScore]


class StoreError(Exception):
    """The store cannot be used (corrupt, newer schema, …)."""


def _statements(script: str) -> list[str]:
    """Split a migration into statements; sqlite3 knows where one ends (comments too)."""
    statements, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in pending.splitlines()
    ):
        raise StoreError("migration ends inside a statement")
    return statements


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


BUSY_TIMEOUT = 10.0  # seconds a connection waits for another one's write lock


async def _connect(path: str) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        await conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        await _wal(conn)
        # FULL: an admin who saw "import done" must not lose it to a power cut.
        await conn.execute("PRAGMA synchronous = FULL")
        await conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        await conn.close()  # else its thread keeps the process alive after the error
        raise
    return conn


async def _wal(conn: aiosqlite.Connection) -> None:
    """Switch a new database to WAL. The switch needs an exclusive lock and SQLite
    answers SQLITE_BUSY at once, without the busy handler, while another process
    opens the same new file: retry until the busy timeout."""
    deadline = asyncio.get_running_loop().time() + BUSY_TIMEOUT
    while True:
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.05)


class Store:
    """Async access to the ranking database."""

    def __init__(self, path: str, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path) -> Store:
        path = str(path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        writer = await _connect(path)
        try:
            await cls._migrate(writer)
            reader = await _connect(path)
        except BaseException:
            await writer.close()
            raise
        return cls(path, writer, reader)

    async def close(self) -> None:
        await self._reader.close()
        await self._writer.close()

    @staticmethod
    async def _migrate(conn: aiosqlite.Connection) -> None:
        async with conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        version = int(row[0]) if row else 0
        if version > len(MIGRATIONS):
            raise StoreError(f"database schema {version} is newer than this program's")
        for number in range(version, len(MIGRATIONS)):
            await conn.execute("BEGIN IMMEDIATE")
            try:
                # Another process starting at the same moment may have migrated while we
                # waited for the lock: read the version again under it.
                async with conn.execute("PRAGMA user_version") as cur:
                    row = await cur.fetchone()
                if row is not None and int(row[0]) > number:
                    await conn.execute("COMMIT")
                    continue
                for statement in _statements(MIGRATIONS[number]):
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version = {number + 1}")
                await conn.execute("COMMIT")
            except BaseException:
                await conn.execute("ROLLBACK")
                raise

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction: serialised, IMMEDIATE, all or nothing."""
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            else:
                await self._writer.execute("COMMIT")

    async def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        async with self._reader.execute(sql, tuple(params)) as cur:
            return list(await cur.fetchall())

    # ---- reads -------------------------------------------------------------

    async def data_version(self) -> int:
        """Changes whenever another connection (our writer, a CLI import) commits."""
        rows = await self._rows("PRAGMA data_version")
        return int(rows[0][0])

    async def is_empty(self) -> bool:
        rows = await self._rows("SELECT COUNT(*) FROM versions")
        return int(rows[0][0]) == 0

    _SLICE_SQL = """
        SELECT s.ranking, s.year, s.group_code, s.max_score, s.unit_count, s.band_scheme,
               s.source, s.version_id, v.created_at,
               (SELECT COUNT(*) FROM scores x WHERE x.version_id = s.version_id
                  AND x.ranking = s.ranking AND x.year = s.year AND x.group_code = s.group_code)
        FROM current_slices c
        JOIN slices s ON s.version_id = c.version_id AND s.ranking = c.ranking
                     AND s.year = c.year AND s.group_code = c.group_code
        JOIN versions v ON v.id = s.version_id
    """

    @staticmethod
    def _slice(row: Sequence[Any]) -> SliceInfo:
        return SliceInfo(
            ranking=row[0],
            year=row[1],
            group_code=row[2],
            max_score=Decimal(row[3]),
            unit_count=row[4],
            band_scheme=row[5],
            source=row[6],
            version_id=row[7],
            loaded_at=row[8],
            published=row[9],
        )

    async def current_slices(self, ranking: str | None = None) -> list[SliceInfo]:
        sql = self._SLICE_SQL
        params: list[Any] = []
        if ranking is not None:
            sql += " WHERE c.ranking = ?"
            params.append(ranking)
        sql += " ORDER BY s.ranking, s.year, s.group_code"
        return [self._slice(r) for r in await self._rows(sql, params)]

    async def current_slice(self, ranking: str, year: int, group: str) -> SliceInfo | None:
        rows = await self._rows(
            self._SLICE_SQL + " WHERE c.ranking = ? AND c.year = ? AND c.group_code = ?",
            (ranking, year, group),
        )
        return self._slice(rows[0]) if rows else None

    @staticmethod
    def _record(row: Sequence[Any]) -> ScoreRecord:
        components = {k: Decimal(v) for k, v in json.loads(row[7]).items()} if row[7] else {}
        return ScoreRecord(
            unit_id=row[0],
            name=row[1],
            score=_dec(row[2]),
            rank=row[3],
            rank_official=bool(row[4]),
            published_level=row[5],
            note=row[6],
            components=components,
            source=row[8],
        )

    _RECORD_COLS = (
        "x.unit_id, x.name, x.score, x.rank, x.rank_official, x.published_level, x.note, "
        "x.components, x.source"
    )

    async def window(self, slice_: SliceInfo, first: int, last: int) -> list[ScoreRecord]:
        """Published rows ranked first..last (inclusive), in rank order."""
        rows = await self._rows(
            f"SELECT {self._RECORD_COLS} FROM scores x"
            " WHERE x.version_id = ? AND x.ranking = ? AND x.year = ? AND x.group_code = ?"
            " AND x.rank BETWEEN ? AND ? ORDER BY x.rank, x.name",
            (slice_.version_id, slice_.ranking, slice_.year, slice_.group_code, first, last),
        )
        return [self._record(r) for r in rows]

    async def slice_records(self, slice_: SliceInfo) -> list[ScoreRecord]:
        return await self.window(slice_, 1, 2**31)

    async def slice_scores(self, slice_: SliceInfo) -> list[tuple[Decimal | None, str | None]]:
        """(score, published level) of every row of a slice, for counting levels."""
        rows = await self._rows(
            "SELECT score, published_level FROM scores"
            " WHERE version_id = ? AND ranking = ? AND year = ? AND group_code = ?",
            (slice_.version_id, slice_.ranking, slice_.year, slice_.group_code),
        )
        return [(_dec(r[0]), r[1]) for r in rows]

    async def unit_records(self, slice_: SliceInfo, unit_ids: Sequence[int]) -> list[ScoreRecord]:
        """The rows of these units in one slice (primary-key lookups, not a scan)."""
        if not unit_ids:
            return []
        ids = sorted(set(unit_ids))
        rows = await self._rows(
            f"SELECT {self._RECORD_COLS} FROM scores x"
            " WHERE x.version_id = ? AND x.ranking = ? AND x.year = ? AND x.group_code = ?"
            f" AND x.unit_id IN ({', '.join('?' * len(ids))})",
            (slice_.version_id, slice_.ranking, slice_.year, slice_.group_code, *ids),
        )
        return [self._record(r) for r in rows]

    async def unit_history(self, unit_id: int) -> list[HistoryRecord]:
        """Every current row of a unit, oldest year first."""
        rows = await self._rows(
            self._SLICE_SQL.replace(
                "FROM current_slices c",
                f", {self._RECORD_COLS} FROM current_slices c",
            )
            + " JOIN scores x ON x.version_id = s.version_id AND x.ranking = s.ranking"
            " AND x.year = s.year AND x.group_code = s.group_code"
            " WHERE x.unit_id = ? ORDER BY s.year, s.group_code",
            (unit_id,),
        )
        return [HistoryRecord(self._slice(r[:10]), self._record(r[10:])) for r in rows]

    async def unit_current_records(
        self, unit_id: int
    ) -> list[tuple[tuple[str, int, str, int], ScoreRecord]]:
        """((ranking, year, group, version id), row) of every current row of a unit:
        `unit_history` without the slice details (a caller holding them skips the
        per-slice row counts)."""
        rows = await self._rows(
            f"SELECT c.ranking, c.year, c.group_code, c.version_id, {self._RECORD_COLS}"
            " FROM scores x JOIN current_slices c ON c.version_id = x.version_id"
            " AND c.ranking = x.ranking AND c.year = x.year AND c.group_code = x.group_code"
            " WHERE x.unit_id = ? ORDER BY c.year, c.group_code",
            (unit_id,),
        )
        return [((r[0], r[1], r[2], r[3]), self._record(r[4:])) for r in rows]

    async def units_on_record(self) -> list[tuple[int, str, str, str]]:
        """(unit id, ranking, current name, key) for every unit with a current row,
        plus one entry per recorded alias."""
        rows = await self._rows(
            """
            SELECT u.id, u.ranking, x.name, u.name_key, MAX(x.year)
            FROM units u
            JOIN scores x ON x.unit_id = u.id
            JOIN current_slices c ON c.version_id = x.version_id AND c.ranking = x.ranking
                 AND c.year = x.year AND c.group_code = x.group_code
            GROUP BY u.id
            """
        )
        result = [(r[0], r[1], r[2], r[3]) for r in rows]
        names = {r[0]: r[2] for r in rows}
        for unit_id, ranking, alias_key in await self._rows(
            "SELECT unit_id, ranking, alias_key FROM unit_aliases"
        ):
            if unit_id in names:
                result.append((unit_id, ranking, names[unit_id], alias_key))
        return result

    async def unit_keys(self, ranking: str) -> dict[str, int]:
        """Every known key (names and aliases) of a ranking → unit id."""
        keys = {
            key: uid
            for uid, key in await self._rows(
                "SELECT id, name_key FROM units WHERE ranking = ?", (ranking,)
            )
        }
        for uid, key in await self._rows(
            "SELECT unit_id, alias_key FROM unit_aliases WHERE ranking = ?", (ranking,)
        ):
            keys[key] = uid
        return keys

    async def versions(self, limit: int = 20) -> list[VersionInfo]:
        rows = await self._rows(
            "SELECT id, created_at, uploaded_by, file_name, sha256, row_count, undone_at"
            " FROM versions ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [VersionInfo(*r) for r in rows]

    async def version_by_sha(self, sha256: str) -> VersionInfo | None:
        rows = await self._rows(
            "SELECT id, created_at, uploaded_by, file_name, sha256, row_count, undone_at"
            " FROM versions WHERE sha256 = ? AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
            (sha256,),
        )
        return VersionInfo(*rows[0]) if rows else None

    async def version_ever(self, sha256: str) -> bool:
        rows = await self._rows("SELECT 1 FROM versions WHERE sha256 = ? LIMIT 1", (sha256,))
        return bool(rows)

    async def language(self, user_id: int) -> str | None:
        rows = await self._rows("SELECT language FROM user_settings WHERE user_id = ?", (user_id,))
        return str(rows[0][0]) if rows else None

    # ---- writes ------------------------------------------------------------

    async def set_language(self, user_id: int, language: str) -> None:
        async with self.write() as db:
            await db.execute(
                "INSERT INTO user_settings (user_id, language) VALUES (?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET language = excluded.language",
                (user_id, language),
            )

    async def commit_version(
        self,
        slices: Sequence[NewSlice],
        *,
        file_name: str,
        sha256: str,
        uploaded_by: int | None,
        aliases: dict[tuple[str, str], str] | None = None,
        claim: str | None = None,
        unless_known: Literal["ever", "live"] | None = None,
    ) -> int:
        """Write one version and point its slices current, in one transaction.

        `aliases` maps (ranking, new name key) → existing name key for names an
        admin confirmed are the same unit as one on record. `claim` is a pending
        action id that must still be pending: it is marked done in the same
        transaction, so a button pressed twice imports once. `unless_known` raises
        AlreadyImported, writing nothing, when a version with this sha256 was ever
        recorded ("ever") or is live ("live"): checked inside the transaction, so two
        processes importing the same file at once import it once.
        """
        aliases = aliases or {}
        async with self.write() as db:
            if claim is not None:
                await self._claim(db, claim)
            if unless_known is not None:
                live = " AND undone_at IS NULL" if unless_known == "live" else ""
                async with db.execute(
                    f"SELECT id FROM versions WHERE sha256 = ?{live} ORDER BY id DESC LIMIT 1",
                    (sha256,),
                ) as cur:
                    seen = await cur.fetchone()
                if seen is not None:
                    raise AlreadyImported(int(seen[0]))
            cur = await db.execute(
                "INSERT INTO versions (created_at, uploaded_by, file_name, sha256, row_count)"
                " VALUES (?, ?, ?, ?, ?)",
                (_now(), uploaded_by, file_name, sha256, sum(len(s.rows) for s in slices)),
            )
            version_id = cur.lastrowid
            assert version_id is not None
            unit_ids: dict[tuple[str, str], int] = {}
            for ranking in {s.ranking for s in slices}:
                for key, uid in (await self._writer_unit_keys(db, ranking)).items():
                    unit_ids[(ranking, key)] = uid
            for (ranking, new_key), old_key in aliases.items():
                known = unit_ids.get((ranking, old_key))
                if known is not None and (ranking, new_key) not in unit_ids:
                    await db.execute(
                        "INSERT INTO unit_aliases (ranking, alias_key, unit_id) VALUES (?, ?, ?)",
                        (ranking, new_key, known),
                    )
                    unit_ids[(ranking, new_key)] = known
            for s in slices:
                await db.execute(
                    "INSERT INTO slices (version_id, ranking, year, group_code, max_score,"
                    " unit_count, band_scheme, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        version_id,
                        s.ranking,
                        s.year,
                        s.group_code,
                        str(s.max_score),
                        s.unit_count,
                        s.band_scheme,
                        s.source,
                    ),
                )
                params = []
                for row in s.rows:
                    found = unit_ids.get((s.ranking, row.name_key))
                    if found is None:
                        cur = await db.execute(
                            "INSERT INTO units (ranking, name, name_key) VALUES (?, ?, ?)",
                            (s.ranking, row.name, row.name_key),
                        )
                        assert cur.lastrowid is not None
                        found = unit_ids[(s.ranking, row.name_key)] = cur.lastrowid
                    uid = found
                    params.append(
                        (
                            version_id,
                            s.ranking,
                            s.year,
                            s.group_code,
                            uid,
                            row.name,
                            None if row.score is None else str(row.score),
                            row.rank,
                            int(row.rank_official),
                            row.published_level,
                            row.note,
                            json.dumps({k: str(v) for k, v in row.components.items()})
                            if row.components
                            else None,
                            row.source,
                            row.source_row,
                        )
                    )
                await db.executemany(
                    "INSERT INTO scores (version_id, ranking, year, group_code, unit_id, name,"
                    " score, rank, rank_official, published_level, note, components, source,"
                    " source_row) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    params,
                )
                await db.execute(
                    "INSERT INTO current_slices (ranking, year, group_code, version_id)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (ranking, year, group_code)"
                    " DO UPDATE SET version_id = excluded.version_id",
                    (s.ranking, s.year, s.group_code, version_id),
                )
        return version_id

    @staticmethod
    async def _writer_unit_keys(db: aiosqlite.Connection, ranking: str) -> dict[str, int]:
        keys: dict[str, int] = {}
        async with db.execute("SELECT id, name_key FROM units WHERE ranking = ?", (ranking,)) as c:
            keys.update({k: uid for uid, k in await c.fetchall()})
        async with db.execute(
            "SELECT unit_id, alias_key FROM unit_aliases WHERE ranking = ?", (ranking,)
        ) as c:
            keys.update({k: uid for uid, k in await c.fetchall()})
        return keys

    @staticmethod
    async def _claim(db: aiosqlite.Connection, action_id: str) -> None:
        cur = await db.execute(
            "UPDATE pending_actions SET state = 'done' WHERE id = ? AND state = 'pending'",
            (action_id,),
        )
        if cur.rowcount != 1:
            raise ActionTaken(action_id)

    async def undo_latest(
        self, *, undone_by: int | None, expect: int | None = None, claim: str | None = None
    ) -> VersionInfo | None:
        """Undo the newest live version: its slices fall back to the version before.

        With `expect`, nothing happens unless that is still the newest version
        (a newer upload since the preview must not be undone by mistake).
        """
        async with self.write() as db:
            if claim is not None:
                await self._claim(db, claim)
            async with db.execute(
                "SELECT id, created_at, uploaded_by, file_name, sha256, row_count, undone_at"
                " FROM versions WHERE undone_at IS NULL ORDER BY id DESC LIMIT 1"
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            version = VersionInfo(*row)
            if expect is not None and version.id != expect:
                raise ActionTaken(f"version {expect} is no longer the newest")
            await db.execute(
                "UPDATE versions SET undone_at = ?, undone_by = ? WHERE id = ?",
                (_now(), undone_by, version.id),
            )
            async with db.execute(
                "SELECT ranking, year, group_code FROM slices WHERE version_id = ?", (version.id,)
            ) as cur:
                keys = list(await cur.fetchall())
            for ranking, year, group in keys:
                await db.execute(
                    "DELETE FROM current_slices WHERE ranking = ? AND year = ? AND group_code = ?",
                    (ranking, year, group),
                )
                await db.execute(
                    "INSERT INTO current_slices (ranking, year, group_code, version_id)"
                    " SELECT s.ranking, s.year, s.group_code, MAX(s.version_id) FROM slices s"
                    " JOIN versions v ON v.id = s.version_id AND v.undone_at IS NULL"
                    " WHERE s.ranking = ? AND s.year = ? AND s.group_code = ?"
                    " GROUP BY s.ranking, s.year, s.group_code",
                    (ranking, year, group),
                )
        return version

    # ---- admins, confirmations, audit -----------------------------------------

    async def admin_ids(self) -> set[int]:
        return {int(r[0]) for r in await self._rows("SELECT user_id FROM admins")}

    async def add_admin(self, user_id: int, *, added_by: int) -> bool:
        async with self.write() as db:
            cur = await db.execute(
                "INSERT OR IGNORE INTO admins (user_id, added_by, added_at) VALUES (?, ?, ?)",
                (user_id, added_by, _now()),
            )
            await self._audit(db, added_by, "admin_add", str(user_id))
            return cur.rowcount == 1

    async def remove_admin(self, user_id: int, *, removed_by: int) -> bool:
        async with self.write() as db:
            cur = await db.execute("DELETE FROM admins WHERE user_id = ?", (user_id,))
            await self._audit(db, removed_by, "admin_remove", str(user_id))
            return cur.rowcount == 1

    async def audit(self, user_id: int | None, action: str, detail: str = "") -> None:
        async with self.write() as db:
            await self._audit(db, user_id, action, detail)

    @staticmethod
    async def _audit(
        db: aiosqlite.Connection, user_id: int | None, action: str, detail: str
    ) -> None:
        await db.execute(
            "INSERT INTO audit_log (at, user_id, action, detail) VALUES (?, ?, ?, ?)",
            (_now(), user_id, action, detail[:500]),
        )

    async def audit_entries(self, action: str | None = None) -> list[tuple[int | None, str, str]]:
        sql = "SELECT user_id, action, detail FROM audit_log"
        params: tuple[Any, ...] = ()
        if action:
            sql += " WHERE action = ?"
            params = (action,)
        return [(r[0], r[1], r[2]) for r in await self._rows(sql + " ORDER BY id", params)]

    async def add_pending(self, action: PendingAction) -> None:
        async with self.write() as db:
            await db.execute(
                "INSERT INTO pending_actions (id, kind, user_id, chat_id, created_at, file_name,"
                " sha256, payload, aliases, target, state)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    action.id,
                    action.kind,
                    action.user_id,
                    action.chat_id,
                    action.created_at,
                    action.file_name,
                    action.sha256,
                    action.payload,
                    json.dumps(action.aliases),
                    action.target,
                    action.state,
                ),
            )

    async def pending(self, action_id: str) -> PendingAction | None:
        rows = await self._rows(
            "SELECT id, kind, user_id, chat_id, created_at, file_name, sha256, payload, aliases,"
            " target, state FROM pending_actions WHERE id = ?",
            (action_id,),
        )
        if not rows:
            return None
        r = rows[0]
        aliases = [tuple(a) for a in json.loads(r[8])] if r[8] else []
        return PendingAction(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            aliases,
            r[9],
            r[10],
        )

    async def cancel_pending(self, action_id: str) -> bool:
        async with self.write() as db:
            cur = await db.execute(
                "UPDATE pending_actions SET state = 'cancelled', payload = NULL"
                " WHERE id = ? AND state = 'pending'",
                (action_id,),
            )
            return cur.rowcount == 1

    async def forget_old_pending(self, before: float) -> None:
        """Drop the file bytes of confirmations nobody can press any more."""
        async with self.write() as db:
            await db.execute(
                "UPDATE pending_actions SET payload = NULL WHERE created_at < ?", (before,)
            )

    # ---- announcements: subscriptions and a durable outbox (migration 3) --------------

    async def subscribe(
        self, chat_id: int, chat_type: str, groups: Sequence[str] | None, *, by: int | None
    ) -> bool:
        """Follow `groups` (None: all); a second /dangky replaces the choice.
        True when the chat was not subscribed before."""
        chosen = json.dumps(sorted(set(groups))) if groups else None
        async with self.write() as db:
            async with db.execute(
                "SELECT 1 FROM subscriptions WHERE chat_id = ?", (chat_id,)
            ) as cur:
                existed = await cur.fetchone() is not None
            await db.execute(
                "INSERT INTO subscriptions (chat_id, chat_type, groups, subscribed_by, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (chat_id) DO UPDATE SET"
                " chat_type = excluded.chat_type, groups = excluded.groups,"
                " subscribed_by = excluded.subscribed_by",
                (chat_id, chat_type, chosen, by, _now()),
            )
            await self._audit(db, by, "subscribe", f"{chat_id} {chosen or 'all'}")
        return not existed

    async def unsubscribe(self, chat_id: int, *, by: int | None, reason: str = "") -> bool:
        async with self.write() as db:
            cur = await db.execute("DELETE FROM subscriptions WHERE chat_id = ?", (chat_id,))
            if cur.rowcount:
                await self._audit(db, by, "unsubscribe", f"{chat_id} {reason}".strip())
            return cur.rowcount == 1

    async def subscriptions(self) -> list[tuple[int, str, tuple[str, ...] | None, str]]:
        """(chat id, chat type, followed groups or None for all, language) per subscriber;
        the language is the person's choice for a private chat, else Vietnamese."""
        rows = await self._rows(
            "SELECT s.chat_id, s.chat_type, s.groups, COALESCE(u.language, 'vi')"
            " FROM subscriptions s LEFT JOIN user_settings u ON u.user_id = s.chat_id"
            " ORDER BY s.chat_id"
        )
        return [(r[0], r[1], tuple(json.loads(r[2])) if r[2] else None, r[3]) for r in rows]

    async def subscription(self, chat_id: int) -> tuple[str, ...] | bool | None:
        """False: not subscribed; None: every group; else the groups followed."""
        rows = await self._rows("SELECT groups FROM subscriptions WHERE chat_id = ?", (chat_id,))
        if not rows:
            return False
        return tuple(json.loads(rows[0][0])) if rows[0][0] else None

    async def migrate_chat(self, old: int, new: int) -> None:
        """A group became supergroup `new`: move its subscription and its pending
        deliveries in one transaction (the new id wins if it already has them)."""
        async with self.write() as db:
            await db.execute(
                "INSERT OR IGNORE INTO subscriptions"
                " (chat_id, chat_type, groups, subscribed_by, created_at)"
                " SELECT ?, 'supergroup', groups, subscribed_by, created_at"
                " FROM subscriptions WHERE chat_id = ?",
                (new, old),
            )
            await db.execute("DELETE FROM subscriptions WHERE chat_id = ?", (old,))
            await db.execute(
                "INSERT OR IGNORE INTO deliveries (announcement_id, chat_id, state, attempts,"
                " last_error, updated_at, message_id, text_html)"
                " SELECT announcement_id, ?, 'pending', attempts, last_error, ?, NULL, text_html"
                " FROM deliveries WHERE chat_id = ? AND state = 'pending'",
                (new, _now(), old),
            )
            await db.execute(
                "DELETE FROM deliveries WHERE chat_id = ? AND state = 'pending'", (old,)
            )
            await self._audit(db, None, "migrate_chat", f"{old} -> {new}")

    async def create_announcement(
        self,
        kind: str,
        *,
        created_by: int | None,
        text_html: str | None,
        version_id: int | None = None,
        texts: dict[tuple[tuple[str, ...] | None, str], str] | None = None,
        match_groups: set[str] | None = None,
        draft: bool = False,
    ) -> tuple[int, bool]:
        """The announcement and one pending delivery per matching subscriber, at once.

        `texts` maps (followed groups, language) → that chat's text (a subscriber
        added since it was rendered gets `text_html`). A subscriber following
        none of `match_groups` gets nothing. A second call for the same version
        returns (existing id, False): an import is announced once. A `draft`
        gets its deliveries when `queue_draft` confirms it.
        """
        async with self.write() as db:
            if version_id is not None:
                async with db.execute(
                    "SELECT id FROM announcements WHERE version_id = ?", (version_id,)
                ) as cur:
                    found = await cur.fetchone()
                if found is not None:
                    return int(found[0]), False
            cur = await db.execute(
                "INSERT INTO announcements (kind, version_id, text_html, created_by, created_at,"
                " state) VALUES (?, ?, ?, ?, ?, ?)",
                (kind, version_id, text_html, created_by, _now(), "draft" if draft else "queued"),
            )
            announcement_id = cur.lastrowid
            assert announcement_id is not None
            if not draft:
                await self._queue_deliveries(db, announcement_id, texts or {}, match_groups)
        return announcement_id, True

    @staticmethod
    async def _queue_deliveries(
        db: aiosqlite.Connection,
        announcement_id: int,
        texts: dict[tuple[tuple[str, ...] | None, str], str],
        match_groups: set[str] | None,
    ) -> int:
        async with db.execute(
            "SELECT s.chat_id, s.groups, COALESCE(u.language, 'vi') FROM subscriptions s"
            " LEFT JOIN user_settings u ON u.user_id = s.chat_id"
        ) as cur:
            subscribers = list(await cur.fetchall())
        rows = []
        for chat_id, raw, lang in subscribers:
            groups = tuple(json.loads(raw)) if raw else None
            if match_groups is not None and groups is not None and not set(groups) & match_groups:
                continue
            rows.append((announcement_id, chat_id, _now(), texts.get((groups, lang))))
        await db.executemany(
            "INSERT OR IGNORE INTO deliveries (announcement_id, chat_id, state, updated_at,"
            " text_html) VALUES (?, ?, 'pending', ?, ?)",
            rows,
        )
        return len(rows)

    async def announcement(
        self, announcement_id: int
    ) -> tuple[str, str | None, int | None, str, str] | None:
        """(kind, text, created_by, created_at, state) of one announcement."""
        rows = await self._rows(
            "SELECT kind, text_html, created_by, created_at, state FROM announcements"
            " WHERE id = ?",
            (announcement_id,),
        )
        return (rows[0][0], rows[0][1], rows[0][2], rows[0][3], rows[0][4]) if rows else None

    async def queue_draft(self, announcement_id: int) -> int:
        """Confirm a draft: its deliveries, once. Raises ActionTaken on a second press."""
        async with self.write() as db:
            cur = await db.execute(
                "UPDATE announcements SET state = 'queued' WHERE id = ? AND state = 'draft'",
                (announcement_id,),
            )
            if cur.rowcount != 1:
                raise ActionTaken(str(announcement_id))
            return await self._queue_deliveries(db, announcement_id, {}, None)

    async def cancel_draft(self, announcement_id: int) -> bool:
        async with self.write() as db:
            cur = await db.execute(
                "UPDATE announcements SET state = 'cancelled' WHERE id = ? AND state = 'draft'",
                (announcement_id,),
            )
            return cur.rowcount == 1

    async def next_pending(self, limit: int = 100) -> list[tuple[int, int, str, int]]:
        """(announcement id, chat id, text, attempts) of deliveries still to send, oldest
        announcement first."""
        rows = await self._rows(
            "SELECT d.announcement_id, d.chat_id, COALESCE(d.text_html, a.text_html, ''),"
            " d.attempts FROM deliveries d JOIN announcements a ON a.id = d.announcement_id"
            " WHERE d.state = 'pending' ORDER BY d.announcement_id, d.chat_id LIMIT ?",
            (limit,),
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    async def mark_delivery(
        self,
        announcement_id: int,
        chat_id: int,
        state: str,
        *,
        error: str | None = None,
        message_id: int | None = None,
        attempt: bool = False,
        expect: str | None = None,
    ) -> bool:
        """Record a delivery's state; `attempt` counts one more try. With `expect`,
        only a row in that state changes (claiming a pending row before its send
        makes a row that was sent or moved meanwhile never go out twice)."""
        async with self.write() as db:
            cur = await db.execute(
                "UPDATE deliveries SET state = ?, last_error = COALESCE(?, last_error),"
                " message_id = COALESCE(?, message_id), attempts = attempts + ?,"
                " updated_at = ? WHERE announcement_id = ? AND chat_id = ?"
                " AND (? IS NULL OR state = ?)",
                (
                    state,
                    None if error is None else error[:300],
                    message_id,
                    int(attempt),
                    _now(),
                    announcement_id,
                    chat_id,
                    expect,
                    expect,
                ),
            )
            return cur.rowcount == 1

    async def settle_interrupted(self) -> int:
        """A send that was in flight when the process died may have arrived: mark it
        uncertain rather than send it twice."""
        async with self.write() as db:
            cur = await db.execute(
                "UPDATE deliveries SET state = 'uncertain', last_error = 'interrupted',"
                " updated_at = ? WHERE state = 'sending'",
                (_now(),),
            )
            return cur.rowcount

    async def announcement_status(self, announcement_id: int) -> dict[str, int]:
        rows = await self._rows(
            "SELECT state, COUNT(*) FROM deliveries WHERE announcement_id = ? GROUP BY state",
            (announcement_id,),
        )
        return {r[0]: int(r[1]) for r in rows}

    async def latest_announcement(self) -> tuple[int, str, int | None, str] | None:
        """(id, kind, version id, created_at) of the newest queued announcement."""
        rows = await self._rows(
            "SELECT id, kind, version_id, created_at FROM announcements"
            " WHERE state = 'queued' ORDER BY id DESC LIMIT 1"
        )
        return (rows[0][0], rows[0][1], rows[0][2], rows[0][3]) if rows else None

    async def version_groups(self, version_id: int) -> list[tuple[str, int, str, str]]:
        """(ranking, year, group, source) of every slice a version published."""
        rows = await self._rows(
            "SELECT ranking, year, group_code, source FROM slices WHERE version_id = ?"
            " ORDER BY ranking, year, group_code",
            (version_id,),
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]
