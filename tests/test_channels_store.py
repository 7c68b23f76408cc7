"""Migration 7: subscriptions and deliveries of two channels in one outbox, Telegram's
rows kept as they were, Zalo's text ids kept as text."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from ranking.store import Store
from tests.test_migrations import old_database


def typeof(path: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return [tuple(row) for row in conn.execute(sql)]


async def test_telegram_rows_survive_and_zalo_ids_stay_text(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old_database(path, 5)  # subscription -100 following tthc
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript(
            """
            INSERT INTO announcements (id, kind, text_html, created_at)
                VALUES (1, 'text', 'hi', 't');
            INSERT INTO deliveries (announcement_id, chat_id, state, updated_at, message_id)
                VALUES (1, -100, 'sent', 't', 77), (1, -200, 'sending', 't', NULL);
            """
        )
    store = await Store.open(path)
    try:
        outbox = store.outbox
        assert await outbox.subscription(-100) == ("tthc",)
        assert typeof(path, "SELECT channel, chat_id, typeof(chat_id) FROM subscriptions") == [
            ("telegram", -100, "integer")
        ]
        assert typeof(
            path, "SELECT channel, chat_id, state, message_id, typeof(message_id) FROM deliveries"
        ) == [
            ("telegram", -100, "sent", 77, "integer"),
            ("telegram", -200, "sending", None, "null"),
        ]
        # a Zalo id of digits only is still text, and another chat than Telegram's 42
        await outbox.subscribe("0042", "group", None, by=None, channel="zalo", actor="zalo:u1")
        await outbox.subscribe("42", "private", ["huyen"], by=None, channel="zalo")
        await outbox.subscribe(42, "private", None, by=42)
        assert await outbox.subscription("0042", channel="zalo") is None
        assert await outbox.subscription("42", channel="zalo") == ("huyen",)
        assert await outbox.subscription(42) is None
        assert await outbox.subscription("42") is False  # Telegram has no text id "42"
        assert ("zalo", "0042", "text") in typeof(
            path, "SELECT channel, chat_id, typeof(chat_id) FROM subscriptions"
        )
        # languages: a Telegram person's choice is not a Zalo chat's with the same digits
        await store.people.set_language(42, "en")
        await store.people.set_channel_language("zalo", "0042", "en")
        languages = {(chat, lang) for chat, _, _, lang in await outbox.subscriptions()}
        assert languages == {(-100, "vi"), (42, "en"), ("0042", "en"), ("42", "vi")}
        # one announcement, one delivery per subscriber of each channel
        announcement_id, _ = await outbox.create_announcement(
            "text", created_by=1, text_html="news", match_groups={"huyen"}
        )
        assert await outbox.announcement_status(announcement_id) == {"pending": 3}
        assert await outbox.announcement_status(announcement_id, channel="zalo") == {"pending": 2}
        telegram = await outbox.next_pending()
        zalo = await outbox.next_pending_text_ids("zalo")
        assert [(a, chat) for a, chat, _, _ in telegram] == [(announcement_id, 42)]
        assert sorted(chat for _, chat, _, _ in zalo) == ["0042", "42"]
        # each channel's worker marks and settles its own rows only
        assert await outbox.mark_delivery(
            announcement_id, "42", "sending", expect="pending", channel="zalo"
        )
        assert not await outbox.mark_delivery(announcement_id, 42, "sent", expect="sending")
        assert await outbox.settle_interrupted(channel="zalo") == 1
        assert await outbox.settle_interrupted() == 1  # Telegram's -200 of the old run
        assert await outbox.announcement_status(announcement_id, channel="zalo") == {
            "pending": 1,
            "uncertain": 1,
        }
        assert await outbox.unsubscribe("0042", by=None, channel="zalo", actor="zalo:u1")
        assert not await outbox.unsubscribe(42, by=None, channel="zalo")
        assert await outbox.subscription(42) is None
    finally:
        await store.close()
    audit = typeof(path, "SELECT action, detail FROM audit_log WHERE action LIKE '%subscribe'")
    assert ("subscribe", "zalo:0042 all by zalo:u1") in audit
    assert ("subscribe", "42 all") in audit  # Telegram's lines as before
    assert ("unsubscribe", "zalo:0042 by zalo:u1") in audit
