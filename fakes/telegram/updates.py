"""Update injection: what tests use to act as a Telegram user, and getUpdates delivering it.

A builder (:meth:`UpdateInjection.message`, :meth:`~UpdateInjection.document_message`,
:meth:`~UpdateInjection.callback_query`, ...) returns the update dict Telegram would send and
stores what it implies (the user, the chat, the message, the uploaded file, the pending
query), so that the bot can reply to, edit, download or answer it. :meth:`push_update`
queues it; the bot receives it by long polling getUpdates, with Telegram's offset
confirmation, ``allowed_updates`` filtering and "terminated by other getUpdates request".
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from collections import deque
from collections.abc import Mapping
from typing import Any, Final, Literal

from fakes.telegram.checks import ApiError
from fakes.telegram.html import command_entities
from fakes.telegram.methods import BotApiMethods, Handler
from fakes.telegram.state import (
    DEFAULT_GROUP_ID,
    DEFAULT_SUPERGROUP_ID,
    DEFAULT_USER_ID,
    Files,
    Params,
    PendingQuery,
    member_dict,
    now,
)

__all__ = ["ALL_UPDATE_TYPES", "UpdateInjection"]

JSON = dict[str, Any]

#: Update kinds Telegram delivers when ``allowed_updates`` is empty or was never set.


def _words(text: str) -> frozenset[str]:
    """A set of names written as one readable, space-separated string."""
    return frozenset(text.split())


ALL_UPDATE_TYPES: Final = _words(
    "message edited_message channel_post edited_channel_post business_connection "
    "business_message edited_business_message deleted_business_messages message_reaction "
    "message_reaction_count inline_query chosen_inline_result callback_query shipping_query "
    "pre_checkout_query purchased_paid_media poll poll_answer my_chat_member chat_member "
    "chat_join_request chat_boost removed_chat_boost"
)
_DEFAULT_UPDATE_TYPES: Final = ALL_UPDATE_TYPES - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}

_GROUP_ANONYMOUS_BOT: Final[JSON] = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}
_CHANNEL_BOT: Final[JSON] = {
    "id": 136817688,
    "is_bot": True,
    "first_name": "Channel",
    "username": "Channel_Bot",
}


class UpdateInjection(BotApiMethods):
    """The update queue, getUpdates/webhook methods and the update builders."""

    def __init__(
        self, *, username: str, first_name: str, bot_id: int, max_poll_timeout: float
    ) -> None:
        super().__init__(username=username, first_name=first_name, bot_id=bot_id)
        self.max_poll_timeout = max_poll_timeout
        self.webhook_url = ""
        # update_id → time.monotonic() when push_update queued it (benchmarks' latency)
        self.pushed_at: dict[int, float] = {}
        self._updates: deque[JSON] = deque()
        self._updates_changed = asyncio.Event()
        self._next_update_id = 1
        self._delivered_up_to = 0
        self._allowed_updates: frozenset[str] = _DEFAULT_UPDATE_TYPES
        self._poll_generation = 0

    def _method_table(self) -> dict[str, Handler]:
        return {
            **super()._method_table(),
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
        }

    # ---- updates ---------------------------------------------------------------------------

    def _notify_updates(self) -> None:
        self._updates_changed.set()
        self._updates_changed = asyncio.Event()

    def push_update(self, update: Mapping[str, Any]) -> int:
        """Queue an update for getUpdates; assigns and returns the next ``update_id``."""
        body = {k: v for k, v in update.items() if k != "update_id"}
        kinds = [k for k in body if k in ALL_UPDATE_TYPES]
        if len(kinds) != 1:
            raise ValueError(f"an update needs exactly one kind of payload, got {sorted(body)}")
        update_id = self._next_update_id
        self._next_update_id += 1
        self._updates.append({"update_id": update_id, **body})
        self.pushed_at[update_id] = time.monotonic()
        self._notify_updates()
        return update_id

    def bot_message(
        self, chat_id: int, text: str, reply_markup: Mapping[str, Any] | None = None
    ) -> JSON:
        """A message the bot sent earlier (say, before a restart), stored so that a
        :meth:`callback_query` on it can be answered by editing it."""
        if chat_id not in self._chats:
            self._add_chat(chat_id)
        fields: JSON = {"text": text}
        if reply_markup is not None:
            fields["reply_markup"] = dict(reply_markup)
        return copy.deepcopy(self._new_message(chat_id, dict(self.bot_user), **fields))

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by the bot (a getUpdates offset past them)."""
        return list(self._updates)

    def _confirm(self, offset: int) -> None:
        """Forget the updates before ``offset``: the bot has them (PTB never sends a negative
        offset, which Telegram reads as "the last N")."""
        while self._updates and self._updates[0]["update_id"] < offset:
            self._updates.popleft()

    def _deliverable(self, limit: int) -> list[JSON]:
        out: list[JSON] = []
        for update in list(self._updates):
            kind = next(k for k in update if k != "update_id")
            if kind not in self._allowed_updates:
                self._updates.remove(update)
                self.violations.append(
                    f"update {update['update_id']} ({kind}) dropped: the bot's allowed_updates "
                    f"{sorted(self._allowed_updates)} does not include it"
                )
                continue
            out.append(update)
            if len(out) >= limit:
                break
        if out:
            self._delivered_up_to = max(self._delivered_up_to, out[-1]["update_id"])
        return out

    async def _get_updates(self, p: Params, files: Files) -> list[JSON]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = p.get("offset")
        if isinstance(offset, int) and offset != 0:
            self._confirm(offset)
        limit = min(max(int(p.get("limit") or 100), 1), 100)
        timeout = float(p.get("timeout") or 0)
        allowed = p.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else _DEFAULT_UPDATE_TYPES
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify_updates()  # an older long poll now answers 409, as on Telegram
        deadline = time.monotonic() + min(max(timeout, 0.0), self.max_poll_timeout)
        while True:
            event = self._updates_changed
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
            ready = self._deliverable(limit)
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0 or self._closing.is_set():
                return ready
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def _set_webhook(self, p: Params, files: Files) -> bool:
        # drop_pending_updates is not modelled: the bot keeps what arrived while it was down
        self.webhook_url = str(p.get("url") or "")
        return True

    async def _delete_webhook(self, p: Params, files: Files) -> bool:
        self.webhook_url = ""
        return True

    async def _get_webhook_info(self, p: Params, files: Files) -> JSON:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    # ---- update builders -------------------------------------------------------------------

    def _sender_and_chat(
        self,
        *,
        chat_id: int | None,
        user_id: int,
        chat_type: str,
        language_code: str | None,
        username: str | None,
        first_name: str | None,
        chat_title: str | None,
    ) -> tuple[JSON, int]:
        user = self._remember_user(
            user_id, first_name=first_name, username=username, language_code=language_code
        )
        if chat_type == "private":
            if chat_id is not None and chat_id != user_id:
                raise ValueError("a private chat's id is the user's id")
            chat_id = user_id
            self._add_chat(chat_id, "private", first_name=user["first_name"], username=username)
        else:
            if chat_id is None:
                chat_id = DEFAULT_SUPERGROUP_ID if chat_type == "supergroup" else DEFAULT_GROUP_ID
            if chat_id >= 0:
                raise ValueError("group, supergroup and channel ids are negative")
            known = self._chats.get(chat_id)
            if chat_title is None and known is not None and known["type"] == chat_type:
                chat_title = known.get("title")
            self._add_chat(chat_id, chat_type, title=chat_title)
        return user, chat_id

    def message(
        self,
        text: str,
        *,
        chat_id: int | None = None,
        user_id: int = DEFAULT_USER_ID,
        chat_type: Literal["private", "group", "supergroup"] = "private",
        language_code: str | None = "vi",
        username: str | None = None,
        first_name: str | None = None,
        chat_title: str | None = None,
        sender_chat: Mapping[str, Any] | int | None = None,
        reply_to: Mapping[str, Any] | None = None,
        edited: bool = False,
        message_id: int | None = None,
    ) -> JSON:
        """A ``message`` update (or ``edited_message`` if ``edited``) from a user.

        Commands get their ``bot_command`` entity (offset/length in UTF-16, including
        ``@botname``), which PTB's CommandHandler requires. ``sender_chat`` makes it an
        anonymous admin's (same chat) or a channel's message (``from`` becomes Telegram's
        GroupAnonymousBot / Channel_Bot). ``reply_to`` is a message dict (e.g. one the bot
        sent) to reply to. The message is stored, so the bot can reply to or delete it.
        ``message_id`` reuses an id, e.g. for the ``edited`` version of an earlier message.
        """
        user, chat_id = self._sender_and_chat(
            chat_id=chat_id,
            user_id=user_id,
            chat_type=chat_type,
            language_code=language_code,
            username=username,
            first_name=first_name,
            chat_title=chat_title,
        )
        sender: JSON = user
        sender_chat_obj: JSON | None = None
        if sender_chat is not None:
            if isinstance(sender_chat, int):
                sender_chat_obj = (
                    self._chat(sender_chat)
                    if sender_chat == chat_id
                    else {
                        "id": sender_chat,
                        "type": "channel",
                        "title": f"Kênh {abs(sender_chat)}",
                    }
                )
            else:
                sender_chat_obj = dict(sender_chat)
            sender = dict(
                _GROUP_ANONYMOUS_BOT if sender_chat_obj["id"] == chat_id else _CHANNEL_BOT
            )
        entities = command_entities(text)
        fields: JSON = {
            "text": text,
            "entities": entities or None,
            "sender_chat": sender_chat_obj,
            "reply_to_message": (
                {k: v for k, v in reply_to.items() if k != "reply_to_message"}
                if reply_to is not None
                else None
            ),
        }
        if edited:
            fields["edit_date"] = now()
        msg = self._new_message(chat_id, sender, message_id=message_id, **fields)
        return {"edited_message" if edited else "message": copy.deepcopy(msg)}

    def document_message(
        self,
        data: bytes,
        file_name: str,
        *,
        caption: str | None = None,
        mime_type: str | None = None,
        declared_size: int | Literal["actual"] | None = "actual",
        chat_id: int | None = None,
        user_id: int = DEFAULT_USER_ID,
        chat_type: Literal["private", "group", "supergroup"] = "private",
        language_code: str | None = "vi",
        username: str | None = None,
        first_name: str | None = None,
        chat_title: str | None = None,
        server_size: int | None = None,
    ) -> JSON:
        """A ``message`` update carrying a document whose bytes the bot can download.

        ``declared_size`` is ``document.file_size`` in the update: ``"actual"`` (default) is
        ``len(data)``, an int lies, None omits it (Telegram may). ``server_size`` is what
        getFile believes (default ``len(data)``), to test the 20 MB limit cheaply. A caption
        starting with ``/`` gets a ``bot_command`` caption entity (PTB's CommandHandler still
        ignores captions; use a MessageHandler).
        """
        user, chat_id = self._sender_and_chat(
            chat_id=chat_id,
            user_id=user_id,
            chat_type=chat_type,
            language_code=language_code,
            username=username,
            first_name=first_name,
            chat_title=chat_title,
        )
        stored = self.register_file(data, file_name, mime_type=mime_type, size=server_size)
        document = stored.fields()
        if declared_size is None:
            document.pop("file_size")
        elif declared_size != "actual":
            document["file_size"] = declared_size
        elif server_size is not None:
            document["file_size"] = len(data)
        fields: JSON = {"document": document}
        if caption is not None:
            fields["caption"] = caption
            fields["caption_entities"] = command_entities(caption) or None
        msg = self._new_message(chat_id, user, **fields)
        return {"message": copy.deepcopy(msg)}

    def callback_query(
        self,
        data: str,
        *,
        message: Mapping[str, Any],
        user_id: int = DEFAULT_USER_ID,
        chat_instance: str | None = None,
        language_code: str | None = "vi",
        username: str | None = None,
        first_name: str | None = None,
    ) -> JSON:
        """A ``callback_query`` update: ``user_id`` pressed a button with ``data``.

        ``message`` is the message carrying the keyboard (e.g. from :meth:`sent_messages` or
        a Call's ``result``); its current stored version is used if it is known. The query id
        is registered so answerCallbackQuery succeeds exactly once.
        """
        user = self._remember_user(
            user_id, first_name=first_name, username=username, language_code=language_code
        )
        current = self._messages.get((int(message["chat"]["id"]), int(message["message_id"])))
        query_id = f"{next(self._query_ids) + 4382000000000000000}"
        self._queries[query_id] = PendingQuery("callback")
        return {
            "callback_query": {
                "id": query_id,
                "from": user,
                "message": copy.deepcopy(current if current is not None else dict(message)),
                "chat_instance": chat_instance or f"-{abs(int(message['chat']['id'])) + 1000}",
                "data": data,
            }
        }

    def inline_query(
        self,
        query: str,
        *,
        user_id: int = DEFAULT_USER_ID,
        offset: str = "",
        chat_type: str | None = "sender",
        language_code: str | None = "vi",
        username: str | None = None,
        first_name: str | None = None,
    ) -> JSON:
        """An ``inline_query`` update (``@bot query``); answerInlineQuery may answer it once."""
        user = self._remember_user(
            user_id, first_name=first_name, username=username, language_code=language_code
        )
        query_id = f"{next(self._query_ids) + 5512000000000000000}"
        self._queries[query_id] = PendingQuery("inline")
        body: JSON = {"id": query_id, "from": user, "query": query, "offset": offset}
        if chat_type is not None:
            body["chat_type"] = chat_type
        return {"inline_query": body}

    def my_chat_member(
        self,
        chat_id: int,
        chat_type: Literal["private", "group", "supergroup", "channel"],
        old_status: str,
        new_status: str,
        user_id: int = DEFAULT_USER_ID,
        *,
        chat_title: str | None = None,
    ) -> JSON:
        """A ``my_chat_member`` update: ``user_id`` changed the bot's status in a chat.

        Also updates the server: "left"/"kicked" makes later sends there fail with 403 (as on
        Telegram), "member"/"administrator" allows them again.
        """
        user = self._remember_user(user_id, first_name=None, username=None, language_code="vi")
        if chat_type == "private":
            chat = self._add_chat(chat_id, "private", first_name=user["first_name"])
        else:
            chat = self._add_chat(chat_id, chat_type, title=chat_title)
        if new_status in ("left", "kicked"):
            self.forbid_chat(chat_id)
        else:
            self.allow_chat(chat_id)
        if new_status == "administrator":
            admins = self._admins.setdefault(chat_id, [])
            if self.bot_id not in admins:
                admins.append(self.bot_id)
        return {
            "my_chat_member": {
                "chat": chat,
                "from": user,
                "date": now(),
                "old_chat_member": member_dict(self.bot_user, old_status),
                "new_chat_member": member_dict(self.bot_user, new_status),
            }
        }

    def migrate_message(
        self, old_chat_id: int, new_chat_id: int, *, user_id: int = DEFAULT_USER_ID
    ) -> JSON:
        """The service message in the old group saying it became supergroup ``new_chat_id``.

        Also makes later requests to ``old_chat_id`` fail with 400 + ``migrate_to_chat_id``
        (PTB raises ChatMigrated), as Telegram does.
        """
        user = self._remember_user(user_id, first_name=None, username=None, language_code="vi")
        title = self._chats.get(old_chat_id, {}).get("title")
        self._add_chat(old_chat_id, "group", title=title)
        self._add_chat(new_chat_id, "supergroup", title=title)
        msg = self._new_message(old_chat_id, user, migrate_to_chat_id=new_chat_id)
        self._migrated[old_chat_id] = new_chat_id
        return {"message": copy.deepcopy(msg)}

    def migrate_from_message(
        self, old_chat_id: int, new_chat_id: int, *, user_id: int = DEFAULT_USER_ID
    ) -> JSON:
        """The matching first message in the new supergroup (``migrate_from_chat_id``)."""
        user = self._remember_user(user_id, first_name=None, username=None, language_code="vi")
        self._add_chat(
            new_chat_id, "supergroup", title=self._chats.get(old_chat_id, {}).get("title")
        )
        msg = self._new_message(new_chat_id, user, migrate_from_chat_id=old_chat_id)
        return {"message": copy.deepcopy(msg)}
