"""Scores: versions, slices, their rows, undo, and the score-data generation.

- Every import is a *version*; its rows are never updated. A (ranking, year,
  group) as published in one version is a *slice*; `current_slices` points
  each (ranking, year, group) at the newest version that is not undone, so
  an import switches whole slices at once and undo simply moves the pointer
  back. Readers on their own connection see the old pointer or the new one,
  never a mix (WAL snapshot isolation).
- Scores are TEXT holding the exact Decimal as published: no float ever.
- `score_generation` (migration 4) counts imports and undos, each in the
  transaction that makes it: a cache of score data compares it, and no other
  write moves it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

import aiosqlite

from ranking.collection import paused_while_awaited
from ranking.store.db import Database, now, rows_in
from ranking.store.people import ActionTaken, People


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
    share: Decimal | None = None  # per cent of the max as published; None: not published


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


class AlreadyImported(Exception):
    """unless_known=...: a version of this file is already on record."""

    def __init__(self, version_id: int):
        super().__init__(f"already imported as version {version_id}")
        self.version_id = version_id


# Not frozen: an import builds one a row, and a frozen __init__ sets each field
# through object.__setattr__ (1.7 against 0.6 µs a row); nothing changes one.
@dataclass(slots=True)
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
    # the published share of the maximum, in per cent ("71,77 %" → 71.77); None: not given
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


@dataclass(frozen=True)
class NewGroup:
    """A group an upload names that the catalog does not know (created with it)."""

    code: str
    ranking: str
    name_vi: str
    name_en: str
    short_vi: str
    short_en: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class StoredGroup:
    group: NewGroup
    version_id: int


@dataclass(frozen=True)
class NewLink:
    """One row of a reorganisation file: old unit → new unit from a date."""

    ranking: str
    from_date: str  # ISO date
    old_name: str
    old_key: str
    new_name: str
    new_key: str
    source: str
    source_row: int | None


@dataclass(frozen=True)
class Link:
    """A lineage row on record, with the units' ids and their names on record."""

    ranking: str
    from_date: str
    old_unit_id: int
    old_name: str
    new_unit_id: int
    new_name: str
    source: str


SliceKey = tuple[str, int, str, int]  # ranking, year, group code, version id


def _dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _slice(row: aiosqlite.Row) -> SliceInfo:
    """A row with the columns of CURRENT_SLICES."""
    return SliceInfo(
        ranking=row["ranking"],
        year=row["year"],
        group_code=row["group_code"],
        max_score=Decimal(row["max_score"]),
        unit_count=row["unit_count"],
        band_scheme=row["band_scheme"],
        source=row["slice_source"],
        version_id=row["version_id"],
        loaded_at=row["loaded_at"],
        published=row["published"],
    )


def _record(row: aiosqlite.Row) -> ScoreRecord:
    """A row with the columns x.unit_id, x.name, … x.source of `scores x`."""
    raw = row["components"]
    return ScoreRecord(
        unit_id=row["unit_id"],
        name=row["name"],
        score=_dec(row["score"]),
        rank=row["rank"],
        rank_official=bool(row["rank_official"]),
        published_level=row["published_level"],
        note=row["note"],
        components={k: Decimal(v) for k, v in json.loads(raw).items()} if raw else {},
        source=row["source"],
        share=_dec(row["share"]),
    )


def _version(row: aiosqlite.Row) -> VersionInfo:
    return VersionInfo(
        id=row["id"],
        created_at=row["created_at"],
        uploaded_by=row["uploaded_by"],
        file_name=row["file_name"],
        sha256=row["sha256"],
        row_count=row["row_count"],
        undone_at=row["undone_at"],
    )


# The current slices with their version's date and their rows on record; a filter
# left NULL matches every value (the table holds one row per ranking, year and group).
CURRENT_SLICES = """
    SELECT s.ranking, s.year, s.group_code, s.max_score, s.unit_count, s.band_scheme,
           s.source AS slice_source, s.version_id, v.created_at AS loaded_at,
           s.published
    FROM current_slices c
    JOIN slices s ON s.version_id = c.version_id AND s.ranking = c.ranking
                 AND s.year = c.year AND s.group_code = c.group_code
    JOIN versions v ON v.id = s.version_id
    WHERE (:ranking IS NULL OR c.ranking = :ranking)
      AND (:year IS NULL OR c.year = :year)
      AND (:group_code IS NULL OR c.group_code = :group_code)
    ORDER BY s.ranking, s.year, s.group_code
"""

# Which versions of a file (by SHA-256) count as "already imported".
KNOWN_VERSION = {
    "ever": "SELECT id FROM versions WHERE sha256 = ? ORDER BY id DESC LIMIT 1",
    "live": "SELECT id FROM versions WHERE sha256 = ? AND undone_at IS NULL"
    " ORDER BY id DESC LIMIT 1",
}


# A live version with this content whose every slice is still current: publishing
# the same content again would change nothing.
SAME_CONTENT = """
    SELECT v.id FROM versions v
    WHERE v.content_digest = ? AND v.undone_at IS NULL
      AND NOT EXISTS (
        SELECT 1 FROM slices s
        WHERE s.version_id = v.id AND NOT EXISTS (
          SELECT 1 FROM current_slices c
          WHERE c.version_id = v.id AND c.ranking = s.ranking AND c.year = s.year
            AND c.group_code = s.group_code))
    ORDER BY v.id DESC LIMIT 1
"""


# The current name of each unit in temp.names_touched (Scores._refresh_names says how).
REFRESH_NAMES: Final = """
    INSERT INTO current_names (unit_id, ranking, name, year)
    SELECT x.unit_id, x.ranking, x.name, x.year
    FROM temp.names_touched t
    JOIN scores x ON x.rowid = (
        SELECT y.rowid
        FROM scores y
        JOIN current_slices c ON c.version_id = y.version_id
             AND c.ranking = y.ranking AND c.year = y.year
             AND c.group_code = y.group_code
        WHERE y.unit_id = t.unit_id
        ORDER BY y.year DESC, y.group_code
        LIMIT 1
    )
"""


class Scores:
    """Methods whose first parameter is `db` write inside the caller's transaction
    (`Store.write()`); every other write is a transaction of its own."""

    def __init__(self, db: Database, people: People):
        self._db = db
        self._people = people  # confirmations claimed with an import or an undo

    # ---- reads ----------------------------------------------------------------------

    async def generation(self) -> int:
        """Changes with every import and undo, from this process or another one, and
        with nothing else: what a cache of score data compares."""
        row = await self._db.row("SELECT generation FROM score_generation")
        assert row is not None  # migration 4 writes the one row
        return int(row["generation"])

    def data_version(self) -> int | None:
        """A number that stays the same only while no connection has committed
        anything (see `Database.data_version`): while it does, `generation` has not
        moved. Answered without a trip to the database thread; None: ask `generation`."""
        return self._db.data_version()

    async def is_empty(self) -> bool:
        row = await self._db.row("SELECT COUNT(*) AS n FROM versions")
        return row is None or int(row["n"]) == 0

    async def current_slices(self, ranking: str | None = None) -> list[SliceInfo]:
        rows = await self._db.rows(
            CURRENT_SLICES, {"ranking": ranking, "year": None, "group_code": None}
        )
        return [_slice(r) for r in rows]

    async def current_slice(self, ranking: str, year: int, group: str) -> SliceInfo | None:
        row = await self._db.row(
            CURRENT_SLICES, {"ranking": ranking, "year": year, "group_code": group}
        )
        return _slice(row) if row else None

    async def window(self, slice_: SliceInfo, first: int, last: int) -> list[ScoreRecord]:
        """Published rows ranked first..last (inclusive), in rank order."""
        rows = await self._db.rows(
            "SELECT x.unit_id, x.name, x.score, x.rank, x.rank_official, x.published_level,"
            " x.note, x.components, x.source, x.share FROM scores x"
            " WHERE x.version_id = ? AND x.ranking = ? AND x.year = ? AND x.group_code = ?"
            " AND x.rank BETWEEN ? AND ? ORDER BY x.rank, x.name",
            (slice_.version_id, slice_.ranking, slice_.year, slice_.group_code, first, last),
        )
        return [_record(r) for r in rows]

    async def slice_records(self, slice_: SliceInfo) -> list[ScoreRecord]:
        return await self.window(slice_, 1, 2**31)

    async def slice_scores(
        self, slice_: SliceInfo
    ) -> list[tuple[Decimal | None, Decimal | None, str | None]]:
        """(score, published share, published level) of every row of a slice, for
        counting levels."""
        rows = await self._db.rows(
            "SELECT score, share, published_level FROM scores"
            " WHERE version_id = ? AND ranking = ? AND year = ? AND group_code = ?",
            (slice_.version_id, slice_.ranking, slice_.year, slice_.group_code),
        )
        return [(_dec(r["score"]), _dec(r["share"]), r["published_level"]) for r in rows]

    async def unit_records(self, slice_: SliceInfo, unit_ids: Sequence[int]) -> list[ScoreRecord]:
        """The rows of these units in one slice (primary-key lookups, not a scan)."""
        if not unit_ids:
            return []
        rows = await self._db.rows(
            "SELECT x.unit_id, x.name, x.score, x.rank, x.rank_official, x.published_level,"
            " x.note, x.components, x.source, x.share FROM scores x"
            " WHERE x.version_id = ? AND x.ranking = ? AND x.year = ? AND x.group_code = ?"
            " AND x.unit_id IN (SELECT value FROM json_each(?))",
            (
                slice_.version_id,
                slice_.ranking,
                slice_.year,
                slice_.group_code,
                json.dumps(sorted(set(unit_ids))),
            ),
        )
        return [_record(r) for r in rows]

    async def unit_history(self, unit_id: int) -> list[HistoryRecord]:
        """Every current row of a unit with its slice, oldest year first."""
        rows = await self._db.rows(
            """
            SELECT s.ranking, s.year, s.group_code, s.max_score, s.unit_count, s.band_scheme,
                   s.source AS slice_source, s.version_id, v.created_at AS loaded_at,
                   s.published,
                   x.unit_id, x.name, x.score, x.rank, x.rank_official, x.published_level,
                   x.note, x.components, x.source, x.share
            FROM current_slices c
            JOIN slices s ON s.version_id = c.version_id AND s.ranking = c.ranking
                         AND s.year = c.year AND s.group_code = c.group_code
            JOIN versions v ON v.id = s.version_id
            JOIN scores x ON x.version_id = s.version_id AND x.ranking = s.ranking
                         AND x.year = s.year AND x.group_code = s.group_code
            WHERE x.unit_id = ?
            ORDER BY s.year, s.group_code
            """,
            (unit_id,),
        )
        return [HistoryRecord(_slice(r), _record(r)) for r in rows]

    async def unit_current_records(self, unit_id: int) -> list[tuple[SliceKey, ScoreRecord]]:
        """((ranking, year, group, version id), row) of every current row of a unit:
        `unit_history` without the slice details (a caller holding them skips the
        per-slice row counts)."""
        rows = await self._db.rows(
            "SELECT c.ranking, c.year, c.group_code, c.version_id, x.unit_id, x.name, x.score,"
            " x.rank, x.rank_official, x.published_level, x.note, x.components, x.source,"
            " x.share FROM scores x JOIN current_slices c ON c.version_id = x.version_id"
            " AND c.ranking = x.ranking AND c.year = x.year AND c.group_code = x.group_code"
            " WHERE x.unit_id = ? ORDER BY c.year, c.group_code",
            (unit_id,),
        )
        return [
            ((r["ranking"], r["year"], r["group_code"], r["version_id"]), _record(r)) for r in rows
        ]

    async def units_on_record(self) -> list[tuple[int, str, str, str]]:
        """(unit id, ranking, current name, key) for every unit with a current row,
        plus one entry per recorded alias."""
        # current_names: the name in the unit's latest current year, kept by every
        # import and undo (migration 0009); finding it from the scores is a sort of
        # every current row
        # plain tuples, the shape the index takes: no Row object per unit
        result: list[tuple[int, str, str, str]] = await self._db.tuples(
            "SELECT n.unit_id, n.ranking, n.name, u.name_key FROM current_names n"
            " JOIN units u ON u.id = n.unit_id ORDER BY n.unit_id"
        )
        result += await self._db.tuples(
            "SELECT a.unit_id, a.ranking, n.name, a.alias_key FROM unit_aliases a"
            " JOIN current_names n ON n.unit_id = a.unit_id"
        )
        return result

    async def _known_keys(self, ranking: str) -> dict[str, tuple[int, str]]:
        """Every known key (names and aliases) of a ranking → (unit id, its name)."""
        known = {
            r["name_key"]: (r["id"], r["name"])
            for r in await self._db.rows(
                "SELECT id, name_key, name FROM units WHERE ranking = ?", (ranking,)
            )
        }
        for r in await self._db.rows(
            "SELECT a.alias_key, u.id, u.name FROM unit_aliases a"
            " JOIN units u ON u.id = a.unit_id WHERE a.ranking = ?",
            (ranking,),
        ):
            known[r["alias_key"]] = (r["id"], r["name"])
        return known

    async def unit_names(self, ranking: str) -> dict[str, str]:
        """Every known key (names and aliases) of a ranking → the unit's name on record."""
        return {key: name for key, (_, name) in (await self._known_keys(ranking)).items()}

    async def unit_rankings(self) -> list[str]:
        """The rankings that have units on record."""
        rows = await self._db.rows("SELECT DISTINCT ranking FROM units ORDER BY ranking")
        return [r["ranking"] for r in rows]

    async def unit_keys(self, ranking: str) -> dict[str, int]:
        """Every known key (names and aliases) of a ranking → unit id."""
        return {key: uid for key, (uid, _) in (await self._known_keys(ranking)).items()}

    async def versions(self, limit: int = 20) -> list[VersionInfo]:
        rows = await self._db.rows(
            "SELECT id, created_at, uploaded_by, file_name, sha256, row_count, undone_at"
            " FROM versions ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [_version(r) for r in rows]

    async def version_by_sha(self, sha256: str) -> VersionInfo | None:
        row = await self._db.row(
            "SELECT id, created_at, uploaded_by, file_name, sha256, row_count, undone_at"
            " FROM versions WHERE sha256 = ? AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
            (sha256,),
        )
        return _version(row) if row else None

    async def version_with_content(self, digest: str) -> int | None:
        """The live version holding exactly this content, still current; None if none."""
        if not digest:
            return None
        row = await self._db.row(SAME_CONTENT, (digest,))
        return int(row["id"]) if row else None

    async def versions_ever(self, digests: Sequence[str]) -> set[str]:
        """Which of these SHA-256 digests a version was ever recorded with: one
        statement for the shipped files at start-up, not one a file."""
        if not digests:
            return set()
        rows = await self._db.rows(
            "SELECT DISTINCT sha256 FROM versions WHERE sha256 IN"
            f" ({', '.join('?' * len(digests))})",
            list(digests),
        )
        return {r["sha256"] for r in rows}

    async def version_groups(self, version_id: int) -> list[tuple[str, int, str, str]]:
        """(ranking, year, group, source) of every slice a version published."""
        rows = await self._db.rows(
            "SELECT ranking, year, group_code, source FROM slices WHERE version_id = ?"
            " ORDER BY ranking, year, group_code",
            (version_id,),
        )
        return [(r["ranking"], r["year"], r["group_code"], r["source"]) for r in rows]

    async def created_groups(self) -> list[StoredGroup]:
        """Groups uploads created, of versions not undone."""
        rows = await self._db.rows(
            "SELECT g.code, g.ranking, g.name_vi, g.name_en, g.short_vi, g.short_en,"
            " g.aliases, g.version_id FROM groups g"
            " JOIN versions v ON v.id = g.version_id AND v.undone_at IS NULL ORDER BY g.rowid"
        )
        return [
            StoredGroup(
                NewGroup(
                    code=r["code"],
                    ranking=r["ranking"],
                    name_vi=r["name_vi"],
                    name_en=r["name_en"],
                    short_vi=r["short_vi"],
                    short_en=r["short_en"],
                    aliases=tuple(json.loads(r["aliases"])),
                ),
                r["version_id"],
            )
            for r in rows
        ]

    async def links(self) -> list[Link]:
        """Every lineage row of versions not undone, oldest date first (a few hundred
        rows at most: one per old → new pair of a reorganisation)."""
        rows = await self._db.rows(
            """
            SELECT l.ranking, l.from_date, l.old_unit_id, o.name AS old_name,
                   l.new_unit_id, n.name AS new_name, l.source
            FROM lineage l
            JOIN versions v ON v.id = l.version_id AND v.undone_at IS NULL
            JOIN units o ON o.id = l.old_unit_id
            JOIN units n ON n.id = l.new_unit_id
            ORDER BY l.from_date, l.new_unit_id, l.old_unit_id
            """
        )
        return [
            Link(
                ranking=r["ranking"],
                from_date=r["from_date"],
                old_unit_id=r["old_unit_id"],
                old_name=r["old_name"],
                new_unit_id=r["new_unit_id"],
                new_name=r["new_name"],
                source=r["source"],
            )
            for r in rows
        ]

    # ---- writes ---------------------------------------------------------------------

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
        groups: Sequence[NewGroup] = (),
        links: Sequence[NewLink] = (),
        content_digest: str | None = None,
    ) -> int:
        """Write one version and point its slices current, in one transaction.

        `claim` is a pending action id that must still be pending: it is marked
        done in the same transaction, so a button pressed twice imports once.
        For the rest see `insert_version`. An import with its audit line is
        `ranking.publishing.publish`.
        """
        async with self._db.write() as db:
            if claim is not None:
                await self._people.claim(db, claim)
            return await self.insert_version(
                db,
                slices,
                file_name=file_name,
                sha256=sha256,
                uploaded_by=uploaded_by,
                aliases=aliases,
                unless_known=unless_known,
                groups=groups,
                links=links,
                content_digest=content_digest,
            )

    # No cyclic collection while the rows are written: a parameter tuple a row, the
    # units' ids and rows read back, and each collection their allocations set off
    # walked the upload's rows (a NewScore each, kept since validation) for nothing:
    # 20–27 ms of a 30,000-row import's commit (gc callbacks, the import bench).
    @paused_while_awaited
    async def insert_version(
        self,
        db: aiosqlite.Connection,
        slices: Sequence[NewSlice],
        *,
        file_name: str,
        sha256: str,
        uploaded_by: int | None,
        aliases: dict[tuple[str, str], str] | None = None,
        unless_known: Literal["ever", "live"] | None = None,
        groups: Sequence[NewGroup] = (),
        links: Sequence[NewLink] = (),
        content_digest: str | None = None,
    ) -> int:
        """Write one version and point its slices current, in the caller's transaction.

        With `unless_known`, content already live and current (`content_digest`: the
        same sheet re-saved, or as CSV) is AlreadyImported too.

        `groups` are groups this upload creates (the catalog does not name them);
        `links` the rows of a reorganisation file (a version may hold both).

        `aliases` maps (ranking, new name key) → existing name key for names an
        admin confirmed are the same unit as one on record. `unless_known` raises
        AlreadyImported, writing nothing, when a version with this sha256 was ever
        recorded ("ever") or is live ("live"): checked inside the transaction, so two
        processes importing the same file at once import it once.
        """
        aliases = aliases or {}
        if unless_known is not None:
            seen = await rows_in(db, KNOWN_VERSION[unless_known], (sha256,))
            if not seen and content_digest:
                seen = await rows_in(db, SAME_CONTENT, (content_digest,))
            if seen:
                raise AlreadyImported(int(seen[0]["id"]))
        cur = await db.execute(
            "INSERT INTO versions (created_at, uploaded_by, file_name, sha256, row_count,"
            " content_digest) VALUES (?, ?, ?, ?, ?, ?)",
            (
                now(),
                uploaded_by,
                file_name,
                sha256,
                sum(len(s.rows) for s in slices) + len(links),
                content_digest,
            ),
        )
        version_id = cur.lastrowid
        assert version_id is not None
        await self._start_names(db)
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
        for group in groups:
            await db.execute(
                "INSERT INTO groups (code, ranking, name_vi, name_en, short_vi, short_en,"
                " aliases, version_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (code) DO UPDATE SET ranking = excluded.ranking,"
                " name_vi = excluded.name_vi, name_en = excluded.name_en,"
                " short_vi = excluded.short_vi, short_en = excluded.short_en,"
                " aliases = excluded.aliases, version_id = excluded.version_id",
                (
                    group.code,
                    group.ranking,
                    group.name_vi,
                    group.name_en,
                    group.short_vi,
                    group.short_en,
                    json.dumps(list(group.aliases), ensure_ascii=False),
                    version_id,
                ),
            )
        for ranking in {link.ranking for link in links} - {s.ranking for s in slices}:
            for key, uid in (await self._writer_unit_keys(db, ranking)).items():
                unit_ids[(ranking, key)] = uid
        # the units first named by a link (TP. Huế in 2025), then the links, each in
        # one statement (one trip to the database thread, not one a row)
        linked_units: dict[tuple[str, str], str] = {}
        for link in links:
            for name, key in ((link.old_name, link.old_key), (link.new_name, link.new_key)):
                if (link.ranking, key) not in unit_ids:
                    linked_units.setdefault((link.ranking, key), name)
        await self._add_units(db, linked_units, unit_ids)
        if links:
            await db.executemany(
                "INSERT INTO lineage (version_id, ranking, from_date, old_unit_id, new_unit_id,"
                " source, source_row) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                [
                    (
                        version_id,
                        link.ranking,
                        link.from_date,
                        unit_ids[(link.ranking, link.old_key)],
                        unit_ids[(link.ranking, link.new_key)],
                        link.source,
                        link.source_row,
                    )
                    for link in links
                ],
            )
        # the units first named here, in one statement (one trip to the database
        # thread, not one a unit), in the order the rows name them
        new_units: dict[tuple[str, str], str] = {}
        for s in slices:
            for row in s.rows:
                if (s.ranking, row.name_key) not in unit_ids:
                    new_units.setdefault((s.ranking, row.name_key), row.name)
        await self._add_units(db, new_units, unit_ids)
        # each kind of statement once for all the slices (a trip to the database
        # thread each, not one a slice): the slices, then their rows (each row's
        # slice is there for its foreign key), then the units of the rows they stop
        # being current, and only then the slices pointed current
        await db.executemany(
            "INSERT INTO slices (version_id, ranking, year, group_code, max_score,"
            " unit_count, band_scheme, source, published) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    version_id,
                    s.ranking,
                    s.year,
                    s.group_code,
                    str(s.max_score),
                    s.unit_count,
                    s.band_scheme,
                    s.source,
                    len(s.rows),  # the rows written below: migration 11
                )
                for s in slices
            ],
        )
        params = [
            (
                version_id,
                s.ranking,
                s.year,
                s.group_code,
                unit_ids[(s.ranking, row.name_key)],
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
                None if row.share is None else str(row.share),
            )
            for s in slices
            for row in s.rows
        ]
        await db.executemany(
            "INSERT INTO scores (version_id, ranking, year, group_code, unit_id, name,"
            " score, rank, rank_official, published_level, note, components, source,"
            " source_row, share) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            params,
        )
        where = [(s.ranking, s.year, s.group_code) for s in slices]
        await self._touch_names(db, where)  # the rows these slices stop being current
        await db.executemany(
            "INSERT INTO current_slices (ranking, year, group_code, version_id)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (ranking, year, group_code)"
            " DO UPDATE SET version_id = excluded.version_id",
            [(*slice_key, version_id) for slice_key in where],
        )
        # and the rows now current: every row of this version (each of its slices
        # is current now), in one statement rather than one a slice
        await db.execute(
            "INSERT OR IGNORE INTO temp.names_touched (unit_id)"
            " SELECT unit_id FROM scores WHERE version_id = ?",
            (version_id,),
        )
        await self._refresh_names(db)
        await self._next_generation(db)
        return version_id

    async def _add_units(
        self,
        db: aiosqlite.Connection,
        names: dict[tuple[str, str], str],
        unit_ids: dict[tuple[str, str], int],
    ) -> None:
        """Insert the units (ranking, name key) → name in one statement, in their
        order, and note their ids in `unit_ids`."""
        if not names:
            return
        await db.executemany(
            "INSERT INTO units (ranking, name, name_key) VALUES (?, ?, ?)",
            [(ranking, name, key) for (ranking, key), name in names.items()],
        )
        for ranking in {ranking for ranking, _ in names}:
            for key, uid in (await self._writer_unit_keys(db, ranking)).items():
                unit_ids[(ranking, key)] = uid

    async def _writer_unit_keys(self, db: aiosqlite.Connection, ranking: str) -> dict[str, int]:
        keys = {
            r["name_key"]: r["id"]
            for r in await rows_in(
                db, "SELECT id, name_key FROM units WHERE ranking = ?", (ranking,)
            )
        }
        for r in await rows_in(
            db, "SELECT unit_id, alias_key FROM unit_aliases WHERE ranking = ?", (ranking,)
        ):
            keys[r["alias_key"]] = r["unit_id"]
        return keys

    # ---- current names (migration 0009) ------------------------------------------------
    # A change of current slices changes the current name of the units in the rows
    # it makes current or stops being current, and of no other unit: those units are
    # gathered in a temporary table of the writer's connection (an import may touch
    # 100,000 units: too many for one statement's parameters), then their names are
    # found again from the current rows, in the same transaction as the change.

    @staticmethod
    async def _start_names(db: aiosqlite.Connection) -> None:
        await db.execute(
            "CREATE TEMP TABLE IF NOT EXISTS names_touched (unit_id INTEGER PRIMARY KEY)"
        )
        await db.execute("DELETE FROM temp.names_touched")

    @staticmethod
    async def _touch_names(
        db: aiosqlite.Connection, where: Sequence[tuple[str, int, str]]
    ) -> None:
        """Note the units of the rows now current in the slices (ranking, year, group)."""
        await db.executemany(
            "INSERT OR IGNORE INTO temp.names_touched (unit_id)"
            " SELECT x.unit_id FROM current_slices c"
            " JOIN scores x ON x.version_id = c.version_id AND x.ranking = c.ranking"
            " AND x.year = c.year AND x.group_code = c.group_code"
            " WHERE c.ranking = ? AND c.year = ? AND c.group_code = ?",
            where,
        )

    @staticmethod
    async def _refresh_names(db: aiosqlite.Connection) -> None:
        """Find the current name of every unit noted again, as migration 0009 does.

        Its row is the first of its current rows by year (newest) and group code,
        looked up unit by unit through scores_by_unit: migration 0009's window over
        the same rows made SQLite scan the whole index (every score row of the
        store) and sort what it kept. The index holds a unit's rows newest year
        first, then by group code (migration 0010), so the lookup stops at the
        unit's first current row instead of sorting them all. A unit has at most
        one current row a year and group (one version a slice), so the first is
        the same row."""
        await db.execute(
            "DELETE FROM current_names WHERE unit_id IN (SELECT unit_id FROM temp.names_touched)"
        )
        await db.execute(REFRESH_NAMES)
        await db.execute("DELETE FROM temp.names_touched")

    @staticmethod
    async def _next_generation(db: aiosqlite.Connection) -> None:
        await db.execute("UPDATE score_generation SET generation = generation + 1")

    async def undo_latest(
        self, *, undone_by: int | None, expect: int | None = None, claim: str | None = None
    ) -> VersionInfo | None:
        """Undo the newest live version: its slices fall back to the version before.

        With `expect`, nothing happens unless that is still the newest version
        (a newer upload since the preview must not be undone by mistake). `claim`
        as in `commit_version`.
        """
        async with self._db.write() as db:
            return await self.undo_latest_in(db, undone_by=undone_by, expect=expect, claim=claim)

    async def undo_latest_in(
        self,
        db: aiosqlite.Connection,
        *,
        undone_by: int | None,
        expect: int | None = None,
        claim: str | None = None,
    ) -> VersionInfo | None:
        """`undo_latest` inside a write (`db`), so that the undo's audit line and the
        retraction of its announcement commit with it (ranking/publishing.py)."""
        if claim is not None:
            await self._people.claim(db, claim)
        found = await rows_in(
            db,
            "SELECT id, created_at, uploaded_by, file_name, sha256, row_count, undone_at"
            " FROM versions WHERE undone_at IS NULL ORDER BY id DESC LIMIT 1",
        )
        if not found:
            return None
        version = _version(found[0])
        if expect is not None and version.id != expect:
            raise ActionTaken(f"version {expect} is no longer the newest")
        await db.execute(
            "UPDATE versions SET undone_at = ?, undone_by = ? WHERE id = ?",
            (now(), undone_by, version.id),
        )
        keys = await rows_in(
            db,
            "SELECT ranking, year, group_code FROM slices WHERE version_id = ?",
            (version.id,),
        )
        await self._start_names(db)
        for key in keys:
            where = (key["ranking"], key["year"], key["group_code"])
            await self._touch_names(db, [where])
            await db.execute(
                "DELETE FROM current_slices WHERE ranking = ? AND year = ? AND group_code = ?",
                where,
            )
            await db.execute(
                "INSERT INTO current_slices (ranking, year, group_code, version_id)"
                " SELECT s.ranking, s.year, s.group_code, MAX(s.version_id) FROM slices s"
                " JOIN versions v ON v.id = s.version_id AND v.undone_at IS NULL"
                " WHERE s.ranking = ? AND s.year = ? AND s.group_code = ?"
                " GROUP BY s.ranking, s.year, s.group_code",
                where,
            )
            await self._touch_names(db, [where])
        await self._refresh_names(db)
        await self._next_generation(db)
        return version
