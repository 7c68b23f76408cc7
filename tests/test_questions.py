"""Questions as officials ask them (tests/questions/*.tsv), answered through the
same path as a private chat: at least 95 % must be answered right."""

from __future__ import annotations

import os
from datetime import date

import pytest

from bench.common import save
from bot.answers import Answers, fit_message
from bot.questions import load_question_words
from bot.reply import to_plain
from ranking.catalog import load_catalog
from ranking.queries import Rankings
from ranking.text import expand
from tests.support.corpus import SHARE, Question, load_corpus

pytestmark = pytest.mark.all_shipped_data

REQUIRED_SHARE = 0.95


async def seen(answers: Answers, text: str) -> str:
    """What the user sees: the reply's words, then its choices."""
    reply = await answers.to_text(text, lang="vi")
    assert reply is not None, text
    labels = [c.label for row in reply.choices for c in row]
    return "\n".join([to_plain(reply.text), *labels])


def test_the_corpus_is_large_and_well_formed() -> None:
    questions = load_corpus()
    assert len(questions) >= 300
    assert all(q.must for q in questions), "every line names what the reply must hold"
    texts = [q.text for q in questions]
    assert len(set(texts)) == len(texts), "no question twice"
    assert {"rank", "lead", "last", "top", "bottom", "count", "compare", "national"} <= {
        q.intent for q in questions
    }


async def test_the_corpus_is_answered_right(
    rankings: Rankings, request: pytest.FixtureRequest
) -> None:
    answers = Answers(rankings)
    questions = load_corpus()
    wrong: list[tuple[Question, list[str], str]] = []
    for question in questions:
        reply = await seen(answers, question.text)
        misses = question.misses(reply)
        if misses:
            wrong.append((question, misses, reply))
    right = len(questions) - len(wrong)
    request.config.stash[SHARE] = (right, len(questions))
    if os.environ.get("RANKBOT_RECORD_CORPUS") == "1":  # the figure BENCHMARKS.md reports
        files: dict[str, list[int]] = {}
        for q in questions:
            files.setdefault(q.file, [0, 0])[1] += 1
        for q in questions:
            files[q.file][0] += all(w[0] is not q for w in wrong)
        save("questions", {"right": right, "asked": len(questions), "files": files})
    report = "\n".join(
        f"{q.file}:{q.line} «{q.text}» missing {m}: {r[:160]!r}" for q, m, r in wrong
    )
    assert right / len(questions) >= REQUIRED_SHARE, report


@pytest.mark.parametrize(
    ("question", "expected", "absent"),
    [
        # the group's leader, not a near name (Bắc Hà is second)
        ("huyen nao dung dau", "1. Thành phố Lào Cai", "Có phải bạn muốn tìm"),
        ("sở tài chính đứng thứ mấy", "Sở Tài chính xếp hạng 2/18", "Không tìm thấy"),
        ("bac ha nam 2022", "Huyện Bắc Hà xếp hạng 2/9", "Không tìm thấy"),
        ("top 3 districts", "3. Huyện Bát Xát", "Bot chưa hiểu"),
    ],
)
async def test_the_named_questions(
    rankings: Rankings, question: str, expected: str, absent: str
) -> None:
    reply = await seen(Answers(rankings), question)
    assert expected in reply
    assert absent not in reply


# ---- counts, repeats and what an error reply quotes -------------------------


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/top -5", "Số lượng không thể âm: «-5»"),
        ("/top 5 5", "«5» được ghi hai lần"),
        ("/top 5 7 huyen", "«5» hay «7»"),
        ("/top " + "5 " * 200, "«5» được ghi hai lần"),
        ("/top " + "abc " * 200, "Bot chưa hiểu «abc»"),
        ("/cuoi " + "huyện xyz " * 200, "«xyz»"),
        ("/bieudo " + "pdf " * 200, "Bot chưa hiểu «pdf»"),
    ],
)
async def test_a_count_or_a_repeat_gets_one_short_line(
    rankings: Rankings, command: str, expected: str
) -> None:
    reply = await Answers(rankings).to_text(command, lang="vi")
    assert reply is not None
    text = to_plain(reply.text)
    problems = [line for line in text.splitlines() if not line.startswith(("Ví dụ", "Nhóm"))]
    assert len(problems) == 1, text
    assert expected in problems[0]
    assert "1. " not in text  # no ranking shown for a count that was not understood
    assert utf16_units(reply.text) <= 4096


async def test_an_error_quotes_the_words_as_typed(rankings: Rankings) -> None:
    text = await seen(Answers(rankings), "/top 5 huyện năm 2022 Đâu")
    assert "Bot chưa hiểu «Đâu»" in text  # not the folded «dau»
    assert "«năm»" not in text  # "năm 2022" is the year


async def test_many_different_words_are_quoted_in_short(rankings: Rankings) -> None:
    words = " ".join(f"từ{i}" for i in range(300)) + " " + "x" * 5000
    reply = await Answers(rankings).to_text("/top " + words, lang="vi")
    assert reply is not None
    first = to_plain(reply.text).splitlines()[0]
    assert first.startswith("Bot chưa hiểu «từ0, từ1,") and first.endswith("…».")
    assert len(first) < 200
    assert utf16_units(reply.text) <= 4096


@pytest.mark.parametrize(
    "message",
    [
        "x" * 10_000,
        "😀" * 3000,
        "/sosanh " + ", ".join(["bac ha"] * 500),
        "/donvi " + "ab " * 3000,
        "so sanh " + " va ".join(["xyz"] * 600),
        "huyen nao dung dau " + "nam 2022 " * 500,
    ],
)
async def test_every_reply_to_hostile_text_fits_one_message(
    rankings: Rankings, message: str
) -> None:
    reply = await Answers(rankings).to_text(message, lang="vi")
    assert reply is not None
    assert utf16_units(reply.text) <= 4096


def test_fit_message_cuts_at_a_line_end() -> None:
    text = "\n".join(f"<b>dòng {i}</b> " + "😀" * 50 for i in range(200))
    cut = fit_message(text)
    assert utf16_units(cut) <= 4096
    assert cut.endswith("\n…")
    assert all(line.endswith("😀") for line in cut.splitlines()[:-1])
    assert fit_message("ngắn") == "ngắn"


async def test_compare_of_one_unit_says_it_needs_two(rankings: Rankings) -> None:
    text = await seen(Answers(rankings), "/sosanh bac ha")
    assert "Cần hai đơn vị trở lên" in text and "«bac ha»" not in text and "bac ha" in text
    assert "So sánh:" not in text


# ---- readings: the likely one answered, the others offered ------------------


async def test_lao_cai_is_the_city_with_the_province_offered(rankings: Rankings) -> None:
    answers = Answers(rankings)
    reply = await answers.to_text("lao cai", lang="vi")
    assert reply is not None
    assert to_plain(reply.text).startswith("🏛 Thành phố Lào Cai")
    province = [c for row in reply.choices for c in row if c.label == "Lào Cai (DTI)"]
    assert len(province) == 1 and province[0].action
    picked = await answers.to_action(province[0].action, lang="vi", user_id=None)
    assert picked is not None
    text = to_plain(picked.text)
    assert text.startswith("🏛 Lào Cai") and "Hạng 38/63" in text


async def test_a_rank_question_never_gets_an_unrelated_card(rankings: Rankings) -> None:
    answers = Answers(rankings)
    # "xã" is in "Sở Lao động - Thương binh và Xã hội": not a group on record yet
    text = await seen(answers, "xã nào đứng đầu")
    assert "Bot chưa hiểu «xã»" in text and "Sở Lao động" not in text
    text = await seen(answers, "huyen nao dung dau")
    assert "Có phải bạn muốn tìm" not in text and "Huyện Bắc Hà" not in text.split("\n\n")[1]


async def test_filler_words_are_in_no_unit_name(rankings: Rankings) -> None:
    """A question word dropped as filler must never be a word of a name on record,
    or the name could no longer be found."""
    words = load_question_words()
    filler = {p[0] for p in words.filler if len(p) == 1}
    slices = await rankings.slices()
    for s in slices:
        for record in await rankings.store.scores.window(s, 1, s.unit_count):
            assert not filler & set(expand(record.name).split()), record.name


def test_group_words_name_groups_and_rankings_of_the_catalog() -> None:
    catalog = load_catalog()
    for phrase, code in load_question_words().group_words.items():
        if code.startswith("ranking:"):
            assert code.removeprefix("ranking:") in catalog.rankings, phrase
        else:
            assert code in catalog.groups, phrase


class Clock:
    """A calendar the test turns: `today` says the day it was last set to."""

    def __init__(self, day: date) -> None:
        self.day = day

    def today(self) -> date:
        return self.day


@pytest.mark.parametrize(
    ("said", "year", "asked_on"),
    [
        ("huyen nao dung dau nam ngoai", "huyen nao dung dau nam 2023", date(2024, 4, 5)),
        ("so tai chinh nam ngoai", "so tai chinh nam 2022", date(2023, 12, 31)),
        ("ket qua so giao duc hai nam truoc", "ket qua so giao duc nam 2022", date(2024, 1, 1)),
        ("so tai chinh 2 năm trước", "so tai chinh nam 2022", date(2024, 1, 1)),
        ("/top 5 huyen nam truoc", "/top 5 huyen 2022", date(2023, 6, 1)),
        ("which district leads last year", "which district leads in 2023", date(2024, 4, 5)),
        ("top 5 districts last year", "top 5 districts 2022", date(2023, 4, 5)),
        # a year with nothing on record is said as such, as when it is typed
        ("huyen nao dung dau nam ngoai", "huyen nao dung dau nam 2025", date(2026, 12, 2)),
    ],
)
async def test_a_year_said_by_how_long_ago_is_the_calendar_s(
    rankings: Rankings, said: str, year: str, asked_on: date
) -> None:
    relative = Answers(rankings, today=Clock(asked_on).today)
    typed = Answers(rankings, today=Clock(asked_on).today)
    assert await seen(relative, said) == await seen(typed, year)


async def test_last_year_moves_with_the_new_year(rankings: Rankings) -> None:
    """The reply kept for the same words is the year's: on 1 January "năm ngoái"
    is the next year, with no import in between."""
    calendar = Clock(date(2023, 12, 31))
    answers = Answers(rankings, today=calendar.today)
    before = await seen(answers, "huyen nao dung dau nam ngoai")
    calendar.day = date(2024, 1, 1)
    after = await seen(answers, "huyen nao dung dau nam ngoai")
    assert before == await seen(Answers(rankings), "huyen nao dung dau nam 2022")
    assert after == await seen(Answers(rankings), "huyen nao dung dau nam 2023")
    assert before != after


async def test_years_back_words_are_in_no_unit_name(rankings: Rankings) -> None:
    """As for filler words: a phrase read as a year must not be in a name on record."""
    phrases = [" ".join(p) for p, _ in load_question_words().years_back.items]
    assert phrases
    slices = await rankings.slices()
    for s in slices:
        for record in await rankings.store.scores.window(s, 1, s.unit_count):
            name = f" {expand(record.name)} "
            assert not [p for p in phrases if f" {p} " in name], record.name
