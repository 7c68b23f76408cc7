"""A reorganisation file: which units became which, from when.

One row per old unit → new unit (columns Từ ngày `tu_ngay`, Đơn vị mới `don_vi_moi`,
Đơn vị cũ `don_vi_cu`, Căn cứ `can_cu`; optional Bảng xếp hạng `bang`), so a merge
is several rows with one new unit, a split several rows with one old unit, a rename
one row; an unchanged unit may map to itself (the 2025 provinces file lists all 63).
Pure: names become units when the file is published (ranking/publishing.py), where
a file without a Bảng column is read in the ranking whose units its names are.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date

from ranking.catalog import Catalog
from ranking.problems import ImportFailed, Problem
from ranking.reader import TEMPLATE_NAMES, RawRow, RawTable
from ranking.store import NewLink
from ranking.text import expand, nfc

LINEAGE_KEYS = frozenset({"don_vi_moi", "don_vi_cu"})
REQUIRED = ("tu_ngay", "don_vi_moi", "don_vi_cu", "can_cu")
_VN_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


@dataclass
class Lineage:
    links: list[NewLink]
    rows: int
    warnings: list[Problem] = field(default_factory=list)
    content_digest: str = ""


def is_lineage(table: RawTable) -> bool:
    """A table whose header names old and new units."""
    return table.columns.keys() >= LINEAGE_KEYS


def parse_date(text: str) -> date | None:
    """ "2025-07-01", "01/7/2025" (as officials write it), a spreadsheet date as text."""
    text = text.strip().split(" ")[0].split("T")[0]
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    if m := _VN_DATE.match(text):
        day, month, year = (int(g) for g in m.groups())
        try:
            return date(year, month, day)
        except ValueError:
            return None
    return None


def _cell(row: RawRow, key: str) -> str | None:
    value = row.get(key)
    text = nfc(str(value)).strip() if value is not None else ""
    return text or None


def validate_lineage(table: RawTable, catalog: Catalog) -> Lineage:
    """The links of a reorganisation table, or ImportFailed naming every problem by
    row and column, as the template writes the column."""
    errors: list[Problem] = []
    letters = table.column_letters
    for key in REQUIRED:
        if key not in table.columns:
            errors.append(
                Problem("lineage_missing_column", params={"column": TEMPLATE_NAMES[key]})
            )
    links: list[NewLink] = []
    seen: set[tuple[str, str, str]] = set()
    for row in table.rows:
        values = {key: _cell(row, key) for key in (*REQUIRED, "bang")}
        if not any(values[key] for key in REQUIRED):
            continue
        for key in REQUIRED:
            if values[key] is None and key in table.columns:
                errors.append(
                    Problem(
                        "lineage_empty",
                        row=row.number,
                        column=letters.get(key),
                        params={"column": TEMPLATE_NAMES[key]},
                    )
                )
        when_text = values["tu_ngay"]
        when = parse_date(when_text) if when_text else None
        if when_text is not None and when is None:
            errors.append(
                Problem(
                    "lineage_bad_date",
                    row=row.number,
                    column=letters.get("tu_ngay"),
                    params={"value": when_text, "column": TEMPLATE_NAMES["tu_ngay"]},
                )
            )
        ranking = ""
        if values["bang"]:
            found = catalog.find_ranking(values["bang"])
            if found is None:
                errors.append(
                    Problem(
                        "unknown_ranking",
                        row=row.number,
                        column=letters.get("bang"),
                        params={"value": values["bang"], "known": ", ".join(catalog.rankings)},
                    )
                )
            else:
                ranking = found.code
        new, old, source = values["don_vi_moi"], values["don_vi_cu"], values["can_cu"]
        if new is None or old is None or when is None or source is None:
            continue
        pair = (ranking, expand(old), expand(new))
        if pair in seen:
            continue  # the same pair twice says nothing more
        seen.add(pair)
        links.append(
            NewLink(
                ranking=ranking,  # "": the ranking whose units the names are (publishing)
                from_date=when.isoformat(),
                old_name=old,
                old_key=expand(old),
                new_name=new,
                new_key=expand(new),
                source=source,
                source_row=row.number,
            )
        )
    if not errors and not links:
        errors.append(Problem("lineage_no_rows"))
    if errors:
        raise ImportFailed(errors)
    canonical = sorted(
        f"{lk.ranking}|{lk.from_date}|{lk.old_key}|{lk.new_key}|{lk.source}" for lk in links
    )
    digest = hashlib.sha256("\n".join(canonical).encode()).hexdigest()
    return Lineage(links=links, rows=len(links), content_digest=digest)
