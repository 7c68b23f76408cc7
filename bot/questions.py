"""What a plain-text question asks, read with the words of data/questions.toml.

Officials ask "huyện nào đứng đầu", "sở tài chính đứng thứ mấy", "bac ha nam 2022",
"5 huyện đứng đầu năm 2022", "bao nhiêu đơn vị đạt mức nâng cao", "so sánh bắc hà
và bát xát", "where does lao cai rank nationally?". The question words are data;
this module only takes them out of the message, longest phrase first and as whole
words, and says what is left: a unit's name, or group words. `bot.parsing` turns
the result into a query. Pure functions, no data on record needed.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Generic, TypeVar

from ranking.catalog import DATA_DIR
from ranking.text import expand, fold

YEARS = range(1900, 2101)
MAX_N = 100

Phrase = tuple[str, ...]
INTENTS = ("count", "rank", "score", "level", "lead", "last")


V = TypeVar("V")


class PhraseTable(Generic[V]):
    """Phrases with a value each, tried in the order given (longest first, as they
    are built here): `at` gives the first that the words at a position begin with.
    They are filed by their first word, so a message's word is compared only with
    the few phrases that begin with it, not with every phrase of the table (a
    question used to cost some 1,800 comparisons)."""

    __slots__ = ("_by_first", "items")

    def __init__(self, items: Iterable[tuple[Phrase, V]]) -> None:
        self.items: tuple[tuple[Phrase, V], ...] = tuple(items)
        by_first: dict[str, list[tuple[Phrase, V]]] = {}
        for phrase, value in self.items:
            if not phrase:
                # an empty phrase would be found at every position, taking no word
                raise ValueError("a question phrase needs at least one word")
            by_first.setdefault(phrase[0], []).append((phrase, value))
        self._by_first = {first: tuple(found) for first, found in by_first.items()}

    def at(self, words: Sequence[str], i: int) -> tuple[Phrase, V] | None:
        if i >= len(words):
            return None
        for phrase, value in self._by_first.get(words[i], ()):
            if len(phrase) == 1 or tuple(words[i : i + len(phrase)]) == phrase:
                return phrase, value
        return None


class Phrases:
    """Phrases tried in the order given; see `PhraseTable`. Iterating gives them in
    that order; `in` asks whether one of them is exactly a phrase."""

    __slots__ = ("_all", "as_table")

    def __init__(self, phrases: Iterable[Phrase]) -> None:
        # each phrase's value is the phrase: take() gives back the phrases found
        self.as_table: PhraseTable[Phrase] = PhraseTable((p, p) for p in phrases)
        self._all = frozenset(p for p, _ in self.as_table.items)

    def at(self, words: Sequence[str], i: int) -> Phrase | None:
        hit = self.as_table.at(words, i)
        return hit[0] if hit else None

    def __iter__(self) -> Iterator[Phrase]:
        return (p for p, _ in self.as_table.items)

    def __len__(self) -> int:
        return len(self.as_table.items)

    def __contains__(self, phrase: object) -> bool:
        return phrase in self._all

    def __add__(self, other: Phrases) -> Phrases:
        """These phrases, then `other`'s: tried in that order."""
        return Phrases([*self, *other])


def _phrases(items: list[str]) -> Phrases:
    """Folded word tuples, longest first, without repeats."""
    unique = {tuple(fold(item).split()) for item in items if fold(item)}
    return Phrases(sorted(unique, key=lambda p: (-len(p), p)))


@dataclass(frozen=True)
class QuestionWords:
    intents: dict[str, Phrases]
    province: Phrases
    separators: Phrases
    year: Phrases
    filler: Phrases
    group_words: dict[Phrase, str]
    pending_groups: Phrases
    soft_filler: Phrases
    place: Phrases
    rewrites: PhraseTable[Phrase]
    years_back: PhraseTable[int]  # "năm ngoái": 1 year before this one


def parse_question_words(raw: dict[str, object]) -> QuestionWords:
    intents: dict[str, list[str]] = raw["intents"]  # type: ignore[assignment]
    words: dict[str, list[str]] = raw["words"]  # type: ignore[assignment]
    groups: dict[str, str] = raw.get("group_words", {})  # type: ignore[assignment]
    rewrites: dict[str, str] = raw.get("rewrites", {})  # type: ignore[assignment]
    years_back: dict[str, int] = raw.get("years_back", {})  # type: ignore[assignment]
    return QuestionWords(
        intents={name: _phrases(items) for name, items in intents.items()},
        province=_phrases(words.get("province", [])),
        separators=_phrases(words.get("separators", [])),
        year=_phrases(words.get("year", [])),
        filler=_phrases(words.get("filler", [])),
        group_words={tuple(fold(k).split()): v for k, v in groups.items()},
        pending_groups=_phrases(words.get("pending_groups", [])),
        soft_filler=_phrases(words.get("soft_filler", [])),
        place=_phrases(words.get("place", [])),
        # read after abbreviations are spelled out, as the words they meet are
        rewrites=PhraseTable(
            sorted(
                (
                    (tuple(expand(k).split()), tuple(expand(v).split()))
                    for k, v in rewrites.items()
                ),
                key=lambda pair: -len(pair[0]),
            )
        ),
        years_back=PhraseTable(
            sorted(
                # read where the rewrites are, after abbreviations are spelled out
                ((tuple(expand(k).split()), int(v)) for k, v in years_back.items()),
                key=lambda pair: -len(pair[0]),
            )
        ),
    )


@cache
def load_question_words(path: Path = DATA_DIR / "questions.toml") -> QuestionWords:
    with path.open("rb") as fh:
        return parse_question_words(tomllib.load(fh))


@dataclass
class Question:
    """What is left of a message once the question words are taken out."""

    intents: set[str] = field(default_factory=set)
    years: list[int] = field(default_factory=list)
    # "năm ngoái" (1), "hai năm trước" (2): years before the current one, as said; the
    # parser turns them into years with its clock
    years_back: list[int] = field(default_factory=list)
    n: int | None = None
    national: bool = False
    province: bool = False
    level: str | None = None  # a level's code, named in the question
    group: str | None = None
    ranking: str | None = None
    groups_named: int = 0
    rest: list[str] = field(default_factory=list)  # group words kept: "huyen bac ha"
    leftover: list[str] = field(default_factory=list)  # what no group word explains
    parts: list[str] = field(default_factory=list)  # a comparison's units
    rewritten: bool = False  # an English name or a short form was spelled out
    pending_group: str | None = None  # a group word of groups not on record yet ("xã")
    unplaced: list[str] | None = None  # the name without a place said after it


def _pieces(words: list[str], table: PhraseTable[V]) -> list[str | tuple[Phrase, V]]:
    """`words` from left to right as the table reads them: each phrase found (the
    first of the table at that position) as (phrase, value), every other word as it is."""
    pieces: list[str | tuple[Phrase, V]] = []
    i = 0
    while i < len(words):
        hit = table.at(words, i)
        if hit:
            pieces.append(hit)
            i += len(hit[0])
        else:
            pieces.append(words[i])
            i += 1
    return pieces


def rewrite(words: list[str], rewrites: PhraseTable[Phrase]) -> list[str]:
    out: list[str] = []
    for piece in _pieces(words, rewrites):
        if isinstance(piece, str):
            out.append(piece)
        else:
            out.extend(piece[1])
    return out


def _take_values(words: list[str], table: PhraseTable[V]) -> tuple[list[str], list[V]]:
    """`words` without the phrases of `table` (longest first), and their values."""
    pieces = _pieces(words, table)
    rest = [p for p in pieces if isinstance(p, str)]
    return rest, [p[1] for p in pieces if not isinstance(p, str)]


def take(words: list[str], phrases: Phrases) -> tuple[list[str], list[Phrase]]:
    """`words` without every phrase found (longest first), and the phrases found."""
    return _take_values(words, phrases.as_table)


def split_on(words: list[str], separators: Phrases) -> list[list[str]]:
    parts: list[list[str]] = [[]]
    for piece in _pieces(words, separators.as_table):
        if isinstance(piece, str):
            parts[-1].append(piece)
        else:
            parts.append([])
    return [p for p in parts if p]


class QuestionReader:
    """Reads questions with one catalog's words: the tables a question is matched
    against (intents, levels, groups, rankings) are built once, not per message."""

    def __init__(
        self,
        qw: QuestionWords,
        group_aliases: dict[str, str],
        ranking_aliases: dict[str, str],
        level_names: dict[str, str],
    ) -> None:
        self.qw = qw
        compare = list(qw.intents.get("compare", Phrases([])))
        self._compare = Phrases(compare)
        self._asking = Phrases(p for p in compare if p not in qw.separators)
        self._national = qw.intents.get("national", Phrases([]))
        # every intent's phrases at once, longest first: "thứ mấy" is a rank, not "mấy"
        said = {p: name for name in INTENTS for p in qw.intents.get(name, Phrases([]))}
        self._intents = PhraseTable(
            sorted(said.items(), key=lambda pair: (-len(pair[0]), pair[0]))
        )
        self._levels = PhraseTable(
            sorted(
                ((tuple(name.split()), code) for name, code in level_names.items()),
                key=lambda pair: -len(pair[0]),
            )
        )
        # the question words' own group words win over the catalog's ("tỉnh nào": every grouping)
        table = {tuple(a.split()): c for a, c in group_aliases.items()} | qw.group_words
        self._groups = PhraseTable(sorted(table.items(), key=lambda pair: -len(pair[0])))
        self._rankings = PhraseTable(
            sorted(
                ((tuple(a.split()), c) for a, c in ranking_aliases.items()),
                key=lambda pair: -len(pair[0]),
            )
        )
        self._fillers = qw.filler + qw.soft_filler

    def read(self, text: str) -> Question:
        """Take the question words out of `text`; see `Question` for what is left."""
        qw = self.qw
        q = Question()
        # abbreviations spelled out first ("GD&ĐT", "UBND", "tp"), as the unit lookup does;
        # "top3" is "top 3"
        spelled = expand(re.sub(r"(?i)\b(top|cuoi|bottom)(\d)", r"\1 \2", text)).split()
        words = rewrite(spelled, qw.rewrites)
        q.rewritten = words != spelled
        comma_parts = [expand(p) for p in text.split(",")]  # "so sánh A, B, C"
        words, q.years_back = _take_values(words, qw.years_back)
        # the year, with its own word before it ("năm 2022")
        kept: list[str] = []
        for word in words:
            if len(word) == 4 and word.isdigit() and int(word) in YEARS:
                q.years.append(int(word))
                for phrase in qw.year:
                    if tuple(kept[-len(phrase) :]) == phrase:
                        del kept[-len(phrase) :]
                        break
            else:
                kept.append(word)
        words = kept
        # a comparison: "so sánh A và B", "A vs B" ("vs" both asks and separates)
        if any(self._compare.at(words, i) for i in range(len(words))):
            q.intents.add("compare")
            if len(comma_parts) > 1:
                after = [
                    take(rewrite(p.split(), qw.rewrites), self._asking)[0] for p in comma_parts
                ]
                # "so sánh 3 huyện bắc hà, bát xát, văn bàn": the count is not a name
                q.parts = [" ".join(w for w in p if not w.isdigit()) for p in after]
                q.parts = [p for p in q.parts if p]
            else:
                q.parts = [
                    " ".join(p) for p in split_on(take(words, self._asking)[0], qw.separators)
                ]
            # "bát xát hơn bắc hà không": the question's own words are no part of a name
            q.parts = [" ".join(take(p.split(), qw.filler)[0]) for p in q.parts]
            q.parts = [p for p in q.parts if p]
            return q
        words, national = take(words, self._national)
        q.national = bool(national)
        words, intents = _take_values(words, self._intents)
        q.intents.update(intents)
        words, named_levels = _take_values(words, self._levels)
        if named_levels:
            q.level = named_levels[0]
        # what the rest names: groups, a ranking, or a unit
        i = 0
        while i < len(words):
            hit_g = self._groups.at(words, i)
            hit_r = self._rankings.at(words, i)
            best = max(len(hit_g[0]) if hit_g else 0, len(hit_r[0]) if hit_r else 0)
            if hit_g and len(hit_g[0]) == best and hit_g[1].startswith("ranking:"):
                q.ranking = hit_g[1].removeprefix("ranking:")
                i += best
            elif hit_g and len(hit_g[0]) == best:
                if q.group != hit_g[1]:
                    q.groups_named += 1
                q.group = hit_g[1]
                i += best
            elif hit_r and len(hit_r[0]) == best:
                q.ranking = hit_r[1]
                i += best
            elif words[i].isdigit():  # a count ("5 huyện"), unless a group's ("34 tỉnh")
                if 1 <= int(words[i]) <= MAX_N and q.n is None:
                    q.n = int(words[i])
                i += 1
            elif hit_p := qw.pending_groups.at(words, i):
                q.pending_group = " ".join(hit_p)
                q.leftover.extend(hit_p)
                i += len(hit_p)
            elif hit_f := self._fillers.at(words, i):
                i += len(hit_f)
            else:
                q.leftover.append(words[i])
                i += 1
        rest, _ = take([w for w in words if not w.isdigit()], qw.filler)
        # "tỉnh lào cai", "province of lao cai": the province, not the city
        leading = qw.province.at(rest, 0)
        if leading and len(rest) > len(leading):
            q.province = True
            rest = rest[len(leading) :]
        q.rest = rest
        # "đài phát thanh truyền hình lào cai": the name without the place after it
        trailing = next(
            (p for p in qw.place if len(rest) > len(p) and tuple(rest[-len(p) :]) == p), None
        )
        q.unplaced = rest[: -len(trailing)] if trailing else None
        return q
