"""Questions officials ask, answered from the store as typed results.

No Telegram, no wording: the bot's renderer turns these into replies.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from typing import Literal

from ranking.bands import level_for, level_for_share, match_level, share
from ranking.cache import VersionCache
from ranking.catalog import Catalog, Group, Level, Ranking
from ranking.lookup import LookupResult, UnitIndex
from ranking.ranks import gaps
from ranking.store import HistoryRecord, Link, NewGroup, ScoreRecord, SliceInfo, Store
from ranking.text import fold

PAGE_SIZE = 20  # published rows per page: 20 rows and their gap lines stay far below 4096 chars
# Pages and cards kept per data version (a page holds 20 rows, a card a row a year):
# few, since bot/answers.py keeps the rendered replies too; these serve the other
# language, /top of all groups beside one group's, announcements, charts, comparisons.
CACHED_VIEWS = 64
CACHED_CARDS = 64

# Inside `Rankings.checked_once()`: the Rankings and the generation checked on entry.
# A context variable, so each answer (its own task) has its own, and one answer's
# many calls make one trip to the database for it, not one each.
_CHECKED: ContextVar[tuple[Rankings, int] | None] = ContextVar("rankings_checked", default=None)


@dataclass(frozen=True)
class Move:
    """How a unit moved since the previous year on record for its group."""

    previous_year: int
    previous_rank: int | None  # None: not in the previous list
    new: bool  # not ranked the previous year (said only when that list was complete)
    rank_change: int | None  # positive: climbed
    score_change: Decimal | None  # only when both scores exist and the max is the same
    # why no change is given although the unit was ranked both years: it merged with
    # others ("merged", from `since`), or the group's membership changed between the two
    # years (a reorganisation: 18 → 14 units), so ranks are not comparable
    not_comparable: Literal["merged", "membership"] | None = None
    since: str | None = None  # ISO date of the reorganisation
    previous_count: int | None = None
    count: int | None = None


@dataclass(frozen=True)
class Entry:
    record: ScoreRecord
    level: Level | None  # by the rules; None when the ranking has no bands or no score
    published_level: str | None  # as the source printed it
    level_differs: bool  # the published text names another level (or none)
    share: Decimal | None  # per cent of the max, display precision; None without bands
    move: Move | None = None
    share_published: bool = False  # the share is the source's own, not derived from a score


@dataclass(frozen=True)
class Gap:
    first: int
    last: int


@dataclass(frozen=True)
class GroupView:
    """Positions first..last of one group's ranking, with unpublished runs."""

    ranking: Ranking
    group: Group
    slice: SliceInfo
    kind: Literal["top", "bottom"]
    n: int
    first: int
    last: int
    rows: list[Entry | Gap]
    page: int = 1
    pages: int = 1


@dataclass(frozen=True)
class LevelSummary:
    ranking: Ranking
    group: Group
    slice: SliceInfo
    levels: tuple[Level, ...]
    counts: dict[str, int]  # level code → published units at that level by the rules
    unpublished: int  # ranked units without a published score or share
    flagged: int  # rows whose published level differs
    published: int = 0  # ranked units with one (a band-less index counts no level)


@dataclass(frozen=True)
class CardYear:
    ranking: Ranking
    group: Group
    slice: SliceInfo
    entry: Entry


@dataclass(frozen=True)
class UnitCard:
    unit_id: int
    name: str  # the title: the newest name as published (see `title_of`)
    ranking: Ranking
    years: list[CardYear] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)  # reorganisations it took part in


def title_of(names: list[str]) -> str:
    """The title of a unit published under `names` (oldest first): the newest name,
    unless it differs from an earlier one only in diacritics or case — then the better
    written of them (the one with more diacritics and capitals: "Huyện Bắc Hà" over a
    later "Huyen Bac Ha")."""
    newest = names[-1]
    same = [n for n in names if fold(n) == fold(newest)]

    def written(name: str) -> tuple[int, int]:
        return (sum(1 for ch in name if ord(ch) > 127), sum(1 for ch in name if ch.isupper()))

    best = max(reversed(same), key=written)
    return best if written(best) > written(newest) else newest


def group_of(created: NewGroup, version_id: int) -> Group:
    """A group an upload created, as the catalog's (NewGroup's fields are Group's)."""
    return Group(**asdict(created), created_by_version=version_id)


class Rankings:
    """Queries over a Store; caches what depends only on the score data.

    The caches (current slices, the unit index, level counts) belong to one
    score-data generation (`Scores.generation`): an import or an undo, from this
    process or another, moves it; a language choice, an audit line or a
    delivery of a broadcast does not, so they never cost a rebuild.
    """

    def __init__(self, store: Store, catalog: Catalog):
        self.store = store
        self.base_catalog = catalog  # data/catalog.toml
        self.catalog = catalog  # and the groups uploads created, as of the generation
        self._generation: int | None = None
        # (data_version, generation): the generation read after that data_version was
        # (Scores.data_version); while the store's data_version is still the same,
        # nothing was committed, and the generation is still that one
        self._seen: tuple[int, int] | None = None
        self._index: UnitIndex | None = None
        self._slices: list[SliceInfo] = []
        self._level_summaries: dict[tuple[str, int], list[LevelSummary]] = {}
        self._views: VersionCache[GroupView] = VersionCache(CACHED_VIEWS)
        self._cards: VersionCache[UnitCard] = VersionCache(CACHED_CARDS)
        self._links: list[Link] = []
        self._refreshing = asyncio.Lock()
        self._index_generation: int | None = None  # the generation `_index` is of
        self._indexing = asyncio.Lock()
        self.rebuilds = 0  # how often the caches were built: visible to tests and benchmarks

    def forget_answers(self) -> None:
        """Drop what is kept per question asked (pages, cards, level counts), not the
        data version's slices and index: the next of each is computed as a first ask
        is (the benchmarks measure that cost apart from the kept answers')."""
        self._views.clear()
        self._cards.clear()
        self._level_summaries.clear()

    @asynccontextmanager
    async def checked_once(self) -> AsyncIterator[int]:
        """One freshness check for everything inside: an answer reads slices, years,
        the index and the links several times, and each read would otherwise ask
        the store for its generation (a trip to the database thread each). The
        caches inside are those of the data as of entry; an import meanwhile shows
        from the next answer on."""
        checked = _CHECKED.get()
        if checked is not None and checked[0] is self:
            yield checked[1]  # nested: the outer check stands
            return
        token = _CHECKED.set((self, await self._fresh()))
        try:
            yield _CHECKED.get()[1]  # type: ignore[index]
        finally:
            _CHECKED.reset(token)

    async def _fresh(self) -> int:
        """Rebuild the caches if the score data changed; the generation they are of."""
        checked = _CHECKED.get()
        if checked is not None and checked[0] is self and checked[1] == self._generation:
            return checked[1]
        # read before the generation: a commit between the two moves the data_version
        # past the one kept with it, so the next check reads the generation again
        version = self.store.scores.data_version()
        if version is not None and self._seen == (version, self._generation):
            return self._seen[1]  # nothing committed since: no trip to the database
        generation = await self.store.scores.generation()
        if generation == self._generation:
            self._saw(version, generation)
            return generation
        # one refresh at a time: queries arriving meanwhile wait for it, not redo it
        async with self._refreshing:
            if generation == self._generation:
                self._saw(version, generation)
                return generation
            self._slices = await self.store.scores.current_slices()
            created = await self.store.scores.created_groups()
            self.catalog = self.base_catalog.with_groups(
                [group_of(c.group, c.version_id) for c in created]
            )
            self._index = None  # built by the first lookup of this version
            self._links = await self.store.scores.links()
            self._level_summaries = {}
            self._generation = generation
            self._saw(version, generation)
            self.rebuilds += 1
        return generation

    def _saw(self, version: int | None, generation: int) -> None:
        """Keep `generation`, read after `version`, as the caches' (they are of it)."""
        self._seen = None if version is None else (version, generation)

    async def generation(self) -> int:
        """The score-data generation, for caches of anything drawn from the scores
        (charts): it changes exactly when the data they show may have."""
        return await self._fresh()

    async def slices(self, ranking: str | None = None) -> list[SliceInfo]:
        await self._fresh()
        return [s for s in self._slices if ranking is None or s.ranking == ranking]

    async def years(self, ranking: str | None = None) -> list[int]:
        ranking = ranking or self.catalog.default_ranking
        return sorted({s.year for s in await self.slices(ranking)})

    async def group_years(self, ranking: str, group: str) -> list[int]:
        """The years a group has results on record (groups change by year)."""
        return sorted({s.year for s in await self.slices(ranking) if s.group_code == group})

    async def latest_year(self, ranking: str) -> int | None:
        years = await self.years(ranking)
        return years[-1] if years else None

    def entry(self, record: ScoreRecord, slice_: SliceInfo) -> Entry:
        levels = self.catalog.band_schemes.get(slice_.band_scheme or "", ())
        level = _level(record.score, record.share, slice_.max_score, levels)
        published = record.published_level
        differs = bool(published and levels and match_level(published, levels) != level)
        shown: Decimal | None = None
        if record.share is not None and levels:
            shown = record.share  # as the source printed it
        elif record.score is not None and levels:
            # a band-less index (DTI, 0–1) is not a "share of a max"
            shown = share(record.score, slice_.max_score, levels)
        return Entry(
            record=record,
            level=level,
            published_level=published,
            level_differs=differs,
            share=shown,
            share_published=record.share is not None and bool(levels),
        )

    async def previous_slice(self, slice_: SliceInfo) -> SliceInfo | None:
        earlier = [
            s
            for s in await self.slices(slice_.ranking)
            if s.group_code == slice_.group_code and s.year < slice_.year
        ]
        return max(earlier, key=lambda s: s.year) if earlier else None

    async def links_of(self, unit_id: int) -> list[Link]:
        """The reorganisations a unit took part in (a merge, a split, a rename: a row
        whose old and new unit differ), with the other units of the same new unit."""
        await self._fresh()
        changed = [link for link in self._links if link.old_unit_id != link.new_unit_id]
        successors = {link.new_unit_id for link in changed if link.old_unit_id == unit_id}
        return [
            link
            for link in self._links
            if link.new_unit_id in successors
            or (link.new_unit_id == unit_id and any(c.new_unit_id == unit_id for c in changed))
        ]

    def _reorganised(self, before: SliceInfo, slice_: SliceInfo, unit_id: int) -> Move | None:
        """Why a move of `unit_id` from `before` to `slice_` would mislead, as a Move
        without changes; None when the two years are comparable. A reorganisation that
        took effect after the earlier edition and by the later one: a unit it merged
        is not the same unit, and the others' ranks are among different units."""
        dates = sorted(
            {
                link.from_date
                for link in self._links
                if link.ranking == slice_.ranking
                and link.old_unit_id != link.new_unit_id
                and before.year < int(link.from_date[:4]) <= slice_.year
            }
        )
        if not dates:
            return None
        merged = any(
            unit_id in (link.old_unit_id, link.new_unit_id)
            and link.old_unit_id != link.new_unit_id
            and link.from_date in dates
            for link in self._links
        )
        if not merged and before.unit_count == slice_.unit_count:
            return None
        return Move(
            previous_year=before.year,
            previous_rank=None,
            new=False,
            rank_change=None,
            score_change=None,
            not_comparable="merged" if merged else "membership",
            since=dates[0],
            previous_count=before.unit_count,
            count=slice_.unit_count,
        )

    def _move_of(
        self, was: ScoreRecord | None, now: ScoreRecord, before: SliceInfo, slice_: SliceInfo
    ) -> Move:
        return self._reorganised(before, slice_, now.unit_id) or _move(was, now, before, slice_)

    async def with_moves(self, entries: list[Entry], slice_: SliceInfo) -> list[Entry]:
        """Attach rank and score changes against the previous year on record."""
        before = await self.previous_slice(slice_)
        if before is None:
            return entries
        # only the rows of these units: a page of a large group must not read all of it
        old = {
            r.unit_id: r
            for r in await self.store.scores.unit_records(
                before, [e.record.unit_id for e in entries]
            )
        }
        return [
            replace(
                entry,
                move=self._move_of(old.get(entry.record.unit_id), entry.record, before, slice_),
            )
            for entry in entries
        ]

    async def group_view(
        self,
        slice_: SliceInfo,
        kind: Literal["top", "bottom"],
        n: int,
        page: int = 1,
    ) -> GroupView:
        """One page of a group's top or bottom; kept per data version (a version's
        rows never change), so asking it again reads nothing."""
        generation = await self._fresh()
        key = (slice_.ranking, slice_.year, slice_.group_code, slice_.version_id, kind, n, page)
        view = self._views.get(generation, key)
        if view is None:
            view = await self._group_view(slice_, kind, n, page)
            self._views.put(generation, key, view)
        return view

    async def _group_view(
        self, slice_: SliceInfo, kind: Literal["top", "bottom"], n: int, page: int
    ) -> GroupView:
        size = slice_.unit_count
        n = min(n, size)
        first, last = (1, n) if kind == "top" else (size - n + 1, size)
        # n is at most a few hundred (the parser caps it): one read of the positions
        records = await self.store.scores.window(slice_, first, last)
        chunks, spans = _pages(records, first, last, kind)
        # the last places first when asked for the bottom: page 1 ends at the last rank
        order = list(range(len(chunks))) if kind == "top" else list(reversed(range(len(chunks))))
        pages = len(chunks)
        page = min(max(page, 1), pages)
        index = order[page - 1]
        lo, hi = spans[index]
        shown = chunks[index]
        entries = await self.with_moves([self.entry(r, slice_) for r in shown], slice_)
        rows: list[Entry | Gap] = list(entries)
        # every rank in the window counts as covered (a tie split over two pages)
        for gap_first, gap_last in gaps([r.rank for r in records], lo, hi):
            rows.append(Gap(gap_first, gap_last))
        rows.sort(key=lambda row: row.first if isinstance(row, Gap) else row.record.rank)
        return GroupView(
            ranking=self.catalog.rankings[slice_.ranking],
            group=self.catalog.groups[slice_.group_code],
            slice=slice_,
            kind=kind,
            n=n,
            first=first,
            last=last,
            rows=rows,
            page=page,
            pages=pages,
        )

    async def ranking_views(
        self,
        ranking: str,
        year: int,
        group: str | None,
        kind: Literal["top", "bottom"],
        n: int,
        page: int = 1,
    ) -> list[GroupView]:
        order = {g.code: i for i, g in enumerate(self.catalog.groups_of(ranking))}
        chosen = sorted(
            (
                s
                for s in await self.slices(ranking)
                if s.year == year and (group is None or s.group_code == group)
            ),
            key=lambda s: order.get(s.group_code, 99),
        )
        return [await self.group_view(s, kind, n, page) for s in chosen]

    async def level_summaries(self, ranking: str, year: int) -> list[LevelSummary]:
        """Level counts of every group of a year; they read whole groups, so they are
        computed once per data version."""
        slices = await self.slices(ranking)
        cached = self._level_summaries.get((ranking, year))
        if cached is None:
            cached = await self._count_levels(ranking, year, slices)
            self._level_summaries[(ranking, year)] = cached
        return list(cached)

    async def _count_levels(
        self, ranking: str, year: int, slices: list[SliceInfo]
    ) -> list[LevelSummary]:
        order = {g.code: i for i, g in enumerate(self.catalog.groups_of(ranking))}
        result = []
        for s in sorted(
            (s for s in slices if s.year == year),
            key=lambda s: order.get(s.group_code, 99),
        ):
            levels = self.catalog.band_schemes.get(s.band_scheme or "", ())
            # only the two columns a count needs: no full records for a whole group
            counts: Counter[str] = Counter()
            flagged = 0
            valued = 0
            for score, shared, published in await self.store.scores.slice_scores(s):
                if score is not None or shared is not None:
                    valued += 1
                level = _level(score, shared, s.max_score, levels)
                if level is not None:
                    counts[level.code] += 1
                if published and levels and match_level(published, levels) != level:
                    flagged += 1
            result.append(
                LevelSummary(
                    ranking=self.catalog.rankings[ranking],
                    group=self.catalog.groups[s.group_code],
                    slice=s,
                    levels=levels,
                    counts={lv.code: counts.get(lv.code, 0) for lv in levels},
                    unpublished=s.unit_count - valued,
                    flagged=flagged,
                    published=valued,
                )
            )
        return result

    async def find_units(self, text: str, ranking: str | None = None) -> LookupResult:
        """Without a ranking, the provincial one first ("lao cai" is the city there),
        then every ranking (so "da nang" still finds the province in the DTI)."""
        index = await self._unit_index()
        if ranking is not None:
            return index.search(text, ranking)
        first = index.search(text, self.catalog.default_ranking)
        if first.matches:
            return first
        everywhere = index.search(text)
        return everywhere if everywhere.matches or not first.suggestions else first

    async def _unit_index(self) -> UnitIndex:
        """The unit index of the data version, built by its first lookup rather than
        with the slices: after an import or a restart, a /top or a page need not wait
        for 100,000 names to be read and indexed (a few tenths of a second at 1M rows)."""
        generation = await self._fresh()
        index = self._index
        if index is not None and self._index_generation == generation:
            return index
        # one build at a time: lookups arriving meanwhile wait for it, not redo it
        async with self._indexing:
            index = self._index
            if index is not None and self._index_generation == generation:
                return index
            units = await self.store.scores.units_on_record()
            # built in a worker thread: the lookup that asked waits for it, but other
            # updates are answered meanwhile
            index = await asyncio.to_thread(UnitIndex, units)
            del units
            if generation == self._generation:  # else a refresh meanwhile: not kept
                self._index, self._index_generation = index, generation
            return index

    async def _unit_history(self, unit_id: int) -> list[HistoryRecord]:
        """The unit's current rows with their (cached) slices; the store's own join
        when the cache is behind (a slice it does not know)."""
        await self._fresh()
        known = {(s.ranking, s.year, s.group_code, s.version_id): s for s in self._slices}
        rows = await self.store.scores.unit_current_records(unit_id)
        if all(key in known for key, _ in rows):
            return [HistoryRecord(known[key], record) for key, record in rows]
        return await self.store.scores.unit_history(unit_id)

    async def card(self, unit_id: int) -> UnitCard | None:
        """A unit's card; kept per data version, like the pages."""
        generation = await self._fresh()
        card = self._cards.get(generation, unit_id)
        if card is None:
            card = await self._card(unit_id)
            if card is None:
                return None  # not kept: a unit without rows is rare, and cheap to ask
            self._cards.put(generation, unit_id, card)
        return card

    async def _card(self, unit_id: int) -> UnitCard | None:
        history = await self._unit_history(unit_id)
        if not history:
            return None
        latest = history[-1]
        # every current row of the unit is in its history: the previous year's row too
        rows = {(h.slice.ranking, h.slice.year, h.slice.group_code): h.record for h in history}
        years = []
        for h in history:
            entry = self.entry(h.record, h.slice)
            before = await self.previous_slice(h.slice)
            if before is not None:
                was = rows.get((before.ranking, before.year, before.group_code))
                entry = replace(entry, move=self._move_of(was, h.record, before, h.slice))
            years.append(
                CardYear(
                    ranking=self.catalog.rankings[h.slice.ranking],
                    group=self.catalog.groups[h.slice.group_code],
                    slice=h.slice,
                    entry=entry,
                )
            )
        return UnitCard(
            unit_id=unit_id,
            name=title_of([h.record.name for h in history]),
            ranking=self.catalog.rankings[latest.slice.ranking],
            years=years,
            links=await self.links_of(unit_id),
        )


def _pages(
    records: list[ScoreRecord], first: int, last: int, kind: Literal["top", "bottom"]
) -> tuple[list[list[ScoreRecord]], list[tuple[int, int]]]:
    """Published rows in pages of PAGE_SIZE, and the positions each page covers.

    Only published rows take a place on a page: an unpublished run ("hạng 4–21 chưa
    được công bố") is one line, shown after the rows before it (before the first row
    on the first page), so `/top 22` of a group that published 1–3 and 22 is one page.
    Pages of the bottom are cut from the last row up, so its first page ends at the
    last place. Chunks and spans come in rank order.
    """
    if kind == "top":
        starts = list(range(0, len(records), PAGE_SIZE))
    else:
        starts = sorted({max(0, end - PAGE_SIZE) for end in range(len(records), 0, -PAGE_SIZE)})
    starts = starts or [0]  # a group with no published row still has one (empty) page
    ends = [*starts[1:], len(records)]
    chunks = [records[a:b] for a, b in zip(starts, ends, strict=True)]
    spans = []
    for i, chunk in enumerate(chunks):
        lo = first if i == 0 else chunk[0].rank
        hi = last if i == len(chunks) - 1 else chunks[i + 1][0].rank - 1
        spans.append((lo, hi))
    return chunks, spans


def _level(
    score: Decimal | None, shared: Decimal | None, max_score: Decimal, levels: tuple[Level, ...]
) -> Level | None:
    """By the score when there is one, else by the published share."""
    if score is not None:
        return level_for(score, max_score, levels)
    if shared is not None:
        return level_for_share(shared, levels)
    return None


def _move(was: ScoreRecord | None, now: ScoreRecord, before: SliceInfo, slice_: SliceInfo) -> Move:
    """How `now` moved since `was`, its row in the previous slice `before` (if any)."""
    complete = before.published == before.unit_count
    same_max = before.max_score == slice_.max_score
    return Move(
        previous_year=before.year,
        previous_rank=was.rank if was else None,
        new=was is None and complete,
        rank_change=(was.rank - now.rank) if was else None,
        score_change=(now.score - was.score)
        if was and same_max and now.score is not None and was.score is not None
        else None,
    )
