"""A benchmark whose baseline can lose: the throughput headline (the bot without
the limiter ÷ the echo bot built like it) must move when the echo bot is made
slower (BENCH_BREAK_BASELINE). Tiny bursts, and no timing is asserted: only that
a baseline blocking 100 ms an update (≤ 10 updates/s) turns the ratio around."""

from __future__ import annotations

from pathlib import Path

from bench.echo_bot import BREAK_BASELINE
from bench.harness import BOT_NO_LIMITER, ECHO_NO_LIMITER
from bench.report import _throughput
from bench.throughput import BOT_FREE, ECHO_FREE, burst

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


def throughput_results(bot_per_s: float, echo_per_s: float) -> dict[str, object]:
    burst_of = {"updates": 5000, "cpu_ms_per_update": 4.0, "p50_ms": 1, "p95_ms": 2, "p99_ms": 3}
    return {
        "paced_rate_per_s": 20.0,
        "paced_seconds": 30.0,
        "variants": {
            BOT_FREE: {"burst": {**burst_of, "per_s": bot_per_s}},
            ECHO_FREE: {"burst": {**burst_of, "per_s": echo_per_s}},
        },
        "ratio_no_limiter": round(bot_per_s / echo_per_s, 2),  # as an older run stored it
        "ratio_limiter": 1.0,
        "cpu_ratio_no_limiter": 1.1,
    }


def test_the_throughput_headline_is_not_rounded_over_its_line() -> None:
    # 219.967 / 244.493 = 0.89969: two decimals would read 0.9, "met"
    below = "\n".join(_throughput(throughput_results(219.967, 244.493)))
    assert "0.8997×" in below and "not met" in below
    at = "\n".join(_throughput(throughput_results(220.0, 244.4444)))
    assert "0.9000×" in at and "not met" not in at
