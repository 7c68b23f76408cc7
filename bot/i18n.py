"""Translations, plurals, numbers and dates.

Every user-facing string lives in locales/<lang>/LC_MESSAGES/*.po under a
stable key ("top.header"); code only names keys. The .po files are read with
Babel at start-up and compiled in memory into a gettext catalog (a few ms), so
there is no compiled .mo to go stale, and plurals follow each catalog's
Plural-Forms through gettext's ngettext ("1 subscriber", "2 subscribers";
Vietnamese has one form). Vietnamese is the default; English the second
language. Dates are shown in Lào Cai's time (Asia/Ho_Chi_Minh) in the pattern
each catalog gives (fmt.date: 01/12/2026).
"""

from __future__ import annotations

import functools
import gettext
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, unescape

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


@cache
def translations(lang: str) -> gettext.GNUTranslations:
    """Every .po of `lang` merged into one gettext catalog."""
    merged: Catalog | None = None
    for po in sorted((LOCALES_DIR / lang / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        if merged is None:
            merged = catalog
            continue
        for message in catalog:
            if message.id:
                merged[message.id] = message
    buffer = io.BytesIO()
    write_mo(buffer, merged if merged is not None else Catalog(locale=lang))
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@cache
def catalog(lang: str) -> dict[str, str]:
    """key → text of every singular message of `lang` (what tests check for gaps);
    of a plural message, its first form."""
    messages: dict[str, str] = {}
    for po in sorted((LOCALES_DIR / lang / "LC_MESSAGES").glob("*.po")):
        messages.update(read_messages(po.read_text(encoding="utf-8")))
    return messages


def read_messages(text: str) -> dict[str, str]:
    """The messages of one .po file as babel's read_po gives them (the header, an
    empty msgid, and untranslated singulars left out; comments ignored, obsolete
    `#~` entries too). Read here because babel's general parser took ≈ 25 ms a
    language at every start, for both languages (the menus are set in both);
    tests/test_i18n.py compares the two on every shipped file."""
    messages: dict[str, str] = {}
    entry: dict[str, list[str]] = {}
    current: list[str] | None = None

    def finish() -> None:
        msgid = "".join(entry.get("msgid", ()))
        if msgid:
            if "msgid_plural" in entry:
                messages[msgid] = "".join(entry.get("msgstr[0]", ()))
            elif string := "".join(entry.get("msgstr", ())):
                messages[msgid] = string
        entry.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith('"'):
            if current is not None:
                current.append(unescape(line))
            continue
        keyword, _, rest = line.partition(" ")
        if (
            keyword in ("msgctxt", "msgid")
            and "msgid" in entry
            and any(k.startswith("msgstr") for k in entry)
        ):
            finish()
        current = entry.setdefault(keyword, [])
        current.append(unescape(rest.strip()))
    finish()
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
