"""Section 5: peak RSS of the running bot with 1M rows loaded, and of an import of
the largest accepted file (5 MB, 50,000 rows).

The bot: `python -m bot run` on a copy of the 1M-row store, answering every
query type once (the caches per data version are then full: slices, the unit
index over 100,000 units, level counts); its VmHWM is read from
/proc/<pid>/status before it stops. Baselines: the same bot on the shipped data
only, and the bare echo bot. The import: one CSV or XLSX pipeline of the
largest accepted file (bench/imports.py ROWS) in a fresh process
(`bench.imports --child`), its ru_maxrss; "none" is that process without the
import.

    .venv/bin/python -m bench.memory [--smoke] [--repeats N]
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import tempfile
from pathlib import Path

from bench.common import JSON, PYTHON, ROOT, Options, command, median, options, peak_rss_mb, save
from bench.datagen import LAST_YEAR, copy_store, label, unit_name
from bench.harness import BOT, ECHO_BARE, spawned, wait_polling
from bench.imports import ROWS
from bench.throughput import Tracker, wait_answered
from fakes.telegram import FakeBotAPI

GOAL_MB = 150.0
GOAL_SHIPPED_MB = 60.0
USER = 600_000


def queries(units: int) -> list[str]:
    names = [unit_name(i) for i in range(0, units, max(1, units // 5))][:5]
    return [
        "/top",
        f"/top 20 huyen {LAST_YEAR - 3}",
        "/cuoi 10 tthc",
        *(f"/donvi {n}" for n in names),
        names[0].split(" ", 1)[1].lower(),
        names[1][:-1] + "x",
        "zzq kwx",
        f"/muc {LAST_YEAR}",
        f"/muc {LAST_YEAR - 1}",
        "/nam",
        "/nhom",
        "/top 100 tthc",
    ]


async def bot_peak(argv: tuple[str, ...], db: Path, units: int, name: str) -> float:
    async with FakeBotAPI(max_poll_timeout=1.0) as srv, spawned(srv, db, argv, name) as proc:
        await wait_polling(srv, proc)
        tracker = Tracker(srv)
        for i, text in enumerate(queries(units)):
            update_id = srv.push_update(srv.message(text, user_id=USER + i))
            tracker.expect(("send", USER + i), srv.pushed_at[update_id])
        await wait_answered(tracker, timeout=300)
        return peak_rss_mb(proc.pid)


def import_peak(kind: str) -> JSON:
    out = subprocess.run(
        [PYTHON, "-m", "bench.imports", "--child", kind],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: JSON = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def measure(opts: Options) -> JSON:
    rows = 10_000 if opts.smoke else 1_000_000
    runs: dict[str, list[float]] = {
        f"bot, {label(rows)} rows, every query type answered": [],
        "bot, shipped data only": [],
        "echo bot (baseline)": [],
    }
    if not opts.smoke:
        for kind in ("csv", "xlsx", "none"):
            runs[
                f"import {kind}, {ROWS[kind]:,} rows (child process)"
                if kind != "none"
                else "import process without the import (baseline)"
            ] = []
    with tempfile.TemporaryDirectory() as tmp:
        big = copy_store(rows, Path(tmp) / "big.sqlite3")
        for i in range(opts.repeats):
            keys = list(runs)
            runs[keys[0]].append(asyncio.run(bot_peak(BOT, big, rows // 10, "mem-big")))
            runs[keys[1]].append(
                asyncio.run(bot_peak(BOT, Path(tmp) / f"small-{i}.sqlite3", 100, "mem-small"))
            )
            runs[keys[2]].append(
                asyncio.run(bot_peak(ECHO_BARE, Path(tmp) / "unused.sqlite3", 100, "mem-echo"))
            )
            if not opts.smoke:
                for key, kind in zip(keys[3:], ("csv", "xlsx", "none"), strict=True):
                    runs[key].append(float(import_peak(kind)["peak_rss_mb"]))
    return {
        "goal": f"resting ≤ {GOAL_SHIPPED_MB:.0f} MB on the shipped data, ≤ {GOAL_MB:.0f} MB"
        " with 1M rows; an import of the largest accepted file peaks under"
        f" {GOAL_MB:.0f} MB",
        "peak_rss_mb": {k: round(median(v), 1) for k, v in runs.items()},
        "runs": runs,
    }


def main() -> None:
    opts = options(__doc__.split("\n", 1)[0] if __doc__ else "", default_repeats=3)
    data = measure(opts)
    data.update(command=command("bench.memory", opts), repeats=opts.repeats)
    for k, v in data["peak_rss_mb"].items():
        print(f"{k:55} {v:7.1f} MB")
    if not opts.smoke:
        save("memory", data)


if __name__ == "__main__":
    main()
