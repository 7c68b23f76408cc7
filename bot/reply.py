"""The channel-neutral reply: what the bot says, before any messenger shapes it.

`Answers` returns a `Reply`; each channel renders it its own way (Telegram: HTML
and inline buttons; the console: plain text and numbered choices typed back).
Nothing here knows a messenger.

Text is *marked text*: the catalogs' small markup — `<b>`, `<i>`, `<s>`, `<code>`
— around text escaped with `esc`, lines separated by "\\n". It is Telegram's HTML
subset by design, so Telegram sends it as it is, and `to_plain` gives the words
for any channel without formatting.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from bot.parsing import ChartQuery, ExportQuery, HistoryChart

_TAG = re.compile(r"<[^>]+>")


def esc(text: str) -> str:
    """File or user text made safe inside marked text."""
    return html.escape(text, quote=False)


def esc_params(params: Mapping[str, object]) -> dict[str, object]:
    """Message parameters that quote user or file text, made safe for marked text."""
    return {k: esc(v) if isinstance(v, str) else v for k, v in params.items()}


def to_plain(marked: str) -> str:
    """Marked text → the words a user reads."""
    return html.unescape(_TAG.sub("", marked))


@dataclass(frozen=True)
class Choice:
    """One thing the user can pick next. `action` is an opaque token the channel
    hands back when it is picked (bot/parsing.py reads it); `url` opens a page;
    `share` offers the query to another chat where the channel can (Telegram's
    inline mode), and is left out elsewhere."""

    label: str
    action: str | None = None
    url: str | None = None
    share: str | None = None


@dataclass(frozen=True)
class MediaRequest:
    """A picture or a file the channel should make and send with the text (the
    text is then its caption): a group's ranking chart, a unit's history chart, or
    the ranking exported in the upload format."""

    kind: Literal["chart", "history", "export"]
    query: ChartQuery | HistoryChart | ExportQuery


@dataclass
class Reply:
    text: str
    choices: list[list[Choice]] = field(default_factory=list)
    media: MediaRequest | None = None
    language: str | None = None  # set when the reply switched the user's language

    def actions(self) -> list[Choice]:
        """The choices that can be typed back as a number, in reading order."""
        return [c for row in self.choices for c in row if c.action is not None]
