"""The SQLite store: all SQL lives in this package, plain, with numbered migrations.

`Store` is one database (db.py: a writer and a reader connection, WAL, the
write lock, migrations/NNNN_*.sql) seen through three concerns:

- `store.scores`: versions, slices and their rows, undo, the score-data generation;
- `store.people`: languages, admins, the audit trail, confirmations waiting for
  a button;
- `store.outbox`: subscriptions, announcements and their deliveries.

Callers use the concern (`store.scores.window(...)`); `Store` itself only opens,
closes and hands out a write transaction (`store.write()`) for work that spans
concerns, such as an import and its audit line (ranking/publishing.py).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path

import aiosqlite

from ranking.store.db import SCHEMA_VERSION, Database, StoreError, migrations
from ranking.store.failures import StoreFailure, store_failure
from ranking.store.outbox import Outbox, Retraction
from ranking.store.people import ActionTaken, AuditEntry, PendingAction, People
from ranking.store.scores import (
    AlreadyImported,
    HistoryRecord,
    Link,
    NewGroup,
    NewLink,
    NewScore,
    NewSlice,
    ScoreRecord,
    Scores,
    SliceInfo,
    StoredGroup,
    VersionInfo,
)

__all__ = [
    "SCHEMA_VERSION",
    "ActionTaken",
    "AlreadyImported",
    "AuditEntry",
    "HistoryRecord",
    "Link",
    "NewGroup",
    "NewLink",
    "NewScore",
    "NewSlice",
    "Outbox",
    "PendingAction",
    "People",
    "Retraction",
    "ScoreRecord",
    "Scores",
    "SliceInfo",
    "Store",
    "StoreError",
    "StoreFailure",
    "StoredGroup",
    "VersionInfo",
    "migrations",
    "store_failure",
]


class Store:
    """Async access to the ranking database."""

    def __init__(self, db: Database):
        self.path = db.path
        self._db = db
        self.people = People(db)
        self.scores = Scores(db, self.people)
        self.outbox = Outbox(db, self.people)

    @classmethod
    async def open(cls, path: str | Path) -> Store:
        """Open (creating if need be) and migrate; StoreError for a newer schema."""
        return cls(await Database.open(path))

    async def close(self) -> None:
        await self._db.close()

    def write(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        """One write transaction: serialised, BEGIN IMMEDIATE, all or nothing. The
        methods of the concerns whose first parameter is `db` join it."""
        return self._db.write()
