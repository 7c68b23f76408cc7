"""A full disk for the store's writer, and space again, without filling a real disk."""

from __future__ import annotations

import sqlite3

from ranking.store import Store


async def fill_the_disk(store: Store) -> None:
    """A full disk for the writer: SQLite's page limit at the file's current size,
    then subscriptions of made-up chats (ids 1, 2, … below every real one, so a
    real chat's row goes where the last one did not fit) until no page is left.
    SQLite then answers SQLITE_FULL, "database or disk is full", as on a full disk."""
    writer = store._db._writer
    rows = list(await writer.execute_fetchall("PRAGMA page_count"))
    await writer.execute(f"PRAGMA max_page_count = {rows[0][0]}")
    for chat_id in range(1, 100_000):
        try:
            await writer.execute(
                "INSERT INTO subscriptions (channel, chat_id, chat_type, groups,"
                " subscribed_by, created_at) VALUES ('telegram', ?, 'private', NULL, ?, ?)",
                (chat_id, chat_id, "2026-01-01T00:00:00+00:00"),
            )
        except sqlite3.OperationalError as exc:
            assert "full" in str(exc)
            return
    raise AssertionError("the page limit never filled")


async def free_the_disk(store: Store) -> None:
    await store._db._writer.execute("PRAGMA max_page_count = 1073741823")
