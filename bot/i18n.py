"""Translations, plurals, numbers and dates.

Every user-facing string lives in locales/<lang>/LC_MESSAGES/*.po under a
stable key ("top.header"); code only names keys. The .po files are read at
start-up (`read_messages`), and for plurals compiled in memory by Babel into a
gettext catalog on a language's first plural, so there is no compiled .mo to go
stale, and plurals follow each catalog's Plural-Forms through gettext's ngettext
("1 subscriber", "2 subscribers"; Vietnamese has one form). Figures and
all-digit dates are formatted here, longer date patterns by Babel. Vietnamese is
the default; English the second language. Dates are shown in Lào Cai's time
(Asia/Ho_Chi_Minh) in the pattern each catalog gives (fmt.date: 01/12/2026).
"""

from __future__ import annotations

import functools
import gettext
import io
import re
import struct
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
LOCAL_TIME = ZoneInfo("Asia/Ho_Chi_Minh")  # where the officials read the dates

# Each language's decimal and group separators, as babel's CLDR data have them
# (tests/test_i18n.py compares every figure and date formatted here with babel's):
# loading a locale's data for these two characters costs ≈ 4.5 MB and 30 ms, so
# numbers and all-digit dates (vi) are formatted here; a date pattern with names in
# it (en: "d MMM yyyy") still goes to babel, which then loads that locale.
SEPARATORS = {"vi": (",", "."), "en": (".", ",")}
_DATE_FIELD = re.compile(r"([A-Za-z])\1*|[^A-Za-z']+")
_DIGIT_FIELDS = {"d": "{d}", "dd": "{d:02}", "M": "{M}", "MM": "{M:02}", "yyyy": "{y:04}"}
_DIGIT_FIELDS |= {"H": "{H}", "HH": "{H:02}", "mm": "{m:02}"}
_ESCAPE = re.compile(r'\\([\\abfnrtv"])')
_ESCAPED = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


@cache
def translations(lang: str) -> gettext.GNUTranslations:
    """Every .po of `lang` merged into one gettext catalog (a later file's message
    wins; the first file's header gives the Plural-Forms), as babel's write_mo
    compiles it: fuzzy and untranslated messages left out. Compiled on a
    language's first plural; the files are read by `entries`, a few ms."""
    header: str | None = None
    merged: dict[str, Entry] = {}
    for po in sorted((LOCALES_DIR / lang / "LC_MESSAGES").glob("*.po")):
        for entry in entries(po.read_text(encoding="utf-8-sig")):
            if not entry.msgid:
                header = entry.strings[0] if header is None and entry.strings else header
            else:
                merged[entry.msgid] = entry
    compiled = {b"": (header or "").encode()}
    for entry in merged.values():
        if entry.fuzzy or not any(entry.strings):
            continue
        if entry.plural is None:
            compiled[entry.msgid.encode()] = entry.strings[0].encode()
        else:
            key = f"{entry.msgid}\0{entry.plural}".encode()
            compiled[key] = "\0".join(entry.strings).encode()
    return gettext.GNUTranslations(io.BytesIO(_mo(compiled)))


def _mo(messages: dict[bytes, bytes]) -> bytes:
    """A GNU .mo file of `messages` (the layout of CPython's Tools/i18n/msgfmt.py)."""
    keys = sorted(messages)
    ids = strs = b""
    offsets = []
    for key in keys:
        offsets.append((len(ids), len(key), len(strs), len(messages[key])))
        ids += key + b"\0"
        strs += messages[key] + b"\0"
    key_start = 7 * 4 + 16 * len(keys)
    value_start = key_start + len(ids)
    key_table: list[int] = []
    value_table: list[int] = []
    for id_at, id_len, str_at, str_len in offsets:
        key_table += [id_len, id_at + key_start]
        value_table += [str_len, str_at + value_start]
    head = struct.pack("Iiiiiii", 0x950412DE, 0, len(keys), 7 * 4, 7 * 4 + len(keys) * 8, 0, 0)
    return (
        head
        + struct.pack(f"{len(key_table)}i", *key_table)
        + struct.pack(f"{len(value_table)}i", *value_table)
        + ids
        + strs
    )


@cache
def catalog(lang: str) -> dict[str, str]:
    """key → text of every singular message of `lang` (what tests check for gaps);
    of a plural message, its first form."""
    messages: dict[str, str] = {}
    for po in sorted((LOCALES_DIR / lang / "LC_MESSAGES").glob("*.po")):
        messages.update(read_messages(po.read_text(encoding="utf-8-sig")))
    return messages


@dataclass(frozen=True)
class Entry:
    """One message of a .po file: `plural` is its msgid_plural, `strings` its
    msgstr (one) or msgstr[0], msgstr[1]… ."""

    msgid: str
    plural: str | None
    strings: tuple[str, ...]
    fuzzy: bool


def read_messages(text: str) -> dict[str, str]:
    """The messages of one .po file as babel's read_po gives them (the header, an
    empty msgid, and untranslated singulars left out)."""
    messages: dict[str, str] = {}
    for entry in entries(text):
        if entry.msgid and (entry.plural is not None or entry.strings[0]):
            messages[entry.msgid] = entry.strings[0]
    return messages


def _unescape(quoted: str) -> str:
    """A quoted .po string's text: babel's pofile.unescape (babel is not imported
    at start: only an English date needs it)."""
    inner = quoted[1:-1]
    if "\\" not in inner:
        return inner
    return _ESCAPE.sub(lambda m: _ESCAPED.get(m[1], m[1]), inner)


def entries(text: str) -> list[Entry]:
    """The entries of one .po file, comments ignored (obsolete `#~` entries too).
    Read here because babel's general parser took ≈ 25 ms a language at every
    start, for both languages (the menus are set in both); tests/test_i18n.py
    compares the two on every shipped file."""
    found: list[Entry] = []
    parts: dict[str, list[str]] = {}

    current: list[str] | None = None
    fuzzy = next_fuzzy = False

    def finish() -> None:
        if "msgid" in parts:
            plural = "".join(parts["msgid_plural"]) if "msgid_plural" in parts else None
            strings: tuple[str, ...]
            if plural is None:
                strings = ("".join(parts.get("msgstr", ())),)
            else:
                count = sum(1 for k in parts if k.startswith("msgstr["))
                strings = tuple("".join(parts.get(f"msgstr[{i}]", ())) for i in range(count))
            found.append(Entry("".join(parts["msgid"]), plural, strings, fuzzy))
        parts.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in (f.strip() for f in line[2:].split(",")):
                next_fuzzy = True
            continue
        if line.startswith('"'):
            if current is not None:
                current.append(_unescape(line))
            continue
        keyword, _, rest = line.partition(" ")
        if keyword in ("msgctxt", "msgid") and any(k.startswith("msgstr") for k in parts):
            finish()
        if keyword in ("msgctxt", "msgid") and not parts:
            fuzzy, next_fuzzy = next_fuzzy, False
        current = parts.setdefault(keyword, [])
        current.append(_unescape(rest.strip()))
    finish()
    return found


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

    @property
    def _gettext(self) -> gettext.GNUTranslations:
        # compiled on the first plural of the language, not with every Translator
        return translations(self.lang)

    def __call__(self, key: str, /, **params: object) -> str:
        """The text for `key`; a missing key is a bug that the tests catch, so
        at run time fall back to Vietnamese, then to the key itself."""
        text = self._messages.get(key) or self._fallback.get(key) or key
        return text.format(**params) if params else text

    def plural(self, key: str, count: int, /, **params: object) -> str:
        """The form of `key` for `count` (gettext's ngettext); {count} is filled in."""
        text = self._gettext.ngettext(key, key, count)
        if text == key:  # not in this catalog: Vietnamese, then the key
            text = translations(DEFAULT_LANGUAGE).ngettext(key, key, count)
        return text.format(count=count, **params)

    def has(self, key: str) -> bool:
        return key in self._messages

    def number(self, value: Decimal | int) -> str:
        """Exactly the digits published, trailing zeros included: "625,3", "1.000",
        "235,40", "402,00", "0,9000" (vi)."""
        # keyed by the text, not the value: Decimal("1.0") == Decimal("1.00")
        return _format_number(self.lang, str(value), isinstance(value, int))

    def percent(self, value: Decimal) -> str:
        """A share of the max, always with two decimals at least ("53,60 %",
        "75,00 %"): derived shares come rounded to two (more only where rounding
        would land on a threshold), published ones keep their own digits."""
        if value.as_tuple().exponent > -2:  # type: ignore[operator]
            value = value.quantize(Decimal("0.01"))  # "75" → "75,00": same value
        return self("fmt.percent", value=self.number(value))

    def threshold(self, fraction: Decimal) -> str:
        """A level's bound as the decision writes it ("75 %"): a rule, not a share."""
        return self("fmt.percent", value=self.rule_number(fraction * 100))

    def rule_number(self, value: Decimal) -> str:
        """A rule's figure without the zeros the arithmetic left (75,00 → 75)."""
        return self.number(value.normalize())

    def date(self, when: str | date | datetime) -> str:
        """A day as officials write it (vi: 01/12/2026), in Lào Cai's time."""
        return _format_day(self.lang, self("fmt.date"), when)

    def datetime(self, when: str | datetime) -> str:
        """A moment in Lào Cai's time (vi: 02:05 02/12/2026)."""
        moment = _moment(when)
        if not isinstance(moment, datetime):
            return self.date(moment)
        pattern = self("fmt.datetime")
        fast = _digit_pattern(pattern)
        if fast is not None:
            local = moment.astimezone(LOCAL_TIME)
            return fast.format(
                d=local.day, M=local.month, y=local.year, H=local.hour, m=local.minute
            )
        from babel.dates import format_datetime

        return format_datetime(moment, pattern, tzinfo=LOCAL_TIME, locale=self.lang)


@cache
def _digit_pattern(pattern: str) -> str | None:
    """A CLDR date pattern of digit fields only ("HH:mm dd/M/yyyy") as a str.format
    template; None when it has anything else (month names, quotes): babel's then."""
    tokens = [match.group(0) for match in _DATE_FIELD.finditer(pattern)]
    if "".join(tokens) != pattern:  # a quote: literal text, babel's to read
        return None
    parts = []
    for token in tokens:
        if token[0].isalpha():
            if token not in _DIGIT_FIELDS:
                return None
            parts.append(_DIGIT_FIELDS[token])
        else:
            parts.append(token.replace("{", "{{").replace("}", "}}"))
    return "".join(parts)


def _moment(when: str | date | datetime) -> date | datetime:
    """Stored ISO text → a datetime (naive ones are UTC, as the store writes them)."""
    if isinstance(when, str):
        text = when.strip()
        if len(text) == 10:
            return date.fromisoformat(text)
        when = datetime.fromisoformat(text)
    if isinstance(when, datetime) and when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when


@functools.lru_cache(maxsize=4096)
def _format_day(lang: str, pattern: str, when: str | date | datetime) -> str:
    """babel's date formatting costs ~0.05 ms a call, and every ranking reply and each
    year of a card ends with the same few days (the decision's, the data's)."""
    moment = _moment(when)
    day = moment.astimezone(LOCAL_TIME).date() if isinstance(moment, datetime) else moment
    fast = _digit_pattern(pattern)
    if fast is not None:
        return fast.format(d=day.day, M=day.month, y=day.year, H=0, m=0)
    from babel.dates import format_date

    return format_date(day, pattern, locale=lang)


@functools.lru_cache(maxsize=8192)
def _format_number(lang: str, text: str, integer: bool) -> str:
    """babel's formatting costs ~0.1 ms a call and a page shows three numbers a
    row; the same scores come back on every query (bench/queries.py). Exactly the
    digits of `text`: what babel gives for a pattern with as many places."""
    decimal_sign, group_sign = SEPARATORS[lang]
    value = Decimal(text)
    if not value.is_finite():
        from babel.numbers import format_decimal

        return format_decimal(value, locale=lang)
    digits = str(int(text)) if integer else format(value, "f")
    sign = "-" if digits.startswith("-") else ""
    whole, _, fraction = digits.lstrip("-").partition(".")
    head = len(whole) % 3 or 3
    groups = [whole[:head], *(whole[i : i + 3] for i in range(head, len(whole), 3))]
    shown = sign + group_sign.join(groups)
    return f"{shown}{decimal_sign}{fraction}" if fraction else shown
