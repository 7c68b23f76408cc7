"""Marked text cut into messages that each fit a channel's limits.

Channels count differently (Telegram: 4096 UTF-16 code units and 100 formatting
entities a message), so the limits are parameters; the cutting is the same.
"""

from __future__ import annotations

from bot.reply import esc, to_plain


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def utf16_prefix(text: str, units: int) -> str:
    """The longest prefix of `text` within `units` UTF-16 code units."""
    total = 0
    for i, ch in enumerate(text):
        total += 2 if ord(ch) > 0xFFFF else 1
        if total > units:
            return text[:i]
    return text


def split_marked(marked: str, *, max_units: int, max_entities: int) -> list[str]:
    """Chunks that each fit one message. Our markup never spans lines, so a cut at
    a line break keeps every chunk valid."""
    # Most replies fit one message whole: a line's words are never longer than its
    # markup (tags go, an entity like &amp; is shorter than its text), so markup within
    # the limits, counted with a newline after each line, is one chunk as the loop
    # below would make it, without converting every line.
    if utf16_len(marked) + 1 <= max_units and marked.count("</") <= max_entities:
        return [marked.strip("\n") or marked[:max_units]]
    return split_lines(marked, max_units=max_units, max_entities=max_entities)


def split_lines(marked: str, *, max_units: int, max_entities: int) -> list[str]:
    """`split_marked` line by line, for text of any length."""
    chunks: list[str] = []
    current: list[str] = []
    length = entities = 0
    for line in marked.split("\n"):
        line_len = utf16_len(to_plain(line)) + 1
        line_entities = line.count("</")
        if current and (length + line_len > max_units or entities + line_entities > max_entities):
            chunks.append("\n".join(current).strip("\n"))
            current, length, entities = [], 0, 0
        if line_len > max_units:  # one absurdly long line (a 500-char name × …)
            line = esc(utf16_prefix(to_plain(line), max_units - 1)) + "…"
            line_len = max_units
        current.append(line)
        length += line_len
        entities += line_entities
    if current:
        chunks.append("\n".join(current).strip("\n"))
    return [c for c in chunks if c] or [marked[:max_units]]
