"""What the user asked, as data: pure functions, tested without Telegram.

Arguments come in any order ("/top huyen 5 2022" = "/top 2022 5 huyện");
group and ranking words are matched after folding, longest alias first, so
"khong co tthc" is one group and not "tthc" with two stray words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from bot.commands import BY_NAME
from bot.commands import COMMANDS as TABLE
from bot.questions import Phrases, QuestionReader, load_question_words, split_on, take
from ranking.catalog import Catalog
from ranking.text import expand, fold

DEFAULT_N = 10
MAX_N = 100
YEAR_RANGE = range(1900, 2101)

# command word (folded, no slash) → canonical command key, from the one table
COMMANDS: dict[str, str] = {name: command.key for name, command in BY_NAME.items()}
# Commands a channel answers with a handler of its own (uploads, subscriptions, …)
CHANNEL_COMMANDS = {c.key for c in TABLE if c.channel}
EXPORT_FORMATS = {"csv": "csv", "xlsx": "xlsx", "excel": "xlsx"}
MAX_COMPARE = 5
# what an error quotes of the user's words: enough to recognise them, never a wall
MAX_QUOTED_WORDS = 8
MAX_QUOTED_CHARS = 60


@dataclass(frozen=True)
class UserError:
    key: str
    params: dict[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True)
class RankingQuery:
    kind: Literal["top", "bottom"] = "top"
    n: int = DEFAULT_N
    group: str | None = None
    year: int | None = None
    ranking: str | None = None
    page: int = 1


@dataclass(frozen=True)
class UnitQuery:
    text: str
    ranking: str | None = None
    year: int | None = None  # "… năm 2022": the card leads with that year
    # "… đứng thứ mấy", "… bao nhiêu điểm": a question, answered with its place first
    asks: str | None = None
    said: str | None = None  # the message as typed, for quoting it back
    bare: str | None = None  # the name without the group words around it, tried second


@dataclass(frozen=True)
class LevelCountQuery:
    """ "bao nhiêu đơn vị đạt mức nâng cao [năm 2022] [huyện]": one level's count."""

    level: str
    year: int | None = None
    ranking: str | None = None
    group: str | None = None


@dataclass(frozen=True)
class CompareQuery:
    texts: list[str]


@dataclass(frozen=True)
class UnitById:
    unit_id: int


@dataclass(frozen=True)
class LevelsQuery:
    year: int | None = None
    ranking: str | None = None
    group: str | None = None  # one group's counts; None: every group of the year


@dataclass(frozen=True)
class ChartQuery:
    """/bieudo [nhóm] [năm]: one group's ranking as a PNG bar chart."""

    group: str | None = None
    year: int | None = None
    ranking: str | None = None


@dataclass(frozen=True)
class ExportQuery:
    """/xuat [nhóm] [năm] [csv]: the ranking in the upload format."""

    group: str | None = None
    year: int | None = None
    ranking: str | None = None
    fmt: Literal["xlsx", "csv"] = "xlsx"


@dataclass(frozen=True)
class HistoryChart:
    """A unit card's "📈" button: the unit's scores by year as a chart."""

    unit_id: int


@dataclass(frozen=True)
class Simple:
    name: Literal["start", "help", "years"]


@dataclass(frozen=True)
class GroupsQuery:
    """/nhom [năm]: the groups (of one year), each with its max and size per year."""

    year: int | None = None


@dataclass(frozen=True)
class LanguageChoice:
    language: str | None  # None: show the choice


@dataclass(frozen=True)
class ChannelCommand:
    """A command that the channel handles itself (bot/commands.py, channel=True)."""

    key: str
    rest: str = ""


@dataclass(frozen=True)
class Invalid:
    errors: list[UserError]
    command: str | None = None
    year: int | None = None  # a year seen beside the errors: checked against the data too
    ranking: str | None = None


Parsed = (
    RankingQuery
    | UnitQuery
    | UnitById
    | CompareQuery
    | LevelsQuery
    | LevelCountQuery
    | ChartQuery
    | ExportQuery
    | HistoryChart
    | Simple
    | GroupsQuery
    | LanguageChoice
    | ChannelCommand
    | Invalid
)

_COMMAND = re.compile(r"^/([A-Za-z0-9_]+)(?:@([A-Za-z0-9_]+))?(?:\s+(.*))?$", re.DOTALL)


class Parser:
    def __init__(self, catalog: Catalog, *, today: Callable[[], date] = date.today):
        self.catalog = catalog
        # "năm ngoái" is a year before today's: the clock is given, so tests can set it
        self.today = today
        # alias word tuples, longest first, for greedy matching
        self._groups = sorted(
            ((tuple(alias.split()), code) for alias, code in catalog.group_aliases().items()),
            key=lambda pair: -len(pair[0]),
        )
        self._rankings = sorted(
            ((tuple(alias.split()), code) for alias, code in catalog.ranking_aliases().items()),
            key=lambda pair: -len(pair[0]),
        )
        self._words = load_question_words()
        # questions are read with abbreviations spelled out: "tthc" is "thu tuc hanh chinh"
        self._group_words = {
            **{expand(alias): code for alias, code in catalog.group_aliases().items()},
            **catalog.group_aliases(),
        }
        self._level_names = {
            fold(name): level.code
            for levels in catalog.band_schemes.values()
            for level in levels
            for name in (level.name_vi, level.name_en)
        }
        self.national = next(
            (code for code, r in catalog.rankings.items() if "ca nuoc" in r.aliases), None
        )
        self._questions = QuestionReader(
            self._words, self._group_words, catalog.ranking_aliases(), self._level_names
        )

    def _scope(
        self, errors: list[UserError], unknown: list[str], group: str | None, ranking: str | None
    ) -> str | None:
        """The ranking a query's words name (the group's own when only a group is
        named); unknown words and a group of another ranking become errors."""
        if unknown:
            errors.append(UserError("parse.unknown_words", {"words": ", ".join(unknown)}))
        if group and not ranking:
            ranking = self.catalog.groups[group].ranking
        if group and ranking and self.catalog.groups[group].ranking != ranking:
            errors.append(UserError("parse.group_not_in_ranking", {"group": group}))
        return ranking

    def parse(self, text: str, *, private: bool = True) -> Parsed | None:
        """A message → what it asks; None when it is not for us (group chatter)."""
        text = text.strip()
        match = _COMMAND.match(text)
        if match:
            name, rest = match.group(1).lower(), match.group(3) or ""
            command = COMMANDS.get(name)
            if command is None:
                return Invalid([UserError("parse.unknown_command", {"command": "/" + name})])
            return self._or_question(self.command(command, rest), command, f"{name} {rest}")
        if not private or not text:
            return None
        words = fold(text).split()
        for size in (2, 1):
            named = BY_NAME.get(" ".join(words[:size]))
            # "nam"/"nhom" start unit names too ("Nam Định"): as plain text they
            # are commands only when they are the whole message.
            if named is not None and (
                named.plain_text == "always"
                or (named.plain_text == "alone" and len(words) == size)
            ):
                parsed = self.command(named.key, _original_tail(text, size))
                return self._or_question(parsed, named.key, text)
        question = self.question(text)
        if question is not None:
            return question
        return UnitQuery(text=text)

    def _or_question(self, parsed: Parsed, command: str, text: str) -> Parsed:
        """A ranking command whose words are not all its own ("top 3 sở năm 2023",
        "xếp hạng của đài phát thanh") read as the question it is, when it is one."""
        if not isinstance(parsed, Invalid) or command not in ("top", "bottom", "levels"):
            return parsed
        if any(e.key != "parse.unknown_words" for e in parsed.errors):
            return parsed  # a count or a year typed wrong: said as such
        asked = self.question(text)
        if isinstance(asked, RankingQuery | LevelCountQuery | CompareQuery):
            return asked
        if isinstance(asked, UnitQuery) and asked.asks not in ("lead", "last"):
            return asked  # "xếp hạng của đài phát thanh": a unit's place
        return parsed  # "/top 5 huyện Đâu": the words it did not understand, as typed

    def question(self, text: str) -> Parsed | None:
        """A question in natural words (data/questions.toml) → its query; None when
        the message is only a name (the unit lookup takes it as it is)."""
        q = self._questions.read(text)
        if "compare" in q.intents:
            return self._compare_parts(q.parts)
        year = q.years[0] if q.years else None
        if year is None and q.years_back:
            year = self.today().year - q.years_back[0]
        ranking = self.national if q.national else q.ranking
        group = q.group if q.group in self.catalog.groups else None
        if group and ranking and self.catalog.groups[group].ranking != ranking:
            group = None  # "… cả nước": the provinces, whatever else was named
        if group and not ranking:
            ranking = self.catalog.groups[group].ranking
        if q.groups_named > 1:
            return Invalid([UserError("parse.two_groups")], "top", year, ranking)
        if q.pending_group and q.intents & {"lead", "last"}:
            # "xã nào đứng đầu" before any xã is on record: no unit that merely holds the word
            typed = _typed_words(text)
            said = " ".join(typed.get(w, w) for w in q.pending_group.split())
            words = UserError("parse.unknown_words", {"words": quote_typed(said)})
            return Invalid([words], "top", year, ranking)
        # nothing but question words, groups, a level, a number and a year
        only_words = not q.leftover
        if q.level and only_words and not q.intents & {"lead", "last"}:
            return LevelCountQuery(q.level, year, ranking, group)
        if only_words and q.intents & {"lead", "last"}:
            kind: Literal["top", "bottom"] = "top" if "lead" in q.intents else "bottom"
            return RankingQuery(kind=kind, n=q.n or 1, group=group, year=year, ranking=ranking)
        if only_words and (group or ranking) and (q.n or year):  # "5 huyện 2022"
            return RankingQuery(n=q.n or DEFAULT_N, group=group, year=year, ranking=ranking)
        if only_words and "count" in q.intents and not q.rest:
            # "năm 2023 có bao nhiêu sở được công bố": every level's count and the rest
            return LevelsQuery(year, ranking)
        if only_words and q.n and "rank" in q.intents:  # "ai đứng thứ 2 khối huyện"
            return RankingQuery(n=q.n, group=group, year=year, ranking=ranking)
        if only_words and year and not q.rest:  # "2022"
            return RankingQuery(year=year, ranking=ranking)
        if not q.rest:
            return None
        asks = next(
            (i for i in ("rank", "score", "level", "lead", "last") if i in q.intents),
            "level" if q.level else None,  # "bát xát có đạt mức nâng cao không"
        )
        if not (asks or year or q.national or q.province):
            # a name alone: looked up as typed, or as spelled out ("department of finance"),
            # or without the place said after it
            if q.rewritten or q.unplaced:
                return UnitQuery(
                    " ".join(q.rest), said=text, bare=" ".join(q.unplaced or []) or None
                )
            return None
        if (q.national or q.province) and self.national:
            return UnitQuery(" ".join(q.rest), self.national, year, asks or "rank", text)
        bare = " ".join(q.leftover) if q.leftover != q.rest else None
        if bare is None and q.unplaced:
            bare = " ".join(q.unplaced)
        if group and ranking != self.catalog.default_ranking and bare:
            # "lào cai đứng thứ bao nhiêu trong 34 tỉnh": the name, in that group's ranking
            return UnitQuery(bare, ranking, year, asks or "rank", text)
        # "thành phố lào cai … trong khối huyện": the name without the group, if need be
        return UnitQuery(" ".join(q.rest), None, year, asks or "rank", text, bare)

    def _compare_parts(self, parts: list[str]) -> Parsed:
        if not parts:
            return Invalid([UserError("parse.compare_missing")], "compare")
        if len(parts) == 1 and len(parts[0].split()) < 2:
            return Invalid(
                [UserError("parse.compare_one", {"unit": quote_typed(parts[0])})], "compare"
            )
        if len(parts) > MAX_COMPARE:
            return Invalid([UserError("parse.compare_too_many", {"max": MAX_COMPARE})], "compare")
        return CompareQuery(parts)

    def command(self, command: str, rest: str) -> Parsed:
        if command in CHANNEL_COMMANDS:
            return ChannelCommand(command, rest.strip())
        if command in ("help", "years"):
            return Simple(command)  # type: ignore[arg-type]
        if command == "groups":
            return self._groups_query(rest)
        if command == "start":
            return self._start(rest.strip())
        if command == "language":
            word = fold(rest)
            if not word:
                return LanguageChoice(None)
            if word in ("vi", "tieng viet", "vietnamese"):
                return LanguageChoice("vi")
            if word in ("en", "english", "tieng anh"):
                return LanguageChoice("en")
            return Invalid([UserError("parse.bad_language", {"value": rest.strip()})], command)
        if command == "unit":
            return self._unit(rest)
        if command == "compare":
            parts = [p.strip() for p in re.split(r"[,;\n]|\s+(?:và|va|vs|với|voi)\s+", rest)]
            parts = [p for p in parts if p]
            if len(parts) == 1:  # "bac ha and bat xat": the other separators of questions
                split = split_on(expand(rest).split(), self._words.separators)
                parts = [" ".join(p) for p in split] if len(split) > 1 else parts
            return self._compare_parts(parts)
        if command == "levels":
            return self._levels(rest)
        if command in ("chart", "export"):
            return self._media(command, rest)
        return self._ranking(command, rest)  # top / bottom

    def _start(self, payload: str) -> Parsed:
        # Deep links: ?start=donvi_12, ?start=top_huyen_2022, ?start=top_dti_2022
        if m := re.fullmatch(r"donvi_(\d{1,9})", payload):
            return UnitById(int(m.group(1)))
        if payload.startswith(("top_", "cuoi_")):
            kind, _, rest = payload.partition("_")
            parsed = self.command("top" if kind == "top" else "bottom", rest.replace("_", " "))
            if not isinstance(parsed, Invalid):
                return parsed
        return Simple("start")

    def _take_aliases(
        self, words: list[str]
    ) -> tuple[list[str], str | None, str | None, list[UserError]]:
        """Pull group and ranking words out of `words`; the rest is returned."""
        rest: list[str] = []
        group = ranking = None
        errors: list[UserError] = []
        i = 0
        while i < len(words):
            for table, kind in ((self._groups, "group"), (self._rankings, "ranking")):
                hit = next(
                    (
                        (alias, code)
                        for alias, code in table
                        if tuple(words[i : i + len(alias)]) == alias
                    ),
                    None,
                )
                if hit:
                    alias, code = hit
                    if kind == "group":
                        if group and group != code:
                            errors.append(UserError("parse.two_groups"))
                        group = code
                    else:
                        ranking = code
                    i += len(alias)
                    break
            else:
                rest.append(words[i])
                i += 1
        return rest, group, ranking, errors

    def _ranking(self, command: str, rest: str) -> Parsed:
        typed = _typed_words(rest)
        # "/top 3 provinces nationally": the national words of questions name its ranking
        words, national = take(
            _without_year_words(fold(rest).split()),
            self._words.intents.get("national", Phrases([])),
        )
        words, group, ranking, errors = self._take_aliases(words)
        if national and ranking is None and group is None:
            ranking = self.national
        n: int | None = None
        year: int | None = None
        unknown: list[str] = []
        # "-5" folds to "5": a minus typed before a count is its own mistake
        for negative in dict.fromkeys(re.findall(r"(?<![\w-])-\d+", rest)):
            errors.append(UserError("parse.negative_n", {"value": negative, "n": negative[1:]}))
        for word in words:
            if word.isdigit():
                value = int(word)
                if len(word) == 4 and value in YEAR_RANGE:
                    if year is not None and year != value:
                        errors.append(UserError("parse.two_years"))
                    year = value
                elif 1 <= value <= MAX_N and n is None:
                    n = value
                elif value == n:  # "/top 5 5": said twice
                    errors.append(UserError("parse.repeated_n", {"value": word}))
                elif 1 <= value <= MAX_N:
                    errors.append(UserError("parse.two_ns", {"first": n or "", "value": word}))
                else:
                    errors.append(UserError("parse.bad_n", {"value": word, "max": MAX_N}))
            else:
                unknown.append(typed.get(word, word))
        ranking = self._scope(errors, _unique_words(unknown), group, ranking)
        if errors:
            return Invalid(_unique_errors(errors), command, year, ranking)
        return RankingQuery(
            kind="bottom" if command == "bottom" else "top",
            n=n or DEFAULT_N,
            group=group,
            year=year,
            ranking=ranking,
        )

    def _unit(self, rest: str) -> Parsed:
        words = rest.split()
        ranking = None
        year = None
        # a year at the end: "/donvi so giao duc 2022", "… nam 2022"
        if len(words) > 1 and words[-1].isdigit() and int(words[-1]) in YEAR_RANGE:
            year, words = int(words[-1]), words[:-1]
            if len(words) > 1 and fold(words[-1]) in ("nam", "year"):
                words = words[:-1]
        # an explicit ranking code at the end: "/donvi lao cai dti"
        if len(words) > 1 and (code := self.catalog.ranking_aliases().get(fold(words[-1]))):
            ranking, words = code, words[:-1]
        if not words:
            return Invalid([UserError("parse.unit_missing")], "unit")
        asked = self.question(" ".join(words))
        if isinstance(asked, UnitQuery) and asked.asks:  # "/donvi so tai chinh dung thu may"
            return UnitQuery(
                asked.text, ranking or asked.ranking, year or asked.year, asked.asks, rest
            )
        return UnitQuery(" ".join(words), ranking, year)

    def _groups_query(self, rest: str) -> Parsed:
        year = None
        typed = _typed_words(rest)
        unknown: list[str] = []
        for word in fold(rest).split():
            if word.isdigit() and int(word) in YEAR_RANGE:
                year = int(word)
            elif word != "nam":  # "/nhom nam 2025"
                unknown.append(typed.get(word, word))
        if unknown:
            words = ", ".join(_unique_words(unknown))
            return Invalid([UserError("parse.unknown_words", {"words": words})], "groups")
        return GroupsQuery(year)

    def _levels(self, rest: str) -> Parsed:
        words, group, ranking, errors = self._take_aliases(fold(rest).split())
        year = None
        for word in words:
            if word.isdigit() and int(word) in YEAR_RANGE:
                year = int(word)
            else:
                errors.append(UserError("parse.unknown_words", {"words": word}))
        if errors:
            return Invalid(errors, "levels")
        return LevelsQuery(
            year, ranking or (self.catalog.groups[group].ranking if group else None), group
        )

    def _media(self, command: str, rest: str) -> Parsed:
        """ "/bieudo huyen 2022", "/xuat 2022 csv", "/bieudo dti": group, ranking, year
        (and for /xuat the format) in any order."""
        typed = _typed_words(rest)
        words, group, ranking, errors = self._take_aliases(_without_year_words(fold(rest).split()))
        year: int | None = None
        fmt: Literal["xlsx", "csv"] = "xlsx"
        unknown: list[str] = []
        for word in words:
            if word.isdigit() and len(word) == 4 and int(word) in YEAR_RANGE:
                if year is not None and year != int(word):
                    errors.append(UserError("parse.two_years"))
                year = int(word)
            elif command == "export" and word in EXPORT_FORMATS:
                fmt = "csv" if EXPORT_FORMATS[word] == "csv" else "xlsx"
            else:
                unknown.append(typed.get(word, word))
        ranking = self._scope(errors, _unique_words(unknown), group, ranking)
        if errors:
            return Invalid(_unique_errors(errors), command, year, ranking)
        if command == "chart":
            return ChartQuery(group, year, ranking)
        return ExportQuery(group, year, ranking, fmt)


def _without_year_words(words: list[str]) -> list[str]:
    """ "năm 2022" is the year 2022: its own word goes."""
    return [
        w
        for i, w in enumerate(words)
        if not (
            w in ("nam", "year")
            and i + 1 < len(words)
            and words[i + 1].isdigit()
            and int(words[i + 1]) in YEAR_RANGE
        )
    ]


def _typed_words(text: str) -> dict[str, str]:
    """Folded word → the word as the user typed it ("nam" → "năm")."""
    typed: dict[str, str] = {}
    for token in text.split():
        for word in fold(token).split():
            typed.setdefault(word, token)
    return typed


def quote_typed(text: str) -> str:
    """User text short enough to quote back in one line."""
    text = " ".join(text.split())
    return text if len(text) <= MAX_QUOTED_CHARS else text[: MAX_QUOTED_CHARS - 1] + "…"


def _unique_words(words: list[str]) -> list[str]:
    """Each word once (200 repeats are one mistake), at most a few, each short."""
    unique = list(dict.fromkeys(words))
    shown = [quote_typed(w) for w in unique[:MAX_QUOTED_WORDS]]
    if len(unique) > MAX_QUOTED_WORDS:
        shown.append("…")
    return shown


def _unique_errors(errors: list[UserError]) -> list[UserError]:
    """One line per distinct problem: a word repeated 200 times is said once."""
    seen: dict[tuple[str, tuple[tuple[str, str | int], ...]], UserError] = {}
    for error in errors:
        seen.setdefault((error.key, tuple(sorted(error.params.items()))), error)
    return list(seen.values())


def _original_tail(text: str, skip_words: int) -> str:
    """The text after the first `skip_words` words, as typed (diacritics kept)."""
    parts = text.split(maxsplit=skip_words)
    return parts[skip_words] if len(parts) > skip_words else ""


# ---- callback data: ASCII, well under Telegram's 64 bytes ------------------

_CALLBACK = re.compile(r"^r:([tb]):([a-z-]{1,12}):([a-z*-]{1,12}):(\d{4}):(\d{1,3}):(\d{1,3})$")


def ranking_callback(query: RankingQuery) -> str:
    assert query.ranking and query.year
    return (
        f"r:{query.kind[0]}:{query.ranking}:{query.group or '*'}:"
        f"{query.year}:{query.n}:{query.page}"
    )


def parse_callback(
    data: str, catalog: Catalog
) -> RankingQuery | UnitById | HistoryChart | ChartQuery | None:
    """A button's data → its query; None for anything stale or forged.
    (Chart buttons are answered by bot/media.py, which sees them first.)"""
    if m := re.fullmatch(r"u:(\d{1,9})", data):
        return UnitById(int(m.group(1)))
    if data.startswith(("h:", "c:")):
        return parse_media_callback(data, catalog)
    m = _CALLBACK.match(data)
    if not m:
        return None
    kind, ranking, group, year, n, page = m.groups()
    if ranking not in catalog.rankings:
        return None
    if group != "*" and (group not in catalog.groups or catalog.groups[group].ranking != ranking):
        return None
    if not 1 <= int(n) <= MAX_N or int(page) < 1:
        return None
    return RankingQuery(
        kind="top" if kind == "t" else "bottom",
        n=int(n),
        group=None if group == "*" else group,
        year=int(year),
        ranking=ranking,
        page=int(page),
    )


# ---- media buttons (bot/media.py): "h:<unit id>" history chart, "c:<ranking>:<group>:<year>"


_CHART_CALLBACK = re.compile(r"^c:([a-z-]{1,12}):([a-z-]{1,12}):(\d{4})$")


def history_callback(unit_id: int) -> str:
    return f"h:{unit_id}"


def chart_callback(ranking: str, group: str, year: int) -> str:
    return f"c:{ranking}:{group}:{year}"


def parse_media_callback(data: str, catalog: Catalog) -> HistoryChart | ChartQuery | None:
    """A chart button's data → what to draw; None for anything stale or forged."""
    if m := re.fullmatch(r"h:(\d{1,9})", data):
        return HistoryChart(int(m.group(1)))
    m = _CHART_CALLBACK.match(data)
    if not m:
        return None
    ranking, group, year = m.groups()
    if group not in catalog.groups or catalog.groups[group].ranking != ranking:
        return None
    if int(year) not in YEAR_RANGE:
        return None
    return ChartQuery(group=group, year=int(year), ranking=ranking)


# ---- confirmation buttons: an upload or undo preview ("a:…"), a /thongbao draft ("n:…")

# Why bounds before the store: a forged id past SQLite's signed 64-bit integers
# raises inside the driver ("Python int too large to convert to SQLite INTEGER"),
# and an unbounded one is a lookup for nothing. Anything that does not match is
# answered as a stale button.
SQLITE_MAX_INTEGER = 2**63 - 1
_ACTION_BUTTON = re.compile(r"a:([A-Za-z0-9_-]{1,32}):(ok|same|no)", re.ASCII)
_ANNOUNCE_BUTTON = re.compile(r"n:([1-9][0-9]{0,18}):(ok|no)", re.ASCII)


def parse_action_button(data: str) -> tuple[str, str] | None:
    """`a:<pending action id>:<ok|same|no>` → (id, verb); None when forged."""
    if m := _ACTION_BUTTON.fullmatch(data):
        return m[1], m[2]
    return None


def parse_announce_button(data: str) -> tuple[int, str] | None:
    """`n:<announcement id>:<ok|no>` → (id, verb); None when forged or out of range."""
    m = _ANNOUNCE_BUTTON.fullmatch(data)
    if m is None or int(m[1]) > SQLITE_MAX_INTEGER:
        return None
    return int(m[1]), m[2]
