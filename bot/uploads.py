"""Import previews and problem lines, shared by the bot and `python -m bot import`.

Nothing here talks to Telegram: it compares a validated dataset with what is
on record and says, in the admin's language, what confirming would change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from bot.i18n import Translator
from bot.reply import esc, esc_params
from ranking.queries import Rankings
from ranking.store import NewLink, NewScore
from ranking.text import closest, expand, fold

if TYPE_CHECKING:  # the reader and the importer load with the first upload, not at start
    from ranking.importer import Dataset, Problem
    from ranking.reader import ReadProblem

PREVIEW_TTL = 15 * 60  # seconds an upload's preview can be confirmed; its bytes go after
MAX_LISTED = 10  # changes listed per kind before "… and N more"
NEAR_NAME = 0.85  # similarity above which a new name may be a unit on record
# New names compared with those on record, per ranking: a yearly file brings a handful;
# the comparison runs on the event loop, so a 100,000-name synthetic file must not take
# seconds of it (BENCHMARKS.md §3).
NEAR_CHECK_MAX = 500


def problem_line(problem: Problem, t: Translator) -> str:
    where = []
    if problem.row is not None:
        where.append(t("import.where_row", row=problem.row))
    if problem.column:
        where.append(t("import.where_column", column=problem.column))
    # numbers in the reader's language ("1.000"); years and counts are ints, kept as is
    numbers = {k: t.number(v) if isinstance(v, Decimal) else v for k, v in problem.params.items()}
    params = esc_params(numbers)
    text = t(f"import.{problem.code}", **params)
    marks = {"warning": "import.warning_mark", "info": "import.fact_mark"}
    prefix = t(marks[problem.severity]) if problem.severity in marks else "• "
    return prefix + (", ".join(where) + ": " if where else "") + text


def reader_message(problem: ReadProblem, t: Translator) -> str:
    """A refused file's message; its params may quote the file's own text."""
    params = esc_params(problem.params)
    return t(f"reader.{problem.code}", **params)


def problem_lines(problems: list[Problem], t: Translator, limit: int = 20) -> list[str]:
    """The first `limit` problems, then how many more."""
    lines = [problem_line(p, t) for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(t("import.more_problems", count=len(problems) - limit))
    return lines


@dataclass
class Preview:
    html: str
    # (ranking, new name key, known name key) for names close to one on record
    near_names: list[tuple[str, str, str]] = field(default_factory=list)


def _capped(lines: list[str], t: Translator) -> list[str]:
    if len(lines) <= MAX_LISTED:
        return lines
    return [*lines[:MAX_LISTED], t("preview.more", count=len(lines) - MAX_LISTED)]


async def build_preview(
    dataset: Dataset, rankings: Rankings, t: Translator, *, file_name: str
) -> Preview:
    catalog = rankings.catalog
    store = rankings.store
    lines = [t("preview.title", file=esc(file_name), rows=dataset.rows)]
    if dataset.facts:  # what was read from the layout, and rows left out: to be checked
        lines += ["", t("preview.facts"), *problem_lines(dataset.facts, t)]
    near: list[tuple[str, str, str]] = []
    near_budget: dict[str, int] = {}
    known_names: dict[str, dict[str, str]] = {}
    if dataset.links:
        lines += await _lineage_lines(dataset, rankings, t)
    # a group the file creates is shown by the name the file gives it
    created = {g.code: g.name_vi if t.lang == "vi" else g.name_en for g in dataset.new_groups}
    for new in dataset.slices:
        group_name = (
            catalog.groups[new.group_code].name(t.lang)
            if new.group_code in catalog.groups
            else created.get(new.group_code, new.group_code)
        )
        lines.append("")
        header = dict(group=esc(group_name), year=new.year, count=new.unit_count)
        current = await store.scores.current_slice(new.ranking, new.year, new.group_code)
        if current is None:
            lines.append(t("preview.slice_new", **header, rows=len(new.rows)))
        else:
            lines.append(t("preview.slice_replaces", **header, rows=len(new.rows)))
            old = {r.name: r for r in await store.scores.slice_records(current)}
            by_key = {}
            for record in old.values():
                by_key[expand(record.name)] = record
            changed, added = [], []
            for row in new.rows:
                before = by_key.pop(row.name_key, None)
                if before is None:
                    added.append(t("preview.added", name=esc(row.name)))
                elif before.score != row.score or before.rank != row.rank:
                    changed.append(
                        t(
                            "preview.changed",
                            name=esc(row.name),
                            old=_score(before.score, t),
                            new=_score(row.score, t),
                            old_rank=before.rank,
                            new_rank=row.rank,
                        )
                    )
            removed = [t("preview.removed", name=esc(r.name)) for r in by_key.values()]
            if str(current.max_score) != str(new.max_score):
                lines.append(
                    t(
                        "preview.max_changed",
                        old=t.number(current.max_score),
                        new=t.number(new.max_score),
                    )
                )
            lines += _capped(changed, t) + _capped(added, t) + _capped(removed, t)
            if not (changed or added or removed):
                lines.append(t("preview.unchanged"))
        top = [
            t("preview.top_row", rank=r.rank, name=esc(r.name), score=_figure(r, t))
            for r in new.rows[:3]
        ]
        lines.append(t("preview.top3"))
        lines += top
        if new.ranking not in known_names:
            known_names[new.ranking] = await store.scores.unit_names(new.ranking)
        known = known_names[new.ranking]
        # the same unit written without diacritics or in other case: its earlier years
        # keep their names, and the card's title stays the better-written one
        respelt = [
            t("preview.respelt", new=esc(r.name), known=esc(known[r.name_key]))
            for r in new.rows
            if r.name_key in known
            and r.name != known[r.name_key]
            and fold(r.name) == fold(known[r.name_key])
        ]
        lines += _capped(respelt, t)
        candidates = list(known)
        fresh = list(dict.fromkeys(r.name_key for r in new.rows if r.name_key not in known))
        left = near_budget.setdefault(new.ranking, NEAR_CHECK_MAX)
        names = {r.name_key: r.name for r in new.rows}
        for key in fresh[:left]:
            match = closest(key, candidates, NEAR_NAME)
            if match is not None:
                near.append((new.ranking, key, match))
                lines.append(t("preview.near_name", new=esc(names[key]), known=esc(known[match])))
        near_budget[new.ranking] = max(0, left - len(fresh))
        if len(fresh) > left:
            lines.append(t("preview.near_skipped", count=len(fresh) - left, checked=left))
    if dataset.warnings:
        lines.append("")
        lines.append(t.plural("preview.warnings", len(dataset.warnings)))
        lines += problem_lines(dataset.warnings, t)
    lines.append("")
    lines.append(t("preview.confirm_near" if near else "preview.confirm"))
    return Preview("\n".join(lines), near)


def _score(value: Decimal | None, t: Translator) -> str:
    return t.number(value) if value is not None else "—"


def _figure(row: NewScore, t: Translator) -> str:
    """A row's score, else its published share, else a dash: never an invented score."""
    if row.score is not None:
        return t.number(row.score)
    if row.share is not None:
        return t.percent(row.share)
    return "—"


async def _lineage_lines(dataset: Dataset, rankings: Rankings, t: Translator) -> list[str]:
    """A reorganisation file: per new unit, from when, which units it is made of; names
    that are not on record yet are said so (a typo would create a unit)."""
    lines = ["", t("preview.lineage_title", count=len(dataset.links))]
    known: set[str] = set()
    for ranking in await rankings.store.scores.unit_rankings():
        known |= set(await rankings.store.scores.unit_keys(ranking))
    by_new: dict[tuple[str, str], list[NewLink]] = {}
    for link in dataset.links:
        by_new.setdefault((link.from_date, link.new_name), []).append(link)
    shown = []
    for (when, new_name), links in by_new.items():
        olds = [lk.old_name for lk in links]
        if olds == [new_name]:
            continue  # unchanged: it maps to itself
        shown.append(
            t(
                "preview.lineage_item",
                date=t.date(when),
                new=esc(new_name),
                old=esc(", ".join(olds)),
            )
        )
    lines += _capped(shown, t)
    unchanged = len(by_new) - len(shown)
    if unchanged:
        lines.append(t("preview.lineage_unchanged", count=unchanged))
    unknown = sorted(
        {lk.old_name for lk in dataset.links if lk.old_key not in known}
        | {lk.new_name for lk in dataset.links if lk.new_key not in known}
    )
    if unknown:
        lines.append(
            t("preview.lineage_unknown", names=esc(", ".join(unknown[:10])), count=len(unknown))
        )
    sources = sorted({lk.source for lk in dataset.links})
    lines.append(t("card.lineage_source", source=esc("; ".join(sources))))
    return lines
