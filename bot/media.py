"""Pictures and files, made for any channel: a group's ranking chart, a unit's
history chart, the ranking exported in the upload format.

Why it is built this way:

* The arguments are parsed by bot/parsing.py and resolved (ranking, year,
  group; what to say when there is no such data) by `Answers.media_target`, so
  a wrong /bieudo gets the same short "what would work" message as a wrong /top,
  in every channel.
* Charts are rendered by bot/charts.py in a worker thread and kept in one
  `ChartCache`, keyed by what the picture depends on (language, ranking, year,
  group; or the unit) and by the score-data generation (`Rankings.generation`):
  it moves with every import or undo, from any process, and with no other write,
  so a language choice or an audit line never throws away good charts.
* Exports are `ranking.export` in exactly the upload format, built in a worker
  thread: XLSX by default, CSV on request; a re-upload of the file is a preview
  without changes.
* A channel only sends the `MediaFile` made here (and cuts the caption to its
  own limit).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from bot.answers import Answers, MediaTarget
from bot.chart_cache import MAX_ROWS, ChartCache, ViewRow
from bot.i18n import Translator
from bot.parsing import ChartQuery, ExportQuery, HistoryChart, chart_callback
from bot.render import source_line
from bot.reply import Choice, MediaRequest, Reply, esc, to_plain
from bot.splitting import utf16_len, utf16_prefix
from ranking.queries import Entry, Rankings, UnitCard
from ranking.ranks import gaps
from ranking.store import SliceInfo

SOURCE_CHARS = 300  # of an uploaded source text quoted in a caption


@dataclass
class MediaFile:
    kind: Literal["photo", "document"]
    data: bytes
    file_name: str
    caption: str  # marked text
    choices: list[list[Choice]] = field(default_factory=list)


# Told before a picture is rendered (a channel shows "sending a photo…"); never after.
Busy = Callable[[Literal["photo", "document"]], Awaitable[None]]


async def data_version(rankings: Rankings) -> int:
    """The score-data generation: it moves with every import or undo (from any
    process) and with no other write."""
    return await rankings.generation()


# ---- the ranking chart ----------------------------------------------------------------------


@dataclass(frozen=True)
class ChartSpec:
    """Everything `charts.ranking_chart` draws from, in the user's language."""

    rows: list[ViewRow]
    max_score: Decimal
    title: str
    thresholds: list[tuple[Decimal, str]]
    legend: dict[str, str]
    unpublished_label: str
    fmt: Callable[[Decimal], str]

    def kwargs(self) -> dict[str, Any]:
        return {
            "max_score": self.max_score,
            "title": self.title,
            "thresholds": self.thresholds,
            "legend": self.legend,
            "unpublished_label": self.unpublished_label,
            "fmt": self.fmt,
        }

    def render(self) -> bytes:
        from bot import charts  # matplotlib on the first chart, in the render thread

        return charts.ranking_chart(self.rows, **self.kwargs())


@dataclass(frozen=True)
class ChartData:
    spec: ChartSpec
    entries: list[Entry]
    shown_to: int  # the last rank drawn (< unit count when the group is cut at MAX_ROWS)


async def ranking_chart_data(rankings: Rankings, slice_: SliceInfo, t: Translator) -> ChartData:
    """One group's whole ranking as chart rows: every published row, and a blank
    row for each position the source did not publish (the chart merges runs)."""
    catalog = rankings.catalog
    entries = [
        rankings.entry(r, slice_) for r in await rankings.store.scores.slice_records(slice_)
    ]
    rows: list[ViewRow] = [
        (e.record.rank, e.record.name, e.record.score, e.level.code if e.level else None)
        for e in entries
    ]
    ranks = [e.record.rank for e in entries]
    for first, last in gaps(ranks, 1, max([slice_.unit_count, *ranks])):
        rows += [(rank, "", None, None) for rank in range(first, last + 1)]
    rows.sort(key=lambda row: (row[0], row[1] == ""))
    rows = rows[:MAX_ROWS]  # merged runs only make it shorter
    levels = catalog.levels(slice_.ranking)
    ranking, group = catalog.rankings[slice_.ranking], catalog.groups[slice_.group_code]
    spec = ChartSpec(
        rows=rows,
        max_score=slice_.max_score,
        title=t(
            "media.chart_title",
            ranking=ranking.name(t.lang),
            year=slice_.year,
            group=group.name(t.lang),
        ),
        thresholds=[(lv.above, t.threshold(lv.above)) for lv in levels if lv.above > 0],
        legend={lv.code: lv.name(t.lang) for lv in levels},
        unpublished_label=t("media.unpublished"),
        fmt=t.number,
    )
    return ChartData(spec, entries, rows[-1][0] if rows else 0)


def _sources(sources: set[str]) -> str:
    text = "; ".join(sorted(sources))
    return text if len(text) <= SOURCE_CHARS else text[: SOURCE_CHARS - 1].rstrip() + "…"


def fit_caption(markup: str, limit: int) -> str:
    """Within a channel's caption limit (UTF-16 units); our captions stay far below,
    but the names and sources come from uploaded files."""
    plain = to_plain(markup)
    if utf16_len(plain) <= limit:
        return markup
    return esc(utf16_prefix(plain, limit - 1)) + "…"


def chart_caption(data: ChartData, slice_: SliceInfo, rankings: Rankings, t: Translator) -> str:
    ranking = rankings.catalog.rankings[slice_.ranking]
    group = rankings.catalog.groups[slice_.group_code]
    lines = [
        t(
            "media.chart_caption",
            ranking=esc(ranking.name(t.lang)),
            year=slice_.year,
            group=esc(group.name(t.lang)),
        )
    ]
    if data.shown_to < slice_.unit_count:
        lines.append(t("media.chart_cut", shown=data.shown_to, count=slice_.unit_count))
    if ranking.band_scheme is None:
        lines.append(t("top.note_no_bands"))
    differs = [e.record.name for e in data.entries if e.level_differs]
    if differs:
        lines.append(t("media.chart_level_differs", names=esc(", ".join(differs[:5]))))
    sources = {e.record.source for e in data.entries} or {slice_.source}
    lines.append(source_line(sources, slice_.loaded_at, t, shown=_sources(sources)))
    return "\n".join(lines)


def chart_buttons(target: MediaTarget, t: Translator, rankings: Rankings) -> list[list[Choice]]:
    """The year's other groups, one chart each."""
    row = [
        Choice(
            t("button.chart_group", group=rankings.catalog.groups[s.group_code].short(t.lang)),
            chart_callback(s.ranking, s.group_code, s.year),
        )
        for s in target.year_slices
        if s.group_code != target.group
    ]
    return [row] if row else []


async def make_media(
    request: MediaRequest, answers: Answers, cache: ChartCache, t: Translator, busy: Busy
) -> MediaFile | Reply:
    """The picture or file `request` asks for, or a short reply saying what would work."""
    query = request.query
    if isinstance(query, HistoryChart):
        card = await answers.rankings.card(query.unit_id)
        if card is None or not has_history(card):
            return Reply(t("callback.stale"))
        return await history_file(card, answers.rankings, cache, t, busy)
    target = await answers.media_target(query, t)
    if isinstance(target, Reply):
        return target
    if isinstance(query, ChartQuery):
        return await chart_file(target, answers.rankings, cache, t, busy)
    assert isinstance(query, ExportQuery)
    await busy("document")
    return await export_file(target, query, answers.rankings, t)


async def chart_file(
    target: MediaTarget, rankings: Rankings, cache: ChartCache, t: Translator, busy: Busy
) -> MediaFile:
    slice_ = target.slices[0]
    data = await ranking_chart_data(rankings, slice_, t)
    version = await data_version(rankings)
    key = ("ranking", t.lang, slice_.ranking, slice_.year, slice_.group_code)
    if cache.get(version, key) is None:
        await busy("photo")
    png = await cache.fetch(version, key, data.spec.render)
    return MediaFile(
        "photo",
        png,
        f"bieu-do-{slice_.ranking}-{slice_.year}-{slice_.group_code}.png",
        chart_caption(data, slice_, rankings, t),
        chart_buttons(target, t, rankings),
    )


# ---- a unit's history -----------------------------------------------------------------------


def history_points(card: UnitCard) -> list[tuple[int, Decimal | None, int]]:
    """(year, score, rank), one per year (the first group when a year has two)."""
    points: dict[int, tuple[int, Decimal | None, int]] = {}
    for y in card.years:
        points.setdefault(y.slice.year, (y.slice.year, y.entry.record.score, y.entry.record.rank))
    return list(points.values())


def has_history(card: UnitCard | None) -> bool:
    return card is not None and any(y.entry.record.score is not None for y in card.years)


async def history_file(
    card: UnitCard, rankings: Rankings, cache: ChartCache, t: Translator, busy: Busy
) -> MediaFile:
    maxes = {y.slice.year: y.slice.max_score for y in card.years}
    same_max = len(set(maxes.values())) == 1
    points = history_points(card)
    title = t("media.history_title", name=card.name)

    def render() -> bytes:
        from bot import charts  # matplotlib on the first chart, in the render thread

        return charts.history_chart(
            points,
            title=title,
            fmt=t.number,
            rank_text=lambda rank: t("media.rank", rank=rank),
            max_score=next(iter(maxes.values())) if same_max else None,
        )

    version = await data_version(rankings)
    key = ("history", t.lang, card.unit_id)
    if cache.get(version, key) is None:
        await busy("photo")
    png = await cache.fetch(version, key, render)
    lines = [t("media.history_caption", name=esc(card.name))]
    if not same_max:
        items = " · ".join(f"{year}: {t.number(m)}" for year, m in sorted(maxes.items()))
        lines.append(t("media.history_max", items=items))
    sources = {y.entry.record.source for y in card.years}
    loaded = max(y.slice.loaded_at for y in card.years)
    lines.append(source_line(sources, loaded, t, shown=_sources(sources)))
    return MediaFile("photo", png, f"lich-su-{card.unit_id}.png", "\n".join(lines))


# ---- export ---------------------------------------------------------------------------------


def export_file_name(target: MediaTarget, fmt: str) -> str:
    group = f"-{target.group}" if target.group else ""
    return f"xep-hang-{target.ranking}-{target.year}{group}.{fmt}"


async def export_file(
    target: MediaTarget, query: ExportQuery, rankings: Rankings, t: Translator
) -> MediaFile:
    """The ranking as a file in the upload format."""
    # the export's module (and csv) with the first export, not at every start
    from ranking.export import export_rows, to_csv, to_xlsx

    catalog = rankings.catalog
    store = rankings.store
    slices = [(s, await store.scores.slice_records(s)) for s in target.slices]
    header, rows = export_rows(slices, catalog)
    sources = {r.source for _, records in slices for r in records} or {
        s.source for s in target.slices
    }
    notes = [
        t("media.export_note_format"),
        t("media.export_note_source", source=_sources(sources)),
    ]
    data: bytes
    if query.fmt == "csv":
        data = await asyncio.to_thread(to_csv, header, rows)
    else:
        sheet = t("media.export_sheet")
        data = await asyncio.to_thread(
            lambda: to_xlsx(header, rows, sheet_title=sheet, notes=notes)
        )
    ranking = catalog.rankings[target.ranking]
    groups = (
        catalog.groups[target.group].name(t.lang) if target.group else t("media.export_all_groups")
    )
    caption = "\n".join(
        [
            t(
                "media.export_caption",
                ranking=esc(ranking.name(t.lang)),
                year=target.year,
                groups=esc(groups),
                rows=len(rows),
            ),
            source_line(
                sources, max(s.loaded_at for s in target.slices), t, shown=_sources(sources)
            ),
        ]
    )
    return MediaFile("document", data, export_file_name(target, query.fmt), caption)
