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
from dataclasses import dataclass

import aiosqlite

from ranking.store.db import Database, now, rows_in
from ranking.store.people import ActionTaken, People

Groups = tuple[str, ...] | None  # the groups a chat follows; None: every group
# (followed groups, language) → the text of a version's announcement for such chats
Texts = dict[tuple[Groups, str], str]
# Telegram's chat ids are integers, Zalo's strings (migration 7)
ChatId = int | str
TELEGRAM = "telegram"


@dataclass(frozen=True)
class Retraction:
    """An announcement withdrawn: how many deliveries were cancelled before they went
    out, how many chats it reached (they get the `correction` announcement)."""

    announcement_id: int
    version_id: int
    cancelled: int
    reached: int
    correction: int | None


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

    async def prepare_version(
        self,
        db: aiosqlite.Connection,
        version_id: int,
        groups: set[str],
        *,
        created_by: int | None,
    ) -> int:
        """Inside the version's own write (`db`): its announcement and one pending
        delivery per subscriber of every channel who follows one of `groups`, so a
        version is never on record without them (migration 8). It stays 'preparing',
        never sent, until `ready` gives it its texts: those read the version, which
        only its commit makes visible."""
        cur = await db.execute(
            "INSERT INTO announcements (kind, version_id, text_html, created_by, created_at,"
            " state) VALUES ('version', ?, NULL, ?, ?, 'preparing')",
            (version_id, created_by, now()),
        )
        announcement_id = cur.lastrowid
        assert announcement_id is not None
        await self._queue_deliveries(db, announcement_id, {}, groups)
        return announcement_id

    async def preparing(self) -> list[tuple[int, str, int | None, int | None]]:
        """(id, kind, version id, id of the announcement it corrects) of every
        announcement written but not yet given its texts."""
        rows = await self._db.rows(
            "SELECT id, kind, version_id, corrects FROM announcements"
            " WHERE state = 'preparing' ORDER BY id"
        )
        return [(r["id"], r["kind"], r["version_id"], r["corrects"]) for r in rows]

    async def version_announcement(self, version_id: int) -> tuple[int, str] | None:
        """(id, state) of a version's announcement, if it has one."""
        r = await self._db.row(
            "SELECT id, state FROM announcements WHERE version_id = ?", (version_id,)
        )
        return (r["id"], r["state"]) if r else None

    async def announcement_version(self, announcement_id: int) -> int | None:
        r = await self._db.row(
            "SELECT version_id FROM announcements WHERE id = ?", (announcement_id,)
        )
        return r["version_id"] if r else None

    async def audience(self, announcement_id: int) -> set[tuple[Groups, str]]:
        """(followed groups, language) of the chats an announcement goes to."""
        rows = await self._db.rows(
            "SELECT s.groups, COALESCE(u.language, c.language, 'vi') AS language"
            " FROM deliveries d"
            " LEFT JOIN subscriptions s ON s.channel = d.channel AND s.chat_id = d.chat_id"
            " LEFT JOIN user_settings u ON d.channel = 'telegram' AND u.user_id = d.chat_id"
            " LEFT JOIN channel_languages c ON c.channel = d.channel AND c.user_id = d.chat_id"
            " WHERE d.announcement_id = ?",
            (announcement_id,),
        )
        return {(_groups(r["groups"]), r["language"]) for r in rows}

    async def ready(self, announcement_id: int, fallback: str, texts: Texts) -> bool:
        """Give a 'preparing' announcement its texts and queue it: each delivery gets
        the text for its chat's groups and language (`fallback` when none fits, e.g.
        a chat that unsubscribed meanwhile). False when it was no longer preparing
        (another process readied it, or it was retracted)."""
        async with self._db.write() as db:
            cur = await db.execute(
                "UPDATE announcements SET text_html = ?, state = 'queued'"
                " WHERE id = ? AND state = 'preparing'",
                (fallback, announcement_id),
            )
            if cur.rowcount != 1:
                return False
            rows = await rows_in(
                db,
                "SELECT d.channel, d.chat_id, s.groups,"
                " COALESCE(u.language, c.language, 'vi') AS language FROM deliveries d"
                " LEFT JOIN subscriptions s ON s.channel = d.channel AND s.chat_id = d.chat_id"
                " LEFT JOIN user_settings u ON d.channel = 'telegram' AND u.user_id = d.chat_id"
                " LEFT JOIN channel_languages c ON c.channel = d.channel"
                " AND c.user_id = d.chat_id WHERE d.announcement_id = ?",
                (announcement_id,),
            )
            await db.executemany(
                "UPDATE deliveries SET text_html = ? WHERE announcement_id = ?"
                " AND channel = ? AND chat_id = ?",
                [
                    (texts[key], announcement_id, r["channel"], r["chat_id"])
                    for r in rows
                    if (key := (_groups(r["groups"]), r["language"])) in texts
                ],
            )
        return True

    async def current_versions(
        self, db: aiosqlite.Connection, keys: Sequence[tuple[str, int, str]]
    ) -> set[int]:
        """Inside a write: the versions whose slices are current for these
        (ranking, year, group) keys (what a new version is about to replace)."""
        found: set[int] = set()
        for ranking, year, group in keys:
            for r in await rows_in(
                db,
                "SELECT version_id FROM current_slices"
                " WHERE ranking = ? AND year = ? AND group_code = ?",
                (ranking, year, group),
            ):
                found.add(int(r["version_id"]))
        return found

    async def retract_replaced(
        self, db: aiosqlite.Connection, version_ids: set[int]
    ) -> list[Retraction]:
        """Inside a new version's write: the announcements of `version_ids` that are
        still being sent and whose versions no longer have a current slice (every
        result they tell of was just replaced) are retracted (`retract`)."""
        found: list[Retraction] = []
        for version_id in sorted(version_ids):
            rows = await rows_in(
                db,
                "SELECT a.id FROM announcements a WHERE a.version_id = ?"
                " AND a.state IN ('preparing', 'queued')"
                " AND NOT EXISTS (SELECT 1 FROM current_slices c WHERE c.version_id = ?)"
                " AND EXISTS (SELECT 1 FROM deliveries d WHERE d.announcement_id = a.id"
                " AND d.state = 'pending')",
                (version_id, version_id),
            )
            if rows:
                found.append(await self._retract(db, int(rows[0]["id"]), version_id))
        return found

    async def retract_version(
        self, db: aiosqlite.Connection, version_id: int
    ) -> Retraction | None:
        """Inside an undo's write: the undone version's announcement is retracted."""
        rows = await rows_in(
            db,
            "SELECT id FROM announcements WHERE version_id = ?"
            " AND state IN ('preparing', 'queued')",
            (version_id,),
        )
        return await self._retract(db, int(rows[0]["id"]), version_id) if rows else None

    async def _retract(
        self, db: aiosqlite.Connection, announcement_id: int, version_id: int
    ) -> Retraction:
        """Its pending deliveries are cancelled (none goes out after this commit: the
        worker claims only a pending row); the chats it reached, or may have (sent,
        uncertain, or in flight right now), get one correction, written here as a
        'preparing' announcement that `ready` gives its texts."""
        await db.execute(
            "UPDATE announcements SET state = 'retracted' WHERE id = ?", (announcement_id,)
        )
        cur = await db.execute(
            "UPDATE deliveries SET state = 'cancelled', updated_at = ?"
            " WHERE announcement_id = ? AND state = 'pending'",
            (now(), announcement_id),
        )
        cancelled = cur.rowcount
        reached = await rows_in(
            db,
            "SELECT channel, chat_id FROM deliveries WHERE announcement_id = ?"
            " AND state IN ('sent', 'uncertain', 'sending')",
            (announcement_id,),
        )
        correction = None
        if reached:
            cur = await db.execute(
                "INSERT INTO announcements (kind, version_id, text_html, created_by,"
                " created_at, state, corrects) VALUES ('correction', NULL, NULL, NULL, ?,"
                " 'preparing', ?)",
                (now(), announcement_id),
            )
            correction = cur.lastrowid
            await db.executemany(
                "INSERT INTO deliveries (announcement_id, channel, chat_id, state, updated_at)"
                " VALUES (?, ?, ?, 'pending', ?)",
                [(correction, r["channel"], r["chat_id"], now()) for r in reached],
            )
        await self._people.insert_audit(
            db,
            None,
            "retract",
            f"announcement {announcement_id} of version {version_id}:"
            f" {cancelled} cancelled, {len(reached)} reached",
        )
        return Retraction(announcement_id, version_id, cancelled, len(reached), correction)

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
            " WHERE d.channel = ? AND d.state = 'pending' AND a.state = 'queued'"
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
