"""The Bot API methods the bot calls, answered as Telegram answers them.

Each handler takes the decoded parameters and uploaded files of one request and returns the
``result`` or raises :class:`~fakes.telegram.checks.ApiError` with Telegram's error text. Only
the methods the bot (and the fake's own tests) use are here; any other answers 404 "method not
found", so a new call in the bot shows up at once as a failing test rather than a silent
success.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Literal

from fakes.telegram.checks import (
    MAX_COMMANDS,
    MAX_DOWNLOAD_SIZE,
    MAX_INLINE_RESULTS,
    MAX_UPLOAD_SIZE,
    ApiError,
    bad,
    check_caption,
    check_markup,
    check_photo,
    check_text,
)
from fakes.telegram.state import Files, Params, PendingQuery, StoredFile, TelegramState, now

__all__ = ["BotApiMethods", "Handler"]

JSON = dict[str, Any]
Handler = Callable[[Params, Files], Awaitable[Any]]

_COMMAND_RE: Final = re.compile(r"[a-z0-9_]{1,32}\Z")
_LANGUAGE_RE: Final = re.compile(r"(?:[a-z]{2})?\Z")


def _words(text: str) -> frozenset[str]:
    """A set of names written as one readable, space-separated string."""
    return frozenset(text.split())


_COMMAND_SCOPES: Final = _words(
    "default all_private_chats all_group_chats all_chat_administrators chat "
    "chat_administrators chat_member"
)
_CHAT_ACTIONS: Final = _words(
    "typing upload_photo record_video upload_video record_voice upload_voice upload_document "
    "choose_sticker find_location record_video_note upload_video_note"
)

_NOT_MODIFIED: Final = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
_QUERY_TOO_OLD: Final = "query is too old and response timeout expired or query ID is invalid"


class BotApiMethods(TelegramState):
    """Handlers of the Bot API methods, keyed by lower-cased method name (as Telegram
    matches them) in :meth:`_method_table`."""

    def _method_table(self) -> dict[str, Handler]:
        table: dict[str, Handler] = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
            "answerCallbackQuery": self._answer_callback_query,
            "answerInlineQuery": self._answer_inline_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": self._set_my_description,
            "getMyDescription": self._get_my_description,
            "setMyShortDescription": self._set_my_short_description,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
            "leaveChat": self._leave_chat,
            "close": self._close,
            "logOut": self._log_out,
        }
        return {name.lower(): handler for name, handler in table.items()}

    # ---- parameters and chat access --------------------------------------------------------

    def _check_chat_access(self, params: Params) -> None:
        """403 in a chat the bot was blocked in or removed from; 400 with the new id in a
        group that became a supergroup (PTB raises Forbidden / ChatMigrated)."""
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            return
        if chat_id in self._migrated:
            raise bad(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[chat_id]},
            )
        if chat_id in self._forbidden:
            raise ApiError(403, self._forbidden[chat_id])

    @staticmethod
    def _chat_id(p: Params) -> int:
        """The ``chat_id`` parameter; the bot always sends a number (no ``@username``)."""
        value = p.get("chat_id")
        if value is None or value == "":
            raise bad("chat_id is empty")
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("chat not found")
        return value

    @staticmethod
    def _int(p: Params, name: str) -> int:
        value = p.get(name)
        if isinstance(value, bool) or value is None:
            raise bad(f"{name} is empty" if value is None else f"invalid {name} specified")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad(f"invalid {name} specified") from None

    def _reply_target(self, chat_id: int, p: Params) -> JSON | None:
        """The message a send quotes (PTB 22 sends ``reply_parameters`` only)."""
        reply = p.get("reply_parameters")
        if not isinstance(reply, dict) or reply.get("message_id") is None:
            return None
        target = self._messages.get((chat_id, int(reply["message_id"])))
        if target is None:
            if not reply.get("allow_sending_without_reply"):
                raise bad("message to be replied not found")
            return None
        return {k: v for k, v in target.items() if k != "reply_to_message"}

    # ---- bot info, commands and descriptions -----------------------------------------------

    async def _get_me(self, p: Params, files: Files) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }

    async def _close(self, p: Params, files: Files) -> bool:
        return True

    async def _log_out(self, p: Params, files: Files) -> bool:
        return True

    @staticmethod
    def _scope_key(p: Mapping[str, Any]) -> tuple[str, str]:
        scope = p.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in _COMMAND_SCOPES:
            raise bad("can't parse BotCommandScope JSON object")
        if scope["type"].startswith("chat") and "chat_id" not in scope:
            raise bad("chat_id is empty")
        language = str(p.get("language_code") or "")
        if not _LANGUAGE_RE.match(language):
            raise bad("invalid language code specified")
        return json.dumps(scope, sort_keys=True), language

    async def _set_my_commands(self, p: Params, files: Files) -> bool:
        key = self._scope_key(p)
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise bad("can't parse commands JSON object")
        if len(commands) > MAX_COMMANDS:
            raise bad("BOT_COMMANDS_TOO_MUCH")
        cleaned: list[JSON] = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad("can't parse BotCommand JSON object")
            command = str(item.get("command", "")).strip().removeprefix("/")
            description = str(item.get("description", "")).strip()
            if not command:
                raise bad("command must be non-empty")
            if len(command) > 32:
                raise bad("command length must not exceed 32")
            if not description:
                raise bad("command description must be non-empty")
            if len(description) > 256:
                raise bad("command description length must not exceed 256")
            if not _COMMAND_RE.match(command):
                raise bad("BOT_COMMAND_INVALID")
            cleaned.append({"command": command, "description": description})
        if cleaned:
            self.commands[key] = cleaned
        else:
            self.commands.pop(key, None)
        return True

    async def _get_my_commands(self, p: Params, files: Files) -> list[JSON]:
        return [dict(c) for c in self.commands.get(self._scope_key(p), [])]

    async def _delete_my_commands(self, p: Params, files: Files) -> bool:
        self.commands.pop(self._scope_key(p), None)
        return True

    def my_commands(
        self, scope: Mapping[str, Any] | None = None, language_code: str = ""
    ) -> list[JSON]:
        """Commands set for ``scope`` (default ``{"type": "default"}``) and language."""
        return self.commands.get(
            self._scope_key({"scope": scope, "language_code": language_code}), []
        )

    def _set_text(self, kind: str, p: Params, limit: int) -> bool:
        language = str(p.get("language_code") or "")
        if not _LANGUAGE_RE.match(language):
            raise bad("invalid language code specified")
        value = str(p.get(kind) or "")
        if len(value) > limit:
            raise bad(f"{kind.replace('_', ' ')} is too long")
        self.descriptions[(kind, language)] = value
        return True

    async def _set_my_description(self, p: Params, files: Files) -> bool:
        return self._set_text("description", p, 512)

    async def _set_my_short_description(self, p: Params, files: Files) -> bool:
        return self._set_text("short_description", p, 120)

    async def _get_my_description(self, p: Params, files: Files) -> JSON:
        language = str(p.get("language_code") or "")
        return {"description": self.descriptions.get(("description", language), "")}

    async def _set_chat_menu_button(self, p: Params, files: Files) -> bool:
        if p.get("chat_id") not in (None, ""):
            self._chat_id(p)
        button = p.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in {
            "default",
            "commands",
            "web_app",
        }:
            raise bad("can't parse menu button JSON object")
        return True

    # ---- messages --------------------------------------------------------------------------

    async def _send_message(self, p: Params, files: Files) -> JSON:
        chat_id = self._chat_id(p)
        self._chat(chat_id)
        text, entities = check_text("sendMessage", p, self.violations)
        markup = check_markup(p.get("reply_markup"))
        reply_to = self._reply_target(chat_id, p)
        return self._new_message(
            chat_id,
            self.bot_user,
            text=text,
            entities=entities or None,
            reply_markup=markup,
            reply_to_message=reply_to,
            link_preview_options=p.get("link_preview_options"),
        )

    def _editable(self, p: Params, *, text: bool) -> JSON:
        """The stored message an edit targets (the bot edits only its own chat messages)."""
        chat_id = self._chat_id(p)
        message_id = self._int(p, "message_id")
        msg = self._messages.get((chat_id, message_id))
        if msg is None:
            raise bad("message to edit not found")
        if msg.get("from", {}).get("id") != self.bot_id:
            raise bad("message can't be edited")
        if text and "text" not in msg:
            raise bad("there is no text in the message to edit")
        return msg

    async def _edit_message_text(self, p: Params, files: Files) -> JSON:
        msg = self._editable(p, text=True)
        text, entities = check_text("editMessageText", p, self.violations)
        markup = check_markup(p.get("reply_markup"))
        if (
            msg.get("text") == text
            and msg.get("entities", []) == entities
            and msg.get("reply_markup") == markup
        ):
            raise bad(_NOT_MODIFIED)
        self._apply_edit(msg, text=text, entities=entities, reply_markup=markup)
        if "link_preview_options" in p:
            msg["link_preview_options"] = p["link_preview_options"]
        return dict(msg)

    async def _edit_message_reply_markup(self, p: Params, files: Files) -> JSON:
        msg = self._editable(p, text=False)
        markup = check_markup(p.get("reply_markup"))
        if msg.get("reply_markup") == markup:
            raise bad(_NOT_MODIFIED)
        self._apply_edit(msg, reply_markup=markup)
        return dict(msg)

    @staticmethod
    def _apply_edit(msg: JSON, **fields: Any) -> None:
        """Replace fields; an edit without reply_markup removes the keyboard, as on Telegram."""
        for key, value in fields.items():
            if value is None or value == []:
                msg.pop(key, None)
            else:
                msg[key] = value
        msg["edit_date"] = now()

    async def _delete_message(self, p: Params, files: Files) -> bool:
        chat_id = self._chat_id(p)
        message_id = self._int(p, "message_id")
        if self._messages.pop((chat_id, message_id), None) is None:
            raise bad("message to delete not found")
        return True

    def _upload(self, p: Params, files: Files, name: str, kind: str) -> StoredFile:
        """The file a send* call uploads (the bot always sends the bytes, never a file_id)."""
        part = files.get(name)
        if part is None:
            raise bad(f"there is no {name} in the request")
        filename, data = part
        if not data:
            raise bad("file must be non-empty")
        if len(data) > MAX_UPLOAD_SIZE:
            raise ApiError(413, "Request Entity Too Large")
        return self.register_file(data, filename, kind=kind)

    async def _send_document(self, p: Params, files: Files) -> JSON:
        chat_id = self._chat_id(p)
        self._chat(chat_id)
        caption, entities = check_caption("sendDocument", p, self.violations)
        markup = check_markup(p.get("reply_markup"))
        reply_to = self._reply_target(chat_id, p)
        stored = self._upload(p, files, "document", "documents")
        return self._new_message(
            chat_id,
            self.bot_user,
            document=stored.fields(),
            caption=caption,
            caption_entities=entities or None,
            reply_markup=markup,
            reply_to_message=reply_to,
        )

    async def _send_photo(self, p: Params, files: Files) -> JSON:
        chat_id = self._chat_id(p)
        self._chat(chat_id)
        caption, entities = check_caption("sendPhoto", p, self.violations)
        markup = check_markup(p.get("reply_markup"))
        reply_to = self._reply_target(chat_id, p)
        stored = self._upload(p, files, "photo", "photos")
        width, height = check_photo(stored.data)
        photo = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "width": width,
            "height": height,
        }
        return self._new_message(
            chat_id,
            self.bot_user,
            photo=[photo],
            caption=caption,
            caption_entities=entities or None,
            reply_markup=markup,
            reply_to_message=reply_to,
        )

    async def _send_chat_action(self, p: Params, files: Files) -> bool:
        self._chat(self._chat_id(p))
        if p.get("action") not in _CHAT_ACTIONS:
            raise bad("wrong parameter action in request")
        return True

    # ---- files (the download itself is the server's file route) ----------------------------

    async def _get_file(self, p: Params, files: Files) -> JSON:
        file_id = p.get("file_id")
        if not file_id:
            raise bad("file_id is empty")
        stored = self.files.get(str(file_id))
        if stored is None:
            raise bad("invalid file_id")
        if stored.size > MAX_DOWNLOAD_SIZE:
            raise bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    # ---- callback and inline queries -------------------------------------------------------

    def _query(self, query_id: Any, kind: Literal["callback", "inline"]) -> PendingQuery:
        query = self._queries.get(str(query_id))
        if query is None or query.kind != kind or query.answered:
            raise bad(_QUERY_TOO_OLD)
        return query

    async def _answer_callback_query(self, p: Params, files: Files) -> bool:
        query = self._query(p.get("callback_query_id"), "callback")
        text = p.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise bad("MESSAGE_TOO_LONG")
        query.answered = True
        return True

    async def _answer_inline_query(self, p: Params, files: Files) -> bool:
        query = self._query(p.get("inline_query_id"), "inline")
        results = p.get("results")
        if not isinstance(results, list):
            raise bad("can't parse inline query results JSON object")
        if len(results) > MAX_INLINE_RESULTS:
            raise bad("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            if not isinstance(result, dict):
                raise bad("can't parse InlineQueryResult JSON object")
            rid = str(result.get("id", ""))
            if not 1 <= len(rid.encode("utf-8")) <= 64:
                raise bad("RESULT_ID_INVALID")
            if rid in seen:
                raise bad("RESULT_ID_DUPLICATE")
            seen.add(rid)
            content = result.get("input_message_content")
            if isinstance(content, dict) and "message_text" in content:
                sent = {"text": content["message_text"], "parse_mode": content.get("parse_mode")}
                check_text("answerInlineQuery", sent, self.violations)
            check_markup(result.get("reply_markup"))
        query.answered = True
        return True

    # ---- chats -----------------------------------------------------------------------------

    async def _get_chat(self, p: Params, files: Files) -> JSON:
        chat = self._chat(self._chat_id(p))
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _get_chat_member(self, p: Params, files: Files) -> JSON:
        chat_id = self._chat_id(p)
        chat = self._chat(chat_id)
        user_id = self._int(p, "user_id")
        if chat["type"] == "private" and user_id not in (chat_id, self.bot_id):
            raise bad("user not found")
        return self._member(chat_id, user_id)

    async def _get_chat_administrators(self, p: Params, files: Files) -> list[JSON]:
        chat_id = self._chat_id(p)
        if self._chat(chat_id)["type"] == "private":
            raise bad("there are no administrators in the private chat")
        return [self._member(chat_id, uid) for uid in self._admins.get(chat_id, [])]

    async def _leave_chat(self, p: Params, files: Files) -> bool:
        chat_id = self._chat_id(p)
        chat = self._chat(chat_id)
        if chat["type"] == "private":
            raise bad("chat member status can't be changed in private chats")
        self.left_chats.append(chat_id)
        kind = "supergroup" if chat["type"] == "supergroup" else "group"
        self._forbidden[chat_id] = f"Forbidden: bot is not a member of the {kind} chat"
        return True
