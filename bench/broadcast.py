"""Section 4: one announcement to 1,000 subscribed groups through the fake Bot API
enforcing Telegram's limits (30 sends/s overall, 20 per group per minute).

The database gets the shipped data and 1,000 group subscriptions; the 2022
provincial version is queued for announcement (as an import queues it) before
`python -m bot run` starts, so the outbox that post_init starts sends it at
once. Meanwhile officials ask queries in private chats (2 a second, /top and
/donvi); their reply latency is measured from the update's availability.
Figures: time from the first to the last group delivery (+ one send interval)
against what Telegram leaves for it: 30 sends/s overall minus the replies the
bot actually sent to the officials in the same window (they share the budget),
so floor = groups / (30 − replies/s). Beside it the outbox's own pace
(bot/channels/telegram/outbox.py OVERALL_PER_SECOND) and the floor at that pace:
a ratio to 30/s alone could never be met by a bot that leaves room for replies.
Also the 429s the server answered, and the query latency p50/p95/p99 during the
broadcast (with only a few hundred queries, p99 is close to the largest).

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
from bot.channels.telegram.outbox import OVERALL_PER_SECOND
from fakes.telegram import FakeBotAPI
from ranking.catalog import load_catalog
from ranking.publishing import load_shipped_data
from ranking.queries import Rankings
from ranking.store import Store

GROUPS = 1000
FIRST_GROUP = -1_009_000_000_000
OFFICIAL = 700_000
GOAL_OVER_FLOOR = 1.10
TELEGRAM_PER_SECOND = 30
QUERY_RATE = 3.0  # officials' queries a second during the broadcast
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
        replies = [
            c for c in srv.calls
            if c.method in ("sendMessage", "editMessageText") and c.ok
            and int(c.params.get("chat_id", 0)) > 0 and first <= c.at <= last
        ]  # fmt: skip
        lat = tracker.latencies
        return {
            "delivered": len(sent),
            "seconds": last - first + 1 / TELEGRAM_PER_SECOND,
            "replies_per_s": len(replies) / (last - first) if last > first else 0.0,
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
            runs.append(asyncio.run(one_run(groups, QUERY_RATE, Path(tmp) / f"b{i}.sqlite3")))
    summary = {k: round(median([r[k] for r in runs]), 3) for k in runs[0]}
    available = TELEGRAM_PER_SECOND - summary["replies_per_s"]
    floor = groups / available
    own_floor = groups / OVERALL_PER_SECOND
    return {
        "goal": f"≤ {GOAL_OVER_FLOOR} × the floor (groups / (30/s − the replies sent meanwhile)),"
        " 0 × 429, query p99 ≤ 1 s",
        "groups": groups,
        "query_rate_per_s": QUERY_RATE,
        "available_per_s": round(available, 2),
        "floor_s": round(floor, 2),
        "own_pace_per_s": OVERALL_PER_SECOND,
        "own_pace_floor_s": round(own_floor, 2),
        "median": summary,
        "ratio_to_floor": round(summary["seconds"] / floor, 3),
        "ratio_to_own_pace": round(summary["seconds"] / own_floor, 3),
        "runs": runs,
    }


def main() -> None:
    opts = options(__doc__.split("\n", 1)[0] if __doc__ else "", default_repeats=3)
    data = measure(opts)
    data.update(command=command("bench.broadcast", opts), repeats=opts.repeats)
    print(
        data["median"],
        f"floor {data['floor_s']} s at {data['available_per_s']}/s:",
        f"ratio {data['ratio_to_floor']};",
        f"own pace {data['own_pace_per_s']}/s: ratio {data['ratio_to_own_pace']}",
    )
    if not opts.smoke:
        save("broadcast", data)


if __name__ == "__main__":
    main()
