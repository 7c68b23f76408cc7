"""Section 1: end-to-end throughput and latency, the real bot versus an echo bot.

The bot runs as its own process (`python -m bot run`) polling the tests' fake
Bot API server in this process. A stream of updates from 1,000 simulated users
(private chats): 30 % /top, 25 % /donvi, 25 % plain-text lookups, 20 % button
presses (a page, group or unit button on an earlier bot message).

- burst: all N updates are queued at once; throughput = N / (last reply − first
  availability); latency includes the queueing.
- paced: updates arrive at a fixed rate below every variant's capacity for a
  fixed time; latency = reply arrival − availability, p50/p95/p99.

Variants, same harness, same run, each built by the same `application_builder`
(bot/channels/telegram/app.py: Defaults, 8 concurrent updates, timeouts):
- the bot and the echo bot (bench/echo_bot.py) with AIORateLimiter, as shipped:
  both held to 30 requests/s by the limiter, so their ratio says little;
- both without the limiter (bench/bot_runner.py): what each costs per update.
  Their ratio is the headline. Both are started once, each at its own fake
  server, and given bursts of 2,000 updates in turn (bot first, then echo first,
  ...), so each pair's two bursts meet the same moment of a noisy host; the
  headline is the median of the pairs' ratios. (Before: one burst of a freshly
  started process each per repeat, and the ratio of the two medians; two runs of
  one commit gave 1.19 and 0.81 that way.)
Per variant: updates/s of the burst and the CPU the process spent on it
(/proc/<pid>/stat, user + system) per update, and the CPU this process (the fake
server's) spent meanwhile: a reply's size costs the server too.

BENCH_BREAK_BASELINE=<ms> slows the echo bot down (bench/echo_bot.py): the
headline must then move (tests/test_bench.py shows it does).

    .venv/bin/python -m bench.throughput [--smoke] [--repeats N]
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import tempfile
import time
from collections import defaultdict, deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import JSON, Options, command, median, ms, options, percentile, save
from bench.harness import (
    BOT,
    BOT_NO_LIMITER,
    ECHO,
    ECHO_NO_LIMITER,
    ECHO_SIZED_NO_LIMITER,
    Process,
    spawned,
    wait_polling,
)
from fakes.telegram import FakeBotAPI

USERS = 1000
FIRST_USER = 500_000
GOAL_RATIO = 0.9
UNITS = (
    "Sở Giáo dục và Đào tạo", "Sở Tài chính", "Huyện Bắc Hà", "Thành phố Lào Cai",
    "Sở Du lịch", "Văn phòng UBND tỉnh", "Huyện Sa Pa", "Sở Nội vụ",
)  # fmt: skip
PLAIN = ("bac ha", "giao duc", "so tai chinh", "lao cai", "tuyen giao", "sa pa", "du lich")
TOPS = ("/top", "/top 5 huyen", "/top 10 tthc 2022", "/cuoi 5 khong-tthc", "/top huyen")
BUTTONS = (
    "r:t:cds:huyen:2022:9:1", "r:t:cds:tthc:2022:20:1", "r:t:cds:*:2022:10:1",
    "r:b:cds:khong-tthc:2022:5:1",
)  # fmt: skip


def make_update(srv: FakeBotAPI, rng: random.Random, user: int) -> tuple[JSON, tuple[Any, ...]]:
    """An update and the key its reply will carry: ("send", chat) or ("edit", chat, id)."""
    kind = rng.random()
    if kind < 0.30:
        return srv.message(rng.choice(TOPS), user_id=user), ("send", user)
    if kind < 0.55:
        return srv.message(f"/donvi {rng.choice(UNITS)}", user_id=user), ("send", user)
    if kind < 0.80:
        return srv.message(rng.choice(PLAIN), user_id=user), ("send", user)
    message = srv.bot_message(user, "Bảng xếp hạng")
    update = srv.callback_query(rng.choice(BUTTONS), message=message, user_id=user)
    return update, ("edit", user, message["message_id"])


class Tracker:
    """Matches replies to updates: per chat in order (a send), or by message (an edit)."""

    def __init__(self, srv: FakeBotAPI) -> None:
        self.srv = srv
        self.waiting: dict[tuple[Any, ...], deque[float]] = defaultdict(deque)
        self.latencies: list[float] = []
        self.last_reply = 0.0
        self._seen = len(srv.calls)  # a server already used: its earlier calls are not ours

    def expect(self, key: tuple[Any, ...], at: float) -> None:
        self.waiting[key].append(at)

    def collect(self) -> None:
        calls = self.srv.calls
        while self._seen < len(calls) and calls[self._seen].done:
            call = calls[self._seen]
            self._seen += 1
            method = call.method.lower()
            chat = call.params.get("chat_id")
            if method == "sendmessage":
                key: tuple[Any, ...] = ("send", chat)
            elif method == "editmessagetext":
                key = ("edit", chat, call.params.get("message_id"))
            else:
                continue
            queue = self.waiting.get(key)
            if queue:
                self.latencies.append(call.at - queue.popleft())
                self.last_reply = max(self.last_reply, call.at)

    @property
    def outstanding(self) -> int:
        return sum(len(q) for q in self.waiting.values())


async def wait_answered(tracker: Tracker, timeout: float) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while True:
        tracker.collect()
        if not tracker.outstanding:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{tracker.outstanding} updates unanswered after {timeout} s")
        await asyncio.sleep(0.05)


CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a live process has used (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK  # utime, stime


def own_cpu_seconds() -> float:
    """This process's CPU time: the fake server's share of a burst."""
    times = os.times()
    return times.user + times.system


async def burst(
    argv: Sequence[str], n: int, name: str, db: Path, env: dict[str, str] | None = None
) -> JSON:
    """One burst of `n` updates at a freshly started process."""
    rng = random.Random(7)
    async with (
        FakeBotAPI(max_poll_timeout=1.0) as srv,
        spawned(srv, db, argv, name, **(env or {})) as proc,
    ):
        await wait_polling(srv, proc)
        # the set-up calls (menus, descriptions) run beside the first poll: let them end
        await asyncio.sleep(0.5)
        return await one_burst(srv, proc, n, rng)


async def one_burst(srv: FakeBotAPI, proc: Process, n: int, rng: random.Random) -> JSON:
    """All `n` updates queued at once at a process already polling `srv`; updates/s
    from the first push to the last reply, and the CPU the process (and this one,
    the fake server's) spent meanwhile."""
    tracker = Tracker(srv)
    prepared = [make_update(srv, rng, FIRST_USER + i % USERS) for i in range(n)]
    cpu_before, own_before = cpu_seconds(proc.pid), own_cpu_seconds()
    first = time.monotonic()
    for update, key in prepared:
        update_id = srv.push_update(update)
        tracker.expect(key, srv.pushed_at[update_id])
    await wait_answered(tracker, timeout=n / 5 + 60)
    cpu = cpu_seconds(proc.pid) - cpu_before
    own = own_cpu_seconds() - own_before
    lat = tracker.latencies
    return {
        "updates": n,
        "per_s": n / (tracker.last_reply - first),
        "cpu_ms_per_update": ms(cpu / n),
        "server_cpu_ms_per_update": ms(own / n),
        "p50_ms": ms(percentile(lat, 50)),
        "p95_ms": ms(percentile(lat, 95)),
        "p99_ms": ms(percentile(lat, 99)),
        "violations": len(srv.violations),
    }


async def alternating(
    pairs: int, n: int, db: Path, echo_env: dict[str, str] | None = None, sized: bool = False
) -> JSON:
    """The bot and the echo bot, both without the limiter, started once each at their
    own fake server and then given `pairs` bursts of `n` updates each in turn (bot
    first in even pairs, last in odd ones), so that each pair's bursts meet the same
    moment of the host. One warm-up burst each first (not counted).

    `sized` adds a third: the echo bot answering with a reply of the bot's size
    (bench/echo_bot.py --sized), its burst beside the echo's (after it in even
    pairs, before it in odd ones): the bot over it tells the bot's own work from
    what the size of its replies costs."""
    argvs: dict[str, tuple[str, ...]] = {"bot": BOT_NO_LIMITER, "echo": ECHO_NO_LIMITER}
    if sized:
        argvs["sized"] = ECHO_SIZED_NO_LIMITER
    async with contextlib.AsyncExitStack() as stack:
        sides: dict[str, tuple[FakeBotAPI, Process]] = {}
        for side, argv in argvs.items():
            srv = await stack.enter_async_context(FakeBotAPI(max_poll_timeout=1.0))
            env = echo_env if side != "bot" else None
            proc = await stack.enter_async_context(
                spawned(srv, db, argv, f"tp-pairs-{side}", **(env or {}))
            )
            sides[side] = (srv, proc)
        for srv, proc in sides.values():
            await wait_polling(srv, proc)
        await asyncio.sleep(0.5)
        for srv, proc in sides.values():
            await one_burst(srv, proc, min(n, 500), random.Random(3))
        runs: dict[str, list[JSON]] = {side: [] for side in sides}
        for i in range(pairs):
            order = list(sides) if i % 2 == 0 else list(reversed(sides))
            for side in order:
                srv, proc = sides[side]
                # the same updates for every side of a pair
                runs[side].append(await one_burst(srv, proc, n, random.Random(100 + i)))

    def ratios(of: str, key: str) -> list[float]:
        return [b[key] / o[key] for b, o in zip(runs["bot"], runs[of], strict=True) if o[key]]

    out: JSON = {
        **runs,
        "ratios": ratios("echo", "per_s"),
        "cpu_ratios": ratios("echo", "cpu_ms_per_update"),
    }
    if sized:
        out["sized_ratios"] = ratios("sized", "per_s")
        out["sized_cpu_ratios"] = ratios("sized", "cpu_ms_per_update")
    return out


async def paced(argv: Sequence[str], rate: float, seconds: float, name: str, db: Path) -> JSON:
    """Latency per update at a rate every variant keeps up with (no queueing)."""
    rng = random.Random(11)
    async with FakeBotAPI(max_poll_timeout=1.0) as srv, spawned(srv, db, argv, name) as proc:
        await wait_polling(srv, proc)
        await asyncio.sleep(0.5)
        tracker = Tracker(srv)
        n = int(rate * seconds)
        start = time.monotonic()
        for i in range(n):
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
            update, key = make_update(srv, rng, FIRST_USER + i % USERS)
            update_id = srv.push_update(update)
            tracker.expect(key, srv.pushed_at[update_id])
            tracker.collect()
        await wait_answered(tracker, timeout=60)
        lat = tracker.latencies
        return {
            "updates": n,
            "rate_per_s": rate,
            "p50_ms": ms(percentile(lat, 50)),
            "p95_ms": ms(percentile(lat, 95)),
            "p99_ms": ms(percentile(lat, 99)),
        }


BOT_FREE = "bot, no limiter"
ECHO_FREE = "echo, no limiter"
BOT_LIMITED = "bot (as shipped, limiter)"
ECHO_LIMITED = "echo, limiter"
ECHO_SIZED = "echo (bot's reply), no limiter"  # only in the alternating pairs
VARIANTS = {  # name: (argv, limited)
    BOT_FREE: (BOT_NO_LIMITER, False),
    ECHO_FREE: (ECHO_NO_LIMITER, False),
    BOT_LIMITED: (BOT, True),
    ECHO_LIMITED: (ECHO, True),
}


async def measure(opts: Options) -> JSON:
    n_pair = 100 if opts.smoke else 2_000
    pairs = 2 if opts.smoke else 3 * opts.repeats
    n_limited = 30 if opts.smoke else 600
    pace_s = 1.0 if opts.smoke else 30.0
    pace_rate = 20.0
    results: dict[str, dict[str, list[JSON]]] = {
        v: {"burst": [], "paced": []} for v in (*VARIANTS, ECHO_SIZED)
    }
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bot.sqlite3"
        # the headline first: both processes alive side by side, bursts taken in turn
        alt = await alternating(pairs, n_pair, db, sized=True)
        results[BOT_FREE]["burst"] = alt["bot"]
        results[ECHO_FREE]["burst"] = alt["echo"]
        results[ECHO_SIZED]["burst"] = alt["sized"]
        for _ in range(opts.repeats):
            for name, (argv, limited) in VARIANTS.items():
                tag = name.split()[0] + ("-limited" if limited else "-free")
                if limited:
                    results[name]["burst"].append(await burst(argv, n_limited, f"tp-{tag}", db))
                else:  # paced below 30/s: the limiter would change nothing
                    results[name]["paced"].append(
                        await paced(argv, pace_rate, pace_s, f"tp-paced-{tag}", db)
                    )
    summary: JSON = {}
    for name, modes in results.items():
        summary[name] = {
            mode: {
                k: round(median([r[k] for r in runs]), 3)
                for k in runs[0]
                if isinstance(runs[0][k], int | float)
            }
            for mode, runs in modes.items()
            if runs
        }

    def rate(name: str) -> float:
        value: float = summary[name]["burst"]["per_s"]
        return value

    return {
        "goal": f"bot without the limiter ≥ {GOAL_RATIO}× the echo bot built like it",
        "users": USERS,
        "method": "median of alternating pairs",
        "pairs": pairs,
        "pair_updates": n_pair,
        # unrounded: the report takes the headline from these, and its verdict from the
        # exact median (0.89996 rounded to four would read 0.9000, "met")
        "pair_ratios_no_limiter": alt["ratios"],
        "pair_cpu_ratios_no_limiter": alt["cpu_ratios"],
        "variants": summary,
        "ratio_no_limiter": round(median(alt["ratios"]), 4),
        "ratio_of_medians_no_limiter": round(rate(BOT_FREE) / rate(ECHO_FREE), 4),
        "ratio_limiter": round(rate(BOT_LIMITED) / rate(ECHO_LIMITED), 2),
        "cpu_ratio_no_limiter": round(median(alt["cpu_ratios"]), 3) if alt["cpu_ratios"] else None,
        # the profile's row: the bot over an echo bot sending replies of the bot's size
        "pair_ratios_to_sized_echo": alt["sized_ratios"],
        "pair_cpu_ratios_to_sized_echo": alt["sized_cpu_ratios"],
        "paced_rate_per_s": pace_rate,
        "paced_seconds": pace_s,
        "break_baseline": os.environ.get("BENCH_BREAK_BASELINE", ""),
    }


def main() -> None:
    # five repeats of the paced and limited runs, fifteen alternating pairs: on this host
    # one pair of separately started bursts ranged 0.69–1.18 within one run, and two runs
    # of one commit gave medians' ratios of 1.19 and 0.81
    opts = options(__doc__.split("\n", 1)[0] if __doc__ else "", default_repeats=5)
    data = asyncio.run(measure(opts))
    data.update(command=command("bench.throughput", opts), repeats=opts.repeats)
    for name, modes in data["variants"].items():
        b = modes["burst"]
        line = (
            f"{name:30} burst {b['updates']:>6} upd {b['per_s']:7.1f}/s "
            f"{b['cpu_ms_per_update']:6.2f} CPU ms/upd "
            f"p50/95/99 {b['p50_ms']:.0f}/{b['p95_ms']:.0f}/{b['p99_ms']:.0f} ms"
        )
        if "paced" in modes:
            p = modes["paced"]
            line += f" | paced p50/95/99 {p['p50_ms']:.1f}/{p['p95_ms']:.1f}/{p['p99_ms']:.1f} ms"
        print(line)
    print("pair ratios:", " ".join(f"{x:.3f}" for x in data["pair_ratios_no_limiter"]))
    print("ratios:", {k: v for k, v in data.items() if k.startswith(("ratio", "cpu_ratio"))})
    if not opts.smoke and not data["break_baseline"]:
        save("throughput", data)


if __name__ == "__main__":
    main()
