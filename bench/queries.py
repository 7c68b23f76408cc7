"""Section 2: query + render cost inside the process at 1k, 10k, 100k and 1M rows.

Each query goes through `bot.answers.Answers` exactly as `python -m bot ask`
(and every Telegram handler) calls it: parse, query the store, render HTML.

Per size, in a fresh event loop with a fresh store, and with the process-wide
caches (number formatting, level-name folding) emptied, so no size inherits
another's warm caches:
- "cold": the first query after opening the store (it builds the caches of the
  data version: slices; the unit index is built by the first lookup, in the cold
  figure of the first type that looks a unit up) and the first /muc of a year (its
  level counts); then, per query type, its first call (cold for that type);
- "warm": p50 / p99 / p99.9 over SAMPLES calls per type with rotating
  arguments (40 units, every year and group), after one call of each argument;
  the bot keeps pages, cards, level counts and rendered replies per data version,
  so a warm call of those types is served from what it kept; the replies kept by
  the very words asked are dropped before each call (`Answers.forget_asked`), so
  every warm call reads its words, finds its unit or group and renders or copies
  what was kept, as the same question in other words does;
- "asked again": SAMPLES more calls with nothing dropped: the same words asked
  again are answered from the reply kept for them (a lookup and a copy);
- "first ask": up to SAMPLES more calls (at most FIRST_ASK_BUDGET_S seconds of
  them) with those kept answers dropped before each
  (`Answers.forget_answers`; the data version's slices and unit index stay): what
  a question costs the first time it is asked of this data;
- round trips: the hops one warm call of each type makes to aiosqlite's thread,
  counted at the connection (bench/trips.py).
The typo path switches algorithm above `ranking.lookup.SIMILAR_SCAN_LIMIT`
names (a similarity scan of every name below, of the names sharing all words
but one above): its row is split by the algorithm used at each size.

    .venv/bin/python -m bench.queries [--smoke] [--repeats N]
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import bot.i18n
import bot.render
import ranking.bands
from bench.common import JSON, Options, command, median, ms, options, percentile, save
from bench.datagen import LAST_YEAR, Shape, label, store_path, unit_name
from bench.trips import counting_trips
from bot.answers import Answers
from bot.i18n import Translator
from bot.parsing import parse_callback
from bot.reply import Reply
from ranking.catalog import load_catalog
from ranking.lookup import SIMILAR_SCAN_LIMIT
from ranking.queries import Rankings
from ranking.store import Store

SIZES = (1_000, 10_000, 100_000, 1_000_000)
SMOKE_SIZES = (1_000, 10_000)
GOAL_P99_MS = 2.0
GOAL_COLD_MS = 1000.0
SAMPLES = 2000  # warm calls per query type: p99.9 is the 2nd-largest of them
SMOKE_SAMPLES = 50
# First asks of a type and size stop at SAMPLES calls or after this long: a first /muc
# at 1M rows counts whole groups (≈ 0.6 s), and 2,000 of them would take 20 minutes.
# The table says how many calls each figure is of.
FIRST_ASK_BUDGET_S = 2.0
SAMPLE_UNITS = 40
TYPO = "typo (did you mean)"

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


def clear_process_caches() -> None:
    """The caches that outlive a store: a size must not start warm from the last."""
    bot.i18n._format_number.cache_clear()
    bot.i18n._format_day.cache_clear()
    bot.render._published_days.cache_clear()
    ranking.bands._folded.cache_clear()


def typo_algorithm(rankings: Rankings) -> str:
    index = rankings._index
    assert index is not None
    return "every name" if len(index) <= SIMILAR_SCAN_LIMIT else "all words but one"


async def measure_size(rows: int, opts: Options) -> JSON:
    path: Path = store_path(rows)
    shape = Shape(rows)
    clear_process_caches()
    samples = SMOKE_SAMPLES if opts.smoke else SAMPLES
    store = await Store.open(path)
    try:
        answers = Answers(Rankings(store, load_catalog()))
        started = time.perf_counter()
        await answers.to_text("/top", lang="vi")
        cold = time.perf_counter() - started
        started = time.perf_counter()
        await answers.to_text(f"/muc {LAST_YEAR}", lang="vi")
        cold_levels = time.perf_counter() - started
        result: JSON = {
            "cold_first_query_ms": ms(cold),
            "cold_levels_ms": ms(cold_levels),
            "types": {},
        }
        for name, query in query_types(answers, shape).items():
            started = time.perf_counter()
            await query(0)
            first = time.perf_counter() - started
            for i in range(1, SAMPLE_UNITS):
                await query(i)  # warm-up: every rotated argument once
            answers.forget_asked()
            with counting_trips() as trips:
                await query(0)
            times: list[float] = []
            for i in range(samples):
                answers.forget_asked()
                t0 = time.perf_counter()
                await query(i)
                times.append(time.perf_counter() - t0)
            for i in range(SAMPLE_UNITS):
                await query(i)  # each rotated argument's words asked once more, kept
            again: list[float] = []
            for i in range(samples):
                t0 = time.perf_counter()
                await query(i)
                again.append(time.perf_counter() - t0)
            with counting_trips() as first_trips:
                answers.forget_answers()
                await query(0)
            asked: list[float] = []
            budget_end = time.perf_counter() + FIRST_ASK_BUDGET_S
            for i in range(samples):
                answers.forget_answers()
                t0 = time.perf_counter()
                await query(i)
                asked.append(time.perf_counter() - t0)
                if t0 > budget_end:
                    break
            result["types"][name] = {
                "cold_ms": ms(first),
                "p50_ms": ms(percentile(times, 50)),
                "p99_ms": ms(percentile(times, 99)),
                "p999_ms": ms(percentile(times, 99.9)),
                "calls": len(times),
                "trips": trips.count,
                "again_p50_ms": ms(percentile(again, 50)),
                "again_p99_ms": ms(percentile(again, 99)),
                "again_p999_ms": ms(percentile(again, 99.9)),
                "first_p50_ms": ms(percentile(asked, 50)),
                "first_p99_ms": ms(percentile(asked, 99)),
                "first_p999_ms": ms(percentile(asked, 99.9)),
                "first_trips": first_trips.count,
                "first_calls": len(asked),
            }
        result["typo_algorithm"] = typo_algorithm(answers.rankings)  # built by a lookup
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
            "typo_algorithm": results[0]["typo_algorithm"],
            "types": {
                t: {
                    k: round(median([r["types"][t][k] for r in results]), 3)
                    for k in (
                        "cold_ms",
                        "p50_ms",
                        "p99_ms",
                        "p999_ms",
                        "calls",
                        "trips",
                        "again_p50_ms",
                        "again_p99_ms",
                        "again_p999_ms",
                        "first_p50_ms",
                        "first_p99_ms",
                        "first_p999_ms",
                        "first_trips",
                        "first_calls",
                    )
                }
                for t in types
            },
        }
    first, last = label(sizes[0]), label(sizes[-1])
    flatness = {
        t: round(summary[last]["types"][t]["p99_ms"] / summary[first]["types"][t]["p99_ms"], 2)
        for t in summary[first]["types"]
    }
    worst = max(summary[last]["types"].items(), key=lambda kv: kv[1]["p99_ms"])
    worst_first = max(summary[last]["types"].items(), key=lambda kv: kv[1]["first_p99_ms"])
    return {
        "command": command("bench.queries", opts),
        "repeats": opts.repeats,
        "goal": f"every query type p99 ≤ {GOAL_P99_MS} ms at 1M rows; the cold first query"
        f" after opening 1M rows < {GOAL_COLD_MS:.0f} ms",
        "samples": SMOKE_SAMPLES if opts.smoke else SAMPLES,
        "sizes": summary,
        "flatness_p99": flatness,
        "worst_p99_ms_largest": worst[1]["p99_ms"],
        "worst_type_largest": worst[0],
        "worst_first_p99_ms_largest": worst_first[1]["first_p99_ms"],
        "worst_first_type_largest": worst_first[0],
    }


def print_table(data: JSON) -> None:
    sizes = list(data["sizes"])
    print(
        "query type".ljust(22) + "".join(f"{s + ' p50/p99/p99.9':>26}" for s in sizes) + " trips"
    )
    # the three tables, by the prefix of their figures' keys: warm, asked again, first ask
    for title, prefix, trips in (("", "", "trips"), ("asked again", "again_", None),
                                 ("first ask", "first_", "first_trips")):  # fmt: skip
        if title:
            print(title.ljust(22))
        for t in data["sizes"][sizes[0]]["types"]:
            figures = [data["sizes"][s]["types"][t] for s in sizes]
            cells = "".join(
                f"{f[prefix + 'p50_ms']:>8.2f}/{f[prefix + 'p99_ms']:<7.2f}"
                f"/{f[prefix + 'p999_ms']:<8.2f} "
                for f in figures
            )
            print(f"{t[:22]:22}{cells}" + (f"  {figures[-1][trips]}" if trips else ""))
    print(
        "typo algorithm".ljust(22)
        + "".join(f"{data['sizes'][s]['typo_algorithm']:>26}" for s in sizes)
    )
    print(
        "cold /muc".ljust(22)
        + "".join(f"{data['sizes'][s]['cold_levels_ms']:>25.1f} " for s in sizes)
    )
    print(
        "cold".ljust(22)
        + "".join(f"{data['sizes'][s]['cold_first_query_ms']:>25.1f} " for s in sizes)
    )


def main() -> None:
    opts = options(__doc__.split("\n", 1)[0] if __doc__ else "", default_repeats=3)
    data = run(opts)
    print_table(data)
    if not opts.smoke:
        save("queries", data)


if __name__ == "__main__":
    main()
