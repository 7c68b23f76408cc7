"""Write BENCHMARKS.md from bench/results/*.json (the figures) and the notes below
(what limits each figure and what the profiler showed: analysis, kept by hand)."""

from __future__ import annotations

from bench.common import JSON, ROOT, load

NOTES: dict[str, str] = {
    "queries": """\
**Profile (pyinstrument, before):** at 1M rows every query type except /nam and /nhom read
whole groups: `Rankings.with_moves` loaded the entire previous-year slice to attach rank
changes to a 10-row page (33,000 records decoded per /top), `Rankings.card` did the same for
every year of a card, `Store.unit_history` recounted every slice's rows (a `COUNT(*)`
subquery per slice) on each card, /muc decoded every record of the year, and `UnitIndex.search`
scanned every unit in Python for each of its four tiers plus difflib's `SequenceMatcher`
against every unit for a name it could not fix.

**Optimisations (ranking/queries.py, ranking/lookup.py, ranking/store.py):**
- `Store.unit_records`: the previous year's rows of just the units on the page (primary-key
  lookups); a card takes the previous years from the unit's own history (no query at all);
- `Store.unit_current_records` + the slices cached per data version replace the per-card
  `COUNT(*)` join (`unit_history` remains the fallback when the cache is behind);
- /muc: level counts read only (score, published level) and are cached per data version;
- `UnitIndex`: exact names in a dict, whole words in posting sets (intersected smallest
  first), prefixes by bisecting the sorted vocabulary; the similarity fallback skips names
  whose character counts cannot reach 0.6 and, above 500 entries, only compares names
  holding all query words but one. Results are identical to the old scans (4,500 random
  queries compared; tests unchanged), except that the similarity fallback of an index above
  500 entries (synthetic data only) may suggest other near names;
- `Rankings._fresh` refreshes once for all concurrent queries (an asyncio.Lock): after an
  import, readers no longer each rebuild the index (found by tests/test_concurrency.py).

**Before → after, p99 at 1M rows** (before: bench/results/queries-before.json, same command
with `--repeats 1`): /top group 556 → 6.2 ms; /top all groups 1,453 → 15; /cuoi 705 → 8.4;
page button 650 → 9.7; /donvi 4,205 → 19.5; card 3,535 → 17.6; plain-text words 80 → 7.6;
typo 11,660 → 66; unknown name 6,754 → 2.8; /muc 2,741 → 4.1 (410 once per year and data
version); cold first query 5,508 → 3,168. p99 1M ÷ 1k went from 57–640× to 0.7–1.1× for
every type except plain-text words and typos (4.1×: their answers, lists of matching units
and the names sharing all words but one, grow with the number of units).

**What limits the figures now:** rendering, not the data; p99 ≤ 5 ms is not met at any
size for the ranking and card replies. `bot/render.py` formats every
number through `babel.numbers.format_decimal` (≈ 0.1 ms a call, three per row), so a 10-row
page costs ≈ 2–3 ms and /top for all three groups ≈ 6–8 ms at *any* size; a card's ten years
≈ 5–8 ms likewise. Each `Rankings` call also checks `PRAGMA data_version` through aiosqlite's
thread (≈ 0.1 ms, 3–4 times a query). "cold" (first query after start or an import: slices and
the unit index over every unit) and "cold /muc" (first level count of a year) grow with the
data: they are paid once per data version.""",
    "imports": """\
**Profile:** `bot/uploads.py:build_preview` dominates: for every row whose name is new it
runs `difflib.get_close_matches(name, every known unit key)`, O(rows × known units); then
`ranking.importer.validate` (per-cell `parse_number`, `expand`, Decimal checks, ≈ 30 µs a
row), reading (csv: ≈ 15 µs a row; XLSX through openpyxl's parser: ≈ 5× the CSV read) and the
commit (`Store.commit_version`, one executemany per slice; ≈ 2× the raw insert, which skips
units, slices and the current pointer).

**Not met for CSV.** The cause is in bot/uploads.py (not mine to edit): the near-name check
should skip names whose key is already known (it does) *and* run once per distinct new key
against an index (e.g. the `UnitIndex` word postings) instead of a linear difflib scan per
row. XLSX adds the openpyxl read on top.""",
    "memory": """\
**Not met.** The interpreter with the Telegram stack *and* matplotlib (imported at start by
bot/charts.py via bot/media.py) and openpyxl (ranking/reader.py) is ≈ 113 MB before any data;
the echo bot is ≈ 46 MB. With 1M rows (100,000 units a year) the per-data-version caches add
the unit index (a `UnitRef`, key, word list and posting-set entries per unit: ≈ 1 KB a unit)
and the transient lists the refresh builds (`units_on_record`'s 100,000 rows, the level counts'
(score, level) pairs): ≈ 170 MB more at the peak. An import holds the whole table three times
at once (raw cells, the parsed rows, the `NewScore` list) plus the preview's texts: ≈ 2.4 KB a
row at 100k rows. Not profiled further (tracemalloc is the next step); the fixes are lazy
imports in bot/ (≈ −60 MB), a unit index keyed by integer ids instead of objects, and a
streaming reader/validator (ranking/reader.py, ranking/importer.py).""",
    "startup": """\
**Profile (`python -X importtime`):** importing `bot.app` takes ≈ 0.8–0.9 s of the start:
matplotlib ≈ 0.55 s (bot/media.py → bot/charts.py import it at module level), openpyxl
≈ 0.25 s (ranking/reader.py, ranking/export.py), python-telegram-bot ≈ 0.15 s. A fresh
database adds the shipped-data import (≈ 0.5 s). The rest: set-up calls (menus, descriptions)
to the Bot API before the first getUpdates.

**Not met** (≈ 1.6 s existing, ≈ 2.0 s fresh). **Recommended (bot/, not mine):** import
matplotlib inside the chart functions and openpyxl inside the XLSX paths; that removes
≈ 0.8 s, well under the goal.""",
    "throughput": """\
**What limits it:** the shipped bot is built with `AIORateLimiter`, which holds *every*
request naming a chat (every reply) to 30 per second overall: Telegram's broadcast limit,
applied to replies too. The echo bot built the same way is held to the same 30/s, and the
two are equal; against the bare echo bot the shipped bot reaches only what the limiter lets
through. Without the limiter (bench/bot_runner.py) the bot's own cost shows: parsing, store
reads through aiosqlite's thread, rendering (babel number formatting, see section 2), and
split_html: ≈ 8.6 ms an update (115/s) against ≈ 4.4 ms (229/s) for the echo bot, whose cost is
mostly PTB and HTTP. Burst latencies are queueing (all N updates wait at once); the paced
figures (20 updates/s) are the per-update latency.

**Recommended (bot/app.py, not mine):** keep the outbox's pacing for broadcasts (it has its
own) and give replies to people the limiter's per-chat behaviour only (`overall_max_rate=0`,
or a limiter that exempts private-chat replies): Telegram's 30/s is a broadcast guideline.""",
    "broadcast": """\
**What limits it:** the outbox paces itself at `OVERALL_PER_SECOND = 25` (bot/announce.py),
deliberately below Telegram's 30/s to leave room for replies to officials sharing the same
budget, and the replies themselves take slots of the shared pace: so 1,000 groups take
≈ 42 s, 1.28× the 33 s floor. Zero 429s and sub-second query
replies are the return for that headroom. Reaching 1.10× would need ≈ 28/s, leaving ≈ 2/s for
replies before the server answers 429.""",
}

SECTION_TITLES = {
    "throughput": "1. End-to-end throughput and latency",
    "queries": "2. Query + render cost by data size",
    "imports": "3. Import of 100,000 rows",
    "broadcast": "4. Broadcast to 1,000 groups",
    "memory": "5. Peak memory (RSS)",
    "startup": "6. Start-up to the first answered update",
}
ORDER = ("throughput", "queries", "imports", "broadcast", "memory", "startup")


def _header(data: JSON) -> list[str]:
    m = data["machine"]
    command = f".venv/bin/python -m bench.{data['section']} --repeats {data['repeats']}"
    return [
        f"- Goal: {data['goal']}",
        f"- Machine: {m['cores']} cores, Python {m['python']}, {m['platform']}; run {m['date']}",
        f"- Command: `{command}` (each figure the median of {data['repeats']} runs)",
        "",
    ]


def _queries(d: JSON) -> list[str]:
    sizes = list(d["sizes"])
    out = ["| query type | " + " | ".join(f"{s} p50 / p99 ms" for s in sizes)]
    out[0] += f" | p99 {sizes[-1]} ÷ {sizes[0]} |"
    out.append("|---" * (len(sizes) + 2) + "|")
    for t in d["sizes"][sizes[0]]["types"]:
        figures = [d["sizes"][s]["types"][t] for s in sizes]
        cells = [f"{f['p50_ms']:.2f} / {f['p99_ms']:.2f}" for f in figures]
        out.append(f"| {t} | " + " | ".join(cells) + f" | {d['flatness_p99'][t]}× |")
    out.append(
        "| cold: first query after opening | "
        + " | ".join(f"{d['sizes'][s]['cold_first_query_ms']:.0f}" for s in sizes)
        + " | |"
    )
    out.append(
        "| cold: first /muc of a year | "
        + " | ".join(f"{d['sizes'][s]['cold_levels_ms']:.0f}" for s in sizes)
        + " | |"
    )
    return out


def _imports(d: JSON) -> list[str]:
    out = [
        "| pipeline | read s | validate s | preview s | commit s | total s | ratio to raw |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind in ("csv", "xlsx"):
        s = d[kind]["stages_s"]
        out.append(
            f"| {kind.upper()} ({d['files'][kind]['bytes'] / 1e6:.1f} MB) | {s['read']} | "
            f"{s['validate']} | {s['preview']} | {s['commit']} | {s['total']} | "
            f"{d[kind]['ratio_to_raw']}× |"
        )
    out.append(
        f"| raw sqlite3 executemany (csv.reader + insert) | | | | | "
        f"{d['raw_executemany_s']} | 1× |"
    )
    return out


def _memory(d: JSON) -> list[str]:
    out = ["| process | peak RSS MB | goal met |", "|---|---|---|"]
    for k, v in d["peak_rss_mb"].items():
        met = "yes" if v <= 150 else "no"
        out.append(f"| {k} | {v} | {met if 'baseline' not in k else '—'} |")
    return out


def _startup(d: JSON) -> list[str]:
    out = ["| variant | median s | min–max s | ratio to echo |", "|---|---|---|---|"]
    for k, v in d["variants"].items():
        out.append(
            f"| {k} | {v['median_s']} | {v['min_s']}–{v['max_s']} | {v['ratio_to_echo']}× |"
        )
    return out


def _throughput(d: JSON) -> list[str]:
    out = [
        "| variant | burst updates | answered/s | burst p50/p95/p99 ms | "
        f"paced ({d['paced_rate_per_s']:.0f}/s for {d['paced_seconds']:.0f} s) p50/p95/p99 ms |",
        "|---|---|---|---|---|",
    ]
    for k, v in d["variants"].items():
        b, p = v["burst"], v["paced"]
        out.append(
            f"| {k} | {b['updates']:.0f} | {b['per_s']:.1f} | "
            f"{b['p50_ms']:.0f} / {b['p95_ms']:.0f} / {b['p99_ms']:.0f} | "
            f"{p['p50_ms']:.1f} / {p['p95_ms']:.1f} / {p['p99_ms']:.1f} |"
        )
    out += [
        "",
        "- Ratio, shipped bot ÷ echo built the same way: "
        f"**{d['ratio_shipped_vs_echo_same_builder']}×**",
        f"- Ratio, bot without the limiter ÷ bare echo: **{d['ratio_no_limiter_vs_bare_echo']}×**",
        f"- Ratio, shipped bot ÷ bare echo: **{d['ratio_shipped_vs_bare_echo']}×**",
    ]
    return out


def _broadcast(d: JSON) -> list[str]:
    m = d["median"]
    return [
        "| groups | delivered | seconds | floor s | ratio to floor | 429s | queries answered |"
        " query p50 / p95 / p99 ms |",
        "|---|---|---|---|---|---|---|---|",
        f"| {d['groups']} | {m['delivered']:.0f} | {m['seconds']:.1f} | {d['floor_s']} | "
        f"{d['ratio_to_floor']}× | {m['rate_limit_hits']:.0f} | {m['queries']:.0f} | "
        f"{m['query_p50_ms']:.0f} / {m['query_p95_ms']:.0f} / {m['query_p99_ms']:.0f} |",
    ]


TABLES = {
    "queries": _queries,
    "imports": _imports,
    "memory": _memory,
    "startup": _startup,
    "throughput": _throughput,
    "broadcast": _broadcast,
}

INTRO = """\
# Benchmarks

Measured by the scripts in `bench/` (issue #7); not part of the test run. Every figure is a
median over repeated runs; every ratio is against a baseline measured in the same run on the
same machine (these machines are noisy: absolute times alone mean little). Regenerate with
`.venv/bin/python -m bench` (every section, then this file) or one section with
`.venv/bin/python -m bench.<section>` followed by `.venv/bin/python -m bench --report`.
`.venv/bin/python -m bench --smoke` runs everything tiny (< 1 min) to check it still works.
Synthetic data: `bench/datagen.py` (ten years × 100 … 100,000 units, cached in bench/.cache).
"""


def write_report() -> str:
    parts = [INTRO]
    for section in ORDER:
        parts.append(f"## {SECTION_TITLES[section]}\n")
        data = load(section)
        if data is None:
            parts.append("_Not measured yet._\n")
        else:
            parts.append("\n".join(_header(data) + TABLES[section](data)) + "\n")
        parts.append(NOTES[section] + "\n")
    path = ROOT / "BENCHMARKS.md"
    path.write_text("\n".join(parts), encoding="utf-8")
    return str(path)
