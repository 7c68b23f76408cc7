"""bot.flood: the per-user token bucket, its one warning per window, its memory bound."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.flood import FloodGuard, Verdict


def test_burst_then_refused() -> None:
    guard = FloodGuard(rate=20, per=60.0, burst=8)
    assert [guard.allow(1, now=0.0) for _ in range(10)] == [True] * 8 + [False] * 2


def test_refills_at_rate() -> None:
    guard = FloodGuard(rate=20, per=60.0, burst=8)
    for _ in range(8):
        assert guard.allow(1, now=0.0)
    assert not guard.allow(1, now=2.9)  # one token takes 3 s
    assert guard.allow(1, now=3.0)
    assert not guard.allow(1, now=3.0)
    assert guard.retry_after(1, now=3.0) == pytest.approx(3.0)
    assert guard.retry_after(1, now=6.0) == 0.0


def test_users_are_independent() -> None:
    guard = FloodGuard(rate=1, per=60.0, burst=1)
    assert guard.allow(1, now=0.0)
    assert not guard.allow(1, now=0.0)
    assert guard.allow(2, now=0.0)


def test_bucket_never_exceeds_burst_after_a_long_pause() -> None:
    guard = FloodGuard(rate=20, per=60.0, burst=3)
    results = [guard.allow(1, now=10_000.0) for _ in range(5)]
    assert results == [True, True, True, False, False]


def test_time_going_backwards_refills_nothing() -> None:
    guard = FloodGuard(rate=20, per=60.0, burst=2)
    assert guard.allow(1, now=100.0) and guard.allow(1, now=100.0)
    assert not guard.allow(1, now=50.0)
    assert not guard.allow(1, now=100.0)


def test_warns_once_per_window() -> None:
    guard = FloodGuard(rate=20, per=60.0, burst=2)
    verdicts = [guard.check(7, now=0.0) for _ in range(6)]
    assert verdicts == [Verdict.ALLOW] * 2 + [Verdict.WARN] + [Verdict.SILENT] * 3
    # allowed again after a refill, flooded again inside the same window: stays silent
    assert guard.check(7, now=3.0) is Verdict.ALLOW
    assert guard.check(7, now=3.0) is Verdict.SILENT
    # a new window: one more warning
    assert guard.check(7, now=60.0) is Verdict.ALLOW
    assert guard.check(7, now=60.0) is Verdict.ALLOW
    assert guard.check(7, now=60.0) is Verdict.WARN
    assert guard.check(7, now=60.5) is Verdict.SILENT


def test_should_warn_only_after_a_refusal() -> None:
    guard = FloodGuard(rate=20, per=60.0, burst=2)
    assert not guard.should_warn(1, now=0.0)  # unknown user
    assert guard.allow(1, now=0.0)
    assert not guard.should_warn(1, now=0.0)  # was allowed
    guard.allow(1, now=0.0)
    assert not guard.allow(1, now=0.0)
    assert guard.should_warn(1, now=0.0)
    assert not guard.should_warn(1, now=1.0)


def test_idle_users_are_evicted() -> None:
    guard = FloodGuard(rate=20, per=60.0, burst=8)
    for user in range(1000):
        guard.allow(user, now=0.0)
    assert len(guard) == 1000
    guard.allow(5000, now=61.0)  # everyone else's bucket is full again
    assert len(guard) == 1


def test_eviction_loses_nothing() -> None:
    """An evicted user comes back to exactly the bucket they would have had."""
    guard = FloodGuard(rate=20, per=60.0, burst=8)
    for _ in range(8):
        guard.allow(1, now=0.0)
    guard.allow(2, now=59.0)  # user 1 is not idle yet (warning window): kept
    assert len(guard) == 2
    assert [guard.allow(1, now=59.0) for _ in range(9)] == [True] * 8 + [False]


def test_memory_cap() -> None:
    guard = FloodGuard(rate=20, per=60.0, burst=8, max_users=100)
    for user in range(1000):
        guard.allow(user, now=float(user) / 1000)
    assert len(guard) == 100


def test_injected_clock() -> None:
    now = [0.0]
    guard = FloodGuard(rate=1, per=10.0, burst=1, clock=lambda: now[0])
    assert guard.allow(1)
    assert not guard.allow(1)
    assert guard.should_warn(1)
    now[0] = 10.0
    assert guard.allow(1)


@pytest.mark.parametrize(
    "kwargs", [{"rate": 0}, {"per": 0.0}, {"burst": 0}, {"max_users": 0}, {"per": -1.0}]
)
def test_bad_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        FloodGuard(**kwargs)  # type: ignore[arg-type]


calls = st.lists(
    st.tuples(st.integers(0, 3), st.floats(0, 30, allow_nan=False)), min_size=1, max_size=200
)


@given(
    rate=st.integers(1, 30),
    per=st.sampled_from([1.0, 10.0, 60.0, 0.5]),
    burst=st.integers(1, 10),
    gaps=calls,
    max_users=st.integers(1, 10),
)
def test_no_window_gets_more_than_burst_plus_rate(
    rate: int, per: float, burst: int, gaps: list[tuple[int, float]], max_users: int
) -> None:
    """In any window [a, b] a user gets ≤ burst + rate·(b−a)/per allowed calls,
    whatever the other users do and however often idle users are evicted."""
    # max_users ≥ users in play: the cap only ever makes the guard more lenient
    guard = FloodGuard(rate=rate, per=per, burst=burst, max_users=max(max_users, 4))
    now = 0.0
    allowed: dict[int, list[float]] = {}
    for user, gap in gaps:
        now += gap
        if guard.allow(user, now=now):
            allowed.setdefault(user, []).append(now)
        assert len(guard) <= guard.max_users
    for times in allowed.values():
        for i in range(len(times)):
            for j in range(i, len(times)):
                window = times[j] - times[i]
                assert j - i + 1 <= burst + rate * window / per + 1e-6


@given(gaps=st.lists(st.floats(0, 5, allow_nan=False), min_size=1, max_size=200))
def test_at_most_one_warning_per_window(gaps: list[float]) -> None:
    guard = FloodGuard(rate=2, per=10.0, burst=2)
    now = 0.0
    warnings: list[float] = []
    for gap in gaps:
        now += gap
        if guard.check(1, now=now) is Verdict.WARN:
            warnings.append(now)
    assert all(b - a >= 10.0 for a, b in itertools.pairwise(warnings))
