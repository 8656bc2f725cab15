"""An in-process store, for runs without storage: it deduplicates within one process only."""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass

from shared.delivery.idempotency.base import LEASE_S, Claim, IdempotencyUnavailable, Outcome


@dataclass
class _Record:
    request_id: str
    expires_at: float
    lease_until: float
    version: int
    outcome: Outcome | None = None  # None while its claimant is sending
    sending: bool = False  # its claimant handed the message to the transport
    progress: str | None = None  # how far the send got (Claim.progress)


class MemoryIdempotencyStore:
    def __init__(self) -> None:
        self._records: dict[str, _Record] = {}
        self._lock = threading.Lock()
        self._versions = 0

    def claim(self, key: str, request_id: str, *, ttl_s: int) -> Claim:
        now = time.monotonic()
        with self._lock:
            record = self._records.get(key)
            abandoned_by = None
            if record is not None and record.expires_at > now:
                if record.outcome is not None or record.lease_until > now:
                    return Claim(key, first=False, request_id=record.request_id, outcome=record.outcome)
                abandoned_by = record.request_id if record.sending else None
            self._versions += 1
            if record is not None and abandoned_by is not None:
                # Its send may have gone out: the record stays that request's, with how far it got.
                self._records[key] = self._sending_again(record, abandoned_by, now=now, ttl_s=ttl_s)
            else:
                self._records[key] = _Record(request_id, now + ttl_s, now + LEASE_S, self._versions)
            if len(self._records) > 10_000:
                self._forget_expired(now)
            return Claim(key, first=True, request_id=request_id, etag=str(self._versions), abandoned_by=abandoned_by)

    def _sending_again(self, record: _Record, request_id: str, *, now: float, ttl_s: int) -> _Record:
        """A record whose send may have gone out, taken on by ``request_id``: sending, with how far it got
        (a takeover of an abandoned send, or a reopened unknown outcome). Under the lock, version taken."""
        return _Record(
            request_id,
            max(record.expires_at, now + ttl_s),
            now + LEASE_S,
            self._versions,
            sending=True,
            progress=record.progress,
        )

    def complete(self, claim: Claim, outcome: Outcome = Outcome.SENT) -> None:
        with self._lock:
            record = self._records.get(claim.key)
            if record is not None and str(record.version) == claim.etag:
                record.outcome = outcome

    def release(self, claim: Claim) -> None:
        with self._lock:
            record = self._records.get(claim.key)
            if record is not None and str(record.version) == claim.etag:
                del self._records[claim.key]

    def mark_sending(self, claim: Claim) -> Claim:
        with self._lock:
            record = self._records.get(claim.key)
            if record is not None and str(record.version) == claim.etag:
                record.sending = True
                record.progress = ""
        return dataclasses.replace(claim, progress="")

    def record_progress(self, claim: Claim, progress: str) -> Claim:
        with self._lock:
            record = self._records.get(claim.key)
            if record is None or str(record.version) != claim.etag:
                raise IdempotencyUnavailable("The key's claim was taken over; nothing more is sent.")
            self._versions += 1
            record.version = self._versions
            record.progress = progress
        return dataclasses.replace(claim, etag=str(self._versions), progress=progress)

    def resolve(self, key: str, outcome: Outcome | None) -> None:
        with self._lock:
            record = self._records.get(key)
            if record is None:
                return
            if outcome is None:
                del self._records[key]
            else:
                record.outcome = outcome

    def reopen(self, key: str, request_id: str, *, ttl_s: int) -> Claim | None:
        now = time.monotonic()
        with self._lock:
            record = self._records.get(key)
            if record is None or record.expires_at <= now or record.outcome is not Outcome.UNKNOWN:
                return None
            self._versions += 1
            self._records[key] = self._sending_again(record, request_id, now=now, ttl_s=ttl_s)
            return Claim(key, first=True, request_id=request_id, etag=str(self._versions), progress=record.progress)

    def _forget_expired(self, now: float) -> None:
        for key in [key for key, record in self._records.items() if record.expires_at <= now]:
            del self._records[key]
