"""Synthetic ranking data: `years` × `units` score rows, cached under bench/.cache.

Two shapes, one generator:
- a store (SQLite file) written through `Store.commit_version`, one version per
  year, as an import would write it: `python -m bench.datagen --rows 1000000`;
- an upload file (CSV or XLSX) in the format of `ranking.export.HEADERS`, for
  the import benchmark: `python -m bench.datagen --rows 100000 --csv --xlsx`.

Ten years (2015–2024) at every size, so a unit's card and the year lists stay
the same size and only the data volume grows: 1k rows = 100 units a year,
1M rows = 100,000 units a year, split over the three provincial groups.
Names are Vietnamese-looking words (prefix + three syllables), unique after
folding, so lookups do real word matching. Scores are exact Decimals.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from bench.common import CACHE
from ranking.catalog import Catalog, load_catalog
from ranking.export import HEADERS, Cell, to_csv, to_xlsx
from ranking.ranks import competition_ranks
from ranking.store import NewScore, NewSlice, Store
from ranking.text import expand, fold

YEARS = 10
LAST_YEAR = 2024
GROUPS = (("tthc", Decimal(1000)), ("khong-tthc", Decimal(800)), ("huyen", Decimal(1000)))
SOURCE = "QĐ 999/QĐ-UBND ngày 1/4/{year} (dữ liệu thử)"
PREFIXES = ("Xã", "Phường", "Thị trấn", "Sở", "Ban", "Trung tâm", "Phòng", "Trường")
_SYLLABLES = (
    "Bắc",
    "Nam",
    "Đông",
    "Tây",
    "Hà",
    "Sơn",
    "Lâm",
    "Phú",
    "Yên",
    "Tân",
    "Bình",
    "An",
    "Hòa",
    "Thành",
    "Long",
    "Mỹ",
    "Thịnh",
    "Hưng",
    "Quang",
    "Minh",
    "Tiến",
    "Phong",
    "Thủy",
    "Trung",
    "Cao",
    "Vạn",
    "Kim",
    "Ngọc",
    "Lương",
    "Mường",
    "Khương",
    "Sa",
    "Pa",
    "Bảo",
    "Văn",
    "Than",
    "Xuân",
    "Lộc",
    "Thượng",
    "Hạ",
    "Lục",
    "Cốc",
    "Nậm",
    "Tả",
    "Phìn",
    "Chải",
    "Lùng",
    "Sín",
    "Hồ",
    "Pha",
    "Tòng",
    "Cán",
    "Giàng",
    "Dền",
    "Thèn",
)


def _distinct_syllables() -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for s in _SYLLABLES:
        seen.setdefault(fold(s), s)
    return tuple(seen.values())


SYLLABLES = _distinct_syllables()


def unit_name(index: int) -> str:
    """A unique, deterministic unit name for `index` (unique after folding)."""
    prefix = PREFIXES[index % len(PREFIXES)]
    rest = index // len(PREFIXES)
    n = len(SYLLABLES)
    extra, rest = divmod(rest, n * n * n)
    rest = rest * 7919 % (n * n * n)  # a permutation: neighbours share no syllable
    words = [SYLLABLES[rest % n], SYLLABLES[(rest // n) % n], SYLLABLES[(rest // n // n) % n]]
    name = f"{prefix} {' '.join(words)}"
    return f"{name} {extra + 1}" if extra else name


@dataclass(frozen=True)
class Shape:
    rows: int
    years: int = YEARS

    @property
    def units(self) -> int:
        return max(3, self.rows // self.years)

    @property
    def year_list(self) -> list[int]:
        return list(range(LAST_YEAR - self.years + 1, LAST_YEAR + 1))


@dataclass(frozen=True)
class Row:
    year: int
    group: str
    max_score: Decimal
    rank: int
    unit_count: int
    name: str
    score: Decimal


def rows_of_year(shape: Shape, year: int) -> Iterator[list[Row]]:
    """One list per group, in rank order (1, 2, 2, 4 on ties)."""
    for g, (group, max_score) in enumerate(GROUPS):
        names = [unit_name(i) for i in range(g, shape.units, len(GROUPS))]
        rng = random.Random(f"{year}-{group}")
        low, high = int(max_score * 10), int(max_score * 95)  # 10 %..95 %, in hundredths
        scores = sorted(
            (Decimal(rng.randint(low, high)) / 100 for _ in names),
            reverse=True,
        )
        order = list(range(len(names)))
        rng.shuffle(order)
        ranks = competition_ranks(scores)
        yield [
            Row(year, group, max_score, rank, len(names), names[i], score)
            for i, score, rank in zip(order, scores, ranks, strict=True)
        ]


def new_slices(shape: Shape, year: int, catalog: Catalog) -> list[NewSlice]:
    slices = []
    for rows in rows_of_year(shape, year):
        first = rows[0]
        slices.append(
            NewSlice(
                ranking="cds",
                year=year,
                group_code=first.group,
                max_score=first.max_score,
                unit_count=first.unit_count,
                band_scheme=catalog.rankings["cds"].band_scheme,
                source=SOURCE.format(year=year),
                rows=[
                    NewScore(
                        name=r.name,
                        name_key=expand(r.name),
                        score=r.score,
                        rank=r.rank,
                        rank_official=True,
                        published_level=None,
                        note=None,
                        components={},
                        source=SOURCE.format(year=year),
                        source_row=None,
                    )
                    for r in rows
                ],
            )
        )
    return slices


def label(rows: int) -> str:
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if rows >= size and rows % size == 0:
            return f"{rows // size}{unit}"
    return str(rows)


async def build_store(shape: Shape, path: Path) -> None:
    catalog = load_catalog()
    store = await Store.open(path)
    try:
        for year in shape.year_list:
            await store.scores.commit_version(
                new_slices(shape, year, catalog),
                file_name=f"synthetic-{year}.csv",
                sha256=f"synthetic-{shape.rows}-{year}",
                uploaded_by=None,
            )
    finally:
        await store.close()


def store_path(rows: int) -> Path:
    """The cached store with `rows` synthetic rows, built on first use."""
    path = CACHE / f"store-{label(rows)}.sqlite3"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        for leftover in CACHE.glob(partial.name + "*"):
            leftover.unlink()
        started = time.perf_counter()
        asyncio.run(build_store(Shape(rows), partial))
        for suffix in ("-wal", "-shm"):
            Path(str(partial) + suffix).unlink(missing_ok=True)
        partial.rename(path)
        print(f"built {path.name} in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def copy_store(rows: int, to: Path) -> Path:
    """A private copy of the cached store (a run may write to it)."""
    shutil.copyfile(store_path(rows), to)
    return to


def upload_rows(shape: Shape, catalog: Catalog) -> list[list[Cell]]:
    out: list[list[Cell]] = []
    for year in shape.year_list:
        for rows in rows_of_year(shape, year):
            group = catalog.groups[rows[0].group].name_vi
            for r in rows:
                out.append(
                    [
                        r.year,
                        "cds",
                        group,
                        r.rank,
                        r.name,
                        r.score,
                        r.max_score,
                        None,
                        r.unit_count,
                        SOURCE.format(year=year),
                        None,
                    ]
                )
    return out


def upload_file(rows: int, kind: str) -> Path:
    """The cached upload file (`kind` "csv" or "xlsx") with `rows` rows."""
    assert kind in ("csv", "xlsx")
    path = CACHE / f"upload-{label(rows)}.{kind}"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        data_rows = upload_rows(Shape(rows), load_catalog())
        data = to_csv(HEADERS, data_rows) if kind == "csv" else to_xlsx(HEADERS, data_rows)
        path.with_suffix(".partial").write_bytes(data)
        path.with_suffix(".partial").rename(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else "")
    parser.add_argument("--rows", type=int, nargs="+", default=[1000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--csv", action="store_true", help="an upload CSV instead of a store")
    parser.add_argument("--xlsx", action="store_true", help="an upload XLSX instead of a store")
    args = parser.parse_args()
    for rows in args.rows:
        if args.csv or args.xlsx:
            for kind in ("csv", "xlsx"):
                if getattr(args, kind):
                    print(upload_file(rows, kind))
        else:
            print(store_path(rows))


if __name__ == "__main__":
    main()
