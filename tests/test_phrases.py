"""The question words' phrase tables (bot/questions.py) find what a scan of every
phrase in order finds: the first phrase, in the table's order, that the words at a
position begin with."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.questions import Phrase, Phrases, PhraseTable, load_question_words

EXAMPLES = 10_000 if os.environ.get("RANKBOT_LONG") else 300

word = st.sampled_from(["so", "sanh", "nao", "dung", "dau", "thu", "may", "huyen", "x"])
phrase = st.lists(word, min_size=1, max_size=3).map(tuple)


def scan(phrases: list[tuple[Phrase, int]], words: list[str], i: int) -> tuple[Phrase, int] | None:
    """The definition: every phrase tried in order, compared word by word."""
    for p, value in phrases:
        if tuple(words[i : i + len(p)]) == p:
            return p, value
    return None


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    st.lists(st.tuples(phrase, st.integers(0, 5)), max_size=12),
    st.lists(word, max_size=8),
    st.integers(0, 9),
)
def test_a_table_finds_what_a_scan_in_order_finds(
    items: list[tuple[Phrase, int]], words: list[str], i: int
) -> None:
    # duplicates with other values kept: the first one given wins, as in a scan
    assert PhraseTable(items).at(words, i) == scan(items, words, i)


def test_phrases_keep_their_order_and_know_their_members() -> None:
    found = Phrases([("dung", "dau"), ("dung",), ("nao",)])
    assert list(found) == [("dung", "dau"), ("dung",), ("nao",)]
    assert found.at(["huyen", "dung", "dau"], 1) == ("dung", "dau")
    assert found.at(["huyen", "dung", "cuoi"], 1) == ("dung",)
    assert found.at(["huyen"], 0) is None
    assert found.at([], 0) is None
    assert ("nao",) in found and ("dau",) not in found
    assert list(found + Phrases([("x",)])) == [*found, ("x",)]


def test_an_empty_phrase_is_refused() -> None:
    # it would be found at every position without taking a word: the old loop never ended
    with pytest.raises(ValueError):
        Phrases([()])


def test_the_shipped_question_words_are_tables() -> None:
    qw = load_question_words()
    assert len(qw.filler) > 0 and qw.rewrites.items
    assert all(len(p) >= 1 for p in qw.filler)
