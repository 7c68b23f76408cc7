"""Validate a read table into slices the store can write, or say what is wrong.

Every problem names its sheet, row and column, and carries a message key
under locales ("import.<code>") with its parameters: the bot and the CLI
render them in the user's language. Any error means nothing is written.
Columns are named in messages as the template writes them (Năm, Nhóm,
Điểm tối đa, Căn cứ …), never by internal key; numbers travel as Decimal
params, so the shell writes them the user's way ("1.000").

Two layouts are read:

* the template's (/mau): one row per unit with Năm, Nhóm, Điểm tối đa and
  Căn cứ columns;
* the decision's annex: the year and the decision in the title rows, one
  section row per group ("I. Cơ quan, đơn vị có thủ tục hành chính"), the
  maximum in the score header ("Tổng điểm (tối đa 1.000)") or the section
  row ("… thang điểm 800"). Each fact read this way is a `Dataset.facts`
  entry (severity "info") so the preview states it before the admin confirms.

A column wins over the layout: a Năm column is read even under a title with
a year. Where a needed fact is in neither place, the problem says what to
add and where.

Extra columns: a column whose every filled cell is a number is a component
score; a column with text (e.g. "Cơ quan chủ quản") is ignored, and a fact
says so. Percent columns ("Tỷ lệ (%)", or any extra header with "%"): a
cell written with "%" is the percent as written ("71,77 %"); otherwise a
value of at most 1 is a fraction, as a spreadsheet stores a percent cell
(0,7177 → 71,77 %), and a larger value is the percent itself ("73,16").
The format's number style is not available through the reader, so the rule
is the same for every format; a true share of at most 1 % would be misread,
and does not occur in these rankings.

`Dataset.content_digest` is a SHA-256 of the validated content, canonical
(independent of the file's format, row positions, column order and number
spelling): the same ranking re-saved or saved in another format has the same
digest, so an import of it can be a no-op.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import operator
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from itertools import chain, repeat
from typing import Literal, TypeVar

from ranking.bands import level_for, match_level
from ranking.catalog import Catalog, Group
from ranking.collection import collection_paused
from ranking.digest import sha256
from ranking.layout import decision_in, parse_max, section_of, years_in_title
from ranking.lineage import is_lineage, validate_lineage
from ranking.numbers import NotANumber, infer_decimal_mark, parse_number, plain_spelling
from ranking.problems import ImportFailed, ParamValue, Problem
from ranking.ranks import competition_ranks
from ranking.reader import TEMPLATE_NAMES, RawRow, RawTable, cell_positions, read_table
from ranking.store import NewGroup, NewLink, NewScore, NewSlice
from ranking.text import expand, fold, nfc

# ImportFailed, Problem and sha256 are re-exported: the bot, the CLI and the tests name them here
__all__ = [
    "Dataset",
    "ImportFailed",
    "Problem",
    "content_digest",
    "read_and_validate",
    "sha256",
    "slice_digest",
    "validate",
]

NUMERIC_KEYS = ("diem", "diem_toi_da", "hang", "so_don_vi", "nam", "ty_le")
MAX_NEAR_GROUP = 0.8  # similarity for a section row's text to a group name
_T = TypeVar("_T")


@dataclass
class Dataset:
    slices: list[NewSlice]
    warnings: list[Problem]
    rows: int
    # what was read from the layout, not from a column, and rows left out:
    # the preview states each (severity "info")
    facts: list[Problem] = field(default_factory=list)
    content_digest: str = ""
    ignored_below: int = 0  # rows with content under the table (signature block …)
    # groups the file names that the catalog does not know: created when it is published
    new_groups: list[NewGroup] = field(default_factory=list)
    # a reorganisation file's rows (old unit → new unit from a date); then no slices
    links: list[NewLink] = field(default_factory=list)


def _text(value: str | Decimal | None) -> str | None:
    if value is None:
        return None
    text = nfc(str(value))
    return text or None


def _order(problem: Problem) -> tuple[int, int, str, str]:
    column = problem.column or ""
    return (problem.row or 0, len(column), column, problem.code)


_NUMBER_LIKE = re.compile(r"[\s\d.,%+\-]+")
_PLACEHOLDERS = frozenset({"-", "–", "—", "x", "/"})
_FORMULA_START = ("=", "+", "-", "@")


def _is_percent_header(header: str) -> bool:
    return "%" in header


def parse_share(raw: str | Decimal, mark: Literal[",", "."]) -> tuple[Decimal, bool]:
    """A percent as published, and whether it was stored as a fraction (see the
    module docstring): "71,77 %" → 71.77; 0.7177 → 71.77 (fraction); "73,16" → 73.16."""
    if isinstance(raw, str):
        text = raw.strip()
        written = text.endswith("%")
        value = parse_number(text.rstrip("%").strip(), mark)
        if written:
            return value, False
    else:
        value = raw
    if 0 <= value <= 1:
        return value.scaleb(2), True
    return value, False


@dataclass
class _Layout:
    """Facts read around the table (title rows, header), for the columns it lacks."""

    year: int | None = None
    source: str | None = None
    header_max: Decimal | None = None


@dataclass
class _Section:
    group: str
    max_score: Decimal | None
    unit_count: int | None
    row: int


class _Memo(dict[str, _T]):
    """`fn`'s results by text, for one file's cells: `memo[text]` computes a text
    once, and after that is one dict lookup (no Python call)."""

    def __init__(self, fn: Callable[[str], _T]) -> None:
        super().__init__()
        self._fn = fn

    def __missing__(self, text: str) -> _T:
        found = self[text] = self._fn(text)
        return found


def validate(table: RawTable, catalog: Catalog, *, today: date | None = None) -> Dataset:
    """Check every row; raise ImportFailed with all errors, or return the slices."""
    with collection_paused():  # see there: a NewScore and a _Parsed per row, kept
        return _validate(table, catalog, today=today)


def _validate(table: RawTable, catalog: Catalog, *, today: date | None) -> Dataset:
    today = today or date.today()
    errors: list[Problem] = []
    warnings: list[Problem] = []
    facts: list[Problem] = []
    letters = table.column_letters
    columns = table.columns

    def problem(code: str, row: RawRow | None, key: str | None, **params: ParamValue) -> Problem:
        return Problem(
            code,
            row=row.number if row else None,
            column=letters.get(key) if key else None,
            params=params,
        )

    def name(key: str) -> str:
        return TEMPLATE_NAMES[key]

    # the same names, groups and rankings come back on every row (a unit each year)
    fold_cell, expand_cell = _Memo(fold), _Memo(expand)
    cell_texts = _Memo(_text)

    def text_of(value: str | Decimal | None) -> str | None:
        # a Decimal is not looked up: Decimal("1.0") == Decimal("1"), their texts differ;
        # an empty cell (most Mức and Ghi chú cells) is no call at all
        if type(value) is str:
            return cell_texts[value]
        return None if value is None else _text(value)

    layout = _read_layout(table, errors, facts)
    ranking_codes = catalog.ranking_aliases()
    group_codes = catalog.group_aliases()

    new_groups: dict[tuple[str, str], NewGroup] = {}

    def find_group(text: str, ranking: str) -> str | None:
        code = group_codes.get(fold_cell[text]) or group_codes.get(expand_cell[text])
        if code is not None and catalog.groups[code].ranking == ranking:
            return code
        return None

    # Section rows: a heading that names a group of the default ranking.
    sections: dict[int, _Section] = {}
    for row in table.rows:
        if row.heading is None or _has_scores(row):
            continue
        heading = section_of(row.heading)
        ranking = catalog.default_ranking
        code = find_group(heading.label, ranking)
        if code is None and heading.label:
            names = {fold_cell[g.name_vi]: g.code for g in catalog.groups_of(ranking)}
            close = difflib.get_close_matches(heading.label, list(names), 1, MAX_NEAR_GROUP)
            code = names[close[0]] if close else None
        if code is None:
            continue
        max_score = parse_max(heading.max_text) if heading.max_text else None
        sections[row.number] = _Section(code, max_score, heading.unit_count, row.number)
        facts.append(
            Problem(
                "fact_section",
                severity="info",
                row=row.number,
                params={"text": row.heading, "group": catalog.groups[code].name_vi},
            )
        )
        if max_score is not None:
            facts.append(
                Problem(
                    "fact_section_max",
                    severity="info",
                    row=row.number,
                    params={"group": catalog.groups[code].name_vi, "max": max_score},
                )
            )
        if heading.unit_count is not None:
            facts.append(
                Problem(
                    "fact_section_count",
                    severity="info",
                    row=row.number,
                    params={
                        "group": catalog.groups[code].name_vi,
                        "count": heading.unit_count,
                    },
                )
            )

    missing: list[Problem] = []
    if "nam" not in columns and layout.year is None and not errors:
        missing.append(problem("missing_year", None, None, column=name("nam")))
    if "nhom" not in columns and not sections:
        missing.append(problem("missing_group", None, None, column=name("nhom")))
    if (
        "diem_toi_da" not in columns
        and layout.header_max is None
        and (not sections or any(s.max_score is None for s in sections.values()))
    ):
        missing.append(
            problem(
                "missing_max",
                None,
                None,
                column=name("diem_toi_da"),
                score_column=columns.get("diem", name("diem")),
            )
        )
    if "can_cu" not in columns and layout.source is None:
        missing.append(problem("missing_source", None, None, column=name("can_cu")))
    if "diem" not in columns and "hang" not in columns:
        missing.append(problem("missing_column", None, None, column=name("diem")))
    if missing or any(p.code.startswith("title_") for p in errors):
        raise ImportFailed(sorted(errors + missing, key=_order))

    mark = _decimal_mark(table)
    plain = plain_spelling(mark)

    # a cell's text → its number, None if it is not one: years, maxima, unit counts
    # and ranks repeat down the file, and reading a number is a few regexes
    numbers: dict[str, Decimal | None] = {}

    def number(row: RawRow, key: str, *, required: bool) -> Decimal | None:
        raw = row.get(key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if required:
                errors.append(problem("empty_cell", row, key, column=name(key)))
            return None
        if isinstance(raw, Decimal):
            return raw
        if raw in numbers:
            value = numbers[raw]
        else:
            try:
                value = parse_number(raw, mark)
            except NotANumber:
                value = None
            numbers[raw] = value
        if value is None:
            code = "not_a_year" if key == "nam" else "not_a_number"
            errors.append(problem(code, row, key, value=str(raw), column=name(key)))
        return value

    # the cells already read without a problem, by column: a year, rank or count
    # seen again is one dict lookup (a cell with a problem is read again, for its row)
    known_wholes: dict[str, dict[str | Decimal | None, int]] = {k: {} for k in NUMERIC_KEYS}
    known_maxima: dict[str | Decimal | None, Decimal] = {}  # texts only: 1E+3 == 1000

    def whole(row: RawRow, key: str, *, required: bool) -> int | None:
        value = number(row, key, required=required)
        if value is None:
            return None
        if value != value.to_integral_value() or value < 1:
            code = "not_a_year" if key == "nam" else "not_a_positive_integer"
            errors.append(problem(code, row, key, value=str(value), column=name(key)))
            return None
        known_wholes[key][row.get(key)] = int(value)
        return int(value)

    components_of, component_facts = _component_columns(table, mark)
    facts += component_facts
    # a file with no extra column has no components: no call for each row
    has_components = bool(table.extra_columns)
    shares_fractional = False

    # (ranking, year, group) → rows with their parsed values
    by_slice: dict[tuple[str, int, str], list[_Parsed]] = defaultdict(list)
    default_ranking = catalog.default_ranking
    section: _Section | None = None
    data_rows = 0
    no_section: list[RawRow] = []
    # looked up once, not on every row
    has_year, has_group, has_score = "nam" in columns, "nhom" in columns, "diem" in columns
    has_max, has_rank, has_count = (
        "diem_toi_da" in columns,
        "hang" in columns,
        "so_don_vi" in columns,
    )
    has_source = "can_cu" in columns
    known_years, known_ranks = known_wholes["nam"], known_wholes["hang"]
    known_counts = known_wholes["so_don_vi"]
    last_year = today.year + 1
    known_places: dict[tuple[str | Decimal | None, str | Decimal | None], tuple[str, str]] = {}

    keys_seen: tuple[str, ...] | None = None
    at: dict[str, int] = {}
    for row in table.rows:
        if row.number in sections:
            section = sections[row.number]
            continue
        data_rows += 1
        # a row's cells by place (RawRow.values); the places are the table's, asked
        # again only for a row with other keys (a table built by hand)
        cells = row.values
        if row.keys is not keys_seen:
            keys_seen = row.keys
            at = cell_positions(keys_seen)
        if has_year:
            year = known_years.get(cells[at["nam"]])
            if year is None:
                year = whole(row, "nam", required=True)
        else:
            year = layout.year
        if year is not None and not 2000 <= year <= last_year:
            errors.append(problem("year_out_of_range", row, "nam", year=year, last=today.year + 1))
            year = None
        # the ranking and group of a (ranking, group) pair of texts seen before
        # with no problem: one lookup (each is a fold and a few lookups otherwise)
        place_cells = (cells[at["bang"]], cells[at["nhom"]])
        place = known_places.get(place_cells)
        group: str | None = None
        if place is not None:
            ranking, group = place
        else:
            ranking_text = text_of(cells[at["bang"]])
            ranking = default_ranking
            if ranking_text:
                found = ranking_codes.get(fold_cell[ranking_text])
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
            catalog_group: str | None = None  # the Nhóm cell's group, when the catalog has it
            group_text = text_of(cells[at["nhom"]]) if has_group else None
            if group_text is None and has_group and section is None:
                errors.append(problem("empty_cell", row, "nhom", column=name("nhom")))
            elif group_text is None:
                if section is None:
                    no_section.append(row)
                else:
                    group = section.group
            else:
                group = find_group(group_text, ranking)
                catalog_group = group
                if group is None:
                    # Groups change by year («Xã, phường» in 2025): a name the catalog does
                    # not know is a new group, called out in the preview (with the closest
                    # known one, in case it is a typo) and created when it is confirmed.
                    created = new_groups.get((ranking, fold_cell[group_text]))
                    if created is None:
                        created = _new_group(group_text, ranking, catalog, new_groups.values())
                        new_groups[(ranking, fold_cell[group_text])] = created
                        close = difflib.get_close_matches(
                            fold_cell[group_text], list(group_codes), 1, 0.6
                        )
                        facts.append(
                            Problem(
                                "fact_new_group_close" if close else "fact_new_group",
                                severity="info",
                                row=row.number,
                                column=letters.get("nhom"),
                                params={
                                    "group": created.name_vi,
                                    "ranking": catalog.rankings[ranking].name_vi,
                                    "aliases": ", ".join(created.aliases),
                                    "close": catalog.groups[group_codes[close[0]]].name_vi
                                    if close
                                    else "",
                                },
                            )
                        )
                    group = created.code
            if catalog_group is not None and all(v is None or type(v) is str for v in place_cells):
                known_places[place_cells] = (ranking, catalog_group)
        unit = text_of(cells[at["don_vi"]])
        if unit is None:
            errors.append(problem("empty_cell", row, "don_vi", column=name("don_vi")))
        elif unit.startswith(_FORMULA_START):
            warnings.append(
                Problem(
                    "name_looks_like_formula",
                    severity="warning",
                    row=row.number,
                    column=letters.get("don_vi"),
                    params={"name": unit},
                )
            )
        score: Decimal | None = None
        if has_score:
            written_score = cells[at["diem"]]
            # a spreadsheet's number is read already, and a plain spelling is what
            # `number` would make of it: no call for either (scores rarely repeat)
            if written_score is None or isinstance(written_score, Decimal):
                score = written_score
            elif plain(written_score):
                score = Decimal(written_score)
            else:
                score = number(row, "diem", required=False)
        if has_max:
            max_score = known_maxima.get(cells[at["diem_toi_da"]])
            if max_score is None:
                max_score = number(row, "diem_toi_da", required=True)
                written = cells[at["diem_toi_da"]]
                if max_score is not None and type(written) is str:
                    known_maxima[written] = max_score
        elif section is not None and section.max_score is not None:
            max_score = section.max_score
        else:
            max_score = layout.header_max
        rank = None
        if has_rank:
            rank = known_ranks.get(cells[at["hang"]])
            if rank is None:
                rank = whole(row, "hang", required=False)
        if has_count:
            unit_count = known_counts.get(cells[at["so_don_vi"]])
            if unit_count is None:
                unit_count = whole(row, "so_don_vi", required=False)
        else:
            unit_count = section.unit_count if section is not None else None
        share: Decimal | None = None
        share_raw = cells[at["ty_le"]]
        if share_raw is not None:
            try:
                share, fraction = parse_share(share_raw, mark)
                shares_fractional = shares_fractional or fraction
            except NotANumber:
                errors.append(
                    problem(
                        "not_a_percent", row, "ty_le", value=str(share_raw), column=name("ty_le")
                    )
                )
            if share is not None and not 0 <= share <= 100:
                errors.append(problem("share_out_of_range", row, "ty_le", value=share))
                share = None
        source = text_of(cells[at["can_cu"]]) if has_source else layout.source
        if source is None:
            errors.append(problem("empty_cell", row, "can_cu", column=name("can_cu")))
        if score is None and rank is None and cells[at["diem"]] is None:
            errors.append(problem("no_score_no_rank", row, "diem"))
        if max_score is not None and max_score <= 0:
            errors.append(problem("max_not_positive", row, "diem_toi_da", value=max_score))
            max_score = None
        if score is not None:
            if score < 0:
                errors.append(problem("negative_score", row, "diem", value=score))
                score = None  # reported once; kept out of the group-wide checks
            elif max_score is not None and score > max_score:
                errors.append(problem("score_above_max", row, "diem", value=score, max=max_score))
                score = None
        if share is not None and score is not None and max_score is not None:
            _check_share(row, share, score, max_score, letters, warnings)
        components = components_of(row) if has_components else {}
        if year is None or group is None or unit is None or max_score is None or source is None:
            continue
        # the row to write, built once: _build_slice ranks it when the file does not;
        # most Mức and Ghi chú cells are empty: no call for them
        level, note = cells[at["muc"]], cells[at["ghi_chu"]]
        # by position, in the order of NewScore's fields: 0.25 against 0.57 µs a row
        # for the same call by keyword
        new_score = NewScore(
            unit,  # name
            expand_cell[unit],  # name_key
            score,
            rank or 0,  # rank
            rank is not None,  # rank_official
            None if level is None else text_of(level),  # published_level
            None if note is None else text_of(note),  # note
            components,
            source,
            row.number,  # source_row
            share,
        )
        by_slice[(ranking, year, group)].append((new_score, row, max_score, unit_count))

    if no_section:
        first = no_section[0]
        errors.append(
            Problem(
                "no_section",
                row=first.number,
                column=letters.get("don_vi"),
                params={"count": len(no_section), "column": name("nhom")},
            )
        )
    if shares_fractional:
        facts.append(
            Problem(
                "fact_share_fraction",
                severity="info",
                row=table.header_row,
                column=letters.get("ty_le"),
                params={"header": columns["ty_le"]},
            )
        )
    if new_groups:  # the slices of a new group are built like any other
        catalog = catalog.with_groups([_as_group(g) for g in new_groups.values()])
    slices: list[NewSlice] = []
    for (ranking, year, group), rows in by_slice.items():
        built = _build_slice(catalog, ranking, year, group, rows, errors, warnings, letters)
        if built is not None:
            slices.append(built)
    if errors:
        raise ImportFailed(sorted(errors, key=_order))
    if not slices:
        raise ImportFailed([Problem("no_rows")])
    for header_row in table.header_rows_below:
        facts.append(Problem("fact_header_row", severity="info", row=header_row))
    if table.ignored_below:
        facts.append(
            Problem(
                "fact_ignored_below",
                severity="info",
                row=table.ignored_from,
                params={"count": table.ignored_below, "text": table.ignored_text or ""},
            )
        )
    return Dataset(
        slices=slices,
        warnings=sorted(warnings, key=_order),
        rows=data_rows,
        facts=sorted(facts, key=_order),
        content_digest=content_digest(slices),
        ignored_below=table.ignored_below,
        new_groups=list(new_groups.values()),
    )


def _new_group(name: str, ranking: str, catalog: Catalog, others: Iterable[NewGroup]) -> NewGroup:
    """A group named only by a file: its code and the words officials type for it
    come from its name without diacritics («Xã, phường» → xa-phuong; "xa phuong",
    "xa"), never clashing with a known group's."""
    folded = fold(name)
    taken_codes = set(catalog.groups) | {g.code for g in others}
    base = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:24] or "nhom"
    code, n = base, 2
    while code in taken_codes:
        code, n = f"{base}-{n}", n + 1
    taken = set(catalog.group_aliases())
    aliases = [folded]
    first = fold(name.split(",")[0])
    if first != folded and len(first) >= 2 and first not in taken:
        aliases.append(first)
    clean = nfc(name).strip()
    return NewGroup(
        code=code,
        ranking=ranking,
        name_vi=clean,
        name_en=clean,  # a file gives one name; English readers see it as written
        short_vi=clean,
        short_en=clean,
        aliases=tuple(aliases),
    )


def _as_group(created: NewGroup) -> Group:
    return Group(**asdict(created))  # a NewGroup's fields are the catalog Group's


def _number_texts(table: RawTable) -> Iterator[str]:
    """The number-like texts of the numeric and extra columns, row by row."""
    return (
        v.replace("%", "")
        for row in table.rows
        for v in (*(row.get(k) for k in NUMERIC_KEYS), *row.extras.values())
        if isinstance(v, str) and _NUMBER_LIKE.fullmatch(v)
    )


def _decimal_mark(table: RawTable) -> Literal[",", "."]:
    """One decimal mark per file, decided by its unambiguous number-like cells
    (read lazily: the first unambiguous cell decides, usually in the first row)."""
    # A spreadsheet's numbers are numbers, not texts: often no cell is number-like
    # text, and seeing so column by column at C speed spares a generator step for
    # each cell (the texts are looked at row by row only when there are some).
    rows = table.rows
    keys = rows[0].keys if rows else ()
    if all(map(operator.is_, map(_keys_of, rows), repeat(keys))):  # one table's rows
        at, values = cell_positions(keys), list(map(_values_of, rows))
        columns = (map(operator.itemgetter(at[k]), values) for k in NUMERIC_KEYS)
    else:  # rows built by hand, each with its own keys
        columns = (map(RawRow.get, rows, repeat(k)) for k in NUMERIC_KEYS)
    extras = chain.from_iterable(row.extras.values() for row in table.rows if row.extras)
    texts = filter(_IS_STR, chain(chain.from_iterable(columns), extras))
    number_like = filter(_NUMBER_LIKE.fullmatch, texts)
    if next(number_like, None) is None:
        return infer_decimal_mark(())
    return infer_decimal_mark(_number_texts(table))


_keys_of, _values_of = operator.attrgetter("keys"), operator.attrgetter("values")
_IS_STR = str.__instancecheck__


def _has_scores(row: RawRow) -> bool:
    return any(row.get(k) is not None for k in ("diem", "hang", "ty_le"))


def _read_layout(table: RawTable, errors: list[Problem], facts: list[Problem]) -> _Layout:
    """The year, decision and maximum written around the table, where no column has them."""
    layout = _Layout()
    if "nam" not in table.columns:
        found: dict[int, tuple[int, str]] = {}
        for number, text in table.title_rows:
            for year in years_in_title(text):
                found.setdefault(year, (number, text))
        if len(found) > 1:
            errors.append(
                Problem(
                    "title_years",
                    params={
                        "years": ", ".join(str(y) for y in sorted(found)),
                        "column": TEMPLATE_NAMES["nam"],
                    },
                )
            )
        elif found:
            ((year, (number, text)),) = found.items()
            layout.year = year
            facts.append(
                Problem(
                    "fact_year",
                    severity="info",
                    row=number,
                    params={"year": year, "text": text[:120]},
                )
            )
    if "can_cu" not in table.columns:
        for number, text in table.title_rows:
            decision = decision_in(text)
            if decision is not None:
                layout.source = decision.source
                facts.append(
                    Problem(
                        "fact_source",
                        severity="info",
                        row=number,
                        params={"source": decision.source, "text": text[:120]},
                    )
                )
                break
    if "diem_toi_da" not in table.columns:
        for key, written in table.header_max.items():
            value = parse_max(written)
            if value is not None and key == "diem":
                layout.header_max = value
                facts.append(
                    Problem(
                        "fact_header_max",
                        severity="info",
                        row=table.header_row,
                        column=table.column_letters.get(key),
                        params={"max": value, "header": table.columns[key]},
                    )
                )
    return layout


def _component_columns(
    table: RawTable, mark: Literal[",", "."]
) -> tuple[Callable[[RawRow], dict[str, Decimal]], list[Problem]]:
    """Which extra columns are component scores (every filled cell a number);
    the others hold text and are left out, each with a fact for the preview."""
    numeric: list[str] = []
    facts: list[Problem] = []
    for header in table.extra_columns:
        percent = _is_percent_header(header)
        values = [row.extras.get(header) for row in table.rows if row.heading is None]
        filled = [v for v in values if v is not None and str(v).strip() not in _PLACEHOLDERS]
        text = None
        for v in filled:
            try:
                parse_share(v, mark) if percent else parse_number(v, mark)
            except NotANumber:
                text = str(v)
                break
        if text is None:
            numeric.append(header)
            continue
        facts.append(
            Problem(
                "fact_text_column",
                severity="info",
                row=table.header_row,
                column=table.extra_letters.get(header),
                params={"header": header, "example": text[:60]},
            )
        )

    def components(row: RawRow) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for header in numeric:
            raw = row.extras.get(header)
            if raw is None or str(raw).strip() in _PLACEHOLDERS:
                continue
            out[header] = (
                parse_share(raw, mark)[0]
                if _is_percent_header(header)
                else parse_number(raw, mark)
            )
        return out

    return components, facts


def _check_share(
    row: RawRow,
    share: Decimal,
    score: Decimal,
    max_score: Decimal,
    letters: dict[str, str],
    warnings: list[Problem],
) -> None:
    """A published share that is not the score over the maximum, to its own digits."""
    exponent = share.as_tuple().exponent
    unit = Decimal(1).scaleb(exponent if isinstance(exponent, int) else 0)
    expected = score / max_score * 100
    if abs(expected - share) > unit:
        warnings.append(
            Problem(
                "share_contradicts_score",
                severity="warning",
                row=row.number,
                column=letters.get("ty_le"),
                params={"share": share, "score": score, "max": max_score},
            )
        )


def _num(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


_rank_and_key = operator.attrgetter("rank", "name_key")  # a slice's rows in digest order


def slice_digest(s: NewSlice) -> str:
    """SHA-256 of one slice's content in a canonical form: rows in a fixed order,
    numbers by value ("731,61" = 731.610), no row positions, no file facts."""
    # _num inlined and no sort for a row without components: one row per unit
    rows = [
        [
            r.name_key,
            r.name,
            None if r.score is None else format(r.score.normalize(), "f"),
            r.rank,
            r.rank_official,
            r.published_level,
            r.note,
            sorted((k, _num(v)) for k, v in r.components.items()) if r.components else [],
            r.source,
            None if r.share is None else format(r.share.normalize(), "f"),
        ]
        for r in sorted(s.rows, key=_rank_and_key)
    ]
    canonical = [
        s.ranking,
        s.year,
        s.group_code,
        _num(s.max_score),
        s.unit_count,
        s.band_scheme,
        s.source,
        rows,
    ]
    # no cycle check: every list here is built just above and none can hold itself
    # (one dict insert and delete fewer for each row)
    text = json.dumps(canonical, ensure_ascii=False, separators=(",", ":"), check_circular=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_digest(slices: Sequence[NewSlice]) -> str:
    """One digest for a whole dataset: its slices' digests, in slice order.
    Equal exactly when every slice's content is."""
    keyed = sorted((s.ranking, s.year, s.group_code, slice_digest(s)) for s in slices)
    text = "\n".join(" ".join(map(str, k)) for k in keyed)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# A valid row of a slice: its NewScore (when the file gives no rank: rank 0 and
# rank_official False, then the rank _build_slice works out from the scores), the row
# it came from, its maximum and unit count. A tuple: a file's every row is one, and a
# tuple is the cheapest to build.
_Parsed = tuple[NewScore, RawRow, Decimal, int | None]


def _spellings(values: Sequence[object]) -> set[str]:
    """The distinct texts of `values`: one str() when they are all one object, as
    a group's maximum or unit count is (a cell's text is read once a file)."""
    if values and all(map(operator.is_, values, repeat(values[0]))):
        return {str(values[0])}
    return set(map(str, values))


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

    def err(code: str, row: RawRow, key: str, **params: ParamValue) -> None:
        errors.append(Problem(code, row=row.number, column=letters.get(key), params=params))

    def warn(code: str, row: RawRow, key: str, **params: ParamValue) -> None:
        warnings.append(
            Problem(
                code, severity="warning", row=row.number, column=letters.get(key), params=params
            )
        )

    where: dict[str, ParamValue] = {"group": catalog.groups[group].name_vi, "year": year}
    counts = [count for _, _, _, count in rows if count is not None]
    for values, key in (
        (_spellings([maximum for _, _, maximum, _ in rows]), "diem_toi_da"),
        (_spellings(counts), "so_don_vi"),
    ):
        if len(values) > 1:
            err(
                "inconsistent_in_group",
                rows[-1][1],
                key,
                **where,
                values=" / ".join(sorted(values)),
            )
            return None
    max_score = rows[0][2]
    unit_count = counts[0] if counts else len(rows)
    if len(rows) > unit_count:
        err("too_many_units", rows[-1][1], "so_don_vi", **where, rows=len(rows), count=unit_count)
        return None
    seen: dict[str, RawRow] = {}
    for new, row, _, _ in rows:
        if new.name_key in seen:
            err("duplicate_unit", row, "don_vi", name=new.name, first=seen[new.name_key].number)
            return None
        seen[new.name_key] = row
    unranked = [row for new, row, _, _ in rows if not new.rank_official]
    if unranked:
        # Without the source's rank we may rank from scores only when every unit
        # of the group is listed: a partial list hides who else is above.
        if len(rows) < unit_count:
            for row in unranked:
                err("rank_needed", row, "hang", rows=len(rows), count=unit_count)
            return None
        scores = [new.score for new, _, _, _ in rows]
        if any(s is None for s in scores):
            err("rank_needed_no_score", unranked[0], "hang")
            return None
        for (new, _, _, _), rank in zip(
            rows, competition_ranks([s for s in scores if s is not None]), strict=True
        ):
            if not new.rank_official:
                new.rank = rank
    ordered = sorted(rows, key=_by_rank)
    if len(rows) < unit_count:
        warnings.append(
            Problem(
                "group_incomplete",
                severity="warning",
                row=rows[0][1].number,
                column=letters.get("so_don_vi"),
                params={**where, "rows": len(rows), "count": unit_count},
            )
        )
    # A better (smaller) rank never has a lower score than a worse one, and one
    # rank is one score. The source may still say so: warn, keep what it says.
    lowest_better: Decimal | None = None  # lowest score among strictly better ranks
    lowest_here: Decimal | None = None
    previous: int | None = None
    first_at_rank: dict[int, NewScore] = {}
    # the walk below, row by row, only when _in_order cannot say it finds nothing
    for new, row, _, _ in () if _in_order(ordered, unit_count) else ordered:
        rank = new.rank
        if rank > unit_count:
            err("rank_above_count", row, "hang", rank=rank, count=unit_count)
            return None
        if rank != previous:
            if lowest_here is not None:
                lowest_better = (
                    lowest_here if lowest_better is None else min(lowest_better, lowest_here)
                )
            lowest_here, previous = None, rank
        score = new.score
        if score is None or not new.rank_official:
            continue
        if lowest_better is not None and score > lowest_better:
            warn(
                "rank_contradicts_score", row, "hang", rank=rank, score=score, lower=lowest_better
            )
        tied = first_at_rank.setdefault(rank, new)
        if tied is not new and tied.score != score:
            warn(
                "tie_unequal_scores",
                row,
                "hang",
                rank=rank,
                name=new.name,
                score=score,
                other=tied.name,
                other_score=tied.score or Decimal(0),
            )
        lowest_here = score if lowest_here is None else min(lowest_here, score)
    levels = catalog.levels(ranking)
    # most files give no level: then no row loop
    if levels and any(map(_published_level, map(_new_score, rows))):
        for new, row, _, _ in ordered:
            if new.published_level and new.score is not None:
                by_rules = level_for(new.score, max_score, levels)
                if match_level(new.published_level, levels) != by_rules:
                    warn(
                        "level_mismatch",
                        row,
                        "muc",
                        name=new.name,
                        published=new.published_level,
                        by_rules=by_rules.name_vi if by_rules else "",
                    )
    return NewSlice(
        ranking=ranking,
        year=year,
        group_code=group,
        max_score=max_score,
        unit_count=unit_count,
        band_scheme=catalog.rankings[ranking].band_scheme,
        # the slice's source is what most rows cite; each row keeps its own
        source=Counter(new.source for new, _, _, _ in rows).most_common(1)[0][0],
        rows=[new for new, _, _, _ in ordered],
    )


def _by_rank(parsed: _Parsed) -> int:
    return parsed[0].rank


_rank_of, _score_of = operator.attrgetter("rank"), operator.attrgetter("score")
_new_score, _published_level = operator.itemgetter(0), operator.attrgetter("published_level")


def _in_order(ordered: list[_Parsed], unit_count: int) -> bool:
    """Whether the rank checks of _build_slice find nothing in the slice's rows
    (by rank), seen in C loops: every row scored, scores falling as ranks rise,
    one score a rank (ties alike), no rank above the unit count. A file's usual
    slice is so; then no row needs the rank by rank loop."""
    news = list(map(_new_score, ordered))
    ranks, scores = list(map(_rank_of, news)), list(map(_score_of, news))
    return (
        # by identity: Decimal == None asks numbers.Rational (an ABC) on every row
        not any(map(operator.is_, scores, repeat(None)))
        and (not ranks or ranks[-1] <= unit_count)  # the rows are by rank
        and all(map(operator.ge, scores, scores[1:]))
        # two rows of one rank have one score: equal ranks imply equal scores
        and all(
            map(
                operator.le,
                map(operator.eq, ranks, ranks[1:]),
                map(operator.eq, scores, scores[1:]),
            )
        )
    )


def read_and_validate(data: bytes, file_name: str, catalog: Catalog) -> Dataset:
    """Bytes to validated slices (or a reorganisation file's links); ReadProblem or
    ImportFailed on bad input."""
    # one pause for both, and the raw cells dropped inside it: no collection walks them
    with collection_paused():
        table = read_table(data, file_name)
        if is_lineage(table):
            lineage = validate_lineage(table, catalog)
            dataset = Dataset(
                slices=[],
                warnings=lineage.warnings,
                rows=lineage.rows,
                content_digest=lineage.content_digest,
                links=lineage.links,
            )
        else:
            dataset = validate(table, catalog)
        del table
    return dataset
