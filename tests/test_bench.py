"""A benchmark whose baseline can lose: the throughput headline (the bot without
the limiter ÷ the echo bot built like it) must move when the echo bot is made
slower (BENCH_BREAK_BASELINE). Tiny bursts, and no timing is asserted: only that
a baseline blocking 100 ms an update (≤ 10 updates/s) turns the ratio around."""

from __future__ import annotations

from pathlib import Path

from bench.echo_bot import BREAK_BASELINE
from bench.harness import BOT_NO_LIMITER, ECHO_NO_LIMITER
from bench.throughput import burst

UPDATES = 30


async def test_a_broken_baseline_turns_the_headline_around(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    bot = await burst(BOT_NO_LIMITER, UPDATES, "test-bench-bot", db)
    echo = await burst(ECHO_NO_LIMITER, UPDATES, "test-bench-echo", db)
    broken = await burst(
        ECHO_NO_LIMITER, UPDATES, "test-bench-echo-broken", db, {BREAK_BASELINE: "100"}
    )
    assert bot["updates"] == echo["updates"] == broken["updates"] == UPDATES
    assert broken["per_s"] <= 1000 / 100  # it did block 100 ms an update, one at a time
    ratio, ratio_broken = bot["per_s"] / echo["per_s"], bot["per_s"] / broken["per_s"]
    assert ratio_broken > 1 and ratio_broken > 2 * ratio
