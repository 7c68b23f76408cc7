"""Telegram's HTML parse mode and text entities, as its server computes them.

:func:`parse_html` is a port of tdlib's ``parse_html`` (the code behind the Bot API): the
same tags, attribute syntax, entity decoding, error texts and UTF-8 byte offsets in them, and
entity offsets/lengths in UTF-16 code units. The fake refuses what Telegram refuses with it,
and the tests use it as the oracle for what a user would see. :func:`command_entities` adds
the ``bot_command``/``mention`` entities Telegram attaches to a message a user sends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

__all__ = ["HtmlParseError", "command_entities", "parse_html", "public_entities", "utf16_len"]

JSON = dict[str, Any]


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: the unit of Telegram's text limits and entity offsets."""
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


_SPACES: Final = frozenset(" \t\n\r\v\f")


def _words(text: str) -> frozenset[str]:
    """A set of names written as one readable, space-separated string."""
    return frozenset(text.split())


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


def public_entities(entities: list[JSON]) -> list[JSON]:
    """Entities as Telegram returns them (without the parser's private ``_`` fields)."""
    return [{k: v for k, v in e.items() if not k.startswith("_")} for e in entities]


_BOT_COMMAND_IN_TEXT: Final = re.compile(
    r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])"
)
_MENTION_IN_TEXT: Final = re.compile(r"(?<![\w/])@[A-Za-z][A-Za-z0-9_]{3,31}\b")


def command_entities(text: str) -> list[JSON]:
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
