"""Translations and number formatting.

Every user-facing string lives in locales/<lang>/LC_MESSAGES/*.po under a
stable key ("top.header"); code only names keys. The .po files are read
directly with Babel at start-up (a few ms), so there is no compiled .mo
to go stale. Vietnamese is the default; English the second language.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"


@cache
def catalog(lang: str) -> dict[str, str]:
    messages: dict[str, str] = {}
    for po in sorted((LOCALES_DIR / lang / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            for message in read_po(fh, locale=lang):
                if message.id and isinstance(message.id, str) and message.string:
                    messages[message.id] = str(message.string)
    return messages


def pick_language(code: str | None) -> str:
    """Telegram's IETF tag ("en-US", "vi") → one of ours, Vietnamese by default."""
    if code:
        base = code.replace("_", "-").split("-")[0].lower()
        if base in LANGUAGES:
            return base
    return DEFAULT_LANGUAGE


class Translator:
    def __init__(self, lang: str):
        self.lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
        self._messages = catalog(self.lang)
        self._fallback = catalog(DEFAULT_LANGUAGE)

    def __call__(self, key: str, /, **params: object) -> str:
        """The text for `key`; a missing key is a bug that the tests catch, so
        at run time fall back to Vietnamese, then to the key itself."""
        text = self._messages.get(key) or self._fallback.get(key) or key
        return text.format(**params) if params else text

    def has(self, key: str) -> bool:
        return key in self._messages

    def number(self, value: Decimal | int) -> str:
        """Exactly the digits published: "625,3", "1.000", "235,4" (vi)."""
        # keyed by the text, not the value: Decimal("1.0") == Decimal("1.00")
        return _format_number(self.lang, str(value), isinstance(value, int))

    def percent(self, value: Decimal) -> str:
        return self("fmt.percent", value=self.number(value))


@functools.lru_cache(maxsize=8192)
def _format_number(lang: str, text: str, integer: bool) -> str:
    """babel's formatting costs ~0.1 ms a call and a page shows three numbers a
    row; the same scores come back on every query (bench/queries.py)."""
    value: Decimal | int = int(text) if integer else Decimal(text)
    return format_decimal(value, locale=lang, decimal_quantization=False)
