"""What the fake Telegram knows (chats, users, messages, files, queries) and what it saw.

The records a test reads are here: every request (:class:`Call`), the violations (things
Telegram would silently degrade) and the flood-limit refusals. The Bot API methods, the update
builders and the HTTP server are layered on :class:`TelegramState` in the modules beside it.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import mimetypes
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal

__all__ = [
    "DEFAULT_BOT_ID",
    "DEFAULT_GROUP_ID",
    "DEFAULT_SUPERGROUP_ID",
    "DEFAULT_USER_ID",
    "Call",
    "RateLimitHit",
    "StoredFile",
    "TelegramState",
]

JSON = dict[str, Any]
Params = dict[str, Any]
Files = dict[str, tuple[str, bytes]]

DEFAULT_BOT_ID: Final = 7000001
DEFAULT_USER_ID: Final = 100001
DEFAULT_GROUP_ID: Final = -400000001
DEFAULT_SUPERGROUP_ID: Final = -1001000000001

_ADMIN_RIGHTS: Final[JSON] = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_pin_messages": True,
}

_RESTRICTED_RIGHTS: Final[JSON] = {
    "is_member": True,
    "can_change_info": False,
    "can_invite_users": False,
    "can_pin_messages": False,
    "can_send_messages": False,
    "can_send_polls": False,
    "can_send_other_messages": False,
    "can_add_web_page_previews": False,
    "can_manage_topics": False,
    "until_date": 0,
    "can_send_audios": False,
    "can_send_documents": False,
    "can_send_photos": False,
    "can_send_videos": False,
    "can_send_video_notes": False,
    "can_send_voice_notes": False,
    "can_edit_tag": False,
    "can_react_to_messages": False,
}


def now() -> int:
    """Telegram's ``date`` fields: Unix seconds."""
    return int(time.time())


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class Call:
    """One request the bot made, as the server saw it.

    ``params`` are decoded (see :func:`fakes.telegram.server.decode_param`), ``files`` maps a
    multipart part name to ``(filename, bytes)``, ``at`` is ``time.monotonic()`` on arrival.
    ``status`` is 0 while the request is being answered, then the HTTP status (444: the
    connection was closed without an answer); ``result`` is the ``result`` of a successful
    answer and ``error`` the description of a failed one.
    """

    method: str
    params: Params
    files: Files
    at: float
    status: int = 0
    result: Any = None
    error: str | None = None
    index: int = -1
    #: the method was carried out (a message sent), whatever the bot was answered:
    #: after :meth:`~fakes.telegram.FakeBotAPI.fail_after` the answer is an error or none
    performed: bool = False

    @property
    def done(self) -> bool:
        """Whether the server has answered this request."""
        return self.status != 0

    @property
    def ok(self) -> bool:
        """Whether the answer was a success (HTTP 200)."""
        return self.status == 200

    def summary(self) -> str:
        """One line for assertion messages (file contents shown by size only)."""
        params = ", ".join(f"{k}={_short(v, 60)}" for k, v in self.params.items())
        files = "".join(
            f", {k}=<{fn!r}, {len(data)} bytes>" for k, (fn, data) in self.files.items()
        )
        state = "pending" if not self.done else str(self.status)
        tail = f" -> {self.error}" if self.error else ""
        return f"#{self.index} {self.method}({params}{files}) [{state}]{tail}"


@dataclass
class StoredFile:
    """A file the fake Telegram knows: uploaded by the bot or sent by a test's user."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    file_name: str | None = None
    mime_type: str | None = None
    size: int = 0  # what Telegram believes the size is (getFile's 20 MB check uses it)
    # the download serves `data` this many times over, without a Content-Length:
    # a file far larger than any size it declares, without allocating it
    repeat: int = 1

    def fields(self) -> JSON:
        """The Document-style fields of this file."""
        out: JSON = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
        }
        if self.file_name is not None:
            out["file_name"] = self.file_name
        if self.mime_type is not None:
            out["mime_type"] = self.mime_type
        return out


@dataclass
class RateLimitHit:
    """A send refused with 429 because ``enforce_limits`` was on."""

    method: str
    chat_id: Any
    kind: Literal["overall", "group"]
    retry_after: int
    at: float


@dataclass
class PendingQuery:
    """A callback or inline query a builder made; Telegram accepts one answer to it."""

    kind: Literal["callback", "inline"]
    answered: bool = False


def member_dict(user: JSON, status: str) -> JSON:
    """A ChatMember object of the given status, with the fields PTB requires."""
    if status == "creator":
        return {"status": "creator", "user": user, "is_anonymous": False}
    if status == "administrator":
        return {"status": "administrator", "user": user, **_ADMIN_RIGHTS}
    if status == "kicked":
        return {"status": "kicked", "user": user, "until_date": 0}
    if status == "restricted":
        return {"status": "restricted", "user": user, **_RESTRICTED_RIGHTS}
    if status in ("member", "left"):
        return {"status": status, "user": user}
    raise ValueError(f"unknown chat member status {status!r}")


class TelegramState:
    """Telegram's side of one bot's world, and the record of what the bot did to it.

    Readable by tests: ``calls`` (every request, see :class:`Call`), ``violations`` (things
    Telegram would silently degrade, e.g. more than 100 entities; tests assert it is empty),
    ``rate_limit_hits``, ``tokens_seen``, ``commands``, ``descriptions``, ``files``,
    ``left_chats``.
    """

    def __init__(self, *, username: str, first_name: str, bot_id: int) -> None:
        self.username = username
        self.bot_user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": first_name,
            "username": username,
        }
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.rate_limit_hits: list[RateLimitHit] = []
        self.tokens_seen: list[str] = []
        self.files: dict[str, StoredFile] = {}
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.descriptions: dict[tuple[str, str], str] = {}
        self.left_chats: list[int] = []
        # set when the server stops: long polls and held answers end at once
        self._closing = asyncio.Event()
        self._message_ids = itertools.count(1)
        self._file_ids = itertools.count(0)
        self._query_ids = itertools.count(1)
        self._messages: dict[tuple[int, int], JSON] = {}
        self._chats: dict[int, JSON] = {}
        self._users: dict[int, JSON] = {}
        self._admins: dict[int, list[int]] = {}
        self._creators: dict[int, int] = {}
        self._forbidden: dict[int, str] = {}
        self._migrated: dict[int, int] = {}
        self._queries: dict[str, PendingQuery] = {}

    @property
    def bot_id(self) -> int:
        """The bot's user id (getMe's ``id``)."""
        return int(self.bot_user["id"])

    # ---- chats and users -------------------------------------------------------------------

    def _add_chat(
        self,
        chat_id: int,
        chat_type: str | None = None,
        *,
        title: str | None = None,
        first_name: str | None = None,
        username: str | None = None,
    ) -> JSON:
        """Register (or update) a chat so getChat and the update builders describe it."""
        if chat_type is None:
            chat_type = self._guess_type(chat_id)
        chat: JSON = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = first_name or self._user(chat_id)["first_name"]
        else:
            chat["title"] = (
                title
                or self._chats.get(chat_id, {}).get("title")
                or (f"Nhóm thử nghiệm {abs(chat_id) % 10000}")
            )
        if username:
            chat["username"] = username
        self._chats[chat_id] = chat
        return dict(chat)

    @staticmethod
    def _guess_type(chat_id: int) -> str:
        if chat_id > 0:
            return "private"
        return "supergroup" if chat_id <= -1000000000000 else "group"

    def _chat(self, chat_id: int) -> JSON:
        """The chat ``chat_id``; any id is a valid chat (the bot only writes where it was
        written to, so an unknown id is a test's shortcut, not a bug to catch here)."""
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._add_chat(chat_id)
        return dict(chat)

    def _user(self, user_id: int) -> JSON:
        user = self._users.get(user_id)
        if user is None:
            return {"id": user_id, "is_bot": False, "first_name": f"Người dùng {user_id}"}
        return dict(user)

    def _remember_user(
        self,
        user_id: int,
        *,
        first_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> JSON:
        user: JSON = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name
            or self._users.get(user_id, {}).get("first_name")
            or f"Người dùng {user_id}",
        }
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        return dict(user)

    def forbid_chat(self, chat_id: int, description: str | None = None) -> None:
        """Answer every request about ``chat_id`` with 403 (default text by chat type)."""
        if description is None:
            chat_type = self._chats.get(chat_id, {}).get("type") or self._guess_type(chat_id)
            description = {
                "private": "Forbidden: bot was blocked by the user",
                "group": "Forbidden: bot was kicked from the group chat",
                "supergroup": "Forbidden: bot was kicked from the supergroup chat",
                "channel": "Forbidden: bot is not a member of the channel chat",
            }[chat_type]
        self._forbidden[chat_id] = description

    def allow_chat(self, chat_id: int) -> None:
        """Undo :meth:`forbid_chat` (e.g. the bot was added back)."""
        self._forbidden.pop(chat_id, None)

    def set_chat_admins(
        self, chat_id: int, user_ids: Iterable[int], *, creator: int | None = None
    ) -> None:
        """Configure getChatAdministrators/getChatMember for a group.

        ``creator`` (if given) is the owner; the others are administrators. Include
        :attr:`bot_id` to make the bot an admin.
        """
        ids = list(user_ids)
        if creator is not None and creator not in ids:
            ids.insert(0, creator)
        self._admins[chat_id] = ids
        if creator is not None:
            self._creators[chat_id] = creator
        else:
            self._creators.pop(chat_id, None)

    def _member(self, chat_id: int, user_id: int) -> JSON:
        user = self.bot_user if user_id == self.bot_id else self._user(user_id)
        if self._creators.get(chat_id) == user_id:
            status = "creator"
        elif user_id in self._admins.get(chat_id, []):
            status = "administrator"
        else:
            status = "member"
        return member_dict(user, status)

    # ---- messages, files and queries -------------------------------------------------------

    def sent_messages(self, chat_id: int) -> list[JSON]:
        """The bot's messages in ``chat_id`` that still exist, oldest first, as last edited."""
        return [
            copy.deepcopy(msg)
            for (cid, _), msg in sorted(self._messages.items())
            if cid == chat_id and msg.get("from", {}).get("id") == self.bot_id
        ]

    def _new_message(
        self, chat_id: int, sender: JSON | None, *, message_id: int | None = None, **fields: Any
    ) -> JSON:
        msg: JSON = {"message_id": message_id or next(self._message_ids)}
        if sender is not None:
            msg["from"] = sender
        msg.update({"date": now(), "chat": self._chat(chat_id)})
        msg.update({k: v for k, v in fields.items() if v is not None})
        self._messages[(chat_id, msg["message_id"])] = msg
        return msg

    def register_file(
        self,
        data: bytes,
        file_name: str | None = None,
        *,
        mime_type: str | None = None,
        kind: str = "documents",
        size: int | None = None,
    ) -> StoredFile:
        """Store bytes as a Telegram file (file_path ``{kind}/file_N.ext``) and return it.

        ``size`` overrides what Telegram believes the size is (for getFile's 20 MB limit)
        without allocating that many bytes.
        """
        n = next(self._file_ids)
        ext = ""
        if file_name and "." in file_name:
            ext = "." + file_name.rsplit(".", 1)[-1].lower()
        if mime_type is None and file_name:
            mime_type = mimetypes.guess_type(file_name)[0]
            if mime_type is None and ext == ".xlsx":  # not in every system's mime.types
                mime_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        stored = StoredFile(
            file_id=f"BQACAgUAAxkBAAI{n:06d}{kind[:3]}fake",
            file_unique_id=f"AgAD{n:06d}",
            file_path=f"{kind}/file_{n}{ext}",
            data=bytes(data),
            file_name=file_name,
            mime_type=mime_type,
            size=len(data) if size is None else size,
        )
        self.files[stored.file_id] = stored
        return stored

    def unanswered_callback_queries(self) -> list[str]:
        """Ids of callback queries the bot never answered (the user's spinner keeps turning)."""
        return [qid for qid, q in self._queries.items() if q.kind == "callback" and not q.answered]
