"""One place that turns a parsed question into a channel-neutral reply.

Every channel (Telegram, the console of `python -m bot ask`) calls `Answers` and
renders the `Reply` it returns, so the console prints exactly what a private chat
would get, choices included.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import date
from functools import wraps
from typing import Any, TypeVar, cast

from bot import render
from bot.commands import BY_KEY
from bot.i18n import LANGUAGES, Translator
from bot.parsing import (
    ChannelCommand,
    ChartQuery,
    CompareQuery,
    ExportQuery,
    GroupsQuery,
    HistoryChart,
    Invalid,
    LanguageChoice,
    LevelCountQuery,
    LevelsQuery,
    Parsed,
    Parser,
    RankingQuery,
    Simple,
    UnitById,
    UnitQuery,
    history_callback,
    parse_callback,
    quote_typed,
    ranking_callback,
)
from bot.reply import Choice, MediaRequest, Reply, esc, esc_params
from ranking.cache import VersionCache
from ranking.catalog import Catalog, Group
from ranking.lookup import MAX_CHOICES, UnitRef
from ranking.queries import Rankings, UnitCard
from ranking.store import SliceInfo
from ranking.text import expand

MAX_YEAR_BUTTONS = 4
# Rendered rankings and cards kept per data version: the same pages and cards are
# asked again and again (buttons, the usual commands); a card of ten years is ~13 kB
# of text, so 256 of them (with the pages and cards above) stay under ~9 MB.
CACHED_REPLIES = 256
# Answers by the very text asked (see Answers.to_text): most messages repeat a few
# ("/top", a unit's name); their texts are mostly the same strings as above.
CACHED_ASKED = 256
MAX_MESSAGE = 4096  # UTF-16 code units of one Telegram message

_Method = TypeVar("_Method", bound=Callable[..., Coroutine[Any, Any, Any]])


def one_check(method: _Method) -> _Method:
    """An entry point: the whole answer sees the data as of one freshness check."""

    @wraps(method)
    async def checked(self: Answers, *args: Any, **kwargs: Any) -> Any:
        async with self.rankings.checked_once():
            return await method(self, *args, **kwargs)

    return cast(_Method, checked)


@dataclass(frozen=True)
class MediaTarget:
    """What a /bieudo or /xuat asks for, resolved against the data on record."""

    ranking: str
    year: int
    group: str | None  # None: every group of the year (an export)
    slices: list[SliceInfo]  # the chosen slices, in the catalogue's group order
    year_slices: list[SliceInfo]  # every slice of that ranking and year, same order


def typed_group(group: Group) -> str:
    """The word a group is typed as in an example: its code (huyen, khong-tthc) for
    the catalog's groups, its first alias for one an upload created."""
    if group.created_by_version is None or not group.aliases:
        return group.code
    return group.aliases[0].replace(" ", "-")


Rendered = tuple[str, tuple[tuple[Choice, ...], ...]]  # a reply's text and choices


class Answers:
    def __init__(self, rankings: Rankings, *, today: Callable[[], date] = date.today):
        self.rankings = rankings
        self._today = today  # for "năm ngoái" (see Parser)
        self._parser = Parser(rankings.catalog, today=today)
        self._rendered: VersionCache[Rendered] = VersionCache(CACHED_REPLIES)
        self._asked: VersionCache[Rendered] = VersionCache(CACHED_ASKED)

    def forget_answers(self) -> None:
        """Drop the rendered replies and what the rankings keep per question asked
        (see `Rankings.forget_answers`)."""
        self._rendered.clear()
        self.forget_asked()
        self.rankings.forget_answers()

    def forget_asked(self) -> None:
        """Drop only the replies kept by the very words asked (`to_text`): the next
        message is read and answered from the pages and cards kept per data version,
        as the same question in other words is (the benchmarks measure the two apart)."""
        self._asked.clear()

    def _kept(
        self, generation: int, key: tuple[object, ...], cache: VersionCache[Rendered] | None = None
    ) -> Reply | None:
        """A reply rendered before for the same data version, as a new Reply: callers
        add to the one they get (a headline, a button)."""
        found = (self._rendered if cache is None else cache).get(generation, key)
        if found is None:
            return None
        text, choices = found
        return Reply(text, [list(row) for row in choices])

    def _keep(
        self,
        generation: int,
        key: tuple[object, ...],
        reply: Reply,
        cache: VersionCache[Rendered] | None = None,
    ) -> Reply:
        """`reply` kept for `generation`: the one read before anything it shows."""
        rendered = (reply.text, tuple(map(tuple, reply.choices)))
        (self._rendered if cache is None else cache).put(generation, key, rendered)
        return reply

    @property
    def catalog(self) -> Catalog:
        """The shipped catalog and the groups uploads created (as of the last query)."""
        return self.rankings.catalog

    @property
    def parser(self) -> Parser:
        if self._parser.catalog is not self.rankings.catalog:  # an upload added groups
            self._parser = Parser(self.rankings.catalog, today=self._today)
        return self._parser

    @one_check
    async def to_text(
        self, text: str, *, lang: str, user_id: int | None = None, private: bool = True
    ) -> Reply | None:
        # groups an upload created are words too: the parser is the generation's
        generation = await self.rankings.generation()
        # A ranking or a unit asked in the same words again (most messages repeat a
        # few): its reply depends on the text, the chat kind, the language, the data
        # version and the year it is asked in ("năm ngoái") alone, and reading the
        # words and finding the unit again cost more than the rest of the answer
        # (0.1–0.3 ms). Nothing else is kept: other answers change a setting (a
        # language) or make a picture or a file.
        key = ("asked", lang, private, text, self._today().year)
        kept = self._kept(generation, key, self._asked)
        if kept is not None:
            return kept
        parsed = self.parser.parse(text, private=private)
        if parsed is None:
            return None
        reply = await self.to_parsed(parsed, lang=lang, user_id=user_id)
        if (
            isinstance(parsed, RankingQuery | UnitQuery)
            and reply.media is None
            and reply.language is None
        ):
            return self._keep(generation, key, reply, self._asked)
        return reply

    @one_check
    async def to_action(self, action: str, *, lang: str, user_id: int | None) -> Reply | None:
        """A picked choice's action token (a Telegram button, a number typed in the
        console) → its reply; None when the token is stale or forged."""
        if action.startswith("lang:") and action[5:] in LANGUAGES:
            return await self.to_parsed(LanguageChoice(action[5:]), lang=lang, user_id=user_id)
        parsed = parse_callback(action, self.catalog)
        if parsed is None:
            return None
        reply = await self.to_parsed(parsed, lang=lang, user_id=user_id)
        if isinstance(parsed, ChartQuery | HistoryChart) and reply.media is None:
            return None  # that year, group or unit is no longer on record
        return reply

    @one_check
    async def to_parsed(self, parsed: Parsed, *, lang: str, user_id: int | None) -> Reply:
        t = Translator(lang)
        match parsed:
            case Invalid():
                return await self.user_errors(parsed, t)
            case RankingQuery():
                return await self.ranking(parsed, t)
            case UnitQuery():
                return await self.unit(parsed, t)
            case UnitById():
                return await self.unit_by_id(parsed.unit_id, t)
            case CompareQuery():
                return await self.compare(parsed, t)
            case LevelsQuery():
                return await self.levels(parsed, t)
            case LevelCountQuery():
                return await self.level_count(parsed, t)
            case ChartQuery() | ExportQuery():
                # the channel makes the picture or the file; here only the problems
                target = await self.media_target(parsed, t)
                if isinstance(target, Reply):
                    return target
                if isinstance(parsed, ChartQuery):
                    return Reply("", media=MediaRequest("chart", parsed))
                return Reply("", media=MediaRequest("export", parsed))
            case HistoryChart():
                card = await self.rankings.card(parsed.unit_id)
                if card is None or all(y.entry.record.score is None for y in card.years):
                    return Reply(t("callback.stale"))
                return Reply("", media=MediaRequest("history", parsed))
            case ChannelCommand():
                # a channel that has no handler of its own for it (the console)
                name = BY_KEY[parsed.key].name(t.lang)
                return Reply(t("console.channel_only", command="/" + name))
            case LanguageChoice():
                return await self.language(parsed, t, user_id)
            case Simple(name="start"):
                return Reply(t("start.text") + "\n\n" + t("help.text"))
            case Simple(name="help"):
                return Reply(t("help.text"))
            case Simple(name="years"):
                return await self.years(t)
            case GroupsQuery():
                return await self.groups(t, parsed.year)
        raise AssertionError(f"unhandled {parsed!r}")  # pragma: no cover

    async def user_errors(self, invalid: Invalid, t: Translator) -> Reply:
        """Every problem at once, then what would work."""
        # parameters quote what the user typed: escape them for Telegram HTML; a
        # problem repeated (200 times the same word) is said once
        lines = list(dict.fromkeys(t(e.key, **esc_params(e.params)) for e in invalid.errors))
        if invalid.year is not None:
            ranking = invalid.ranking or self.catalog.default_ranking
            _, problem = await self._resolve_year(ranking, invalid.year, t, invalid.command)
            if problem:
                lines.append(problem.text)
        if any(e.key in ("parse.unknown_words", "parse.two_groups") for e in invalid.errors):
            lines.append(await self._group_hint(t))
        command = invalid.command
        if command and t.has(f"example.{command}") and invalid.year is None:
            lines.append(t(f"example.{command}"))
        return Reply(fit_message("\n".join(lines)))

    async def _group_hint(self, t: Translator) -> str:
        with_data = {s.group_code for s in await self.rankings.slices()}
        groups = ", ".join(
            t("hint.group_item", code=g.code, name=esc(g.short(t.lang)))
            for g in self.catalog.groups.values()
            if g.code in with_data
        )
        return t("hint.groups", groups=groups)

    async def _resolve_year(
        self,
        ranking: str,
        year: int | None,
        t: Translator,
        command: str | None = None,
        group: str | None = None,
    ) -> tuple[int | None, Reply | None]:
        """The year to answer for: the one asked, else the newest of the group asked
        (else of the ranking); a short reply saying what would work when there is
        none. Groups change by year (no huyện from 2025), so a year the ranking has
        but the group has not is said as such, with that year's groups."""
        years = await self.rankings.years(ranking)
        if not years:
            return None, Reply(t("error.no_data"))
        group_years = await self.rankings.group_years(ranking, group) if group else years
        if year is None:
            return (group_years or years)[-1], None
        if year not in years:
            # the years of what was asked (the group's, else the ranking's), and the
            # command the user typed with its ranking, its group and a year that works
            known = group_years or years
            example = self.example(command or "top", ranking, group, known[-1], t)
            text = t(
                "error.year_not_on_record",
                year=year,
                years=", ".join(map(str, known)),
                example=esc(example),
            )
            return None, Reply(text)
        if group is not None and year not in group_years:
            return None, await self.group_not_in_year(ranking, group, year, t, command)
        return year, None

    def example(
        self, command: str, ranking: str, group: str | None, year: int, t: Translator
    ) -> str:
        """A command that works: "/top 10 dti 2024", "/xuat huyen 2022", "/muc 2023"."""
        words = ["/" + BY_KEY.get(command, BY_KEY["top"]).name(t.lang)]
        if command in ("top", "bottom"):
            words.append("10")
        if group is not None and group in self.catalog.groups:
            words.append(typed_group(self.catalog.groups[group]))
        elif ranking != self.catalog.default_ranking and ranking in self.catalog.rankings:
            aliases = self.catalog.rankings[ranking].aliases
            words.append(aliases[0].replace(" ", "-") if aliases else ranking)
        words.append(str(year))
        return " ".join(words)

    async def group_not_in_year(
        self, ranking: str, group: str, year: int, t: Translator, command: str | None
    ) -> Reply:
        """ "2025 has no huyện group; its groups are …", with an example that works."""
        catalog = self.catalog
        named = catalog.groups[group]
        that_year = [
            catalog.groups[s.group_code]
            for s in await self.rankings.slices(ranking)
            if s.year == year and s.group_code in catalog.groups
        ]
        lines = [t("error.group_not_in_year", group=esc(named.name(t.lang)), year=year)]
        note = named.note(t.lang)
        if note:
            lines.append(esc(note))
        if that_year:
            items = ", ".join(
                t(
                    "hint.group_item",
                    code=g.aliases[0] if g.aliases else g.code,
                    name=esc(g.short(t.lang)),
                )
                for g in that_year
            )
            lines.append(t("error.groups_of_year", year=year, groups=items))
            name = BY_KEY.get(command or "top", BY_KEY["top"]).name(t.lang)
            first = that_year[0]
            lines.append(
                t(
                    "error.example",
                    example=f"/{name} {first.aliases[0] if first.aliases else first.code} {year}",
                )
            )
        group_years = await self.rankings.group_years(ranking, group)
        if group_years:
            lines.append(
                t(
                    "error.group_years",
                    group=esc(named.short(t.lang)),
                    years=", ".join(map(str, group_years)),
                )
            )
        return Reply("\n".join(lines))

    @one_check
    async def media_target(
        self, query: ChartQuery | ExportQuery, t: Translator
    ) -> MediaTarget | Reply:
        """The slices a chart (one group: the named one, else the first with data)
        or an export (the named group, else every group of the year) is drawn from;
        a short reply saying what would work when there are none."""
        command = "chart" if isinstance(query, ChartQuery) else "export"
        ranking = query.ranking or self.catalog.default_ranking
        year, problem = await self._resolve_year(ranking, query.year, t, command, query.group)
        if problem or year is None:
            return problem or Reply(t("error.no_data"))
        order = {g.code: i for i, g in enumerate(self.catalog.groups_of(ranking))}
        year_slices = sorted(
            (s for s in await self.rankings.slices(ranking) if s.year == year),
            key=lambda s: order.get(s.group_code, 99),
        )
        if query.group is not None:
            chosen = [s for s in year_slices if s.group_code == query.group]
        elif command == "chart":
            chosen = year_slices[:1]
        else:
            chosen = year_slices
        if not chosen:
            group = self.catalog.groups[query.group] if query.group else None
            lines = [
                t(
                    "error.group_not_in_year",
                    group=esc(group.name(t.lang) if group else ""),
                    year=year,
                )
            ]
            if year_slices:
                lines.append(await self._group_hint(t))
            return Reply("\n".join(lines))
        return MediaTarget(
            ranking=ranking,
            year=year,
            group=chosen[0].group_code if command == "chart" else query.group,
            slices=chosen,
            year_slices=year_slices,
        )

    async def ranking(self, query: RankingQuery, t: Translator) -> Reply:
        ranking = query.ranking or self.catalog.default_ranking
        year, problem = await self._resolve_year(
            ranking, query.year, t, "bottom" if query.kind == "bottom" else "top", query.group
        )
        if problem or year is None:
            return problem or Reply(t("error.no_data"))
        query = replace(query, ranking=ranking, year=year)
        # the reply depends on the query, the language and the data version alone
        key = ("ranking", t.lang, query)
        generation = await self.rankings.generation()
        kept = self._kept(generation, key)
        if kept is not None:
            return kept
        views = await self.rankings.ranking_views(
            ranking, year, query.group, query.kind, query.n, query.page
        )
        if not views:
            group = self.catalog.groups[query.group] if query.group else None
            return Reply(
                t(
                    "error.group_not_in_year",
                    group=esc(group.name(t.lang) if group else ""),
                    year=year,
                )
            )
        reply = Reply(render.ranking_reply_text(views, t))
        reply.choices = await self._ranking_buttons(query, views[0].pages, t)
        return self._keep(generation, key, reply)

    async def _ranking_buttons(
        self, query: RankingQuery, pages: int, t: Translator
    ) -> list[list[Choice]]:
        assert query.ranking and query.year
        rows: list[list[Choice]] = []
        if pages > 1:
            nav = []
            if query.page > 1:
                nav.append(
                    Choice(t("button.prev"), ranking_callback(replace(query, page=query.page - 1)))
                )
            nav.append(
                Choice(t("button.page", page=query.page, pages=pages), ranking_callback(query))
            )
            if query.page < pages:
                nav.append(
                    Choice(t("button.next"), ranking_callback(replace(query, page=query.page + 1)))
                )
            rows.append(nav)
        # the groups of that year only: groups change by year (no huyện from 2025)
        in_year = {
            s.group_code for s in await self.rankings.slices(query.ranking) if s.year == query.year
        }
        groups = [g for g in self.catalog.groups_of(query.ranking) if g.code in in_year]
        if len(groups) > 1:
            row = [
                Choice(
                    ("• " if g.code == query.group else "") + g.short(t.lang),
                    ranking_callback(replace(query, group=g.code, page=1)),
                )
                for g in groups
            ]
            row.append(
                Choice(
                    ("• " if query.group is None else "") + t("button.all_groups"),
                    ranking_callback(replace(query, group=None, page=1)),
                )
            )
            rows.append(row)
        years = await self.rankings.years(query.ranking)
        if len(years) > 1:
            rows.append(
                [
                    Choice(
                        ("• " if y == query.year else "") + str(y),
                        ranking_callback(replace(query, year=y, page=1)),
                    )
                    for y in years[-MAX_YEAR_BUTTONS:]
                ]
            )
        return rows

    async def unit(self, query: UnitQuery, t: Translator) -> Reply:
        result = await self.rankings.find_units(query.text, query.ranking)
        if not result.matches and query.bare:
            bare = await self.rankings.find_units(query.bare, query.ranking)
            if bare.matches:
                result, query = bare, replace(query, text=query.bare)
        quoted = esc(quote_typed(query.said or query.text))
        loose = not _names_all(result.matches, query.text)
        if (
            query.asks is not None
            and loose
            and (query.asks in ("lead", "last") or len(query.text.split()) == 1)
        ):
            # "xã nào đứng đầu": a group word not known, not a unit that merely holds
            # it (Sở Lao động - Thương binh và Xã hội); a question about one word
            # that only starts a name's word ("thu …" / "Thương binh") likewise
            return Reply(t("parse.unknown_words", words=quoted) + "\n" + await self._group_hint(t))
        if len(result.matches) == 1:
            # a question about a ranking, a year or a place leads with that year's place
            lead = query.ranking is not None or query.year is not None or query.asks is not None
            reply = await self.unit_by_id(
                result.matches[0].unit_id, t, year=query.year, headline=lead
            )
            if query.ranking is None:
                other = await self._other_readings(reply, query.text, result.matches[0].ranking, t)
                if query.year is not None and other is not None:
                    # "lao cai 2024": the city has no 2024, the province has
                    mine = await self._published_in(result.matches[:1], query.year)
                    if not mine and await self._published_in([other], query.year):
                        return await self.unit_by_id(
                            other.unit_id, t, year=query.year, headline=True
                        )
            return reply
        if len(result.matches) > 1 and query.year is not None:
            # "hue dti 2024": of the names that match, the one published that year
            that_year = await self._published_in(result.matches[:MAX_CHOICES], query.year)
            if len(that_year) == 1:
                return await self.unit_by_id(
                    that_year[0].unit_id, t, year=query.year, headline=True
                )
        if result.matches:
            shown = result.matches[:MAX_CHOICES]
            lines = [t("unit.choose", query=quoted, count=len(result.matches))]
            lines += [t("unit.choice", name=esc(m.name)) for m in shown]
            if len(result.matches) > len(shown):
                lines.append(t("unit.more", count=len(result.matches) - len(shown)))
            return Reply(
                "\n".join(lines),
                [[Choice(m.name, f"u:{m.unit_id}")] for m in shown],
            )
        if (
            query.asks is not None
            and len(result.suggestions) == 1
            and _close_words(query.text, result.suggestions[0].name)
        ):
            # a question about one name typed a little wrong: answered, saying how it was read
            near = result.suggestions[0]
            reply = await self.unit_by_id(near.unit_id, t, year=query.year, headline=True)
            reply.text = t("unit.read_as", query=quoted, name=esc(near.name)) + "\n\n" + reply.text
            return reply
        if result.suggestions:
            lines = [t("unit.not_found_suggest", query=quoted)]
            lines += [t("unit.choice", name=esc(m.name)) for m in result.suggestions]
            return Reply(
                "\n".join(lines),
                [[Choice(m.name, f"u:{m.unit_id}")] for m in result.suggestions],
            )
        return Reply(t("unit.not_found", query=quoted))

    async def _published_in(self, refs: list[UnitRef], year: int) -> list[UnitRef]:
        found = []
        for ref in refs:
            card = await self.rankings.card(ref.unit_id)
            if card is not None and any(y.slice.year == year for y in card.years):
                found.append(ref)
        return found

    async def _other_readings(
        self, reply: Reply, text: str, ranking: str, t: Translator
    ) -> UnitRef | None:
        """ "lao cai": the city in the provincial ranking, and the province in the
        national one. The answer is the first; a unit of another ranking whose name is
        exactly what was typed is offered beside it (and returned)."""
        offered = None
        for code, other in self.catalog.rankings.items():
            if code == ranking:
                continue
            found = await self.rankings.find_units(text, code)
            exact = [m for m in found.matches if expand(m.name) == expand(text)]
            if len(exact) != 1:
                continue
            reply.text += "\n\n" + t(
                "unit.other_reading", name=esc(exact[0].name), ranking=esc(other.name(t.lang))
            )
            reply.choices.append(
                [
                    Choice(
                        t("button.other_reading", name=exact[0].name, ranking=code.upper()),
                        f"u:{exact[0].unit_id}",
                    )
                ]
            )
            offered = offered or exact[0]
        return offered

    async def compare(self, query: CompareQuery, t: Translator) -> Reply:
        """Units side by side across years; each name must find exactly one unit.
        "tỉnh lào cai" is the province; names split at a "và" that belongs to a
        unit's name ("Sở Giáo dục và Đào tạo") are joined again."""
        cards: list[UnitCard] = []
        asked: list[str] = []  # what each card was found by
        problems = []
        texts = list(query.texts)
        if len(texts) == 1:  # "bac ha bat xat so sanh": two names without a separator
            texts = await self._two_names(texts[0]) or texts
        i = 0
        typed: list[str] = []  # and as the user wrote it
        while i < len(texts):
            said = texts[i]
            text, ranking = self._compare_target(said)
            found = await self.rankings.find_units(text, ranking)
            if len(found.matches) != 1 and i + 1 < len(texts):
                joined = f"{text} và {texts[i + 1]}"
                again = await self.rankings.find_units(joined, ranking)
                if len(again.matches) == 1:
                    found, text, said = again, joined, f"{said} và {texts[i + 1]}"
                    i += 1
            i += 1
            if len(found.matches) != 1:
                key = "compare.ambiguous" if found.matches else "compare.not_found"
                names = ", ".join(esc(m.name) for m in (found.matches or found.suggestions)[:4])
                if not names:  # nothing close: no empty "(gần nhất: —)"
                    key = "compare.not_found_none"
                problems.append(t(key, query=esc(quote_typed(said)), names=names))
                continue
            card = await self.rankings.card(found.matches[0].unit_id)
            if card is not None and all(c.unit_id != card.unit_id for c in cards):
                cards.append(card)
                asked.append(text)
                typed.append(said)
        if problems:
            return Reply(fit_message("\n".join([*problems, t("example.compare")])))
        cards = await self._same_ranking(cards, asked)
        if len(cards) < 2:
            names = ", ".join(esc(quote_typed(text)) for text in typed) or "—"
            return Reply(t("parse.compare_one", unit=names) + "\n" + t("example.compare"))
        return Reply(render.comparison_text(cards, t))

    async def _two_names(self, text: str) -> list[str] | None:
        """The one place where `text` splits into two names that each find one unit."""
        words = text.split()
        found = []
        for cut in range(1, len(words)):
            left, right = " ".join(words[:cut]), " ".join(words[cut:])
            sides = [
                await self.rankings.find_units(self._compare_target(p)[0]) for p in (left, right)
            ]
            if all(len(side.matches) == 1 for side in sides) and (
                sides[0].matches[0].unit_id != sides[1].matches[0].unit_id
            ):
                found.append([left, right])
        return found[0] if len(found) == 1 else None

    def _compare_target(self, text: str) -> tuple[str, str | None]:
        """A comparison's name, and its ranking when it names one ("tỉnh lào cai");
        a count is not part of a name ("so sánh 3 huyện bắc hà, …")."""
        for said in (text, " ".join(w for w in text.split() if not w.isdigit()) or text):
            asked = self.parser.question(said)
            if isinstance(asked, UnitQuery):
                return asked.text, asked.ranking
        return " ".join(w for w in text.split() if not w.isdigit()) or text, None

    async def _same_ranking(self, cards: list[UnitCard], asked: list[str]) -> list[UnitCard]:
        """Provinces are compared with provinces: in "lào cai, yên bái" Lào Cai is the
        province when Yên Bái is found only as one (a unit of the same name there)."""
        national = self.parser.national
        if national is None or len({c.ranking.code for c in cards}) < 2:
            return cards
        result = []
        for card, text in zip(cards, asked, strict=True):
            if card.ranking.code != national:
                found = await self.rankings.find_units(text, national)
                exact = [m for m in found.matches if expand(m.name) == expand(text)]
                if len(exact) == 1:
                    card = await self.rankings.card(exact[0].unit_id) or card
            result.append(card)
        return result

    @one_check
    async def unit_by_id(
        self, unit_id: int, t: Translator, *, year: int | None = None, headline: bool = False
    ) -> Reply:
        key = ("card", t.lang, unit_id, year, headline)
        generation = await self.rankings.generation()
        kept = self._kept(generation, key)
        if kept is not None:
            return kept
        card = await self.rankings.card(unit_id)
        if card is None:
            return Reply(t("unit.gone"))
        latest = card.years[-1]
        buttons = [
            [
                Choice(
                    t("button.group_ranking", group=latest.group.short(t.lang)),
                    ranking_callback(
                        RankingQuery(
                            n=min(latest.slice.unit_count, 20),
                            group=latest.group.code,
                            year=latest.slice.year,
                            ranking=latest.ranking.code,
                        )
                    ),
                )
            ]
        ]
        if any(y.entry.record.score is not None for y in card.years):
            buttons[0].append(Choice(t("button.history_chart"), history_callback(card.unit_id)))
        text = render.card_text(card, t)
        if headline or year is not None:
            text = render.card_headline(card, year, t) + "\n\n" + text
        return self._keep(generation, key, Reply(text, buttons))

    async def levels(self, query: LevelsQuery, t: Translator) -> Reply:
        ranking = query.ranking or self.catalog.default_ranking
        year, problem = await self._resolve_year(ranking, query.year, t, "levels", query.group)
        if problem or year is None:
            return problem or Reply(t("error.no_data"))
        summaries = await self.rankings.level_summaries(ranking, year)
        if query.group is not None:
            summaries = [s for s in summaries if s.group.code == query.group]
        if not summaries:
            return Reply(t("error.no_data"))
        return Reply(render.level_summary_text(summaries, t, self.catalog))

    async def level_count(self, query: LevelCountQuery, t: Translator) -> Reply:
        """How many units reached one level, in every group asked, from the scores
        (or shares) on record; the units without a published figure are said apart."""
        ranking = query.ranking or self.catalog.default_ranking
        year, problem = await self._resolve_year(ranking, query.year, t, "levels", query.group)
        if problem or year is None:
            return problem or Reply(t("error.no_data"))
        summaries = [
            s
            for s in await self.rankings.level_summaries(ranking, year)
            if query.group is None or s.group.code == query.group
        ]
        level = next((lv for s in summaries for lv in s.levels if lv.code == query.level), None)
        if level is None:
            return Reply(t("levels.count_no_bands", year=year) + "\n" + t("example.levels"))
        name = esc(render.level_name(level, t))
        total = sum(s.counts.get(level.code, 0) for s in summaries)
        lines = [t("levels.count_title", count=total, level=name, year=year)]
        for s in summaries:
            lines.append(
                t(
                    "levels.count_group",
                    group=esc(s.group.name(t.lang)),
                    count=s.counts.get(level.code, 0),
                    published=s.slice.unit_count - s.unpublished,
                    size=s.slice.unit_count,
                )
            )
        if any(s.unpublished for s in summaries):
            lines.append(t("levels.count_unpublished"))
        lines.append("")
        lines.append(
            render.source_line(
                {s.slice.source for s in summaries},
                max(s.slice.loaded_at for s in summaries),
                t,
            )
        )
        return Reply("\n".join(lines))

    async def years(self, t: Translator) -> Reply:
        lines = [t("years.title")]
        for ranking in self.catalog.rankings.values():
            years = await self.rankings.years(ranking.code)
            if years:
                lines.append(
                    t(
                        "years.item",
                        ranking=esc(ranking.name(t.lang)),
                        years=", ".join(map(str, years)),
                    )
                )
        if len(lines) == 1:
            return Reply(t("error.no_data"))
        return Reply("\n".join(lines))

    async def groups(self, t: Translator, year: int | None = None) -> Reply:
        slices = await self.rankings.slices()
        if year is not None:
            chosen = [s for s in slices if s.year == year]
            if not chosen:
                years = sorted({s.year for s in slices})
                return Reply(t("groups.none_in_year", year=year, years=", ".join(map(str, years))))
            slices = chosen
        lines = [t("groups.title_year", year=year) if year else t("groups.title")]
        with_data = {s.group_code for s in slices}
        for ranking in self.catalog.rankings.values():
            for group in self.catalog.groups_of(ranking.code):
                if group.code not in with_data:
                    continue
                lines.append("")
                lines.append(t("groups.item", name=esc(group.name(t.lang)), code=group.code))
                lines.append(t("groups.aliases", aliases=esc(", ".join(group.aliases[:4]))))
                for s in slices:
                    if s.group_code == group.code:
                        lines.append(
                            t(
                                "groups.year",
                                year=s.year,
                                count=s.unit_count,
                                max=t.number(s.max_score),
                                published=s.published,
                            )
                        )
        return Reply("\n".join(lines))

    async def language(self, choice: LanguageChoice, t: Translator, user_id: int | None) -> Reply:
        if choice.language is None:
            return Reply(
                t("language.choose"),
                [[Choice(t(f"language.name_{code}"), f"lang:{code}") for code in LANGUAGES]],
            )
        if user_id is not None:
            await self.rankings.store.people.set_language(user_id, choice.language)
        new = Translator(choice.language)
        return Reply(new("language.set"), language=choice.language)


def fit_message(text: str, limit: int = MAX_MESSAGE) -> str:
    """Marked text cut to one Telegram message (UTF-16 code units), at a line end,
    so never inside a tag or an entity."""
    if len(text.encode("utf-16-le")) // 2 <= limit:
        return text
    lines: list[str] = []
    used = 1  # the "…" that ends it
    for line in text.split("\n"):
        size = len(line.encode("utf-16-le")) // 2 + 1
        if used + size > limit:
            break
        lines.append(line)
        used += size
    return "\n".join([*lines, "…"])


def _names_all(matches: list[UnitRef], text: str) -> bool:
    """Some match holds every word of `text` as a whole word of its name."""
    words = set(expand(text).split())
    return any(words <= set(expand(m.name).split()) for m in matches)


def _close_words(text: str, name: str) -> bool:
    """Every word typed is a word of the name or close to one ("xatt" / "xat"), and
    they cover half the name or more: a near name that may be answered, not merely
    suggested."""
    name_words = expand(name).split()
    covered: set[str] = set()
    for word in expand(text).split():
        close = (
            [word] if word in name_words else difflib.get_close_matches(word, name_words, 1, 0.75)
        )
        if not close:
            return False
        covered.add(close[0])
    # and most of the name: "dac" is close to "da", not to "TP. Đà Nẵng"
    return 2 * len(covered) >= len(name_words)
