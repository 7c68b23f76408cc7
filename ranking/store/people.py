"""People: each user's language, the admins added in the bot, the audit trail and the
confirmations waiting for a button (migrations 1 and 2; languages on other channels: 7)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import aiosqlite

from ranking.store.db import Database, now


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


AuditEntry = tuple[int | None, str, str]  # user id, action, detail


class People:
    """Methods whose first parameter is `db` write inside the caller's transaction
    (`Store.write()`); every other write is a transaction of its own."""

    def __init__(self, db: Database):
        self._db = db

    # ---- languages ----------------------------------------------------------------

    async def language(self, user_id: int) -> str | None:
        row = await self._db.row(
            "SELECT language FROM user_settings WHERE user_id = ?", (user_id,)
        )
        return str(row["language"]) if row else None

    async def languages(self) -> dict[int, str]:
        """Every stored choice at once: only people who picked a language have one."""
        rows = await self._db.rows("SELECT user_id, language FROM user_settings")
        return {int(row["user_id"]): str(row["language"]) for row in rows}

    async def set_language(self, user_id: int, language: str) -> None:
        async with self._db.write() as db:
            await db.execute(
                "INSERT INTO user_settings (user_id, language) VALUES (?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET language = excluded.language",
                (user_id, language),
            )

    async def channel_language(self, channel: str, user_id: str) -> str | None:
        """A person's choice on a channel whose user ids are text (Zalo; migration 7)."""
        row = await self._db.row(
            "SELECT language FROM channel_languages WHERE channel = ? AND user_id = ?",
            (channel, user_id),
        )
        return str(row["language"]) if row else None

    async def set_channel_language(self, channel: str, user_id: str, language: str) -> None:
        async with self._db.write() as db:
            await db.execute(
                "INSERT INTO channel_languages (channel, user_id, language) VALUES (?, ?, ?)"
                " ON CONFLICT (channel, user_id) DO UPDATE SET language = excluded.language",
                (channel, user_id, language),
            )

    # ---- admins -------------------------------------------------------------------

    async def admin_ids(self) -> set[int]:
        return {int(r["user_id"]) for r in await self._db.rows("SELECT user_id FROM admins")}

    async def add_admin(self, user_id: int, *, added_by: int) -> bool:
        async with self._db.write() as db:
            cur = await db.execute(
                "INSERT OR IGNORE INTO admins (user_id, added_by, added_at) VALUES (?, ?, ?)",
                (user_id, added_by, now()),
            )
            await self.insert_audit(db, added_by, "admin_add", str(user_id))
            return cur.rowcount == 1

    async def remove_admin(self, user_id: int, *, removed_by: int) -> bool:
        async with self._db.write() as db:
            cur = await db.execute("DELETE FROM admins WHERE user_id = ?", (user_id,))
            await self.insert_audit(db, removed_by, "admin_remove", str(user_id))
            return cur.rowcount == 1

    # ---- the audit trail ----------------------------------------------------------

    async def audit(self, user_id: int | None, action: str, detail: str = "") -> None:
        async with self._db.write() as db:
            await self.insert_audit(db, user_id, action, detail)

    async def insert_audit(
        self, db: aiosqlite.Connection, user_id: int | None, action: str, detail: str = ""
    ) -> None:
        """An audit line in the caller's transaction: it lands with what it records."""
        await db.execute(
            "INSERT INTO audit_log (at, user_id, action, detail) VALUES (?, ?, ?, ?)",
            (now(), user_id, action, detail[:500]),
        )

    async def audit_entries(self, action: str | None = None) -> list[AuditEntry]:
        """The audit trail, oldest first; only `action`'s lines when given."""
        rows = await self._db.rows(
            "SELECT user_id, action, detail FROM audit_log"
            " WHERE :action IS NULL OR action = :action ORDER BY id",
            {"action": action or None},
        )
        return [(r["user_id"], r["action"], r["detail"]) for r in rows]

    # ---- confirmations waiting for a button ---------------------------------------

    async def add_pending(self, action: PendingAction) -> None:
        async with self._db.write() as db:
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
        r = await self._db.row(
            "SELECT id, kind, user_id, chat_id, created_at, file_name, sha256, payload, aliases,"
            " target, state FROM pending_actions WHERE id = ?",
            (action_id,),
        )
        if r is None:
            return None
        aliases = [tuple(a) for a in json.loads(r["aliases"])] if r["aliases"] else []
        return PendingAction(
            id=r["id"],
            kind=r["kind"],
            user_id=r["user_id"],
            chat_id=r["chat_id"],
            created_at=r["created_at"],
            file_name=r["file_name"],
            sha256=r["sha256"],
            payload=r["payload"],
            aliases=aliases,
            target=r["target"],
            state=r["state"],
        )

    async def claim(self, db: aiosqlite.Connection, action_id: str) -> None:
        """Mark a confirmation done in the caller's transaction, or raise ActionTaken
        when it is no longer pending: a button pressed twice acts once."""
        cur = await db.execute(
            "UPDATE pending_actions SET state = 'done' WHERE id = ? AND state = 'pending'",
            (action_id,),
        )
        if cur.rowcount != 1:
            raise ActionTaken(action_id)

    async def cancel_pending(self, action_id: str) -> bool:
        async with self._db.write() as db:
            cur = await db.execute(
                "UPDATE pending_actions SET state = 'cancelled', payload = NULL"
                " WHERE id = ? AND state = 'pending'",
                (action_id,),
            )
            return cur.rowcount == 1

    async def forget_old_pending(self, before: float) -> int:
        """Drop the file bytes of confirmations nobody can press any more: created
        before `before` (the preview timed out), or already confirmed or cancelled.
        Returns how many files were dropped."""
        async with self._db.write() as db:
            cur = await db.execute(
                "UPDATE pending_actions SET payload = NULL"
                " WHERE payload IS NOT NULL AND (created_at < ? OR state != 'pending')",
                (before,),
            )
            return cur.rowcount
