"""What the user asked, as data: pure functions, tested without Telegram.

Arguments come in any order ("/top huyen 5 2022" = "/top 2022 5 huyện");
group and ranking words are matched after folding, longest alias first, so
"khong co tthc" is one group and not "tthc" with two stray words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from bot.commands import BY_NAME
from bot.commands import COMMANDS as TABLE
from ranking.catalog import Catalog
from ranking.text import fold

DEFAULT_N = 10
MAX_N = 100
YEAR_RANGE = range(1900, 2101)

# command word (folded, no slash) → canonical command key, from the one table
COMMANDS: dict[str, str] = {name: command.key for name, command in BY_NAME.items()}
# Commands a channel answers with a handler of its own (uploads, subscriptions, …)
CHANNEL_COMMANDS = {c.key for c in TABLE if c.channel}
EXPORT_FORMATS = {"csv": "csv", "xlsx": "xlsx", "excel": "xlsx"}
# "Lào Cai xếp thứ mấy cả nước?": words that ask for the national ranking, and the
# question words around the unit's name that are not part of it.
NATIONAL_WORDS = ("ca nuoc", "toan quoc", "quoc gia")
QUESTION_WORDS = (
    "xep thu may",
    "dung thu may",
    "xep hang thu may",
    "hang thu may",
    "thu may",
    "hang may",
    "xep hang",
    "dung",
    "tren",
    "trong",
    "the nao",
    "ra sao",
    "bao nhieu",
)
MAX_COMPARE = 5


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
    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        # alias word tuples, longest first, for greedy matching
        self._groups = sorted(
            ((tuple(alias.split()), code) for alias, code in catalog.group_aliases().items()),
            key=lambda pair: -len(pair[0]),
        )
        self._rankings = sorted(
            ((tuple(alias.split()), code) for alias, code in catalog.ranking_aliases().items()),
            key=lambda pair: -len(pair[0]),
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
            return self.command(command, rest)
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
                return self.command(named.key, _original_tail(text, size))
        national = self._national_question(words)
        if national is not None:
            return national
        return UnitQuery(text=text)

    def _national_question(self, words: list[str]) -> Parsed | None:
        """ "Lào Cai xếp thứ mấy cả nước?" → Lào Cai's card in the national ranking."""
        folded = " " + " ".join(words) + " "
        if not any(f" {w} " in folded for w in NATIONAL_WORDS):
            return None
        for phrase in (*NATIONAL_WORDS, *QUESTION_WORDS):
            folded = folded.replace(f" {phrase} ", " ")
        rest = folded.split()
        year = None
        for i, word in enumerate(rest):  # "… năm 2022", "… 2022"
            if len(word) == 4 and word.isdigit() and int(word) in YEAR_RANGE:
                year = int(word)
                rest = [
                    w for j, w in enumerate(rest) if j != i and not (j == i - 1 and w == "nam")
                ]
                break
        national = next(
            (code for code, r in self.catalog.rankings.items() if "ca nuoc" in r.aliases), None
        )
        if not rest or national is None:
            return None
        return UnitQuery(" ".join(rest), national, year)

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
            if len(parts) < 1:
                return Invalid([UserError("parse.compare_missing")], "compare")
            if len(parts) > MAX_COMPARE:
                return Invalid(
                    [UserError("parse.compare_too_many", {"max": MAX_COMPARE})], "compare"
                )
            return CompareQuery(parts)
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
        words, group, ranking, errors = self._take_aliases(fold(rest).split())
        n: int | None = None
        year: int | None = None
        unknown: list[str] = []
        for word in words:
            if word.isdigit():
                value = int(word)
                if len(word) == 4 and value in YEAR_RANGE:
                    if year is not None and year != value:
                        errors.append(UserError("parse.two_years"))
                    year = value
                elif 1 <= value <= MAX_N and n is None:
                    n = value
                else:
                    errors.append(UserError("parse.bad_n", {"value": word, "max": MAX_N}))
            else:
                unknown.append(word)
        ranking = self._scope(errors, unknown, group, ranking)
        if errors:
            return Invalid(errors, command, year, ranking)
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
        # an explicit ranking code at the end: "/donvi lao cai dti"
        if len(words) > 1 and (code := self.catalog.ranking_aliases().get(fold(words[-1]))):
            ranking, words = code, words[:-1]
        if not words:
            return Invalid([UserError("parse.unit_missing")], "unit")
        return UnitQuery(" ".join(words), ranking)

    def _groups_query(self, rest: str) -> Parsed:
        year = None
        errors: list[UserError] = []
        for word in fold(rest).split():
            if word.isdigit() and int(word) in YEAR_RANGE:
                year = int(word)
            elif word != "nam":  # "/nhom nam 2025"
                errors.append(UserError("parse.unknown_words", {"words": word}))
        if errors:
            return Invalid(errors, "groups")
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
            year, ranking or (self.catalog.groups[group].ranking if group else None)
        )

    def _media(self, command: str, rest: str) -> Parsed:
        """ "/bieudo huyen 2022", "/xuat 2022 csv", "/bieudo dti": group, ranking, year
        (and for /xuat the format) in any order."""
        words, group, ranking, errors = self._take_aliases(fold(rest).split())
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
                unknown.append(word)
        ranking = self._scope(errors, unknown, group, ranking)
        if errors:
            return Invalid(errors, command, year, ranking)
        if command == "chart":
            return ChartQuery(group, year, ranking)
        return ExportQuery(group, year, ranking, fmt)


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
