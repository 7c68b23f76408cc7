"""Every message the code names exists in both catalogs, with the same placeholders."""

from __future__ import annotations

import gettext
import re
import string
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    LOCAL_TIME,
    SEPARATORS,
    Translator,
    _digit_pattern,
    catalog,
    entries,
    pick_language,
    read_messages,
    translations,
)

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [*ROOT.glob("bot/**/*.py"), *ROOT.glob("ranking/**/*.py")]


def used_keys() -> set[str]:
    keys: set[str] = set()
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        keys |= set(re.findall(r"""\bt\(\s*"([a-z_]+\.[a-z_.]+)\"""", text))
        keys |= set(re.findall(r"""\bt\.plural\(\s*"([a-z_]+\.[a-z_.]+)\"""", text))
        keys |= set(re.findall(r"""\bnew\(\s*"([a-z_]+\.[a-z_.]+)\"""", text))
        # import problems: Problem("code", …), problem("code", …), err("code", …)
        for code in re.findall(r"""\b(?:Problem|problem|err)\(\s*"([a-z_]+)\"""", text):
            keys.add(f"import.{code}")
        for code in re.findall(r'"(unknown_group(?:_suggest)?)"', text):
            keys.add(f"import.{code}")
        for code in re.findall(r"""ReadProblem\(\s*"([a-z_]+)\"""", text):
            keys.add(f"reader.{code}")
        # parser errors: UserError("parse.x", …)
        keys |= set(re.findall(r"""UserError\(\s*"([a-z_]+\.[a-z_]+)\"""", text))
        keys |= set(re.findall(r"""BackupError\(\s*"([a-z_]+\.[a-z_]+)\"""", text))
    keys |= {f"language.name_{code}" for code in LANGUAGES}
    keys |= {f"example.{c}" for c in ("top", "bottom", "unit", "levels", "language")}
    return keys


def test_the_scan_finds_keys() -> None:
    keys = used_keys()
    assert {"top.title", "import.score_above_max", "parse.bad_n", "card.level_differs"} <= keys


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_used_key_is_translated(lang: str) -> None:
    missing = sorted(used_keys() - set(catalog(lang)))
    assert missing == []


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_catalogs_agree_on_keys_and_placeholders() -> None:
    vi, en = catalog("vi"), catalog("en")
    assert set(vi) == set(en)
    for key in vi:
        assert placeholders(vi[key]) == placeholders(en[key]), key


def test_language_picking() -> None:
    assert pick_language("en-US") == "en"
    assert pick_language("vi") == "vi"
    assert pick_language("fr") == "vi"
    assert pick_language(None) == "vi"


def test_vietnamese_numbers() -> None:
    from decimal import Decimal

    t = Translator("vi")
    assert t.number(Decimal("625.3")) == "625,3"
    assert t.number(Decimal("1000")) == "1.000"
    # the printed digits, trailing zeros included (data/README.md)
    assert t.number(Decimal("235.40")) == "235,40"
    assert t.number(Decimal("402.00")) == "402,00"
    assert t.number(Decimal("0.9000")) == "0,9000"
    assert t.number(Decimal("1E+3")) == "1.000"
    assert t.number(Decimal("1234567.125")) == "1.234.567,125"
    assert t.percent(Decimal("62.53")) == "62,53 %"
    assert Translator("en").number(Decimal("1000")) == "1,000"
    assert Translator("en").number(Decimal("402.00")) == "402.00"


def test_one_rule_for_shares() -> None:
    """Two decimals at least, however the share came: "53,60 %", "75,00 %"; more only
    when the share has them (a published 71,775 or a derived one near a threshold)."""
    from decimal import Decimal

    t = Translator("vi")
    assert t.percent(Decimal("53.60")) == "53,60 %"
    assert t.percent(Decimal("75")) == "75,00 %"
    assert t.percent(Decimal("75.0013")) == "75,0013 %"
    # the decision's own bounds are rules, written as it writes them
    assert t.threshold(Decimal("0.75")) == "75 %"
    assert t.threshold(Decimal("0.5")) == "50 %"


# ---- numbers and dates without loading babel's locale data (bot/i18n.py) ------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_separators_are_babels(lang: str) -> None:
    from babel.core import Locale

    symbols = Locale.parse(lang).number_symbols["latn"]
    assert SEPARATORS[lang] == (symbols["decimal"], symbols["group"])


@given(
    digits=st.integers(min_value=-(10**18), max_value=10**18),
    places=st.integers(min_value=-3, max_value=12),  # -3: "1E+3", as Decimal may hold it
    lang=st.sampled_from(LANGUAGES),
)
def test_a_figure_is_formatted_exactly_as_babel_formats_it(
    digits: int, places: int, lang: str
) -> None:
    from babel.numbers import format_decimal

    value = Decimal(digits).scaleb(-places)  # trailing zeros kept: "402,00"

    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    pattern = "#,##0." + "0" * places if places else "#,##0"
    assert Translator(lang).number(value) == format_decimal(value, format=pattern, locale=lang)


@given(value=st.integers(min_value=-(10**15), max_value=10**15), lang=st.sampled_from(LANGUAGES))
def test_a_count_is_formatted_exactly_as_babel_formats_it(value: int, lang: str) -> None:
    from babel.numbers import format_decimal

    assert Translator(lang).number(value) == format_decimal(value, locale=lang)


@given(
    moment=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
    lang=st.sampled_from(LANGUAGES),
)
def test_dates_are_formatted_exactly_as_babel_formats_them(moment: datetime, lang: str) -> None:
    from babel.dates import format_date, format_datetime

    t = Translator(lang)
    aware = moment.replace(tzinfo=UTC)
    day = aware.astimezone(LOCAL_TIME).date()
    assert t.date(aware) == format_date(day, t("fmt.date"), locale=lang)
    assert t.datetime(aware) == format_datetime(
        aware, t("fmt.datetime"), tzinfo=LOCAL_TIME, locale=lang
    )
    assert t.date(moment.date()) == format_date(moment.date(), t("fmt.date"), locale=lang)


def test_a_digit_only_date_pattern_is_read_here_and_others_go_to_babel() -> None:
    assert _digit_pattern("HH:mm dd/M/yyyy") == "{H:02}:{m:02} {d:02}/{M}/{y:04}"
    assert _digit_pattern("d MMM yyyy") is None  # a month's name
    assert _digit_pattern("dd 'tháng' M") is None  # quoted text


def test_vietnamese_numbers_and_dates_load_no_babel_locale_data() -> None:
    code = (
        "import sys\nfrom decimal import Decimal\nfrom bot.i18n import Translator\n"
        "t = Translator('vi')\nt.number(Decimal('1234.50')); t.number(7)\n"
        "t.date('2023-04-11'); t.datetime('2026-12-02T01:05:00')\n"
        "import babel.localedata as data\nprint(sorted(data._cache))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"


def babel_messages(data: bytes, lang: str) -> dict[str, str]:
    """What catalog() read with babel's read_po before it read .po files itself."""
    from babel.messages.pofile import read_po

    messages: dict[str, str] = {}
    for message in read_po(BytesIO(data), locale=lang):
        if message.id and isinstance(message.id, str) and message.string:
            messages[message.id] = str(message.string)
        elif isinstance(message.id, tuple) and message.string:
            messages[message.id[0]] = str(message.string[0])
    return messages


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_shipped_po_file_reads_as_babel_reads_it(lang: str) -> None:
    files = sorted((ROOT / "locales" / lang / "LC_MESSAGES").glob("*.po"))
    assert files
    for po in files:
        data = po.read_bytes()
        assert read_messages(data.decode("utf-8")) == babel_messages(data, lang), po.name


def test_a_po_file_with_every_construct_reads_as_babel_reads_it() -> None:
    text = (
        '# a comment\n#, fuzzy\nmsgid ""\nmsgstr ""\n"Language: vi\\n"\n\n'
        'msgid "a.one"\nmsgstr "dòng \\"một\\"\\n"\n"tiếp\\tnối \\\\ hết"\n\n'
        '#: file.py:1\n#, fuzzy\nmsgid "a.fuzzy"\nmsgstr "vẫn đọc"\n\n'
        'msgid "a.empty"\nmsgstr ""\n\n'
        'msgid ""\n"a.split"\nmsgstr ""\n"hai "\n"dòng"\n\n'
        'msgid "a.count"\nmsgid_plural "a.count"\nmsgstr[0] "{count} cái"\n'
        'msgstr[1] "{count} cái nữa"\n\n'
        '#~ msgid "a.gone"\n#~ msgstr "cũ"\n\n'
        'msgid "a.last"\nmsgstr "cuối"'
    )
    assert read_messages(text) == babel_messages(text.encode("utf-8"), "vi")
    assert read_messages(text)["a.one"] == 'dòng "một"\ntiếp\tnối \\ hết'


def babel_translations(lang: str) -> gettext.GNUTranslations:
    """What translations() compiled with babel's read_po and write_mo before."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    merged = None
    for po in sorted((ROOT / "locales" / lang / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            read = read_po(fh, locale=lang)
        if merged is None:
            merged = read
            continue
        for message in read:
            if message.id:
                merged[message.id] = message
    assert merged is not None
    buffer = BytesIO()
    write_mo(buffer, merged)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_plurals_and_texts_compile_as_babel_compiled_them(lang: str) -> None:
    ours, babels = translations(lang), babel_translations(lang)
    assert ours.info().get("plural-forms") == babels.info().get("plural-forms")
    keys = set(catalog(lang)) | set(catalog(DEFAULT_LANGUAGE))
    for key in sorted(keys):
        assert ours.gettext(key) == babels.gettext(key), key
        for count in (*range(0, 25), 100, 101, 111, 1000, 1001):
            assert ours.ngettext(key, key, count) == babels.ngettext(key, key, count), key
    plural_keys = [
        e.msgid
        for p in (ROOT / "locales" / lang / "LC_MESSAGES").glob("*.po")
        for e in entries(p.read_text(encoding="utf-8"))
        if e.plural
    ]
    assert plural_keys  # the loop above did reach plurals


def test_fuzzy_entries_are_marked_and_read_as_babel_reads_them() -> None:
    text = '#, fuzzy\nmsgid ""\nmsgstr "Plural-Forms: nplurals=1; plural=0;\\n"\n\n'
    text += '#, python-format, fuzzy\nmsgid "a.guess"\nmsgstr "đoán"\n\n'
    text += 'msgid "a.sure"\nmsgstr "chắc"\n'
    found = {e.msgid: e.fuzzy for e in entries(text)}
    assert found == {"": True, "a.guess": True, "a.sure": False}
    assert read_messages(text) == babel_messages(text.encode("utf-8"), "vi")
