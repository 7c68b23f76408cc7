"""Section 2: query + render cost inside the process at 1k, 10k, 100k and 1M rows.

Each query goes through `bot.answers.Answers` exactly as `python -m bot ask`
(and every Telegram handler) calls it: parse, query the store, render HTML.
Per query type: p50 and p99 over many calls with rotating arguments, after a
warm-up; each figure is the median over `--repeats` runs. "cold" is the first
query after opening the store (it fills the per-data-version caches: slices and
the unit index) and the first /muc of a year (its level counts, cached per
data version); the warm figures come after a warm-up that calls every type
with every rotated argument once.

    .venv/bin/python -m bench.queries [--smoke] [--repeats N]
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.common import JSON, Options, command, median, ms, options, percentile, save
from bench.datagen import LAST_YEAR, Shape, label, store_path, unit_name
from bot.answers import Answers
from bot.i18n import Translator
from bot.parsing import parse_callback
from bot.reply import Reply
from ranking.catalog import load_catalog
from ranking.queries import Rankings
from ranking.store import Store

SIZES = (1_000, 10_000, 100_000, 1_000_000)
SMOKE_SIZES = (1_000, 10_000)
GOAL_P99_MS = 5.0
SAMPLE_UNITS = 40

Query = Callable[[int], Awaitable[Reply | None]]


def query_types(answers: Answers, shape: Shape) -> dict[str, Query]:
    """Each query type → a call taking an iteration number (to rotate arguments)."""
    years = shape.year_list
    step = max(1, shape.units // SAMPLE_UNITS)
    names = [unit_name(i) for i in range(0, shape.units, step)][:SAMPLE_UNITS]
    t = Translator("vi")

    def text(make: Callable[[int], str]) -> Query:
        return lambda i: answers.to_text(make(i), lang="vi", user_id=1)

    def button(make: Callable[[int], str]) -> Query:
        async def call(i: int) -> Reply | None:
            parsed = parse_callback(make(i), answers.catalog)
            assert parsed is not None
            return await answers.to_parsed(parsed, lang="vi", user_id=1)

        return call

    ids: list[int] = []

    async def unit_id(i: int) -> Reply | None:
        if not ids:
            for name in names:
                found = await answers.rankings.find_units(name)
                ids.append(found.matches[0].unit_id)
        return await answers.unit_by_id(ids[i % len(ids)], t)

    def words(i: int) -> str:
        parts = names[i % len(names)].split()
        return " ".join(parts[-2:]).lower()  # two trailing syllables: several units

    def typo(i: int) -> str:
        name = names[i % len(names)]
        return name[:-1] + ("x" if not name.endswith("x") else "y")

    groups = ("tthc", "khong-tthc", "huyen")
    return {
        "/top group year": text(lambda i: f"/top 10 {groups[i % 3]} {years[i % len(years)]}"),
        "/top (all groups)": text(lambda i: "/top"),
        "/cuoi group": text(lambda i: f"/cuoi 10 {groups[i % 3]}"),
        "page button": button(lambda i: f"r:t:cds:{groups[i % 3]}:{LAST_YEAR}:100:{i % 5 + 1}"),
        "/donvi exact name": text(lambda i: f"/donvi {names[i % len(names)]}"),
        "unit card button": unit_id,
        "plain text words": text(words),
        "typo (did you mean)": text(typo),
        "unknown name": text(lambda i: f"zzq{i % 7} kwx"),
        "/muc year": text(lambda i: f"/muc {years[i % len(years)]}"),
        "/nam": text(lambda i: "/nam"),
        "/nhom": text(lambda i: "/nhom"),
    }


async def measure_size(rows: int, opts: Options) -> JSON:
    path: Path = store_path(rows)
    shape = Shape(rows)
    store = await Store.open(path)
    try:
        answers = Answers(Rankings(store, load_catalog()))
        started = time.perf_counter()
        await answers.to_text("/top", lang="vi")
        cold = time.perf_counter() - started
        started = time.perf_counter()
        await answers.to_text(f"/muc {LAST_YEAR}", lang="vi")
        cold_levels = time.perf_counter() - started
        budget = 0.15 if opts.smoke else 1.0  # seconds of calls per query type and run
        result: JSON = {
            "cold_first_query_ms": ms(cold),
            "cold_levels_ms": ms(cold_levels),
            "types": {},
        }
        for name, query in query_types(answers, shape).items():
            for i in range(10):
                await query(i)  # warm-up: every rotated argument once (fills caches)
            times: list[float] = []
            deadline = time.perf_counter() + budget
            i = 0
            while (time.perf_counter() < deadline or len(times) < 20) and len(times) < 2000:
                t0 = time.perf_counter()
                await query(i)
                times.append(time.perf_counter() - t0)
                i += 1
            result["types"][name] = {
                "p50_ms": ms(percentile(times, 50)),
                "p99_ms": ms(percentile(times, 99)),
                "calls": len(times),
            }
        return result
    finally:
        await store.close()


def run(opts: Options) -> JSON:
    sizes = SMOKE_SIZES if opts.smoke else SIZES
    for rows in sizes:
        store_path(rows)  # build before timing anything
    runs: dict[str, list[JSON]] = {label(r): [] for r in sizes}
    for _ in range(opts.repeats):
        for rows in sizes:
            runs[label(rows)].append(asyncio.run(measure_size(rows, opts)))
    summary: JSON = {}
    for size, results in runs.items():
        types = results[0]["types"].keys()
        summary[size] = {
            "cold_first_query_ms": round(median([r["cold_first_query_ms"] for r in results]), 3),
            "cold_levels_ms": round(median([r["cold_levels_ms"] for r in results]), 3),
            "types": {
                t: {
                    k: round(median([r["types"][t][k] for r in results]), 3)
                    for k in ("p50_ms", "p99_ms")
                }
                for t in types
            },
        }
    first, last = label(sizes[0]), label(sizes[-1])
    flatness = {
        t: round(summary[last]["types"][t]["p99_ms"] / summary[first]["types"][t]["p99_ms"], 2)
        for t in summary[first]["types"]
    }
    return {
        "command": command("bench.queries", opts),
        "repeats": opts.repeats,
        "goal": f"p99 ≤ {GOAL_P99_MS} ms at 1M rows; p99 at {last} within 2× of {first}",
        "sizes": summary,
        "flatness_p99": flatness,
        "worst_p99_ms_largest": max(v["p99_ms"] for v in summary[last]["types"].values()),
    }


def print_table(data: JSON) -> None:
    sizes = list(data["sizes"])
    print("query type".ljust(22) + "".join(f"{s:>18}" for s in sizes) + "   ratio")
    for t in data["sizes"][sizes[0]]["types"]:
        figures = [data["sizes"][s]["types"][t] for s in sizes]
        cells = "".join(f"{f['p50_ms']:>8.2f}/{f['p99_ms']:<8.2f} " for f in figures)
        print(f"{t:22}{cells}  {data['flatness_p99'][t]}×")
    print(
        "cold /muc".ljust(22)
        + "".join(f"{data['sizes'][s]['cold_levels_ms']:>17.1f} " for s in sizes)
    )
    print(
        "cold".ljust(22)
        + "".join(f"{data['sizes'][s]['cold_first_query_ms']:>17.1f} " for s in sizes)
    )


def main() -> None:
    opts = options(__doc__.split("\n", 1)[0] if __doc__ else "", default_repeats=3)
    data = run(opts)
    print_table(data)
    if not opts.smoke:
        save("queries", data)


if __name__ == "__main__":
    main()
