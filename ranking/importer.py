"""Validate a read table into slices the store can write, or say what is wrong.

Every problem names its sheet, row and column, and carries a message key
under locales ("import.<code>") with its parameters: the bot and the CLI
render them in the user's language. Any error means nothing is written.
"""

from __future__ import annotations

import difflib
import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from ranking.bands import level_for, match_level
from ranking.catalog import Catalog
from ranking.numbers import NotANumber, infer_decimal_mark, parse_number
from ranking.ranks import competition_ranks
from ranking.reader import RawRow, RawTable, read_table
from ranking.store import NewScore, NewSlice
from ranking.text import expand, fold, nfc

Severity = Literal["error", "warning"]
NUMERIC_KEYS = ("diem", "diem_toi_da", "hang", "so_don_vi", "nam")


@dataclass(frozen=True)
class Problem:
    code: str  # message key import.<code>
    severity: Severity = "error"
    row: int | None = None
    column: str | None = None  # the column letter as the user sees it
    params: dict[str, str | int] = field(default_factory=dict)


@dataclass
class Dataset:
    slices: list[NewSlice]
    warnings: list[Problem]
    rows: int


class ImportFailed(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _text(value: str | Decimal | None) -> str | None:
    if value is None:
        return None
    text = nfc(str(value))
    return text or None


def validate(table: RawTable, catalog: Catalog, *, today: date | None = None) -> Dataset:
    """Check every row; raise ImportFailed with all errors, or return the slices."""
    today = today or date.today()
    errors: list[Problem] = []
    warnings: list[Problem] = []
    letters = table.column_letters

    def problem(code: str, row: RawRow | None, key: str | None, **params: str | int) -> Problem:
        return Problem(
            code,
            row=row.number if row else None,
            column=letters.get(key) if key else None,
            params=params,
        )

    required = ["nam", "nhom", "don_vi", "diem_toi_da", "can_cu"]
    missing = [key for key in required if key not in table.columns]
    if "diem" not in table.columns and "hang" not in table.columns:
        missing.append("diem")
    if missing:
        raise ImportFailed([problem("missing_column", None, None, column=key) for key in missing])

    # One decimal mark per file, decided by its unambiguous cells.
    number_texts = [
        v for row in table.rows for key in NUMERIC_KEYS if isinstance(v := row.cells.get(key), str)
    ] + [v for row in table.rows for v in row.extras.values() if isinstance(v, str)]
    mark = infer_decimal_mark(number_texts)

    def number(row: RawRow, key: str, *, required: bool) -> Decimal | None:
        raw = row.cells.get(key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if required:
                errors.append(problem("empty_cell", row, key, column=table.columns.get(key, key)))
            return None
        try:
            return parse_number(raw, mark)
        except NotANumber:
            errors.append(problem("not_a_number", row, key, value=str(raw)))
            return None

    def whole(row: RawRow, key: str, *, required: bool) -> int | None:
        value = number(row, key, required=required)
        if value is None:
            return None
        if value != value.to_integral_value() or value < 1:
            errors.append(problem("not_a_positive_integer", row, key, value=str(value)))
            return None
        return int(value)

    ranking_codes = catalog.ranking_aliases()
    group_codes = catalog.group_aliases()
    # (ranking, year, group) → rows with their parsed values
    by_slice: dict[tuple[str, int, str], list[_Parsed]] = defaultdict(list)

    for row in table.rows:
        year = whole(row, "nam", required=True)
        if year is not None and not 2000 <= year <= today.year + 1:
            errors.append(problem("year_out_of_range", row, "nam", year=year, last=today.year + 1))
            year = None
        ranking_text = _text(row.cells.get("bang"))
        ranking = catalog.default_ranking
        if ranking_text:
            found = ranking_codes.get(fold(ranking_text))
            if found is None:
                errors.append(
                    problem(
                        "unknown_ranking",
                        row,
                        "bang",
                        value=ranking_text,
                        known=", ".join(catalog.rankings),
                    )
                )
                continue
            ranking = found
        group_text = _text(row.cells.get("nhom"))
        group: str | None = None
        if group_text is None:
            errors.append(problem("empty_cell", row, "nhom", column=table.columns["nhom"]))
        else:
            group = group_codes.get(fold(group_text)) or group_codes.get(expand(group_text))
            if group is None or catalog.groups[group].ranking != ranking:
                close = difflib.get_close_matches(fold(group_text), list(group_codes), 1, 0.6)
                hint = catalog.groups[group_codes[close[0]]].short_vi if close else ""
                errors.append(
                    problem(
                        "unknown_group_suggest" if hint else "unknown_group",
                        row,
                        "nhom",
                        value=group_text,
                        suggestion=hint,
                        known=", ".join(g.code for g in catalog.groups_of(ranking)),
                    )
                )
                group = None
        name = _text(row.cells.get("don_vi"))
        if name is None:
            errors.append(problem("empty_cell", row, "don_vi", column=table.columns["don_vi"]))
        score = number(row, "diem", required=False) if "diem" in table.columns else None
        max_score = number(row, "diem_toi_da", required=True)
        rank = whole(row, "hang", required=False) if "hang" in table.columns else None
        unit_count = (
            whole(row, "so_don_vi", required=False) if "so_don_vi" in table.columns else None
        )
        source = _text(row.cells.get("can_cu"))
        if source is None:
            errors.append(problem("empty_cell", row, "can_cu", column=table.columns["can_cu"]))
        if score is None and rank is None and row.cells.get("diem") is None:
            errors.append(problem("no_score_no_rank", row, "diem"))
        if max_score is not None and max_score <= 0:
            errors.append(problem("max_not_positive", row, "diem_toi_da", value=str(max_score)))
            max_score = None
        if score is not None:
            if score < 0:
                errors.append(problem("negative_score", row, "diem", value=str(score)))
                score = None  # reported once; kept out of the group-wide checks
            elif max_score is not None and score > max_score:
                errors.append(
                    problem("score_above_max", row, "diem", value=str(score), max=str(max_score))
                )
                score = None
        components: dict[str, Decimal] = {}
        for header, raw in row.extras.items():
            if raw is None:
                continue
            try:
                components[header] = parse_number(raw, mark)
            except NotANumber:
                errors.append(
                    Problem(
                        "component_not_a_number",
                        row=row.number,
                        params={"header": header, "value": str(raw)},
                    )
                )
        if year is None or group is None or name is None or max_score is None or source is None:
            continue
        by_slice[(ranking, year, group)].append(
            _Parsed(
                row=row,
                name=name,
                key=expand(name),
                score=score,
                max_score=max_score,
                rank=rank,
                unit_count=unit_count,
                source=source,
                level=_text(row.cells.get("muc")),
                note=_text(row.cells.get("ghi_chu")),
                components=components,
            )
        )

    slices: list[NewSlice] = []
    for (ranking, year, group), rows in by_slice.items():
        built = _build_slice(catalog, ranking, year, group, rows, errors, warnings, letters)
        if built is not None:
            slices.append(built)
    if errors:
        raise ImportFailed(errors)
    if not slices:
        raise ImportFailed([Problem("no_rows")])
    return Dataset(slices=slices, warnings=warnings, rows=len(table.rows))


@dataclass
class _Parsed:
    row: RawRow
    name: str
    key: str
    score: Decimal | None
    max_score: Decimal
    rank: int | None
    unit_count: int | None
    source: str
    level: str | None
    note: str | None
    components: dict[str, Decimal]
    official: bool = True


def _build_slice(
    catalog: Catalog,
    ranking: str,
    year: int,
    group: str,
    rows: list[_Parsed],
    errors: list[Problem],
    warnings: list[Problem],
    letters: dict[str, str],
) -> NewSlice | None:
    """Checks that need the whole (ranking, year, group); None after an error."""

    def err(code: str, row: RawRow, key: str, **params: str | int) -> None:
        errors.append(Problem(code, row=row.number, column=letters.get(key), params=params))

    where: dict[str, str | int] = {"group": group, "year": year}
    for values, key in (
        ({str(r.max_score) for r in rows}, "diem_toi_da"),
        ({str(r.unit_count) for r in rows if r.unit_count is not None}, "so_don_vi"),
    ):
        if len(values) > 1:
            err(
                "inconsistent_in_group",
                rows[-1].row,
                key,
                **where,
                values=" / ".join(sorted(values)),
            )
            return None
    max_score = rows[0].max_score
    counts = [r.unit_count for r in rows if r.unit_count is not None]
    unit_count = counts[0] if counts else len(rows)
    if len(rows) > unit_count:
        err("too_many_units", rows[-1].row, "so_don_vi", **where, rows=len(rows), count=unit_count)
        return None
    seen: dict[str, RawRow] = {}
    for r in rows:
        if r.key in seen:
            err("duplicate_unit", r.row, "don_vi", name=r.name, first=seen[r.key].number)
            return None
        seen[r.key] = r.row
    unranked = [r for r in rows if r.rank is None]
    if unranked:
        # Without the source's rank we may rank from scores only when every unit
        # of the group is listed: a partial list hides who else is above.
        if len(rows) < unit_count:
            for r in unranked:
                err("rank_needed", r.row, "hang", rows=len(rows), count=unit_count)
            return None
        scores = [r.score for r in rows]
        if any(s is None for s in scores):
            err("rank_needed_no_score", unranked[0].row, "hang")
            return None
        for r, rank in zip(
            rows, competition_ranks([s for s in scores if s is not None]), strict=True
        ):
            if r.rank is None:
                r.rank, r.official = rank, False
    ordered = sorted(rows, key=lambda r: r.rank or 0)
    # A better (smaller) rank never has a lower score than a worse one.
    lowest_better: Decimal | None = None  # lowest score among strictly better ranks
    lowest_here: Decimal | None = None
    previous: int | None = None
    for r in ordered:
        rank = r.rank or 0
        if rank > unit_count:
            err("rank_above_count", r.row, "hang", rank=rank, count=unit_count)
            return None
        if rank != previous:
            if lowest_here is not None:
                lowest_better = (
                    lowest_here if lowest_better is None else min(lowest_better, lowest_here)
                )
            lowest_here, previous = None, rank
        if r.score is not None:
            if lowest_better is not None and r.score > lowest_better:
                err("rank_contradicts_score", r.row, "hang", rank=rank, score=str(r.score))
                return None
            lowest_here = r.score if lowest_here is None else min(lowest_here, r.score)
    levels = catalog.levels(ranking)
    new_rows: list[NewScore] = []
    for r in ordered:
        if r.level and levels and r.score is not None:
            by_rules = level_for(r.score, max_score, levels)
            if match_level(r.level, levels) != by_rules:
                warnings.append(
                    Problem(
                        "level_mismatch",
                        severity="warning",
                        row=r.row.number,
                        column=letters.get("muc"),
                        params={
                            "name": r.name,
                            "published": r.level,
                            "by_rules": by_rules.name_vi if by_rules else "",
                        },
                    )
                )
        new_rows.append(
            NewScore(
                name=r.name,
                name_key=r.key,
                score=r.score,
                rank=r.rank or 0,
                rank_official=r.official,
                published_level=r.level,
                note=r.note,
                components=r.components,
                source=r.source,
                source_row=r.row.number,
            )
        )
    return NewSlice(
        ranking=ranking,
        year=year,
        group_code=group,
        max_score=max_score,
        unit_count=unit_count,
        band_scheme=catalog.rankings[ranking].band_scheme,
        # the slice's source is what most rows cite; each row keeps its own
        source=Counter(r.source for r in rows).most_common(1)[0][0],
        rows=new_rows,
    )


def read_and_validate(data: bytes, file_name: str, catalog: Catalog) -> Dataset:
    """Bytes to validated slices; ReadProblem or ImportFailed on bad input."""
    return validate(read_table(data, file_name), catalog)
