"""Abuse limits, checked before any Graph call: a rate per caller and a daily recipient budget per mailbox.

Both live in the process, so they hold per instance: with N instances a caller gets N times the rate
and a mailbox N times the budget. They stop a runaway script or a leaked key within seconds; the
hard ceiling stays Exchange's own (10,000 recipients per mailbox per rolling 24 hours).
"""

from __future__ import annotations

import collections
import hashlib
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from shared.problems import Problem

_MAX_TRACKED_CALLERS = 10_000
DAY_S = 24 * 3600


class RateLimited(Problem):
    status = 429
    code = "rate_limited"
    title = "Too many requests from this caller"


class RecipientBudgetExhausted(Problem):
    status = 429
    code = "recipient_budget_exhausted"
    title = "The sender mailbox's daily recipient budget is used up"


def caller_of(headers: Mapping[str, str], params: Mapping[str, str]) -> str:
    """Who is calling: their function key (hashed, never kept), else the client address."""
    key = headers.get("x-functions-key") or params.get("code")
    if key:
        return "key:" + hashlib.sha256(key.encode()).hexdigest()[:16]
    # The Functions front end puts the client's address first in X-Forwarded-For.
    forwarded = (headers.get("X-Forwarded-For") or "").split(",")[0].strip()
    return f"ip:{forwarded}" if forwarded else "anonymous"


@dataclass
class _Bucket:
    tokens: float
    updated_at: float


class RateLimiter:
    """A token bucket per caller: ``burst`` requests at once, refilled at ``per_minute``."""

    def __init__(self, per_minute: int, burst: int) -> None:
        self._rate_per_s = per_minute / 60
        self._burst = burst
        self._buckets: collections.OrderedDict[str, _Bucket] = collections.OrderedDict()
        self._lock = threading.Lock()

    def take(self, caller: str) -> None:
        if self._rate_per_s <= 0:
            return
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.pop(caller, None) or _Bucket(tokens=self._burst, updated_at=now)
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated_at) * self._rate_per_s)
            bucket.updated_at = now
            self._buckets[caller] = bucket  # most recently seen last, so the oldest go first
            while len(self._buckets) > _MAX_TRACKED_CALLERS:
                self._buckets.popitem(last=False)
            if bucket.tokens < 1:
                wait_s = math.ceil((1 - bucket.tokens) / self._rate_per_s)
                raise RateLimited(
                    f"More than {self._burst} requests at once or {self._rate_per_s * 60:g} a minute; "
                    f"retry in {wait_s} s. Nothing was sent.",
                    headers={"Retry-After": str(wait_s)},
                )
            bucket.tokens -= 1


class RecipientBudget:
    """Recipients sent per mailbox over the last 24 hours, refused past ``per_day``."""

    def __init__(self, per_day: int) -> None:
        self.per_day = per_day
        self._sent: dict[str, collections.deque[tuple[float, int]]] = {}
        # The sum of each history, kept as sends come and go: summing a day's sends on every
        # message cost O(sends per day), about 1.6 ms per message at 9,000 a day (bench/results.md).
        self._used_totals: dict[str, int] = {}
        self._lock = threading.Lock()

    def check(self, mailbox: str, recipients: int) -> None:
        now = time.time()
        with self._lock:
            used = self._used(mailbox.lower(), now)
            if used + recipients <= self.per_day:
                return
            history = self._sent[mailbox.lower()]
            # When enough of the oldest sends leave the 24-hour window for this message to fit.
            freed, wait_s = 0, DAY_S
            for sent_at, count in history:
                freed += count
                if used - freed + recipients <= self.per_day:
                    wait_s = max(1, math.ceil(sent_at + DAY_S - now))
                    break
        raise RecipientBudgetExhausted(
            f"{mailbox} has sent to {used} recipients in 24 hours; its budget is {self.per_day} "
            f"(MAIL_DAILY_RECIPIENT_BUDGET), below Exchange's 10,000. Nothing was sent.",
            headers={"Retry-After": str(wait_s)},
        )

    def record(self, mailbox: str, recipients: int) -> None:
        key = mailbox.lower()
        with self._lock:
            self._sent.setdefault(key, collections.deque()).append((time.time(), recipients))
            self._used_totals[key] = self._used_totals.get(key, 0) + recipients

    def highest_use(self) -> int:
        """The most recipients any one mailbox sent to in the last 24 hours."""
        now = time.time()
        with self._lock:
            return max((self._used(mailbox, now) for mailbox in list(self._sent)), default=0)

    def _used(self, mailbox: str, now: float) -> int:
        history = self._sent.get(mailbox)
        if not history:
            return 0
        used = self._used_totals[mailbox]
        while history and history[0][0] <= now - DAY_S:
            used -= history.popleft()[1]
        self._used_totals[mailbox] = used
        return used
