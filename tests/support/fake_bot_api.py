"""A fake Telegram Bot API server on 127.0.0.1 for end-to-end tests and benchmarks.

Why a real HTTP server instead of a fake ``BaseRequest``: the bot under test is the real PTB
``Application`` with its real ``HTTPXRequest``, ``Updater`` (long polling), rate limiter and
error handling. Only ``ApplicationBuilder().base_url(srv.base_url).base_file_url(
srv.base_file_url)`` differs from production, so tests exercise PTB's parameter encoding, its
error mapping (``BadRequest``, ``Forbidden``, ``RetryAfter``, ``ChatMigrated``, ``TimedOut``) and
its polling loop exactly as they run against Telegram.

Why it validates: a fake that accepts everything hides the bugs that only show up in
production (malformed HTML, 4096-character overflows, 65-byte ``callback_data``, "message is not
modified" on pagination, flood limits). Validation follows Telegram's server (tdlib's
``parse_html`` and the Bot API's error texts) and is, where noted, deliberately a little
stricter than Telegram so that a bot which passes here is safe there.

How PTB sends parameters (checked against PTB 22.8 itself): every method is a ``POST``; without
parameters the body is empty; otherwise the body is ``application/x-www-form-urlencoded`` where
every value is a string: objects/lists (``reply_markup``, ``entities``, ``commands``,
``results``, ``scope``...) are JSON text, ints are their digits (``chat_id=42``), booleans are
``true``/``false`` and strings are sent raw (``text=[1, 2]`` is *not* JSON-quoted). When a file
is uploaded the same fields travel as ``multipart/form-data`` parts and the file is a part with
a ``filename``. Because a raw string can look like JSON or a number, values are decoded by
parameter name (see :func:`decode_param`), as Telegram itself does from its method schema.

Typical use::

    async with FakeBotAPI() as srv:
        app = (ApplicationBuilder().token(TOKEN).base_url(srv.base_url)
               .base_file_url(srv.base_file_url).build())
        ...
        srv.push_update(srv.message("/start"))
        call = await srv.wait_for("sendMessage", lambda c: c.params["chat_id"] == USER_ID)

Standalone (for a human or a benchmark driving ``python -m bot run``)::

    python -m tests.support.fake_bot_api --port 8081 [--enforce-limits]

which also serves a small control API under ``/_control/`` (see
:meth:`FakeBotAPI._setup_routes`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import functools
import itertools
import json
import logging
import math
import mimetypes
import re
import signal
import struct
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Self
from urllib.parse import urlsplit

from aiohttp import BodyPartReader, web

__all__ = [
    "DEFAULT_BOT_ID",
    "DEFAULT_GROUP_ID",
    "DEFAULT_SUPERGROUP_ID",
    "DEFAULT_USER_ID",
    "ApiError",
    "Call",
    "FakeBotAPI",
    "HtmlParseError",
    "RateLimitHit",
    "StoredFile",
    "decode_param",
    "parse_html",
    "utf16_len",
]

_LOG = logging.getLogger(__name__)

JSON = dict[str, Any]
Params = dict[str, Any]
Files = dict[str, tuple[str, bytes]]
_Handler = Callable[[Params, Files], Awaitable[Any]]

DEFAULT_BOT_ID: Final = 7000001
DEFAULT_USER_ID: Final = 100001
DEFAULT_GROUP_ID: Final = -400000001
DEFAULT_SUPERGROUP_ID: Final = -1001000000001
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


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _lower_words(text: str) -> frozenset[str]:
    return frozenset(word.lower() for word in text.split())


_TOKEN_RE: Final = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
_INT_RE: Final = re.compile(r"-?\d{1,19}\Z")
_FLOAT_RE: Final = re.compile(r"-?\d+\.\d+\Z")
_COMMAND_RE: Final = re.compile(r"[a-z0-9_]{1,32}\Z")
_LANGUAGE_RE: Final = re.compile(r"(?:[a-z]{2})?\Z")
_BOT_COMMAND_IN_TEXT: Final = re.compile(
    r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])"
)

_NOT_MODIFIED: Final = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_QUERY_TOO_OLD: Final = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)

#: Methods Telegram counts against the flood limits (30 messages/s overall, 20/min per group).
_SEND_METHODS: Final = _lower_words(
    "sendMessage sendPhoto sendDocument copyMessage copyMessages forwardMessage "
    "forwardMessages sendMediaGroup sendAudio sendVideo sendAnimation sendVoice sendSticker "
    "sendPoll sendDice sendLocation sendContact sendVenue sendVideoNote"
)

#: Update kinds Telegram delivers when ``allowed_updates`` is empty or was never set.
_ALL_UPDATE_TYPES: Final = _words(
    "message edited_message channel_post edited_channel_post business_connection "
    "business_message edited_business_message deleted_business_messages message_reaction "
    "message_reaction_count inline_query chosen_inline_result callback_query shipping_query "
    "pre_checkout_query purchased_paid_media poll poll_answer my_chat_member chat_member "
    "chat_join_request chat_boost removed_chat_boost"
)
_DEFAULT_UPDATE_TYPES: Final = _ALL_UPDATE_TYPES - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}

_CHAT_ACTIONS: Final = _words(
    "typing upload_photo record_video upload_video record_voice upload_voice "
    "upload_document choose_sticker find_location record_video_note upload_video_note"
)

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


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: the unit of Telegram's text limits and entity offsets."""
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def _now() -> int:
    return int(time.time())


def _jsonable(value: Any) -> Any:
    """A JSON-safe copy of recorded data (bytes become a size note) for the control API."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


#: Telegram answers raw UTF-8 JSON (no ASCII escapes); also readable in the control API.
_json_response = functools.partial(
    web.json_response, dumps=functools.partial(json.dumps, ensure_ascii=False)
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


def _bad(description: str, parameters: JSON | None = None) -> ApiError:
    return ApiError(400, f"Bad Request: {description}", parameters)


# --------------------------------------------------------------------------------------------
# Parameter decoding
# --------------------------------------------------------------------------------------------

#: Parameters whose value PTB sends as JSON text (objects and lists).
_JSON_PARAMS: Final = _words(
    "reply_markup entities caption_entities results commands scope menu_button "
    "allowed_updates link_preview_options reply_parameters media button "
    "explanation_entities question_entities options permissions message_ids reaction prices "
    "rights input_message_content suggested_post_parameters"
)

#: Parameters that are always strings, even when they look like a number, bool or JSON.
_STRING_PARAMS: Final = _words(
    "text caption query data description short_description name title url next_offset "
    "secret_token callback_query_id inline_query_id inline_message_id "
    "business_connection_id file_id parse_mode language_code emoji question explanation "
    "action ip_address message_effect_id sticker custom_emoji_id payload currency "
    "provider_token start_parameter switch_pm_text switch_pm_parameter document photo"
)


def decode_param(name: str, raw: str) -> Any:
    """Turn one form/multipart value (always a string from PTB) into its Bot API type.

    Decoding is by parameter name because PTB sends strings raw: ``text="42"`` must stay a
    string while ``chat_id="42"`` is an int and ``reply_markup="{...}"`` is JSON.
    """
    if name in _STRING_PARAMS:
        return raw
    if name in _JSON_PARAMS:
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    if raw in ("true", "false"):
        return raw == "true"
    if _INT_RE.match(raw):
        return int(raw)
    if _FLOAT_RE.match(raw):
        return float(raw)
    return raw


# --------------------------------------------------------------------------------------------
# HTML parse mode (a port of tdlib's parse_html, the code behind Telegram's Bot API)
# --------------------------------------------------------------------------------------------

_SPACES: Final = frozenset(" \t\n\r\v\f")
_HTML_TAGS: Final = _words(
    "a b strong i em u ins s strike del tg-spoiler span tg-emoji code pre blockquote"
)
_NAMED_ENTITIES: Final = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SIMPLE_ENTITY_TYPES: Final = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}


class HtmlParseError(ValueError):
    """HTML Telegram refuses; the message is Telegram's text after "can't parse entities: "."""


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int
    char_offset: int  # index into the plain-text output, to read an <a>'s text


def _byte_offset(src: str, index: int) -> int:
    return len(src[:index].encode("utf-8", "surrogatepass"))


def _decode_html_entity(src: str, pos: int) -> tuple[str | None, int]:
    """Decode ``&...`` at ``pos`` like tdlib: returns (character, next index) or (None, pos)."""
    n = len(src)
    end = pos + 1
    if end < n and src[end] == "#":
        end += 1
        value = 0
        if end < n and src[end] == "x":
            end += 1
            while end < n and src[end] in "0123456789abcdefABCDEF":
                value = value * 16 + int(src[end], 16)
                end += 1
        else:
            while end < n and "0" <= src[end] <= "9":
                value = value * 10 + int(src[end])
                end += 1
        if value == 0 or value >= 0x10FFFF or end - pos >= 10:
            return None, pos
        if 0xD800 <= value <= 0xDFFF:
            raise HtmlParseError(
                "Text contains invalid Unicode characters after decoding HTML entities, check "
                "for unmatched surrogate code units"
            )
        char = chr(value)
    else:
        while end < n and src[end].isascii() and src[end].isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(src[pos + 1 : end])
        if named is None:
            return None, pos
        char = named
    if end < n and src[end] == ";":
        end += 1
    return char, end


def _normalize_url(url: str) -> str | None:
    """Roughly tdlib's check_url: add a scheme to bare domains, drop what is not a URL."""
    url = url.strip()
    if not url or any(ch in _SPACES for ch in url):
        return None
    if url.startswith("tg:"):
        return url
    if "://" not in url and not url.startswith("mailto:"):
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and not parts.netloc:
        return None
    if parts.scheme in ("http", "https") and not parts.path:
        url = parts._replace(path="/").geturl()
    return url


def parse_html(src: str, *, strict: bool = True) -> tuple[str, list[JSON]]:
    """Parse Telegram's HTML parse mode into (plain text, entities) or raise HtmlParseError.

    Follows tdlib's ``parse_html`` (tags, attribute syntax, entity decoding, the error texts
    and their UTF-8 byte offsets; entity offsets/lengths in UTF-16 code units). With
    ``strict`` (the default) a bare ``&`` that does not start ``&lt; &gt; &amp; &quot;`` or a
    numeric reference is an error: Telegram would show it literally, but the Bot API docs
    require ``&amp;``, and an unescaped ``&`` usually means unescaped user data, whose next
    ``<`` would break the message in production.
    """
    out: list[str] = []
    out_len = 0  # characters in ``out`` joined
    utf16 = 0
    stack: list[_OpenTag] = []
    entities: list[JSON] = []
    n = len(src)
    i = 0
    begin = 0  # where the tag being parsed starts

    def at_begin() -> str:
        return f"at byte offset {_byte_offset(src, begin)}"

    while i < n:
        ch = src[i]
        if ch == "&":
            decoded, nxt = _decode_html_entity(src, i)
            if decoded is not None:
                out.append(decoded)
                out_len += 1
                utf16 += utf16_len(decoded)
                i = nxt
                continue
            if strict:
                word = re.match(r"&#?[A-Za-z0-9]*;?", src[i:])
                shown = word.group(0) if word else "&"
                what = 'Unescaped "&"' if shown == "&" else f'Unsupported entity "{shown}"'
                raise HtmlParseError(
                    f"{what} at byte offset {_byte_offset(src, i)} (Telegram would show it "
                    "literally; write &amp;, only &lt; &gt; &amp; &quot; and &#N; are entities)"
                )
        if ch != "<":
            out.append(ch)
            out_len += 1
            utf16 += 2 if ord(ch) > 0xFFFF else 1
            i += 1
            continue

        begin = i
        i += 1
        if i < n and src[i] == "/":
            # an end tag
            if not stack:
                raise HtmlParseError(f"Unexpected end tag {at_begin()}")
            i += 1
            name_start = i
            while i < n and src[i] not in _SPACES and src[i] != ">":
                i += 1
            end_name = src[name_start:i].lower()
            while i < n and src[i] in _SPACES:
                i += 1
            if i >= n or src[i] != ">":
                raise HtmlParseError(f"Unclosed end tag {at_begin()}")
            i += 1
            tag = stack[-1]
            if end_name and end_name != tag.name:
                raise HtmlParseError(
                    f"Unmatched end tag {at_begin()}, expected "
                    f'"</{tag.name}>", found "</{end_name}>"'
                )
            stack.pop()
            if utf16 > tag.utf16_offset:
                inner = "".join(out)[tag.char_offset :] if tag.name == "a" else ""
                _close_tag(tag, utf16, inner, entities)
            continue

        # a start tag
        name_start = i
        while i < n and src[i] not in _SPACES and src[i] != ">":
            i += 1
        if i >= n:
            raise HtmlParseError(f"Unclosed start tag {at_begin()}")
        tag_name = src[name_start:i].lower()
        if tag_name not in _HTML_TAGS:
            raise HtmlParseError(f'Unsupported start tag "{tag_name}" {at_begin()}')
        argument = ""
        while i < n and src[i] != ">":
            while i < n and src[i] in _SPACES:
                i += 1
            if i < n and src[i] == ">":
                break
            attr_start = i
            while i < n and src[i] not in _SPACES and src[i] not in "=>":
                i += 1
            attr_name = src[attr_start:i].lower()
            if not attr_name:
                raise HtmlParseError(f'Empty attribute name in the tag "{tag_name}" {at_begin()}')
            while i < n and src[i] in _SPACES:
                i += 1
            if i >= n or src[i] != "=":
                if tag_name == "blockquote" and attr_name == "expandable":
                    argument = "expandable"
                    continue
                raise HtmlParseError(
                    "Expected equal sign in declaration of an attribute of the tag "
                    f'"{tag_name}" {at_begin()}'
                )
            i += 1
            while i < n and src[i] in _SPACES:
                i += 1
            if i >= n:
                raise HtmlParseError(f'Unclosed start tag "{tag_name}" {at_begin()}')
            if src[i] in "'\"":
                quote = src[i]
                i += 1
                value_chars: list[str] = []
                while i < n and src[i] != quote:
                    if src[i] == "&":
                        decoded, nxt = _decode_html_entity(src, i)
                        if decoded is not None:
                            value_chars.append(decoded)
                            i = nxt
                            continue
                    value_chars.append(src[i])
                    i += 1
                if i < n:
                    i += 1  # the closing quote
                value = "".join(value_chars)
            else:
                token_start = i
                while i < n and (src[i].isascii() and (src[i].isalnum() or src[i] in ".-")):
                    i += 1
                value = src[token_start:i].lower()
                if i < n and src[i] not in _SPACES and src[i] != ">":
                    raise HtmlParseError(
                        "Unexpected end of name token at byte offset "
                        f"{_byte_offset(src, token_start)}"
                    )
            if i >= n:
                raise HtmlParseError(f"Unclosed start tag {at_begin()}")
            if tag_name == "a" and attr_name == "href":
                argument = value
            elif tag_name == "code" and attr_name == "class" and value.startswith("language-"):
                argument = value[len("language-") :]
            elif tag_name == "span" and attr_name == "class" and value.startswith("tg-"):
                argument = value[len("tg-") :]
            elif tag_name == "tg-emoji" and attr_name == "emoji-id":
                argument = value
        if i >= n:
            raise HtmlParseError(f"Unclosed start tag {at_begin()}")
        i += 1  # the '>'
        if tag_name == "span" and argument != "spoiler":
            raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" {at_begin()}')
        if tag_name == "tg-emoji" and not (argument.isdigit() and int(argument) > 0):
            raise HtmlParseError("Invalid custom emoji identifier specified")
        stack.append(_OpenTag(tag_name, argument, utf16, out_len))

    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _close_tag(tag: _OpenTag, utf16_end: int, inner_text: str, entities: list[JSON]) -> None:
    """Append the entity for a closed, non-empty tag (tdlib's rules for a, pre and code)."""
    offset = tag.utf16_offset
    length = utf16_end - offset
    name = tag.name
    if name in _SIMPLE_ENTITY_TYPES:
        entities.append({"type": _SIMPLE_ENTITY_TYPES[name], "offset": offset, "length": length})
    elif name == "a":
        url = tag.argument or inner_text
        match = re.match(r"tg://user\?id=(\d+)\Z", url)
        if match:
            user = {"id": int(match.group(1)), "is_bot": False, "first_name": inner_text}
            entities.append(
                {"type": "text_mention", "offset": offset, "length": length, "user": user}
            )
            return
        normalized = _normalize_url(url)
        if normalized is not None:
            entities.append(
                {"type": "text_link", "offset": offset, "length": length, "url": normalized}
            )
    elif name == "pre":
        language = ""
        if (
            entities
            and entities[-1]["type"] == "code"
            and entities[-1]["offset"] == offset
            and entities[-1]["length"] == length
        ):
            language = entities.pop().get("_language", "")
        entity: JSON = {"type": "pre", "offset": offset, "length": length}
        if language:
            entity["language"] = language
        entities.append(entity)
    elif name == "code":
        last = entities[-1] if entities else None
        if (
            last
            and last["type"] == "pre"
            and last["offset"] == offset
            and last["length"] == length
        ):
            if tag.argument:
                last["language"] = tag.argument
            return
        code: JSON = {"type": "code", "offset": offset, "length": length}
        if tag.argument:
            code["_language"] = tag.argument  # used if an enclosing <pre> closes on it
        entities.append(code)
    elif name == "blockquote":
        kind = "expandable_blockquote" if tag.argument == "expandable" else "blockquote"
        entities.append({"type": kind, "offset": offset, "length": length})
    elif name == "tg-emoji":
        entities.append(
            {
                "type": "custom_emoji",
                "offset": offset,
                "length": length,
                "custom_emoji_id": tag.argument,
            }
        )


def _public_entities(entities: list[JSON]) -> list[JSON]:
    return [{k: v for k, v in e.items() if not k.startswith("_")} for e in entities]


_MENTION_IN_TEXT = re.compile(r"(?<![\w/])@[A-Za-z][A-Za-z0-9_]{3,31}\b")


def _command_entities(text: str) -> list[JSON]:
    """The bot_command and mention entities Telegram adds to an incoming text
    (offsets in UTF-16), in text order."""
    found: list[dict[str, Any]] = [
        {
            "type": "bot_command",
            "offset": utf16_len(text[: m.start()]),
            "length": utf16_len(m.group(0)),
        }
        for m in _BOT_COMMAND_IN_TEXT.finditer(text)
    ]
    commands = [(e["offset"], e["offset"] + e["length"]) for e in found]
    for m in _MENTION_IN_TEXT.finditer(text):
        start = utf16_len(text[: m.start()])
        if not any(a <= start < b for a, b in commands):  # "/top@bot" is one command
            found.append({"type": "mention", "offset": start, "length": utf16_len(m.group(0))})
    return sorted(found, key=lambda e: e["offset"])


def _image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG or JPEG, which is what Telegram needs to accept a photo."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            (seg_len,) = struct.unpack(">H", data[i + 2 : i + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            i += 2 + seg_len
    return None


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass
class Call:
    """One request the bot made, as the server saw it.

    ``params`` are decoded (see :func:`decode_param`), ``files`` maps a multipart part name to
    ``(filename, bytes)``, ``at`` is ``time.monotonic()`` on arrival. ``status`` is 0 while the
    request is being answered, then the HTTP status; ``result`` is the ``result`` of a
    successful answer and ``error`` the description of a failed one.
    """

    method: str
    params: Params
    files: Files
    at: float
    status: int = 0
    result: Any = None
    error: str | None = None
    index: int = -1

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
    """A file the fake Telegram knows: uploaded by the bot or registered by a test."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    file_name: str | None = None
    mime_type: str | None = None
    size: int = 0  # what Telegram believes the size is (getFile's 20 MB check uses it)

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
class _Fault:
    status: int
    description: str
    parameters: JSON | None


@dataclass
class _PendingQuery:
    kind: Literal["callback", "inline"]
    user_id: int
    answered: bool = False
    answer: Params = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class FakeBotAPI:
    """An in-process fake of ``api.telegram.org`` for one bot, on ``127.0.0.1:<port>``.

    State a test can read: ``calls`` (every request, see :class:`Call`), ``violations``
    (things Telegram would silently degrade, e.g. more than 100 entities; tests assert it is
    empty), ``rate_limit_hits``, ``tokens_seen``, ``commands``, ``descriptions``, ``files``.
    Update builders (:meth:`message`, :meth:`document_message`, :meth:`callback_query`, ...)
    return update dicts for :meth:`push_update`, which the bot then receives via getUpdates.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        username: str = "laocai_cds_bot",
        first_name: str = "Xếp hạng CĐS",
        bot_id: int = DEFAULT_BOT_ID,
        enforce_limits: bool = False,
        overall_per_second: int = 30,
        group_per_minute: int = 20,
        max_poll_timeout: float = 5.0,
        strict_html: bool = True,
        strict_chats: bool = False,
        valid_tokens: Iterable[str] | None = None,
        control_api: bool = False,
    ) -> None:
        """Configure the fake; nothing listens until :meth:`start`.

        ``enforce_limits`` turns on Telegram's flood limits (more than ``overall_per_second``
        sends in any 1 s, or more than ``group_per_minute`` to one group in any 60 s → 429).
        ``max_poll_timeout`` caps getUpdates long polling so a test never waits long.
        ``strict_html`` rejects bare ``&`` (see :func:`parse_html`). ``strict_chats`` answers
        "chat not found" for chats no update has mentioned (off: any id is a valid chat).
        ``valid_tokens`` (if given) answers 401 for any other well-formed token, like a revoked
        one. ``control_api`` serves ``/_control/`` (the standalone CLI turns it on).
        """
        self.host = host
        self._requested_port = port
        self.username = username
        self.bot_user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": first_name,
            "username": username,
        }
        self.enforce_limits = enforce_limits
        self.overall_per_second = overall_per_second
        self.group_per_minute = group_per_minute
        self.max_poll_timeout = max_poll_timeout
        self.strict_html = strict_html
        self.strict_chats = strict_chats
        self.valid_tokens = frozenset(valid_tokens) if valid_tokens is not None else None
        self.control_api = control_api

        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.rate_limit_hits: list[RateLimitHit] = []
        self.tokens_seen: list[str] = []
        self.files: dict[str, StoredFile] = {}
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.descriptions: dict[tuple[str, str], str] = {}
        self.menu_buttons: dict[int | None, JSON] = {}
        self.webhook_url = ""
        self.left_chats: list[int] = []

        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._closing = asyncio.Event()
        self._calls_changed = asyncio.Event()
        self._updates_changed = asyncio.Event()
        self._updates: deque[JSON] = deque()
        # update_id → time.monotonic() when push_update queued it (benchmarks' latency)
        self.pushed_at: dict[int, float] = {}
        self._next_update_id = 1
        self._delivered_up_to = 0
        self._allowed_updates: frozenset[str] = _DEFAULT_UPDATE_TYPES
        self._poll_generation = 0
        self._in_flight = 0
        self._last_activity = time.monotonic()
        self._message_ids = itertools.count(1)
        self._file_ids = itertools.count(0)
        self._query_ids = itertools.count(1)
        self._messages: dict[tuple[int, int], JSON] = {}
        self._chats: dict[int, JSON] = {}
        self._users: dict[int, JSON] = {}
        self._admins: dict[int, list[int]] = {}
        self._creators: dict[int, int] = {}
        self._member_status: dict[tuple[int, int], str] = {}
        self._forbidden: dict[int, str] = {}
        self._migrated: dict[int, int] = {}
        self._queries: dict[str, _PendingQuery] = {}
        self._faults: dict[str, deque[_Fault]] = {}
        self._delays: dict[str, deque[float]] = {}
        self._sent_overall: deque[float] = deque()
        self._sent_group: dict[int, deque[float]] = {}
        self._methods: dict[str, _Handler] = self._method_table()

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> Self:
        """Bind to ``host:port`` (port 0 = a free one) and start answering."""
        if self._runner is not None:
            return self
        self._closing = asyncio.Event()
        app = web.Application(client_max_size=MAX_UPLOAD_SIZE + 1024 * 1024)
        self._setup_routes(app)
        # access_log=None: aiohttp's access log would print the bot token in every URL.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        _LOG.debug("fake Bot API listening on %s:%s", self.host, self._port)
        return self

    async def stop(self) -> None:
        """Wake long polls and delayed answers, then close the listener and connections."""
        self._closing.set()
        self._notify_updates()
        self._notify_calls()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        if self._port is None:
            raise RuntimeError("FakeBotAPI is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)``: PTB appends the token."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)``: PTB appends the token."""
        return f"http://{self.host}:{self.port}/file/bot"

    @property
    def bot_id(self) -> int:
        """The bot's user id (getMe's ``id``)."""
        return int(self.bot_user["id"])

    # ---- routing ---------------------------------------------------------------------------

    def _setup_routes(self, app: web.Application) -> None:
        """API routes, the file route and (if enabled) the control API.

        Control API (JSON): ``POST /_control/updates`` takes a full update (``update_id``
        optional) or ``{"text", "chat_id", "user_id", "chat_type", "username",
        "language_code"}`` (a message) or ``{"file_id", "caption", ...}`` (a document message
        for a file uploaded with ``/_control/files``) and answers ``{"update_id": N}``;
        ``GET /_control/calls?since=N`` lists recorded calls; ``POST
        /_control/files?file_name=x.csv`` stores the raw body (or a multipart ``file`` part)
        and answers the file's fields; ``GET /_control/state`` shows violations, rate limit
        hits and pending updates.
        """
        if self.control_api:
            app.router.add_post("/_control/updates", self._control_updates)
            app.router.add_get("/_control/calls", self._control_calls)
            app.router.add_post("/_control/files", self._control_files)
            app.router.add_get("/_control/state", self._control_state)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)

    def _method_table(self) -> dict[str, _Handler]:
        table: dict[str, _Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "copyMessage": self._copy_message,
            "forwardMessage": self._forward_message,
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
            "getMyShortDescription": self._get_my_short_description,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
            "leaveChat": self._leave_chat,
            "close": self._close,
            "logOut": self._log_out,
        }
        return {name.lower(): handler for name, handler in table.items()}

    async def _read_params(self, request: web.Request) -> tuple[Params, Files]:
        """Decode query string plus a form, multipart or JSON body (see module docstring)."""
        params: Params = {k: decode_param(k, v) for k, v in request.query.items()}
        files: Files = {}
        if request.method != "POST" or not request.can_read_body:
            return params, files
        ctype = request.content_type
        if ctype == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        elif ctype == "multipart/form-data":
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                if part.filename is not None:
                    files[part.name] = (part.filename, bytes(await part.read()))
                else:
                    params[part.name] = decode_param(part.name, await part.text())
        elif ctype == "application/x-www-form-urlencoded":
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, str):
                    params[key] = decode_param(key, value)
        else:
            await request.read()  # PTB sends an empty octet-stream body for no parameters
        return params, files

    def _record(self, method: str, params: Params, files: Files) -> Call:
        call = Call(method, params, files, time.monotonic(), index=len(self.calls))
        self.calls.append(call)
        self._notify_calls()
        return call

    def _finish(
        self, call: Call, status: int, result: Any = None, error: str | None = None
    ) -> None:
        call.status, call.result, call.error = status, result, error
        self._notify_calls()

    async def _handle_api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        try:
            params, files = await self._read_params(request)
        except ValueError as err:  # e.g. a JSON body that is not JSON
            call = self._record(method, {}, {})
            return self._respond(call, _bad(f"can't parse request parameters: {err}"))
        call = self._record(method, params, files)
        if not self._token_ok(token):
            return self._respond(call, ApiError(401, "Unauthorized"))
        key = method.lower()
        counted = key != "getupdates"
        if counted:
            self._in_flight += 1
        try:
            await self._apply_delay(key)
            fault = self._take_fault(key)
            if fault is not None:
                return self._respond(
                    call, ApiError(fault.status, fault.description, fault.parameters)
                )
            handler = self._methods.get(key)
            if handler is None:
                return self._respond(call, ApiError(404, "Not Found: method not found"))
            try:
                self._check_chat_access(params)
                self._check_rate_limit(method, params)
                result = await handler(params, files)
            except ApiError as err:
                return self._respond(call, err)
            except (KeyError, TypeError, ValueError, AttributeError) as err:
                # Malformed parameters the fake does not model precisely: answer like
                # Telegram (400) instead of leaving the call unanswered, and say where.
                _LOG.warning("fake Bot API could not handle %s", call.summary(), exc_info=True)
                return self._respond(call, _bad(f"invalid parameters ({err!r})"))
            if key in _SEND_METHODS:
                self._record_send(params.get("chat_id"))
            return self._respond(call, None, result)
        finally:
            if counted:
                self._in_flight -= 1
                self._last_activity = time.monotonic()

    def _respond(self, call: Call, error: ApiError | None, result: Any = None) -> web.Response:
        if error is not None:
            self._finish(call, error.status, error=error.description)
            _LOG.debug("%s -> %s %s", call.method, error.status, error.description)
            return _json_response(error.body(), status=error.status)
        result = copy.deepcopy(result)  # later edits must not change what was answered
        self._finish(call, 200, result)
        return _json_response({"ok": True, "result": result})

    def _token_ok(self, token: str) -> bool:
        if token not in self.tokens_seen:
            self.tokens_seen.append(token)
        if not _TOKEN_RE.match(token):
            return False
        return self.valid_tokens is None or token in self.valid_tokens

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        path = request.match_info["file_path"]
        call = self._record("file_download", {"file_path": path}, {})
        if not self._token_ok(token):
            return self._respond(call, ApiError(401, "Unauthorized"))
        self._in_flight += 1
        try:
            await self._apply_delay("file_download")
            fault = self._take_fault("file_download")
            if fault is not None:
                error = ApiError(fault.status, fault.description, fault.parameters)
                return self._respond(call, error)
            stored = next((f for f in self.files.values() if f.file_path == path), None)
            if stored is None:
                return self._respond(call, ApiError(404, "Not Found"))
            self._finish(call, 200, f"<{len(stored.data)} bytes>")
            return web.Response(body=stored.data, content_type="application/octet-stream")
        finally:
            self._in_flight -= 1
            self._last_activity = time.monotonic()

    # ---- fault injection -------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int = 500,
        description: str | None = None,
        parameters: JSON | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with an error.

        ``"*"`` matches any method, getUpdates included (so an app's poll may take it).

        Examples: ``fail_next("sendMessage", status=429, parameters={"retry_after": 2})``
        (PTB raises RetryAfter), ``status=403, description="Forbidden: bot was kicked from the
        group chat"`` (Forbidden), ``status=400, description="Bad Request: group chat was
        upgraded to a supergroup chat", parameters={"migrate_to_chat_id": N}`` (ChatMigrated).
        The handler does not run, so nothing is sent. ``"file_download"`` targets file GETs.
        """
        if description is None:
            description = {
                400: "Bad Request",
                401: "Unauthorized",
                403: "Forbidden",
                404: "Not Found",
                409: "Conflict",
                429: f"Too Many Requests: retry after {(parameters or {}).get('retry_after', 1)}",
                500: "Internal Server Error",
                502: "Bad Gateway",
            }.get(status, "Internal Server Error")
        queue = self._faults.setdefault(method.lower(), deque())
        queue.extend(_Fault(status, description, parameters) for _ in range(count))

    def delay_next(self, method: str, seconds: float, count: int = 1) -> None:
        """Hold the next ``count`` answers to ``method`` (``"*"``: any) for ``seconds``.

        The request is still carried out afterwards, like Telegram after a client timeout:
        the bot sees ``TimedOut`` but the message was sent.
        """
        self._delays.setdefault(method.lower(), deque()).extend([seconds] * count)

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

    def _take(self, table: dict[str, deque[Any]], key: str) -> Any:
        for name in (key, "*"):
            queue = table.get(name)
            if queue:
                return queue.popleft()
        return None

    def _take_fault(self, key: str) -> _Fault | None:
        fault: _Fault | None = self._take(self._faults, key)
        return fault

    async def _apply_delay(self, key: str) -> None:
        seconds: float | None = self._take(self._delays, key)
        if seconds:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), seconds)

    def _check_chat_access(self, params: Params) -> None:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            return
        if chat_id in self._migrated:
            raise _bad(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[chat_id]},
            )
        if chat_id in self._forbidden:
            raise ApiError(403, self._forbidden[chat_id])

    # ---- rate limits -----------------------------------------------------------------------

    def _check_rate_limit(self, method: str, params: Params) -> None:
        if not self.enforce_limits or method.lower() not in _SEND_METHODS:
            return
        now = time.monotonic()
        chat_id = params.get("chat_id")
        window = self._sent_overall
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self.overall_per_second:
            self._refuse(method, chat_id, "overall", window[0] + 1.0 - now)
        if isinstance(chat_id, int) and chat_id < 0:
            group = self._sent_group.setdefault(chat_id, deque())
            while group and group[0] <= now - 60.0:
                group.popleft()
            if len(group) >= self.group_per_minute:
                self._refuse(method, chat_id, "group", group[0] + 60.0 - now)

    def _refuse(
        self, method: str, chat_id: Any, kind: Literal["overall", "group"], wait: float
    ) -> None:
        retry_after = max(1, math.ceil(wait))
        self.rate_limit_hits.append(
            RateLimitHit(method, chat_id, kind, retry_after, time.monotonic())
        )
        raise ApiError(
            429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
        )

    def _record_send(self, chat_id: Any) -> None:
        now = time.monotonic()
        self._sent_overall.append(now)
        if isinstance(chat_id, int) and chat_id < 0:
            self._sent_group.setdefault(chat_id, deque()).append(now)

    # ---- recording and waiting -------------------------------------------------------------

    def _notify_calls(self) -> None:
        self._calls_changed.set()
        self._calls_changed = asyncio.Event()

    def mark(self) -> int:
        """The current number of calls, to pass as ``since`` later."""
        return len(self.calls)

    def calls_since(self, mark: int = 0, method: str | None = None) -> list[Call]:
        """Calls recorded from index ``mark`` on, optionally only of ``method``."""
        calls = self.calls[mark:]
        if method is None:
            return calls
        return [c for c in calls if c.method.lower() == method.lower()]

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        *,
        since: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a plain deadline reads best in tests
    ) -> Call:
        """Wait until a call of ``method`` (matching ``predicate``) has been answered.

        Searches from ``since`` (default: all calls). Raises AssertionError with the recent
        calls if none arrives within ``timeout`` seconds.
        """
        start = since or 0
        deadline = time.monotonic() + timeout
        while True:
            event = self._calls_changed
            pending = False
            for call in self.calls[start:]:
                if call.method.lower() != method.lower():
                    continue
                if predicate is not None and not predicate(call):
                    continue
                if call.done:
                    return call
                pending = True
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closing.is_set():
                recent = "\n  ".join(
                    c.summary() for c in self.calls[max(start, len(self.calls) - 25) :]
                )
                state = " (one matched but is still unanswered)" if pending else ""
                raise AssertionError(
                    f"no {method} call{' matching the predicate' if predicate else ''} was "
                    f"answered within {timeout}s since #{start}{state}; recent calls:\n  "
                    f"{recent or '(none)'}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def wait_idle(self, quiet: float = 0.1, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until every pushed update was fetched and no other request ran for ``quiet`` s.

        A heuristic for "the bot has finished reacting": getUpdates long polls don't count as
        activity. Raises AssertionError after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fetched = not self._updates or self._delivered_up_to >= self._updates[-1]["update_id"]
            idle_for = time.monotonic() - self._last_activity
            if fetched and self._in_flight == 0 and idle_for >= quiet:
                return
            await asyncio.sleep(min(0.01, quiet))
        raise AssertionError(
            f"fake Bot API not idle after {timeout}s: {len(self._updates)} pending updates, "
            f"{self._in_flight} requests in flight"
        )

    # ---- updates ---------------------------------------------------------------------------

    def _notify_updates(self) -> None:
        self._updates_changed.set()
        self._updates_changed = asyncio.Event()

    def push_update(self, update: Mapping[str, Any]) -> int:
        """Queue an update for getUpdates; assigns and returns the next ``update_id``."""
        body = {k: v for k, v in update.items() if k != "update_id"}
        kinds = [k for k in body if k in _ALL_UPDATE_TYPES]
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
            self.add_chat(chat_id)
        fields: JSON = {"text": text}
        if reply_markup is not None:
            fields["reply_markup"] = dict(reply_markup)
        return copy.deepcopy(self._new_message(chat_id, dict(self.bot_user), **fields))

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by the bot (a getUpdates offset past them)."""
        return list(self._updates)

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
            return
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
        self.webhook_url = str(p.get("url") or "")
        if p.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _delete_webhook(self, p: Params, files: Files) -> bool:
        self.webhook_url = ""
        if p.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, p: Params, files: Files) -> JSON:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    # ---- chats, users and messages ---------------------------------------------------------

    def add_chat(
        self,
        chat_id: int,
        chat_type: str | None = None,
        *,
        title: str | None = None,
        first_name: str | None = None,
        username: str | None = None,
    ) -> JSON:
        """Register (or update) a chat so getChat and message builders describe it."""
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
        chat = self._chats.get(chat_id)
        if chat is None:
            if self.strict_chats:
                raise _bad("chat not found")
            chat = self.add_chat(chat_id)
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

    def _chat_id(self, p: Params, name: str = "chat_id") -> int:
        value = p.get(name)
        if value is None or value == "":
            raise _bad(f"{name} is empty")
        if isinstance(value, bool):
            raise _bad("chat not found")
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            if _INT_RE.match(value):
                return int(value)
            if value.startswith("@"):
                for chat in self._chats.values():
                    if chat.get("username", "").lower() == value[1:].lower():
                        return int(chat["id"])
        raise _bad("chat not found")

    @staticmethod
    def _int(p: Params, name: str) -> int:
        value = p.get(name)
        if isinstance(value, bool) or value is None:
            raise _bad(f"{name} is empty" if value is None else f"invalid {name} specified")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _bad(f"invalid {name} specified") from None

    def get_message(self, chat_id: int, message_id: int) -> JSON | None:
        """The current version of a stored message (bot-sent or built by a test)."""
        msg = self._messages.get((chat_id, message_id))
        return copy.deepcopy(msg) if msg is not None else None

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
        msg.update({"date": _now(), "chat": self._chat(chat_id)})
        msg.update({k: v for k, v in fields.items() if v is not None})
        self._messages[(chat_id, msg["message_id"])] = msg
        return msg

    # ---- validation ------------------------------------------------------------------------

    def _format(
        self, text: str, parse_mode: Any, entities: Any, *, what: str
    ) -> tuple[str, list[JSON]]:
        """Apply parse_mode (or explicit entities) and return (plain text, entities)."""
        if isinstance(entities, list):
            for e in entities:
                if not isinstance(e, dict) or not {"type", "offset", "length"} <= e.keys():
                    raise _bad(f"can't parse {what} entities: entity is invalid")
                if e["offset"] < 0 or e["offset"] + e["length"] > utf16_len(text):
                    raise _bad("entity beyond the end of the text")
            return text, [dict(e) for e in entities]
        if parse_mode is None or parse_mode == "":
            return text, []
        mode = str(parse_mode).lower()
        if mode == "html":
            try:
                plain, found = parse_html(text, strict=self.strict_html)
            except HtmlParseError as err:
                raise _bad(f"can't parse entities: {err}") from None
            return plain, _public_entities(found)
        if mode in ("markdown", "markdownv2"):
            return text, []  # not validated by this fake; the project uses HTML
        raise _bad("unsupported parse_mode")

    def _check_entity_count(self, method: str, chat_id: Any, entities: list[JSON]) -> None:
        if len(entities) > MAX_ENTITIES:
            self.violations.append(
                f"{method} to chat {chat_id}: {len(entities)} entities; Telegram keeps only the "
                f"first {MAX_ENTITIES} and silently drops the formatting of the rest"
            )

    def _check_text(self, method: str, p: Params) -> tuple[str, list[JSON]]:
        raw = p.get("text")
        if not isinstance(raw, str) or not raw:
            raise _bad("message text is empty")
        text, entities = self._format(raw, p.get("parse_mode"), p.get("entities"), what="message")
        if not text.strip():
            raise _bad("message text is empty")
        if utf16_len(text) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
        self._check_entity_count(method, p.get("chat_id"), entities)
        return text, entities

    def _check_caption(self, method: str, p: Params) -> tuple[str | None, list[JSON]]:
        raw = p.get("caption")
        if raw is None or raw == "":
            return None, []
        text, entities = self._format(
            str(raw), p.get("parse_mode"), p.get("caption_entities"), what="caption"
        )
        if utf16_len(text) > MAX_CAPTION_LENGTH:
            raise _bad("message caption is too long")
        self._check_entity_count(method, p.get("chat_id"), entities)
        return text, entities

    def _check_markup(self, markup: Any) -> JSON | None:
        """Validate an inline keyboard; return it if it belongs in the sent Message."""
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return None  # reply keyboards / remove / force_reply are not echoed in the Message
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
        total = sum(len(r) for r in rows)
        if total > MAX_INLINE_BUTTONS or any(len(r) > MAX_INLINE_BUTTONS_PER_ROW for r in rows):
            raise _bad("reply markup is too long")
        actions = (
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
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise _bad("can't parse inline keyboard button: Text buttons are unallowed")
                if not any(a in button for a in actions):
                    raise _bad(
                        "can't parse inline keyboard button: Text buttons are unallowed in the "
                        "inline keyboard"
                    )
                if "callback_data" in button:
                    data = button["callback_data"]
                    size = len(str(data).encode("utf-8"))
                    if not isinstance(data, str) or not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                        raise _bad("BUTTON_DATA_INVALID")
        return {"inline_keyboard": [[dict(b) for b in row] for row in rows]}

    def _reply_target(self, chat_id: int, p: Params) -> JSON | None:
        reply = p.get("reply_parameters")
        message_id: Any = p.get("reply_to_message_id")
        allow = bool(p.get("allow_sending_without_reply"))
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow = allow or bool(reply.get("allow_sending_without_reply"))
            if isinstance(reply.get("chat_id"), int):
                chat_id = reply["chat_id"]
        if message_id is None:
            return None
        target = self._messages.get((chat_id, int(message_id)))
        if target is None and not allow:
            raise _bad("message to be replied not found")
        if target is None:
            return None
        return {k: v for k, v in target.items() if k != "reply_to_message"}

    # ---- Bot API methods: bot info ---------------------------------------------------------

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
    def _scope_key(p: Params) -> tuple[str, str]:
        scope = p.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in {
            "default",
            "all_private_chats",
            "all_group_chats",
            "all_chat_administrators",
            "chat",
            "chat_administrators",
            "chat_member",
        }:
            raise _bad("can't parse BotCommandScope JSON object")
        if scope["type"].startswith("chat") and "chat_id" not in scope:
            raise _bad("chat_id is empty")
        language = str(p.get("language_code") or "")
        if not _LANGUAGE_RE.match(language):
            raise _bad("invalid language code specified")
        return json.dumps(scope, sort_keys=True), language

    async def _set_my_commands(self, p: Params, files: Files) -> bool:
        key = self._scope_key(p)
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > MAX_COMMANDS:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        cleaned: list[JSON] = []
        for item in commands:
            if not isinstance(item, dict):
                raise _bad("can't parse BotCommand JSON object")
            command = str(item.get("command", "")).strip().removeprefix("/")
            description = str(item.get("description", "")).strip()
            if not command:
                raise _bad("command must be non-empty")
            if len(command) > 32:
                raise _bad("command length must not exceed 32")
            if not description:
                raise _bad("command description must be non-empty")
            if len(description) > 256:
                raise _bad("command description length must not exceed 256")
            if not _COMMAND_RE.match(command):
                raise _bad("BOT_COMMAND_INVALID")
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
            raise _bad("invalid language code specified")
        value = str(p.get(kind) or "")
        if len(value) > limit:
            raise _bad(f"{kind.replace('_', ' ')} is too long")
        self.descriptions[(kind, language)] = value
        return True

    async def _set_my_description(self, p: Params, files: Files) -> bool:
        return self._set_text("description", p, 512)

    async def _set_my_short_description(self, p: Params, files: Files) -> bool:
        return self._set_text("short_description", p, 120)

    async def _get_my_description(self, p: Params, files: Files) -> JSON:
        language = str(p.get("language_code") or "")
        return {"description": self.descriptions.get(("description", language), "")}

    async def _get_my_short_description(self, p: Params, files: Files) -> JSON:
        language = str(p.get("language_code") or "")
        text = self.descriptions.get(("short_description", language), "")
        return {"short_description": text}

    async def _set_chat_menu_button(self, p: Params, files: Files) -> bool:
        chat_id = self._chat_id(p) if p.get("chat_id") not in (None, "") else None
        button = p.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in {
            "default",
            "commands",
            "web_app",
        }:
            raise _bad("can't parse menu button JSON object")
        self.menu_buttons[chat_id] = button
        return True

    async def _get_chat_menu_button(self, p: Params, files: Files) -> JSON:
        chat_id = self._chat_id(p) if p.get("chat_id") not in (None, "") else None
        return self.menu_buttons.get(chat_id, self.menu_buttons.get(None, {"type": "commands"}))

    # ---- Bot API methods: messages ---------------------------------------------------------

    async def _send_message(self, p: Params, files: Files) -> JSON:
        chat_id = self._chat_id(p)
        self._chat(chat_id)
        text, entities = self._check_text("sendMessage", p)
        markup = self._check_markup(p.get("reply_markup"))
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

    def _editable(self, p: Params, *, kind: str) -> tuple[JSON | None, int | None]:
        """The stored message an edit targets (None for inline messages)."""
        if p.get("inline_message_id"):
            return None, None
        chat_id = self._chat_id(p)
        message_id = self._int(p, "message_id")
        msg = self._messages.get((chat_id, message_id))
        if msg is None:
            raise _bad("message to edit not found")
        if msg.get("from", {}).get("id") != self.bot_id:
            raise _bad("message can't be edited")
        if kind == "text" and "text" not in msg:
            raise _bad("there is no text in the message to edit")
        if kind == "caption" and "text" in msg:
            raise _bad("there is no caption in the message to edit")
        return msg, chat_id

    async def _edit_message_text(self, p: Params, files: Files) -> JSON | bool:
        msg, _ = self._editable(p, kind="text")
        text, entities = self._check_text("editMessageText", p)
        markup = self._check_markup(p.get("reply_markup"))
        if msg is None:
            return True
        if (
            msg.get("text") == text
            and msg.get("entities", []) == entities
            and msg.get("reply_markup") == markup
        ):
            raise _bad(_NOT_MODIFIED.removeprefix("Bad Request: "))
        self._apply_edit(msg, text=text, entities=entities, reply_markup=markup)
        if "link_preview_options" in p:
            msg["link_preview_options"] = p["link_preview_options"]
        return dict(msg)

    async def _edit_message_caption(self, p: Params, files: Files) -> JSON | bool:
        msg, _ = self._editable(p, kind="caption")
        caption, entities = self._check_caption("editMessageCaption", p)
        markup = self._check_markup(p.get("reply_markup"))
        if msg is None:
            return True
        if (
            msg.get("caption") == caption
            and msg.get("caption_entities", []) == entities
            and msg.get("reply_markup") == markup
        ):
            raise _bad(_NOT_MODIFIED.removeprefix("Bad Request: "))
        self._apply_edit(msg, caption=caption, caption_entities=entities, reply_markup=markup)
        return dict(msg)

    async def _edit_message_reply_markup(self, p: Params, files: Files) -> JSON | bool:
        msg, _ = self._editable(p, kind="markup")
        markup = self._check_markup(p.get("reply_markup"))
        if msg is None:
            return True
        if msg.get("reply_markup") == markup:
            raise _bad(_NOT_MODIFIED.removeprefix("Bad Request: "))
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
        msg["edit_date"] = _now()

    async def _delete_message(self, p: Params, files: Files) -> bool:
        chat_id = self._chat_id(p)
        message_id = self._int(p, "message_id")
        if self._messages.pop((chat_id, message_id), None) is None:
            raise _bad("message to delete not found")
        return True

    def _source_message(self, p: Params, what: str) -> JSON:
        from_chat = self._chat_id(p, "from_chat_id")
        message_id = self._int(p, "message_id")
        source = self._messages.get((from_chat, message_id))
        if source is None:
            raise _bad(f"message to {what} not found")
        return source

    async def _copy_message(self, p: Params, files: Files) -> JSON:
        chat_id = self._chat_id(p)
        source = self._source_message(p, "copy")
        content = {
            k: v
            for k, v in source.items()
            if k in ("text", "entities", "caption", "caption_entities", "document", "photo")
        }
        if "caption" in p:
            caption, entities = self._check_caption("copyMessage", p)
            content["caption"], content["caption_entities"] = caption, entities or None
        markup = self._check_markup(p.get("reply_markup"))
        msg = self._new_message(chat_id, self.bot_user, reply_markup=markup, **content)
        return {"message_id": msg["message_id"]}

    async def _forward_message(self, p: Params, files: Files) -> JSON:
        chat_id = self._chat_id(p)
        source = self._source_message(p, "forward")
        content = {
            k: v
            for k, v in source.items()
            if k in ("text", "entities", "caption", "caption_entities", "document", "photo")
        }
        origin: JSON = {"type": "user", "date": source["date"], "sender_user": source.get("from")}
        if "from" not in source:
            origin = {"type": "chat", "date": source["date"], "sender_chat": source["chat"]}
        return dict(self._new_message(chat_id, self.bot_user, forward_origin=origin, **content))

    def _upload(self, p: Params, files: Files, name: str, kind: str) -> StoredFile:
        """The file a send* call refers to: an uploaded part, attach://, a file_id or a URL."""
        value = p.get(name)
        part: tuple[str, bytes] | None = files.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            part = files.get(value.removeprefix("attach://"))
        if part is not None:
            filename, data = part
            if not data:
                raise _bad("file must be non-empty")
            if len(data) > MAX_UPLOAD_SIZE:
                raise ApiError(413, "Request Entity Too Large")
            return self.register_file(data, filename, kind=kind)
        if isinstance(value, str) and value:
            if value in self.files:
                return self.files[value]
            if value.startswith(("http://", "https://")):
                name_part = value.rsplit("/", 1)[-1] or "file"
                return self.register_file(b"", name_part, kind=kind)
            raise _bad("wrong file identifier/HTTP URL specified")
        raise _bad(f"there is no {name} in the request")

    async def _send_document(self, p: Params, files: Files) -> JSON:
        chat_id = self._chat_id(p)
        self._chat(chat_id)
        caption, entities = self._check_caption("sendDocument", p)
        markup = self._check_markup(p.get("reply_markup"))
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
        caption, entities = self._check_caption("sendPhoto", p)
        markup = self._check_markup(p.get("reply_markup"))
        reply_to = self._reply_target(chat_id, p)
        stored = self._upload(p, files, "photo", "photos")
        size = _image_size(stored.data) if stored.data else (1280, 720)
        if size is None:
            raise _bad("IMAGE_PROCESS_FAILED")
        width, height = size
        if width + height > 10000 or max(width, height) > 20 * max(min(width, height), 1):
            raise _bad("PHOTO_INVALID_DIMENSIONS")
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
            raise _bad("wrong parameter action in request")
        return True

    # ---- Bot API methods: files ------------------------------------------------------------

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
            if mime_type is None and ext == ".xlsx":
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

    async def _get_file(self, p: Params, files: Files) -> JSON:
        file_id = p.get("file_id")
        if not file_id:
            raise _bad("file_id is empty")
        stored = self.files.get(str(file_id))
        if stored is None:
            raise _bad("invalid file_id")
        if stored.size > MAX_DOWNLOAD_SIZE:
            raise _bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    # ---- Bot API methods: queries ----------------------------------------------------------

    def _query(self, query_id: Any, kind: Literal["callback", "inline"]) -> _PendingQuery:
        query = self._queries.get(str(query_id))
        if query is None or query.kind != kind or query.answered:
            raise _bad(_QUERY_TOO_OLD.removeprefix("Bad Request: "))
        return query

    async def _answer_callback_query(self, p: Params, files: Files) -> bool:
        query = self._query(p.get("callback_query_id"), "callback")
        text = p.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        query.answered = True
        query.answer = dict(p)
        return True

    def unanswered_callback_queries(self) -> list[str]:
        """Ids of callback queries the bot never answered (the user's spinner keeps turning)."""
        return [qid for qid, q in self._queries.items() if q.kind == "callback" and not q.answered]

    async def _answer_inline_query(self, p: Params, files: Files) -> bool:
        query = self._query(p.get("inline_query_id"), "inline")
        results = p.get("results")
        if not isinstance(results, list):
            raise _bad("can't parse inline query results JSON object")
        if len(results) > MAX_INLINE_RESULTS:
            raise _bad("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            if not isinstance(result, dict):
                raise _bad("can't parse InlineQueryResult JSON object")
            rid = str(result.get("id", ""))
            if not 1 <= len(rid.encode("utf-8")) <= 64:
                raise _bad("RESULT_ID_INVALID")
            if rid in seen:
                raise _bad("RESULT_ID_DUPLICATE")
            seen.add(rid)
            content = result.get("input_message_content")
            if isinstance(content, dict) and "message_text" in content:
                fake = {
                    "text": content["message_text"],
                    "parse_mode": content.get("parse_mode"),
                    "entities": content.get("entities"),
                }
                self._check_text("answerInlineQuery", fake)
            self._check_markup(result.get("reply_markup"))
        query.answered = True
        query.answer = dict(p)
        return True

    # ---- Bot API methods: chats ------------------------------------------------------------

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

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """Override getChatMember's status for one user ("member", "left", "kicked", ...)."""
        self._member_status[(chat_id, user_id)] = status

    def _member(self, chat_id: int, user_id: int) -> JSON:
        user = self.bot_user if user_id == self.bot_id else self._user(user_id)
        status = self._member_status.get((chat_id, user_id))
        if status is None:
            if self._creators.get(chat_id) == user_id:
                status = "creator"
            elif user_id in self._admins.get(chat_id, []):
                status = "administrator"
            else:
                status = "member"
        return _member_dict(user, status)

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
            raise _bad("user not found")
        return self._member(chat_id, user_id)

    async def _get_chat_administrators(self, p: Params, files: Files) -> list[JSON]:
        chat_id = self._chat_id(p)
        if self._chat(chat_id)["type"] == "private":
            raise _bad("there are no administrators in the private chat")
        return [self._member(chat_id, uid) for uid in self._admins.get(chat_id, [])]

    async def _leave_chat(self, p: Params, files: Files) -> bool:
        chat_id = self._chat_id(p)
        chat = self._chat(chat_id)
        if chat["type"] == "private":
            raise _bad("chat member status can't be changed in private chats")
        self.left_chats.append(chat_id)
        kind = "supergroup" if chat["type"] == "supergroup" else "group"
        self._forbidden[chat_id] = f"Forbidden: bot is not a member of the {kind} chat"
        return True

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
            self.add_chat(chat_id, "private", first_name=user["first_name"], username=username)
        else:
            if chat_id is None:
                chat_id = DEFAULT_SUPERGROUP_ID if chat_type == "supergroup" else DEFAULT_GROUP_ID
            if chat_id >= 0:
                raise ValueError("group, supergroup and channel ids are negative")
            known = self._chats.get(chat_id)
            if chat_title is None and known is not None and known["type"] == chat_type:
                chat_title = known.get("title")
            self.add_chat(chat_id, chat_type, title=chat_title)
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
        entities = _command_entities(text)
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
            fields["edit_date"] = _now()
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
            fields["caption_entities"] = _command_entities(caption) or None
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
        self._queries[query_id] = _PendingQuery("callback", user_id)
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
        self._queries[query_id] = _PendingQuery("inline", user_id)
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
            chat = self.add_chat(chat_id, "private", first_name=user["first_name"])
        else:
            chat = self.add_chat(chat_id, chat_type, title=chat_title)
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
                "date": _now(),
                "old_chat_member": _member_dict(self.bot_user, old_status),
                "new_chat_member": _member_dict(self.bot_user, new_status),
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
        self.add_chat(old_chat_id, "group", title=title)
        self.add_chat(new_chat_id, "supergroup", title=title)
        msg = self._new_message(old_chat_id, user, migrate_to_chat_id=new_chat_id)
        self._migrated[old_chat_id] = new_chat_id
        return {"message": copy.deepcopy(msg)}

    def migrate_from_message(
        self, old_chat_id: int, new_chat_id: int, *, user_id: int = DEFAULT_USER_ID
    ) -> JSON:
        """The matching first message in the new supergroup (``migrate_from_chat_id``)."""
        user = self._remember_user(user_id, first_name=None, username=None, language_code="vi")
        self.add_chat(
            new_chat_id, "supergroup", title=self._chats.get(old_chat_id, {}).get("title")
        )
        msg = self._new_message(new_chat_id, user, migrate_from_chat_id=old_chat_id)
        return {"message": copy.deepcopy(msg)}

    # ---- control API (standalone mode) -----------------------------------------------------

    async def _control_updates(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _json_response({"ok": False, "description": "body must be JSON"}, status=400)
        if not isinstance(body, dict):
            return _json_response(
                {"ok": False, "description": "body must be an object"}, status=400
            )
        try:
            if any(k in _ALL_UPDATE_TYPES for k in body):
                update: JSON = body
            elif "file_id" in body:
                update = self._control_document(body)
            elif "text" in body:
                update = self.message(
                    str(body["text"]),
                    chat_id=body.get("chat_id"),
                    user_id=_control_user(body),
                    chat_type=body.get("chat_type", "private"),
                    language_code=body.get("language_code", "vi"),
                    username=body.get("username"),
                    first_name=body.get("first_name"),
                    chat_title=body.get("chat_title"),
                )
            else:
                raise ValueError("expected an update, {'text': ...} or {'file_id': ...}")
            update_id = self.push_update(update)
        except (ValueError, KeyError, TypeError) as err:
            return _json_response({"ok": False, "description": str(err)}, status=400)
        return _json_response({"ok": True, "update_id": update_id})

    def _control_document(self, body: JSON) -> JSON:
        stored = self.files[str(body["file_id"])]
        update = self.document_message(
            stored.data,
            stored.file_name or "file",
            caption=body.get("caption"),
            mime_type=stored.mime_type,
            chat_id=body.get("chat_id"),
            user_id=_control_user(body),
            chat_type=body.get("chat_type", "private"),
            language_code=body.get("language_code", "vi"),
            username=body.get("username"),
        )
        return update

    async def _control_calls(self, request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        out = [
            {
                "index": c.index,
                "method": c.method,
                "params": _jsonable(c.params),
                "files": {k: {"filename": fn, "size": len(d)} for k, (fn, d) in c.files.items()},
                "at": c.at,
                "status": c.status,
                "result": _jsonable(c.result),
                "error": c.error,
            }
            for c in self.calls[since:]
        ]
        return _json_response(out)

    async def _control_files(self, request: web.Request) -> web.Response:
        file_name = request.query.get("file_name")
        mime_type = request.query.get("mime_type")
        data = b""
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if isinstance(part, BodyPartReader) and part.filename is not None:
                    file_name = file_name or part.filename
                    data = bytes(await part.read())
                    break
        else:
            data = await request.read()
        stored = self.register_file(data, file_name or "upload.bin", mime_type=mime_type)
        return _json_response({**stored.fields(), "file_path": stored.file_path})

    async def _control_state(self, request: web.Request) -> web.Response:
        return _json_response(
            {
                "violations": self.violations,
                "rate_limit_hits": [_jsonable(vars(h)) for h in self.rate_limit_hits],
                "pending_updates": len(self._updates),
                "calls": len(self.calls),
            }
        )


def _control_user(body: JSON) -> int:
    """The sender of a control-API message: ``user_id``, else a private ``chat_id``."""
    if "user_id" in body:
        return int(body["user_id"])
    chat_id = body.get("chat_id")
    if body.get("chat_type", "private") == "private" and chat_id is not None:
        return int(chat_id)
    return DEFAULT_USER_ID


def _member_dict(user: JSON, status: str) -> JSON:
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


# --------------------------------------------------------------------------------------------
# Standalone mode
# --------------------------------------------------------------------------------------------


async def _serve(args: argparse.Namespace) -> None:
    srv = FakeBotAPI(
        args.host,
        args.port,
        username=args.username,
        enforce_limits=args.enforce_limits,
        max_poll_timeout=args.max_poll_timeout,
        control_api=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with srv:
        print(f"fake Bot API on {srv.base_url}  (files: {srv.base_file_url})", flush=True)
        print(
            f"control: POST {srv.base_url[:-4]}/_control/updates | GET /_control/calls?since=N "
            "| POST /_control/files | GET /_control/state",
            flush=True,
        )
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.support.fake_bot_api --port 8081 [--enforce-limits]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--username", default="laocai_cds_bot")
    parser.add_argument("--enforce-limits", action="store_true")
    parser.add_argument(
        "--max-poll-timeout",
        type=float,
        default=30.0,
        help="cap on getUpdates long polling, seconds (default 30)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
