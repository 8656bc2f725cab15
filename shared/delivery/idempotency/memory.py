"""An in-process store, for runs without storage: it deduplicates within one process only."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from shared.delivery.idempotency.base import LEASE_S, Claim


@dataclass
class _Record:
    request_id: str
    expires_at: float
    lease_until: float | None  # None once completed
    version: int


class MemoryIdempotencyStore:
    def __init__(self) -> None:
        self._records: dict[str, _Record] = {}
        self._lock = threading.Lock()
        self._versions = 0

    def claim(self, key: str, request_id: str, *, ttl_s: int) -> Claim:
        now = time.monotonic()
        with self._lock:
            record = self._records.get(key)
            if record is not None and not _lapsed(record, now):
                return Claim(key, first=False, request_id=record.request_id)
            self._versions += 1
            self._records[key] = _Record(request_id, now + ttl_s, now + LEASE_S, self._versions)
            if len(self._records) > 10_000:
                self._forget_expired(now)
            return Claim(key, first=True, request_id=request_id, etag=str(self._versions))

    def complete(self, claim: Claim) -> None:
        with self._lock:
            record = self._records.get(claim.key)
            if record is not None and str(record.version) == claim.etag:
                record.lease_until = None

    def release(self, claim: Claim) -> None:
        with self._lock:
            record = self._records.get(claim.key)
            if record is not None and str(record.version) == claim.etag:
                del self._records[claim.key]

    def _forget_expired(self, now: float) -> None:
        for key in [key for key, record in self._records.items() if _lapsed(record, now)]:
            del self._records[key]


def _lapsed(record: _Record, now: float) -> bool:
    return record.expires_at <= now or (record.lease_until is not None and record.lease_until <= now)
