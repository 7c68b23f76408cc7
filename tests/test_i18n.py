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
    assert t.number(Decimal("235.40")) == "235,4"
    assert t.percent(Decimal("62.53")) == "62,53 %"
    assert Translator("en").number(Decimal("1000")) == "1,000"
