"""Section 4: one announcement to 1,000 subscribed groups through the fake Bot API
enforcing Telegram's limits (30 sends/s overall, 20 per group per minute).

The database gets the shipped data and 1,000 group subscriptions; the 2022
provincial version is queued for announcement (as an import queues it) before
`python -m bot run` starts, so the outbox that post_init starts sends it at
once. Meanwhile officials ask queries in private chats (2 a second, /top and
/donvi); their reply latency is measured from the update's availability.
Figures: time from the first to the last group delivery (+ one send interval)
against the floor 1,000 / 30 s, the 429s the server answered, and the query
latency p50/p95/p99 during the broadcast.

    .venv/bin/python -m bench.broadcast [--smoke] [--repeats N]
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from pathlib import Path

from bench.common import JSON, Options, command, median, ms, options, percentile, save
from bench.harness import BOT, spawned, wait_polling
from bench.throughput import Tracker, wait_answered
from bot.announcements import queue_version
from fakes.telegram import FakeBotAPI
from ranking.catalog import load_catalog
from ranking.publishing import load_shipped_data
from ranking.queries import Rankings
from ranking.store import Store

GROUPS = 1000
FIRST_GROUP = -1_009_000_000_000
OFFICIAL = 700_000
GOAL_OVER_FLOOR = 1.10
QUERIES = ("/top 5 huyen", "/donvi Sở Tài chính", "/top", "bac ha", "/cuoi 3 tthc")


async def prepare(db: Path, groups: int) -> None:
    store = await Store.open(db)
    try:
        catalog = load_catalog()
        await load_shipped_data(store, catalog)
        for i in range(groups):
            await store.outbox.subscribe(FIRST_GROUP - i, "supergroup", None, by=1)
        version = next(v for v in await store.scores.versions() if "cds" in v.file_name)
        await queue_version(Rankings(store, catalog), version.id, None)
    finally:
        await store.close()


async def one_run(groups: int, query_rate: float, db: Path) -> JSON:
    await prepare(db, groups)
    rng = random.Random(3)
    async with (
        FakeBotAPI(enforce_limits=True, max_poll_timeout=1.0) as srv,
        spawned(srv, db, BOT, "broadcast") as proc,
    ):
        await wait_polling(srv, proc)
        tracker = Tracker(srv)
        i = 0
        start = time.monotonic()
        while True:
            sent = [
                c for c in srv.calls_since(0, "sendMessage")
                if c.ok and int(c.params.get("chat_id", 0)) <= FIRST_GROUP
            ]  # fmt: skip
            if len(sent) >= groups or time.monotonic() - start > groups / 10 + 60:
                break
            update_id = srv.push_update(
                srv.message(rng.choice(QUERIES), user_id=OFFICIAL + i % 200)
            )
            tracker.expect(("send", OFFICIAL + i % 200), srv.pushed_at[update_id])
            i += 1
            tracker.collect()
            await asyncio.sleep(max(0.0, start + i / query_rate - time.monotonic()))
        await wait_answered(tracker, timeout=60)
        first, last = min(c.at for c in sent), max(c.at for c in sent)
        lat = tracker.latencies
        return {
            "delivered": len(sent),
            "seconds": last - first + 1 / 30,
            "rate_limit_hits": len(srv.rate_limit_hits),
            "queries": len(lat),
            "query_p50_ms": ms(percentile(lat, 50)),
            "query_p95_ms": ms(percentile(lat, 95)),
            "query_p99_ms": ms(percentile(lat, 99)),
        }


def measure(opts: Options) -> JSON:
    groups = 60 if opts.smoke else GROUPS
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(opts.repeats):
            runs.append(asyncio.run(one_run(groups, 2.0, Path(tmp) / f"b{i}.sqlite3")))
    floor = groups / 30
    summary = {k: round(median([r[k] for r in runs]), 3) for k in runs[0]}
    return {
        "goal": "≤ 1.10 × the floor (groups / 30 s), 0 × 429, query p99 ≤ 1 s",
        "groups": groups,
        "floor_s": round(floor, 2),
        "median": summary,
        "ratio_to_floor": round(summary["seconds"] / floor, 3),
        "runs": runs,
    }


def main() -> None:
    opts = options(__doc__.split("\n", 1)[0] if __doc__ else "", default_repeats=3)
    data = measure(opts)
    data.update(command=command("bench.broadcast", opts), repeats=opts.repeats)
    print(data["median"], "ratio to floor", data["ratio_to_floor"])
    if not opts.smoke:
        save("broadcast", data)


if __name__ == "__main__":
    main()
