"""A channel-neutral `Reply` as Zalo messages.

Zalo's sendMessage takes plain text of 1 to 2000 characters and nothing else: no
formatting, no buttons (docs/zalo.md). So, as in the console (bot/console.py), the
marked text loses its tags, the choices become numbered lines under it ("[1] Có
TTHC") that the user answers by typing the number, and a long reply is cut at line
breaks into messages that each fit.
"""

from __future__ import annotations

import sys

from bot.channels.zalo.client import MAX_CAPTION_LENGTH, MAX_TEXT_LENGTH
from bot.i18n import Translator
from bot.reply import Choice, esc, to_plain
from bot.splitting import split_marked, utf16_len, utf16_prefix

# Zalo does not say what it counts as a character; we count UTF-16 code units (never
# fewer than code points) and keep a margin besides, as the Telegram channel does.
SAFE_TEXT_UNITS = MAX_TEXT_LENGTH - 50
SAFE_CAPTION_UNITS = MAX_CAPTION_LENGTH - 50


def choices_block(choices: list[Choice], t: Translator) -> str:
    """Marked lines: "Gõ số để chọn:" then "[1] …" per choice that can be typed back."""
    lines = [t("console.choices")]
    lines += [t("console.choice", n=i, label=esc(c.label)) for i, c in enumerate(choices, 1)]
    return "\n".join(lines)


def with_choices(marked: str, choices: list[Choice], t: Translator) -> str:
    if not choices:
        return marked
    block = choices_block(choices, t)
    return f"{marked}\n\n{block}" if marked else block


def messages(marked: str) -> list[str]:
    """Marked text as plain messages of at most SAFE_TEXT_UNITS each (none if empty)."""
    if not to_plain(marked).strip():
        return []
    chunks = split_marked(marked, max_units=SAFE_TEXT_UNITS, max_entities=sys.maxsize)
    return [plain for plain in (to_plain(c).strip() for c in chunks) if plain]


def caption(marked: str) -> str:
    """A photo's caption, plain, within Zalo's caption limit (cut with "…")."""
    plain = to_plain(marked).strip()
    if utf16_len(plain) <= SAFE_CAPTION_UNITS:
        return plain
    return utf16_prefix(plain, SAFE_CAPTION_UNITS - 1) + "…"
