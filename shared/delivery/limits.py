"""The per-caller request rate, checked before anything is parsed: a token bucket per caller.

It lives in the process, so it holds per instance, on purpose: what it protects is the instance's
own CPU and memory from a runaway script or a leaked key, and that is a per-instance resource (with
N instances a caller gets N times the rate, and N times the capacity to serve it). What protects
the mailbox from a scaled-out storm is mailbox-wide and lives in storage: ``shared.delivery.mailbox``.
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
