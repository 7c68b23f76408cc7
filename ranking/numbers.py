"""Numbers as Vietnamese officials write them, read exactly into Decimal.

"731,61" and "1.000" (Vietnamese: decimal comma, dot groups) and "731.61"
(plain) all occur, sometimes in one office's files. A lone "1.234" is
ambiguous, so the decimal mark is decided once per file from the cells that
are not ambiguous, and only then each cell is read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Literal

DecimalMark = Literal[",", "."]

_SPACES = re.compile(r"[\s\u00a0\u202f']")
_DOT_GROUPS = re.compile(r"[+-]?[1-9]\d{0,2}(\.\d{3})+")
_COMMA_GROUPS = re.compile(r"[+-]?[1-9]\d{0,2}(,\d{3})+")
_PLAIN = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_WHOLE = re.compile(r"[+-]?\d+")


class NotANumber(ValueError):
    """The text is not a number in any form we accept."""


def infer_decimal_mark(texts: Iterable[str]) -> DecimalMark:
    """The file's decimal mark, from the cells that say it unambiguously.

    A comma with anything but three digits after it, or a dot followed by
    other than three digits, settles it. Undecided files are Vietnamese
    (decimal comma): "1.000" is then a thousand, as officials mean it.
    """
    for raw in texts:
        text = _SPACES.sub("", raw)
        if "," in text and "." in text:
            return "," if text.rfind(",") > text.rfind(".") else "."
        if "," in text and not _COMMA_GROUPS.fullmatch(text):
            return ","
        if "." in text and not _DOT_GROUPS.fullmatch(text):
            return "."
    return ","


def plain_spelling(decimal_mark: DecimalMark) -> Callable[[str], object]:
    """The test of a spelling `Decimal` reads as `parse_number` does: "947.64" in a
    dot file, "1000" in either (no spaces, no group marks). True-ish: read it so."""
    return _PLAIN.fullmatch if decimal_mark == "." else _WHOLE.fullmatch


def parse_number(raw: str | Decimal, decimal_mark: DecimalMark = ",") -> Decimal:
    """Read one cell exactly. Raises NotANumber for anything else."""
    if isinstance(raw, Decimal):
        return raw
    # the common spellings are already what `_parse_written` would make of them
    if plain_spelling(decimal_mark)(raw):
        return Decimal(raw)
    return _parse_written(raw, decimal_mark)


def _parse_written(raw: str, decimal_mark: DecimalMark) -> Decimal:
    """Any spelling: spaces, group marks and the file's decimal mark."""
    text = _SPACES.sub("", raw)
    group_mark = "." if decimal_mark == "," else ","
    if decimal_mark == ",":
        if "," in text and "." in text and text.rfind(".") > text.rfind(","):
            raise NotANumber(raw)
        if "." in text and not _DOT_GROUPS.fullmatch(text.split(",")[0]):
            raise NotANumber(raw)
    else:
        if "," in text and "." in text and text.rfind(",") > text.rfind("."):
            raise NotANumber(raw)
        if "," in text and not _COMMA_GROUPS.fullmatch(text.split(".")[0]):
            raise NotANumber(raw)
    plain = text.replace(group_mark, "").replace(decimal_mark, ".")
    if not _PLAIN.fullmatch(plain):
        raise NotANumber(raw)
    try:
        return Decimal(plain)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only numbers
        raise NotANumber(raw) from exc
