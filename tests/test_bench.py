"""A benchmark whose baseline can lose: the throughput headline (the bot without
the limiter ÷ the echo bot built like it) must move when the echo bot is made
slower (BENCH_BREAK_BASELINE). Tiny bursts, and no timing is asserted: only that
a baseline blocking 100 ms an update (≤ 10 updates/s) turns the ratio around,
for one burst each and for the alternating pairs the headline is the median of."""

from __future__ import annotations

from pathlib import Path

from bench.echo_bot import BREAK_BASELINE
from bench.harness import BOT_NO_LIMITER, ECHO_NO_LIMITER
from bench.report import _throughput
from bench.throughput import BOT_FREE, ECHO_FREE, alternating, burst

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


async def test_a_broken_baseline_turns_the_alternating_pairs_around(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    fair = await alternating(2, UPDATES, db)
    broken = await alternating(2, UPDATES, db, {BREAK_BASELINE: "100"})
    assert [len(r[side]) for r in (fair, broken) for side in ("bot", "echo")] == [2] * 4
    assert all(run["updates"] == UPDATES for run in broken["echo"])
    assert all(run["per_s"] <= 1000 / 100 for run in broken["echo"])
    # each pair's ratio, not only their median: every pair met the slow baseline
    assert min(broken["ratios"]) > 1 and min(broken["ratios"]) > 2 * max(fair["ratios"])


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


def test_the_alternating_headline_is_the_median_of_the_pairs_unrounded() -> None:
    results = throughput_results(300.0, 300.0)  # the two medians alone would read 1.0
    results.update(
        method="median of alternating pairs",
        pair_updates=2000,
        pair_ratios_no_limiter=[0.95, 0.89996, 0.5],
        pair_cpu_ratios_no_limiter=[1.1, 1.2, 1.3],
    )
    text = "\n".join(_throughput(results))
    assert "0.9000×" in text and "not met" in text  # 0.89996 is under the line
    assert "median of 3 alternating pairs" in text
    assert "1.200×" in text  # the pairs' CPU ratio, their median
    results["pair_ratios_no_limiter"] = [0.95, 0.9, 0.5]
    assert "not met" not in "\n".join(_throughput(results))


def test_the_reply_size_row_reads_its_median_and_which_side_of_one_it_is() -> None:
    results = throughput_results(300.0, 300.0)
    results.update(
        method="median of alternating pairs",
        pair_updates=2000,
        pair_ratios_no_limiter=[0.9, 0.95, 1.0],
        pair_cpu_ratios_no_limiter=[1.1, 1.0, 1.0],
        pair_ratios_to_sized_echo=[1.3, 1.2, 0.8],
        pair_cpu_ratios_to_sized_echo=[0.8, 0.7, 0.9],
    )
    text = "\n".join(_throughput(results))
    assert "**1.2000×** updates/s" in text and "Above 1" in text
    results["pair_ratios_to_sized_echo"] = [0.8, 0.95, 1.2]
    text = "\n".join(_throughput(results))
    assert "**0.9500×** updates/s" in text and "Below 1" in text
