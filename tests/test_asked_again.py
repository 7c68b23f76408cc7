"""A ranking or a unit asked in the same words again is answered from what the first
ask rendered (Answers.to_text): the same reply as computing it anew, every time,
for the question corpus and for random messages; not read again, and not kept
past an import or an undo."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.answers import Answers
from bot.parsing import Parser
from bot.reply import Reply
from ranking.queries import Rankings
from tests.test_fuzz import messages, shipped_answers

CORPUS = Path(__file__).parent / "questions"
SEEDS = ["/top", "/top 5 huyen", "/cuoi 5 khong-tthc", "/donvi Sở Tài chính", "bac ha", "so"]


def corpus() -> list[str]:
    found = []
    for table in sorted(CORPUS.glob("*.tsv")):
        for line in table.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                found.append(line.split("\t")[0])
    return found


def shown(reply: Reply | None) -> object:
    if reply is None:
        return None
    return reply.text, reply.choices, reply.media, reply.language


async def anew(answers: Answers, text: str, lang: str, private: bool) -> Reply | None:
    """The reply computed from the question's words, with nothing kept from before."""
    answers.forget_answers()
    return await answers.to_text(text, lang=lang, user_id=1, private=private)


async def test_the_corpus_asked_again_gets_the_same_replies(rankings: Rankings) -> None:
    kept, fresh = Answers(rankings), Answers(rankings)
    questions = [*SEEDS, *corpus()]
    assert len(questions) > 100
    for lang in ("vi", "en"):
        for private in (True, False):
            for text in questions:
                first = await kept.to_text(text, lang=lang, user_id=1, private=private)
                again = await kept.to_text(text, lang=lang, user_id=1, private=private)
                expected = await anew(fresh, text, lang, private)
                assert shown(first) == shown(again) == shown(expected), text


def test_random_messages_asked_again_get_the_same_replies() -> None:
    with shipped_answers() as (loop, kept):
        fresh = Answers(kept.rankings)

        @given(text=messages, lang=st.sampled_from(["vi", "en"]), private=st.booleans())
        def prop(text: str, lang: str, private: bool) -> None:
            first = loop.run_until_complete(
                kept.to_text(text, lang=lang, user_id=1, private=private)
            )
            again = loop.run_until_complete(
                kept.to_text(text, lang=lang, user_id=1, private=private)
            )
            expected = loop.run_until_complete(anew(fresh, text, lang, private))
            assert shown(first) == shown(again) == shown(expected)

        prop()


async def test_a_reply_changed_by_its_caller_is_not_kept_changed(rankings: Rankings) -> None:
    answers = Answers(rankings)
    first = await answers.to_text("/top 5 huyen", lang="vi", user_id=1)
    assert first is not None
    text = first.text
    first.text += "\nchanged"
    first.choices.append([])
    again = await answers.to_text("/top 5 huyen", lang="vi", user_id=1)
    assert again is not None and again.text == text and [] not in again.choices


def texts_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The messages the parser reads from now on, in order."""
    read: list[str] = []
    original = Parser.parse

    def parse(self: Parser, text: str, **kwargs: bool) -> object:
        read.append(text)
        return original(self, text, **kwargs)

    monkeypatch.setattr(Parser, "parse", parse)
    return read


@pytest.mark.parametrize("question", ["/top 10 huyen", "/donvi Sở Tài chính", "bac ha"])
async def test_the_same_words_again_are_not_read_again(
    rankings: Rankings, monkeypatch: pytest.MonkeyPatch, question: str
) -> None:
    answers = Answers(rankings)
    await answers.to_text(question, lang="vi", user_id=1)
    read = texts_read(monkeypatch)
    await answers.to_text(question, lang="vi", user_id=1)
    assert read == []
    await answers.to_text(question, lang="en", user_id=1)  # another language: its own reply
    await answers.to_text(question, lang="vi", user_id=1, private=False)  # a group
    assert read == [question, question]


async def test_forgetting_the_words_asked_reads_them_again_and_keeps_the_pages(
    rankings: Rankings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the benchmarks' warm rows rely on: after `forget_asked` the same words are
    read again (not a copy of the reply kept for them), and the page kept for the
    data version still answers them, unchanged."""
    answers = Answers(rankings)
    first = await answers.to_text("/top 10 huyen", lang="vi", user_id=1)
    read = texts_read(monkeypatch)
    answers.forget_asked()
    again = await answers.to_text("/top 10 huyen", lang="vi", user_id=1)
    assert read == ["/top 10 huyen"]
    assert shown(again) == shown(first)
    views = rankings._views  # the kept pages: not dropped by forget_asked
    assert len(views) > 0


# an undo seen by the same words asked again: test_round_trips.py,
# test_the_next_answer_sees_an_undo (the kept reply is dropped with the data version)


async def test_a_language_choice_is_not_kept(rankings: Rankings) -> None:
    answers = Answers(rankings)
    for _ in range(2):
        reply = await answers.to_text("/ngonngu en", lang="vi", user_id=1)
        assert reply is not None and reply.language == "en"
