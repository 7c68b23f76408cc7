"""What Telegram refuses in a message the bot sends, with Telegram's own error texts.

A fake that accepts everything hides the bugs that only show up in production: malformed
HTML, 4096-character overflows, 65-byte ``callback_data``, oversized keyboards, pictures
Telegram cannot read. These checks raise :class:`ApiError` exactly where Telegram answers 400;
what Telegram accepts but silently degrades (more than 100 entities) is recorded as a
violation instead, which the tests assert is empty.
"""

from __future__ import annotations

import struct
from typing import Any, Final

from fakes.telegram.html import HtmlParseError, parse_html, public_entities, utf16_len

__all__ = [
    "MAX_CALLBACK_DATA_BYTES",
    "MAX_CAPTION_LENGTH",
    "MAX_COMMANDS",
    "MAX_DOWNLOAD_SIZE",
    "MAX_ENTITIES",
    "MAX_INLINE_BUTTONS",
    "MAX_INLINE_BUTTONS_PER_ROW",
    "MAX_INLINE_RESULTS",
    "MAX_TEXT_LENGTH",
    "MAX_UPLOAD_SIZE",
    "ApiError",
    "bad",
    "check_caption",
    "check_markup",
    "check_photo",
    "check_text",
]

JSON = dict[str, Any]

#: Telegram's limits (``telegram.constants`` in PTB 22.8 and the Bot API docs).
MAX_TEXT_LENGTH: Final = 4096
MAX_CAPTION_LENGTH: Final = 1024
MAX_ENTITIES: Final = 100
MAX_CALLBACK_DATA_BYTES: Final = 64
MAX_INLINE_BUTTONS: Final = 100
MAX_INLINE_BUTTONS_PER_ROW: Final = 8
MAX_INLINE_RESULTS: Final = 50
MAX_DOWNLOAD_SIZE: Final = 20_000_000
MAX_UPLOAD_SIZE: Final = 50 * 1024 * 1024
MAX_COMMANDS: Final = 100

#: What a button may do besides showing its text (one of them is required).
_BUTTON_ACTIONS: Final = (
    "callback_data",
    "url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "web_app",
    "login_url",
    "callback_game",
    "pay",
    "copy_text",
)


class ApiError(Exception):
    """An error answer of the Bot API: ``{"ok": false, "error_code", "description"}``."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        """The JSON body Telegram sends for this error."""
        out: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            out["parameters"] = self.parameters
        return out


def bad(description: str, parameters: JSON | None = None) -> ApiError:
    """A 400 answer; Telegram prefixes every such description with "Bad Request: "."""
    return ApiError(400, f"Bad Request: {description}", parameters)


def _formatted(text: str, parse_mode: Any) -> tuple[str, list[JSON]]:
    """Apply ``parse_mode`` and return (plain text, entities).

    HTML is the only mode the bot uses, so any other is refused: stricter than Telegram, on
    purpose, because text in a mode this fake does not parse would go out unchecked.
    """
    if parse_mode is None or parse_mode == "":
        return text, []
    if str(parse_mode).lower() != "html":
        raise bad("unsupported parse_mode")
    try:
        plain, found = parse_html(text)
    except HtmlParseError as err:
        raise bad(f"can't parse entities: {err}") from None
    return plain, public_entities(found)


def _count_entities(method: str, p: JSON, entities: list[JSON], violations: list[str]) -> None:
    if len(entities) > MAX_ENTITIES:
        violations.append(
            f"{method} to chat {p.get('chat_id')}: {len(entities)} entities; Telegram keeps "
            f"only the first {MAX_ENTITIES} and silently drops the formatting of the rest"
        )


def check_text(method: str, p: JSON, violations: list[str]) -> tuple[str, list[JSON]]:
    """The ``text`` of a send or edit as Telegram shows it: (plain text, entities)."""
    raw = p.get("text")
    if not isinstance(raw, str) or not raw:
        raise bad("message text is empty")
    text, entities = _formatted(raw, p.get("parse_mode"))
    if not text.strip():
        raise bad("message text is empty")
    if utf16_len(text) > MAX_TEXT_LENGTH:
        raise bad("message is too long")
    _count_entities(method, p, entities, violations)
    return text, entities


def check_caption(method: str, p: JSON, violations: list[str]) -> tuple[str | None, list[JSON]]:
    """The ``caption`` of a photo or document (None when there is none), and its entities."""
    raw = p.get("caption")
    if raw is None or raw == "":
        return None, []
    text, entities = _formatted(str(raw), p.get("parse_mode"))
    if utf16_len(text) > MAX_CAPTION_LENGTH:
        raise bad("message caption is too long")
    _count_entities(method, p, entities, violations)
    return text, entities


def check_markup(markup: Any) -> JSON | None:
    """Validate an inline keyboard; return it if it belongs in the sent Message."""
    if markup is None or markup == "":
        return None
    if not isinstance(markup, dict):
        raise bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return None  # reply keyboards / remove / force_reply are not echoed in the Message
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    total = sum(len(r) for r in rows)
    if total > MAX_INLINE_BUTTONS or any(len(r) > MAX_INLINE_BUTTONS_PER_ROW for r in rows):
        raise bad("reply markup is too long")
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise bad("can't parse inline keyboard button: Text buttons are unallowed")
            if not any(a in button for a in _BUTTON_ACTIONS):
                raise bad(
                    "can't parse inline keyboard button: Text buttons are unallowed in the "
                    "inline keyboard"
                )
            if "callback_data" in button:
                data = button["callback_data"]
                size = len(str(data).encode("utf-8"))
                if not isinstance(data, str) or not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                    raise bad("BUTTON_DATA_INVALID")
    return {"inline_keyboard": [[dict(b) for b in row] for row in rows]}


def check_photo(data: bytes) -> tuple[int, int]:
    """(width, height) of a photo Telegram would accept.

    Only PNG is read: the bot's charts are PNG, so anything else is refused like bytes
    Telegram cannot decode.
    """
    if not (data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24):
        raise bad("IMAGE_PROCESS_FAILED")
    width, height = (int(n) for n in struct.unpack(">II", data[16:24]))
    if width + height > 10000 or max(width, height) > 20 * max(min(width, height), 1):
        raise bad("PHOTO_INVALID_DIMENSIONS")
    return width, height
