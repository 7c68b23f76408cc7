"""The outbox: who follows which groups, what was announced, and one delivery row per
announcement and chat, written before anything is sent (migration 3).

A delivery is claimed (`pending` → `sending`) before its send and settled after it,
so a process that dies mid-send leaves a row marked `uncertain` on restart rather
than a message sent twice.

Channels (migration 7): a subscription and a delivery belong to a channel,
"telegram" (integer chat ids) or "zalo" (text chat ids). Every method defaults to
Telegram, so its callers need not name it; each channel's worker reads and settles
only its own rows, and an announcement is queued for the subscribers of every
channel at once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import aiosqlite

from ranking.store.db import Database, now, rows_in
from ranking.store.people import ActionTaken, People

Groups = tuple[str, ...] | None  # the groups a chat follows; None: every group
# (followed groups, language) → the text of a version's announcement for such chats
Texts = dict[tuple[Groups, str], str]
# Telegram's chat ids are integers, Zalo's strings (migration 7)
ChatId = int | str
TELEGRAM = "telegram"


class Outbox:
    """Subscriptions, announcements and deliveries."""

    def __init__(self, db: Database, people: People):
        self._db = db
        self._people = people  # (un)subscriptions and chat moves go to the audit trail

    # ---- subscriptions --------------------------------------------------------------

    async def subscribe(
        self,
        chat_id: ChatId,
        chat_type: str,
        groups: Sequence[str] | None,
        *,
        by: int | None,
        channel: str = TELEGRAM,
        actor: str | None = None,
    ) -> bool:
        """Follow `groups` (None: all); a second /dangky replaces the choice.
        True when the chat was not subscribed before. `actor` names, in the audit
        line, who asked on a channel whose user ids are not integers (`by` is None)."""
        chosen = json.dumps(sorted(set(groups))) if groups else None
        async with self._db.write() as db:
            existed = bool(
                await rows_in(
                    db,
                    "SELECT 1 FROM subscriptions WHERE channel = ? AND chat_id = ?",
                    (channel, chat_id),
                )
            )
            await db.execute(
                "INSERT INTO subscriptions"
                " (channel, chat_id, chat_type, groups, subscribed_by, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (channel, chat_id) DO UPDATE SET"
                " chat_type = excluded.chat_type, groups = excluded.groups,"
                " subscribed_by = excluded.subscribed_by",
                (channel, chat_id, chat_type, chosen, by, now()),
            )
            detail = f"{_chat_label(channel, chat_id)} {chosen or 'all'}{_by(actor)}"
            await self._people.insert_audit(db, by, "subscribe", detail)
        return not existed

    async def unsubscribe(
        self,
        chat_id: ChatId,
        *,
        by: int | None,
        reason: str = "",
        channel: str = TELEGRAM,
        actor: str | None = None,
    ) -> bool:
        async with self._db.write() as db:
            cur = await db.execute(
                "DELETE FROM subscriptions WHERE channel = ? AND chat_id = ?", (channel, chat_id)
            )
            if cur.rowcount:
                detail = f"{_chat_label(channel, chat_id)} {reason}".strip() + _by(actor)
                await self._people.insert_audit(db, by, "unsubscribe", detail)
            return cur.rowcount == 1

    async def subscriptions(self) -> list[tuple[ChatId, str, Groups, str]]:
        """(chat id, chat type, followed groups or None for all, language) per subscriber
        of every channel; the language is the person's choice for a private chat (a
        Telegram person's in user_settings, anyone else's in channel_languages), else
        Vietnamese: a group's id is never a person's."""
        rows = await self._db.rows(
            "SELECT s.chat_id, s.chat_type, s.groups,"
            " COALESCE(u.language, c.language, 'vi') AS language FROM subscriptions s"
            " LEFT JOIN user_settings u ON s.channel = 'telegram' AND u.user_id = s.chat_id"
            " LEFT JOIN channel_languages c ON c.channel = s.channel AND c.user_id = s.chat_id"
            " ORDER BY s.channel, s.chat_id"
        )
        return [(r["chat_id"], r["chat_type"], _groups(r["groups"]), r["language"]) for r in rows]

    async def subscription(
        self, chat_id: ChatId, *, channel: str = TELEGRAM
    ) -> tuple[str, ...] | bool | None:
        """False: not subscribed; None: every group; else the groups followed."""
        row = await self._db.row(
            "SELECT groups FROM subscriptions WHERE channel = ? AND chat_id = ?",
            (channel, chat_id),
        )
        if row is None:
            return False
        return _groups(row["groups"])

    async def migrate_chat(self, old: int, new: int) -> None:
        """A group became supergroup `new`: move its subscription and its pending
        deliveries in one transaction (the new id wins if it already has them)."""
        async with self._db.write() as db:
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
                (new, now(), old),
            )
            await db.execute(
                "DELETE FROM deliveries WHERE chat_id = ? AND state = 'pending'", (old,)
            )
            await self._people.insert_audit(db, None, "migrate_chat", f"{old} -> {new}")

    # ---- announcements ----------------------------------------------------------------

    async def create_announcement(
        self,
        kind: str,
        *,
        created_by: int | None,
        text_html: str | None,
        version_id: int | None = None,
        texts: Texts | None = None,
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
        async with self._db.write() as db:
            if version_id is not None:
                found = await rows_in(
                    db, "SELECT id FROM announcements WHERE version_id = ?", (version_id,)
                )
                if found:
                    return int(found[0]["id"]), False
            cur = await db.execute(
                "INSERT INTO announcements (kind, version_id, text_html, created_by, created_at,"
                " state) VALUES (?, ?, ?, ?, ?, ?)",
                (kind, version_id, text_html, created_by, now(), "draft" if draft else "queued"),
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
        texts: Texts,
        match_groups: set[str] | None,
    ) -> int:
        subscribers = await rows_in(
            db,
            "SELECT s.channel, s.chat_id, s.groups,"
            " COALESCE(u.language, c.language, 'vi') AS language FROM subscriptions s"
            " LEFT JOIN user_settings u ON s.channel = 'telegram' AND u.user_id = s.chat_id"
            " LEFT JOIN channel_languages c ON c.channel = s.channel AND c.user_id = s.chat_id",
        )
        rows = []
        for subscriber in subscribers:
            groups = _groups(subscriber["groups"])
            if match_groups is not None and groups is not None and not set(groups) & match_groups:
                continue
            text = texts.get((groups, subscriber["language"]))
            rows.append(
                (announcement_id, subscriber["channel"], subscriber["chat_id"], now(), text)
            )
        await db.executemany(
            "INSERT OR IGNORE INTO deliveries (announcement_id, channel, chat_id, state,"
            " updated_at, text_html) VALUES (?, ?, ?, 'pending', ?, ?)",
            rows,
        )
        return len(rows)

    async def announcement(
        self, announcement_id: int
    ) -> tuple[str, str | None, int | None, str, str] | None:
        """(kind, text, created_by, created_at, state) of one announcement."""
        r = await self._db.row(
            "SELECT kind, text_html, created_by, created_at, state FROM announcements"
            " WHERE id = ?",
            (announcement_id,),
        )
        if r is None:
            return None
        return (r["kind"], r["text_html"], r["created_by"], r["created_at"], r["state"])

    async def queue_draft(self, announcement_id: int) -> int:
        """Confirm a draft: its deliveries, once. Raises ActionTaken on a second press."""
        async with self._db.write() as db:
            cur = await db.execute(
                "UPDATE announcements SET state = 'queued' WHERE id = ? AND state = 'draft'",
                (announcement_id,),
            )
            if cur.rowcount != 1:
                raise ActionTaken(str(announcement_id))
            return await self._queue_deliveries(db, announcement_id, {}, None)

    async def cancel_draft(self, announcement_id: int) -> bool:
        async with self._db.write() as db:
            cur = await db.execute(
                "UPDATE announcements SET state = 'cancelled' WHERE id = ? AND state = 'draft'",
                (announcement_id,),
            )
            return cur.rowcount == 1

    async def latest_announcement(self) -> tuple[int, str, int | None, str] | None:
        """(id, kind, version id, created_at) of the newest queued announcement."""
        r = await self._db.row(
            "SELECT id, kind, version_id, created_at FROM announcements"
            " WHERE state = 'queued' ORDER BY id DESC LIMIT 1"
        )
        return (r["id"], r["kind"], r["version_id"], r["created_at"]) if r else None

    async def announcement_status(
        self, announcement_id: int, *, channel: str | None = None
    ) -> dict[str, int]:
        """Deliveries per state, of every channel or of `channel`."""
        rows = await self._db.rows(
            "SELECT state, COUNT(*) AS n FROM deliveries WHERE announcement_id = ?"
            " AND (? IS NULL OR channel = ?) GROUP BY state",
            (announcement_id, channel, channel),
        )
        return {r["state"]: int(r["n"]) for r in rows}

    # ---- deliveries -------------------------------------------------------------------

    async def next_pending(self, limit: int = 100) -> list[tuple[int, int, str, int]]:
        """(announcement id, chat id, text, attempts) of Telegram's deliveries still to
        send, oldest announcement first."""
        rows = await self._pending(TELEGRAM, limit)
        return [(r["announcement_id"], r["chat_id"], r["text"], r["attempts"]) for r in rows]

    async def next_pending_text_ids(
        self, channel: str, limit: int = 100
    ) -> list[tuple[int, str, str, int]]:
        """The same for a channel whose chat ids are text (Zalo)."""
        rows = await self._pending(channel, limit)
        return [(r["announcement_id"], str(r["chat_id"]), r["text"], r["attempts"]) for r in rows]

    async def _pending(self, channel: str, limit: int) -> list[aiosqlite.Row]:
        return await self._db.rows(
            "SELECT d.announcement_id, d.chat_id, COALESCE(d.text_html, a.text_html, '') AS text,"
            " d.attempts FROM deliveries d JOIN announcements a ON a.id = d.announcement_id"
            " WHERE d.channel = ? AND d.state = 'pending'"
            " ORDER BY d.announcement_id, d.chat_id LIMIT ?",
            (channel, limit),
        )

    async def mark_delivery(
        self,
        announcement_id: int,
        chat_id: ChatId,
        state: str,
        *,
        error: str | None = None,
        message_id: ChatId | None = None,
        attempt: bool = False,
        expect: str | None = None,
        channel: str = TELEGRAM,
    ) -> bool:
        """Record a delivery's state; `attempt` counts one more try. With `expect`,
        only a row in that state changes (claiming a pending row before its send
        makes a row that was sent or moved meanwhile never go out twice)."""
        async with self._db.write() as db:
            cur = await db.execute(
                "UPDATE deliveries SET state = :state, last_error = COALESCE(:error, last_error),"
                " message_id = COALESCE(:message_id, message_id),"
                " attempts = attempts + :attempt, updated_at = :now"
                " WHERE announcement_id = :announcement_id AND channel = :channel"
                " AND chat_id = :chat_id AND (:expect IS NULL OR state = :expect)",
                {
                    "state": state,
                    "error": None if error is None else error[:300],
                    "message_id": message_id,
                    "attempt": int(attempt),
                    "now": now(),
                    "announcement_id": announcement_id,
                    "channel": channel,
                    "chat_id": chat_id,
                    "expect": expect,
                },
            )
            return cur.rowcount == 1

    async def settle_interrupted(self, *, channel: str = TELEGRAM) -> int:
        """A send of `channel` that was in flight when the process died may have
        arrived: mark it uncertain rather than send it twice. Only that channel's rows:
        another channel's worker in the same process may be sending right now."""
        async with self._db.write() as db:
            cur = await db.execute(
                "UPDATE deliveries SET state = 'uncertain', last_error = 'interrupted',"
                " updated_at = ? WHERE channel = ? AND state = 'sending'",
                (now(), channel),
            )
            return cur.rowcount


def _groups(raw: str | None) -> Groups:
    return tuple(json.loads(raw)) if raw else None


def _chat_label(channel: str, chat_id: ChatId) -> str:
    """A chat in an audit line: Telegram's as before (a bare id), others prefixed."""
    return str(chat_id) if channel == TELEGRAM else f"{channel}:{chat_id}"


def _by(actor: str | None) -> str:
    return f" by {actor}" if actor else ""
