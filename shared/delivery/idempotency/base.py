"""The idempotency store interface and what a claim on a key returns.

A key is claimed atomically before anything is sent. The first claimant gets ``Claim.first``
and must then either ``complete`` it (the message went out, or is safely queued) or ``release``
it (nothing went out: a retry must be able to send). Every later claimant within the key's time
to live gets the first claimant's request id back and sends nothing — including while the first
is still sending, which is exactly the HA Alertmanager pair arriving at the same instant. A claim
that was neither completed nor released (the process died mid-send) lapses after its lease, so
the sender's next retry sends rather than being swallowed forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shared.problems import RetryLater

# Longer than any send (MAIL_SEND_DEADLINE_S is at most 200 s): a live claimant is never
# mistaken for a dead one.
LEASE_S = 240


class IdempotencyUnavailable(RetryLater):
    """The key store cannot be reached: nothing is sent rather than risk sending twice."""

    status = 503
    code = "idempotency_unavailable"
    title = "The idempotency store is unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, retry_after_s=5)


@dataclass(frozen=True)
class Claim:
    key: str
    first: bool  # True: this caller owns the key and must send, then complete or release
    request_id: str  # the request that owns the key: ours when first, else the earlier one
    etag: str | None = None  # the store's version of the record, for a safe release


class IdempotencyStore(Protocol):
    def claim(self, key: str, request_id: str, *, ttl_s: int) -> Claim: ...

    def complete(self, claim: Claim) -> None: ...

    def release(self, claim: Claim) -> None: ...
