"""Query results → short marked text (bot/reply.py), every word from the catalogs.

Names and sources come from files admins upload, so everything that is not
our own markup goes through html.escape. Rows use one <b> each, keeping a
20-row page far under Telegram's 100 formatting entities.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import lru_cache

from bot.i18n import Translator
from bot.reply import esc
from ranking.catalog import Catalog, Level, Ranking
from ranking.queries import CardYear, Entry, Gap, GroupView, LevelSummary, Move, UnitCard
from ranking.sources import published_on
from ranking.store import Link


def level_name(level: Level | None, t: Translator) -> str:
    return level.name(t.lang) if level else ""


def entry_line(entry: Entry, t: Translator) -> str:
    record = entry.record
    name = esc(record.name)
    if record.score is None and entry.share is not None:
        # published only as a share of the max: shown as printed, no score invented
        line = t("row.share_only", rank=record.rank, name=name, share=t.percent(entry.share))
    elif record.score is None:
        line = t("row.no_score", rank=record.rank, name=name)
    else:
        line = (
            t("row.scored_plain", rank=record.rank, name=name, score=t.number(record.score))
            if entry.share is None
            else t(
                "row.scored",
                rank=record.rank,
                name=name,
                score=t.number(record.score),
                share=t.percent(entry.share),
            )
        )
    if entry.level:
        line += t("row.level", level=esc(level_name(entry.level, t)))
    if entry.level_differs and entry.published_level:
        line += t("row.published_differs", published=esc(entry.published_level))
    if not record.rank_official:
        line += t("row.rank_computed_mark")
    if entry.move is not None:
        line += move_text(entry.move, t)
    return line


def derived_share(entry: Entry) -> bool:
    """The share shown was computed from the score, not printed by the source."""
    return entry.share is not None and not entry.share_published


def move_text(move: Move, t: Translator) -> str:
    """ " ▲3 (+12,5)", " ▼1", " ＝", " · mới": against the previous year on record."""
    text = ""
    if move.not_comparable == "merged":
        return t("row.move_merged", date=t.date(move.since or ""))
    if move.not_comparable == "membership":
        return t("row.move_membership", old=move.previous_count, new=move.count)
    if move.new:
        text = t("row.move_new")
    elif move.rank_change is not None:
        if move.rank_change > 0:
            text = t("row.move_up", n=move.rank_change)
        elif move.rank_change < 0:
            text = t("row.move_down", n=-move.rank_change)
        else:
            text = t("row.move_same")
    if move.score_change is not None:
        sign = "+" if move.score_change > 0 else ("−" if move.score_change < 0 else "±")
        text += t("row.score_change", delta=sign + t.number(abs(move.score_change)))
    return text


def group_view(view: GroupView, t: Translator, *, with_title: bool = True) -> str:
    lines: list[str] = []
    if with_title:
        lines.append(
            t(
                "top.title" if view.kind == "top" else "bottom.title",
                ranking=ranking_title(view.ranking, view.slice.year, t),
                year=view.slice.year,
            )
        )
    lines.append(
        t(
            "top.group_header",
            group=esc(view.group.name(t.lang)),
            count=view.slice.unit_count,
            max=t.number(view.slice.max_score),
        )
    )
    for row in view.rows:
        if isinstance(row, Gap):
            key = "top.gap_one" if row.first == row.last else "top.gap"
            lines.append(t(key, first=row.first, last=row.last))
        else:
            lines.append(entry_line(row, t))
    if view.pages > 1:
        lines.append(t("top.page", page=view.page, pages=view.pages))
    return "\n".join(lines)


def ranking_reply_text(views: list[GroupView], t: Translator) -> str:
    first = views[0]
    parts = [
        t(
            "top.title" if first.kind == "top" else "bottom.title",
            ranking=ranking_title(first.ranking, first.slice.year, t),
            year=first.slice.year,
        )
    ]
    parts += [group_view(v, t, with_title=False) for v in views]
    notes = []
    entries = [r for v in views for r in v.rows if isinstance(r, Entry)]
    if any(e.level_differs for e in entries):
        notes.append(t("top.note_level_differs"))
    if any(not e.record.rank_official for e in entries):
        notes.append(t("top.note_rank_computed"))
    if first.ranking.band_scheme is None:
        notes.append(t("top.note_no_bands"))
    if any(derived_share(e) for e in entries):
        notes.append(t("common.share_derived"))
    moves = [e.move for e in entries if e.move is not None and e.move.not_comparable is None]
    if moves:
        notes.append(t("top.note_moves", year=moves[0].previous_year))
    sources = {e.record.source for e in entries} or {v.slice.source for v in views}
    notes.append(source_line(sources, max(v.slice.loaded_at for v in views), t))
    return "\n\n".join(parts) + "\n\n" + "\n".join(notes)


def card_text(card: UnitCard, t: Translator) -> str:
    lines = [t("card.title", name=esc(card.name))]
    lines += lineage_lines(card, t)
    for year in card.years:
        lines.append("")
        lines.extend(card_year(year, t, card.name))
    if len(card.years) > 1:
        lines.append("")
        lines.append(trend_line(card.years, t))
    if any(derived_share(y.entry) for y in card.years):
        lines.append("")
        lines.append(t("common.share_derived"))
    return "\n".join(lines)


def card_headline(card: UnitCard, year: int | None, t: Translator) -> str:
    """The answer first: where the unit stands in `year` (default: its newest year),
    and in which grouping ("14/34 … sau sắp xếp"); or that it was not published then."""
    wanted = year if year is not None else card.years[-1].slice.year
    found = [y for y in card.years if y.slice.year == wanted]
    if not found:
        years = ", ".join(str(y) for y in sorted({y.slice.year for y in card.years}))
        return t("card.not_published_in", name=esc(card.name), year=wanted, years=years)
    lines = []
    for y in found:
        record, entry = y.entry.record, y.entry
        if record.score is not None:
            figure = t("card.headline_score", score=t.number(record.score))
        elif entry.share is not None:
            figure = t("card.headline_share", share=t.percent(entry.share))
        else:
            figure = t("card.headline_no_score")
        lines.append(
            t(
                "card.headline",
                name=esc(card.name),
                year=wanted,
                ranking=ranking_title(y.ranking, wanted, t),
                group=esc(y.group.name(t.lang)),
                rank=record.rank,
                count=y.slice.unit_count,
                figure=figure,
            )
        )
    return "\n".join(lines)


def card_year(year: CardYear, t: Translator, title: str) -> list[str]:
    entry, record, s = year.entry, year.entry.record, year.slice
    lines = [t("card.year_group", year=s.year, group=esc(year.group.name(t.lang)))]
    if record.name != title:  # that year's results were published under another name
        lines.append(t("card.name_then", name=esc(record.name)))
    if record.score is None and entry.share is not None:
        lines.append(
            t(
                "card.share_only",
                share=t.percent(entry.share),
                rank=record.rank,
                count=s.unit_count,
            )
        )
    elif record.score is None:
        lines.append(t("card.no_score", rank=record.rank, count=s.unit_count))
    else:
        numbers = dict(
            score=t.number(record.score),
            max=t.number(s.max_score),
            rank=record.rank,
            count=s.unit_count,
        )
        if entry.share is None:
            lines.append(t("card.score_plain", **numbers))
        else:
            lines.append(t("card.score", **numbers, share=t.percent(entry.share)))
    if not record.rank_official:
        lines.append(t("card.rank_computed"))
    move = entry.move
    if move is not None and (move.rank_change is not None or move.new or move.not_comparable):
        lines.append(t("card.move", year=move.previous_year, move=move_text(move, t)))
    if entry.level:
        key = "card.level" if record.score is not None else "card.level_by_share"
        lines.append(t(key, level=esc(level_name(entry.level, t))))
    if entry.level_differs and entry.published_level:
        lines.append(
            t(
                "card.level_differs",
                published=esc(entry.published_level),
                by_rules=esc(level_name(entry.level, t)),
            )
        )
    for name, value in record.components.items():
        lines.append(t("card.component", name=esc(name), value=t.number(value)))
    if record.note:
        lines.append(t("card.note", note=esc(record.note)))
    lines.append(source_line({record.source}, s.loaded_at, t))
    return lines


def lineage_lines(card: UnitCard, t: Translator) -> list[str]:
    """ "Từ 01/7/2025 hợp nhất vào Lào Cai" on an old unit; "Từ 01/7/2025 hình thành từ
    Lào Cai, Yên Bái" on the new one; a split names every successor."""
    lines = []
    by_date: dict[str, list[Link]] = {}
    for link in card.links:
        by_date.setdefault(link.from_date, []).append(link)
    for date, links in by_date.items():
        into = list(
            dict.fromkeys(
                lk.new_name
                for lk in links
                if lk.old_unit_id == card.unit_id and lk.new_unit_id != card.unit_id
            )
        )
        sources = "; ".join(sorted({lk.source for lk in links}))
        if into:
            key = "card.merged_into" if len(into) == 1 else "card.split_into"
            lines.append(t(key, date=t.date(date), names=esc(", ".join(into))))
        # the unit itself first, as its former self ("Lào Cai (cũ), Yên Bái")
        formed = [
            t("card.former_self", name=lk.old_name)
            if lk.old_unit_id == card.unit_id
            else lk.old_name
            for lk in sorted(
                (lk for lk in links if lk.new_unit_id == card.unit_id),
                key=lambda lk: lk.old_unit_id != card.unit_id,
            )
        ]
        if formed:
            lines.append(t("card.formed_from", date=t.date(date), names=esc(", ".join(formed))))
        if into or formed:
            lines.append(t("card.lineage_source", source=esc(sources)))
    return lines


def trend_line(years: list[CardYear], t: Translator) -> str:
    parts = []
    for y in years:
        score = y.entry.record.score
        parts.append(
            t(
                "card.trend_item",
                year=y.slice.year,
                rank=y.entry.record.rank,
                count=y.slice.unit_count,
                score=t.number(score) if score is not None else "—",
            )
        )
    text = t("card.trend", items=" → ".join(parts))
    if len({(y.group.code, y.slice.unit_count) for y in years}) > 1:
        # ranks among 63 and among 34 provinces are not one series
        text += "\n" + t("card.trend_groups_differ")
    return text


def source_line(
    sources: Iterable[str], loaded_at: str, t: Translator, *, shown: str | None = None
) -> str:
    """Where the figures come from, as the file gives it; the day it was published
    (the decision's date, read from the source) and, apart, the day the bot received
    the data, both as officials write dates. `shown`: the sources cut to fit a caption."""
    ordered = sorted(set(sources))
    source = t("common.source", source=esc(shown if shown is not None else "; ".join(ordered)))
    return source + "\n" + dates_line(ordered, loaded_at, t)


def dates_line(sources: Iterable[str], loaded_at: str, t: Translator) -> str:
    """The decision's day (read from each source) and, apart, the day the bot received
    the data; an announcement ends with it too, under its own source line."""
    days = _published_days(frozenset(sources))
    loaded = t.date(loaded_at)
    if days:
        published = ", ".join(t.date(day) for day in days)
        return t("common.dates", published=published, loaded=loaded)
    return t("common.loaded", loaded=loaded)


@lru_cache(maxsize=1024)
def _published_days(sources: frozenset[str]) -> tuple[dt.date, ...]:
    """The days the sources name, in order: reading them is a few regular expressions a
    source, and a card repeats the same source for every year."""
    return tuple(sorted({day for day in map(published_on, sources) if day is not None}))


def ranking_title(ranking: Ranking, year: int, t: Translator) -> str:
    """The ranking's name for that edition; a national one names its publisher, which
    changed (the DTI: Bộ TT&TT up to 2023, Bộ KH&CN from 2024), so a 2024 answer never
    cites a ministry that no longer exists."""
    publisher = ranking.publisher(year)
    if ranking.default or publisher is None:
        return esc(ranking.name(t.lang))
    return t(
        "common.ranking_by",
        ranking=esc(ranking.name(t.lang)),
        publisher=esc(publisher.name(t.lang)),
    )


def level_summary_text(summaries: list[LevelSummary], t: Translator, catalog: Catalog) -> str:
    first = summaries[0]
    lines = [
        t(
            "levels.title",
            ranking=ranking_title(first.ranking, first.slice.year, t),
            year=first.slice.year,
        )
    ]
    levels = first.levels
    if levels:
        lines.append(t("levels.rules_header"))
        for i, level in enumerate(levels):
            low = t.rule_number(level.above * 100)
            if i == 0:
                lines.append(t("levels.band_top", name=esc(level_name(level, t)), low=low))
            elif i == len(levels) - 1:
                high = t.rule_number(levels[i - 1].above * 100)
                lines.append(t("levels.band_bottom", name=esc(level_name(level, t)), high=high))
            else:
                high = t.rule_number(levels[i - 1].above * 100)
                lines.append(
                    t("levels.band_mid", name=esc(level_name(level, t)), low=low, high=high)
                )
    else:
        lines.append(t("levels.no_bands"))
    for summary in summaries:
        lines.append("")
        lines.append(
            t(
                "levels.group_header",
                group=esc(summary.group.name(t.lang)),
                count=summary.slice.unit_count,
                max=t.number(summary.slice.max_score),
            )
        )
        if summary.levels:
            counts = " · ".join(
                t("levels.count", name=esc(level_name(lv, t)), count=summary.counts[lv.code])
                for lv in summary.levels
            )
            lines.append(counts)
        if not summary.levels and summary.published:
            # a band-less index: how many values were published, not how many levels
            lines.append(
                t(
                    "levels.published",
                    count=summary.published,
                    total=summary.slice.unit_count,
                )
            )
        if summary.unpublished:
            lines.append(t("levels.unpublished", count=summary.unpublished))
        if summary.flagged:
            lines.append(t("levels.flagged", count=summary.flagged))
    lines.append("")
    lines.append(
        source_line(
            {s.slice.source for s in summaries}, max(s.slice.loaded_at for s in summaries), t
        )
    )
    return "\n".join(lines)


def comparison_text(cards: list[UnitCard], t: Translator) -> str:
    """Units side by side, one block per year, oldest first."""
    years = sorted({y.slice.year for c in cards for y in c.years})
    lines = [t("compare.title", names=" · ".join(esc(c.name) for c in cards))]
    for year in years:
        lines.append("")
        lines.append(t("compare.year", year=year))
        for card in cards:
            found = [y for y in card.years if y.slice.year == year]
            if not found:
                lines.append(t("compare.absent", name=esc(card.name)))
                continue
            y = found[0]
            record = y.entry.record
            score = (
                t("compare.score", score=t.number(record.score), max=t.number(y.slice.max_score))
                if record.score is not None
                else t("compare.no_score")
            )
            lines.append(
                t(
                    "compare.row",
                    name=esc(card.name),
                    rank=record.rank,
                    count=y.slice.unit_count,
                    score=score,
                    level=esc(level_name(y.entry.level, t)) or "—",
                )
                + (move_text(y.entry.move, t) if y.entry.move else "")
            )
    lines.append("")
    lines.append(
        source_line(
            {y.entry.record.source for c in cards for y in c.years},
            max(y.slice.loaded_at for c in cards for y in c.years),
            t,
        )
    )
    return "\n".join(lines)
