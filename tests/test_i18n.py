"""Every message the code names exists in both catalogs, with the same placeholders."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from bot.i18n import LANGUAGES, Translator, catalog, pick_language

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
