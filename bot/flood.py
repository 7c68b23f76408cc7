"""A per-user flood limiter for queries: pure, no Telegram, no wording.

Why: every query costs a database read and one or more sendMessage calls, and
Telegram throttles the *bot* (about 30 messages/s overall, 1/s per chat), so
one user pasting a script must not slow everyone else down. A token bucket per
user lets a person type a burst of questions at once, then one every
`per / rate` seconds. It is kept as GCRA (one "theoretical arrival time"
per user rather than a fractional token count), so refills are exact at whole
intervals instead of drifting with floating-point sums.

Why warn only once: a flooding user who got "chờ một chút" on every dropped
message would make the bot itself the flood. `should_warn` says yes once per
`per` seconds and no otherwise; the other dropped messages get no reply.

Memory is bounded two ways: a user whose bucket has refilled and whose warning
window is over is indistinguishable from a new user, so they are evicted for
free on the next calls; and at most `max_users` buckets are kept (under a flood
of distinct ids the least recently seen lose their state, which only makes the
limiter more lenient for them, never stricter).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

# A user as a channel names them: Telegram's integer ids, Zalo's text ids.
UserKey = int | str


class Verdict(Enum):
    """What to do with one message: answer it, say "wait" once, or drop it quietly."""

    ALLOW = "allow"
    WARN = "warn"
    SILENT = "silent"


@dataclass
class _Bucket:
    tat: float  # theoretical arrival time: the bucket is full from then on
    last: float  # the latest time this user was seen
    limited: bool = False  # the last call was refused
    warned_at: float | None = None


class FloodGuard:
    """Token bucket per user: `burst` calls at once, then `rate` per `per` seconds.

    Over any window of length w a user gets at most ``burst + rate * w / per``
    allowed calls (the bucket is full at most, and refills at `rate / per` per
    second during the window). Time going backwards (a `now` smaller than a
    previous one) refills nothing.
    """

    def __init__(
        self,
        rate: int = 20,
        per: float = 60.0,
        burst: int = 8,
        *,
        max_users: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate < 1 or per <= 0 or burst < 1 or max_users < 1:
            raise ValueError("rate, burst and max_users must be ≥ 1 and per > 0")
        self.rate = rate
        self.per = per
        self.burst = burst
        self.max_users = max_users
        self._clock = clock
        self._interval = per / rate  # one token comes back every interval
        self._tolerance = (burst - 1) * self._interval
        # After this long without a call a bucket is full and the warning window
        # over: the user's state carries no information and can go.
        self._idle_after = max(burst * self._interval, per)
        self._buckets: OrderedDict[UserKey, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        """Users currently tracked (for tests and metrics)."""
        return len(self._buckets)

    def _now(self, now: float | None) -> float:
        return self._clock() if now is None else now

    def _bucket(self, user_id: UserKey, now: float) -> _Bucket:
        bucket = self._buckets.get(user_id)
        if bucket is None:
            bucket = _Bucket(tat=now, last=now)
            self._buckets[user_id] = bucket
        else:
            self._buckets.move_to_end(user_id)
            bucket.last = max(bucket.last, now)
        return bucket

    def _evict(self, now: float) -> None:
        """Drop idle users from the least recently seen end, then enforce the cap."""
        while self._buckets:
            user_id, bucket = next(iter(self._buckets.items()))
            if now - bucket.last < self._idle_after:
                break
            del self._buckets[user_id]
        while len(self._buckets) > self.max_users:
            self._buckets.popitem(last=False)

    def allow(self, user_id: UserKey, now: float | None = None) -> bool:
        """Take one token for this user's message; False: do not answer it."""
        now = self._now(now)
        bucket = self._bucket(user_id, now)
        tat = max(bucket.tat, now)
        allowed = tat - now <= self._tolerance
        if allowed:
            bucket.tat = tat + self._interval
        bucket.limited = not allowed
        self._evict(now)
        return allowed

    def should_warn(self, user_id: UserKey, now: float | None = None) -> bool:
        """After a refused `allow`: True once per `per` seconds, so the user is
        told to wait once and the rest of the flood is dropped silently."""
        now = self._now(now)
        bucket = self._buckets.get(user_id)
        if bucket is None or not bucket.limited:
            return False
        if bucket.warned_at is not None and 0 <= now - bucket.warned_at < self.per:
            return False
        bucket.warned_at = now
        return True

    def check(self, user_id: UserKey, now: float | None = None) -> Verdict:
        """`allow` and `should_warn` in one call, for the message handler."""
        now = self._now(now)
        if self.allow(user_id, now):
            return Verdict.ALLOW
        return Verdict.WARN if self.should_warn(user_id, now) else Verdict.SILENT

    def retry_after(self, user_id: UserKey, now: float | None = None) -> float:
        """Seconds until this user's next message would be allowed (0: now);
        for the warning's {seconds} parameter."""
        now = self._now(now)
        bucket = self._buckets.get(user_id)
        if bucket is None:
            return 0.0
        return max(0.0, bucket.tat - self._tolerance - now)


class RefusalLog:
    """At most one audit row (and one log line) per user per `per` seconds for
    refused admin commands; the refusals in between are counted, and the count
    goes into the next row. Why: a non-admin repeating /lichsu would otherwise
    write a row per message, and the audit log (and the disk) would be the flood.

    `note` answers None for a refusal to stay quiet about, else how many refusals
    of this user went unrecorded since their last row. Memory is bounded as
    FloodGuard's: at most `max_users`, the least recently recorded dropped first
    (their next refusal is then recorded at once: more rows, never fewer).
    """

    def __init__(
        self,
        per: float = 60.0,
        *,
        max_users: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per <= 0 or max_users < 1:
            raise ValueError("per must be > 0 and max_users ≥ 1")
        self.per = per
        self.max_users = max_users
        self._clock = clock
        # user → [time of their last recorded refusal, refusals not recorded since]
        self._users: OrderedDict[UserKey, list[float]] = OrderedDict()

    def note(self, user_id: UserKey, now: float | None = None) -> int | None:
        now = self._clock() if now is None else now
        seen = self._users.get(user_id)
        if seen is not None and 0 <= now - seen[0] < self.per:
            seen[1] += 1
            return None
        skipped = int(seen[1]) if seen is not None else 0
        self._users[user_id] = [now, 0]
        self._users.move_to_end(user_id)
        while len(self._users) > self.max_users:
            self._users.popitem(last=False)
        return skipped
