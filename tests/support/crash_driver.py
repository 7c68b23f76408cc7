"""Subscription and outbox writes in a loop, to be SIGKILLed at a random moment.

`python -m tests.support.crash_driver setup DB` prepares a store; `... run DB`
prints "ready" and then writes forever, through the real Store methods:

- the migrated chat moves between MIGRATED_OLD and MIGRATED_NEW (`migrate_chat`)
  with its subscription and PENDING_FOR_MIGRATED pending deliveries;
- TOGGLED subscribes (alternating two group choices) and unsubscribes;
- an announcement to the BULK subscribers is created (`create_announcement`,
  one delivery per subscriber in the same transaction);
- deliveries of the first announcement go pending → sending → pending, each
  write also naming its attempt in last_error (`mark_delivery`), so that a row
  whose columns come from two different writes is visible.

tests/test_crash.py checks the invariants after the kill (`check_invariants`).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from pathlib import Path

from ranking.store import Store

MIGRATED_OLD = -1001
MIGRATED_NEW = -100_000_001_001
TOGGLED = -2002
BULK = 600  # subscribers every announcement goes to
BULK_FIRST = -500_000
PENDING_FOR_MIGRATED = 400  # pending deliveries that move with the migrated chat
CYCLED = 200  # deliveries of announcement 1 cycling through states
CHOICES = (["huyen"], ["khong-tthc"])  # TOGGLED never follows tthc: not in announcements


async def setup(db: Path) -> None:
    store = await Store.open(db)
    try:
        for i in range(BULK):
            await store.outbox.subscribe(
                BULK_FIRST - i, "group", None if i % 2 else ["tthc"], by=1
            )
        await store.outbox.subscribe(MIGRATED_OLD, "group", ["huyen"], by=1)
        # announcements that only the migrated chat gets: its pending deliveries
        for n in range(PENDING_FOR_MIGRATED):
            await store.outbox.create_announcement(
                "text", created_by=1, text_html=f"m{n}", match_groups={"huyen"}
            )
        # remove the deliveries the bulk chats got from those (they follow all groups)
        async with store.write() as db_:
            await db_.execute("DELETE FROM deliveries WHERE chat_id != ?", (MIGRATED_OLD,))
            await db_.execute("DELETE FROM audit_log")
        # announcement number PENDING_FOR_MIGRATED + 1: the one whose rows cycle
        await store.outbox.create_announcement(
            "text", created_by=1, text_html="cycled", match_groups={"tthc"}
        )
    finally:
        await store.close()


def cycled_announcement() -> int:
    return PENDING_FOR_MIGRATED + 1


async def run(db: Path) -> None:
    store = await Store.open(db)
    try:
        first = cycled_announcement()
        print("ready", flush=True)
        step = 0
        while True:
            step += 1
            where = await store.outbox.subscription(MIGRATED_OLD)
            if where is False:
                await store.outbox.migrate_chat(MIGRATED_NEW, MIGRATED_OLD)
            else:
                await store.outbox.migrate_chat(MIGRATED_OLD, MIGRATED_NEW)
            if await store.outbox.subscription(TOGGLED) is False or step % 3 == 0:
                await store.outbox.subscribe(TOGGLED, "group", CHOICES[step % 2], by=7)
            else:
                await store.outbox.unsubscribe(TOGGLED, by=7)
            await store.outbox.create_announcement(
                "text", created_by=1, text_html=f"a{step}", match_groups={"tthc"}
            )
            for offset in range(5):
                chat = BULK_FIRST - (step * 5 + offset) % CYCLED
                async with (
                    store.write() as conn,
                    conn.execute(
                        "SELECT state, attempts FROM deliveries"
                        " WHERE announcement_id = ? AND chat_id = ?",
                        (first, chat),
                    ) as cur,
                ):
                    row = await cur.fetchone()
                assert row is not None
                state, attempts = row
                if state == "pending":
                    await store.outbox.mark_delivery(
                        first,
                        chat,
                        "sending",
                        attempt=True,
                        expect="pending",
                        error=f"try {attempts + 1}",
                    )
                else:
                    await store.outbox.mark_delivery(
                        first, chat, "pending", expect="sending", error=f"back {attempts}"
                    )
    finally:
        await store.close()


def check_invariants(db: Path) -> dict[str, int]:
    """Raise AssertionError unless every write is whole; return a few counts."""
    conn = sqlite3.connect(db)
    try:
        (check,) = conn.execute("PRAGMA integrity_check").fetchone()
        assert check == "ok", check

        def one(sql: str, *params: object) -> int:
            return int(conn.execute(sql, params).fetchone()[0])

        # the migrated chat: its subscription under exactly one id, its pending
        # deliveries all under that same id, and the audit trail agrees
        subscribed = [
            chat
            for chat in (MIGRATED_OLD, MIGRATED_NEW)
            if one("SELECT COUNT(*) FROM subscriptions WHERE chat_id = ?", chat)
        ]
        assert len(subscribed) == 1, subscribed
        (home,) = subscribed
        moves = one("SELECT COUNT(*) FROM audit_log WHERE action = 'migrate_chat'")
        assert home == (MIGRATED_OLD if moves % 2 == 0 else MIGRATED_NEW), (home, moves)
        pending = {
            chat: one("SELECT COUNT(*) FROM deliveries WHERE chat_id = ?", chat)
            for chat in (MIGRATED_OLD, MIGRATED_NEW)
        }
        assert pending[home] == PENDING_FOR_MIGRATED, pending
        assert sum(pending.values()) == PENDING_FOR_MIGRATED, pending
        groups = conn.execute(
            "SELECT groups FROM subscriptions WHERE chat_id = ?", (home,)
        ).fetchone()[0]
        assert json.loads(groups) == ["huyen"]

        # the toggled chat: what its audit trail replays to, exactly (each write and its
        # audit entry are one transaction)
        replayed: str | None = None
        for action, detail in conn.execute(
            "SELECT action, detail FROM audit_log WHERE action IN ('subscribe', 'unsubscribe')"
            " AND (detail = ? OR detail LIKE ?) ORDER BY id",
            (str(TOGGLED), f"{TOGGLED} %"),
        ):
            replayed = detail.split(" ", 1)[1] if action == "subscribe" else None
        row = conn.execute("SELECT groups FROM subscriptions WHERE chat_id = ?", (TOGGLED,))
        stored = row.fetchone()
        assert (stored[0] if stored else None) == replayed, (stored, replayed)

        # every announcement has exactly one delivery per bulk subscriber (or, for the
        # migrated chat's, exactly one): never a half-queued announcement
        per_announcement = conn.execute(
            "SELECT a.id, COUNT(d.chat_id) FROM announcements a"
            " LEFT JOIN deliveries d ON d.announcement_id = a.id GROUP BY a.id"
        ).fetchall()
        for announcement_id, count in per_announcement:
            expected = 1 if announcement_id <= PENDING_FOR_MIGRATED else BULK
            assert count == expected, (announcement_id, count)

        # a cycled delivery is in exactly one state, its columns from one write
        rows = conn.execute(
            "SELECT chat_id, state, attempts, last_error FROM deliveries"
            " WHERE announcement_id = ?",
            (cycled_announcement(),),
        ).fetchall()
        assert len(rows) == BULK
        sending = 0
        for chat, state, attempts, error in rows:
            if state == "sending":
                sending += 1
                assert error == f"try {attempts}", (chat, state, attempts, error)
            else:
                assert state == "pending", (chat, state)
                assert error == (f"back {attempts}" if attempts else None), (
                    chat,
                    state,
                    attempts,
                    error,
                )
        return {
            "moves": moves,
            "announcements": len(per_announcement),
            "sending": sending,
        }
    finally:
        conn.close()


def main(argv: list[str]) -> int:
    command, db = argv[1], Path(argv[2])
    if command == "setup":
        asyncio.run(setup(db))
    elif command == "run":
        asyncio.run(run(db))
    else:
        print(f"unknown command {command}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
