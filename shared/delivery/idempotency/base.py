"""The idempotency store interface and what a claim on a key returns.

A key is claimed atomically before anything is sent. The first claimant gets ``Claim.first``
and must then either ``complete`` it with its outcome (``SENT``: the message went out, or is
safely queued; ``UNKNOWN``: it may have gone out) or ``release`` it (nothing went out: a retry must
be able to send). Every later claimant within the key's time to live sends nothing and learns the
first claimant's request id and outcome: ``SENT``, ``UNKNOWN``, ``HELD``, or None while the first is still
sending (the HA Alertmanager pair arriving at the same instant). Just before the message goes to
the transport, its claimant marks the claim ``sending``. A claim that was neither completed nor
released lapses after its lease: its owner stopped between claim and settle (a crash, an instance
recycled). If it had marked the claim sending, whether it sent is unknown: the next claimant takes
it over and is told so (``Claim.abandoned_by``), and what to do about it is the dispatcher's
business. If it had not (it died waiting for a send slot, say), nothing went out: the next claimant
simply owns the key. A key whose outcome is unknown can be ``reopen``ed by one claimant at a time,
when its transport can find out what happened and finish the send (the Graph draft method).

While sending, the transport may ``record_progress`` on the claim before each step it cannot take
back (the draft method: "a /send was posted for draft X"), so the claimant that reopens an unknown
outcome knows how far the first attempt got, not only that it did not end. A record whose owner
stopped mid-send keeps its request id and its progress when it is taken over.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from shared.problems import StorageUnavailable

# Longer than any send (MAIL_SEND_DEADLINE_S is at most 200 s): a live claimant is never
# mistaken for a dead one.
LEASE_S = 240


class IdempotencyUnavailable(StorageUnavailable):
    """The key store cannot be reached: nothing is sent rather than risk sending twice."""

    code = "idempotency_unavailable"
    title = "The idempotency store is unavailable"


class Outcome(enum.StrEnum):
    SENT = "sent"  # the transport took it: Graph accepted it, or it is on the queue
    UNKNOWN = "unknown"  # it may or may not have been sent (no answer after sending, a Graph 5xx, a crash)
    # Held for a storm digest (stored, not sent yet): the digest settles it later with ``resolve``.
    HELD = "held"


@dataclass(frozen=True)
class Claim:
    key: str
    first: bool  # True: this caller owns the key and must send, then complete or release
    request_id: str  # the request that owns the key: ours when first, else the earlier one
    etag: str | None = None  # the store's version of the record, for a safe release
    # Not first: how the earlier request ended; None while it is still sending.
    outcome: Outcome | None = None
    # First, after taking over a lapsed claim: the request that claimed it and never settled.
    abandoned_by: str | None = None
    # How far the owning request's send got, as its transport recorded it (``record_progress``), in
    # words only that transport reads: "" once it is sending and nothing is recorded yet; None when
    # that is not known (a record kept before progress was), so any step may have been taken.
    progress: str | None = None


class IdempotencyStore(Protocol):
    def claim(self, key: str, request_id: str, *, ttl_s: int) -> Claim: ...

    def complete(self, claim: Claim, outcome: Outcome = Outcome.SENT) -> None: ...

    def release(self, claim: Claim) -> None: ...

    def mark_sending(self, claim: Claim) -> Claim:
        """Record that the message is about to go out; the returned claim settles it. A failure is
        RetryLater, and then nothing must be sent."""
        ...

    def resolve(self, key: str, outcome: Outcome | None) -> None:
        """Settle a key whose claim was completed ``HELD``: with the digest's outcome, or freed (None)."""
        ...

    def reopen(self, key: str, request_id: str, *, ttl_s: int) -> Claim | None:
        """Take a key whose outcome is ``UNKNOWN`` to finish its send (a transport that can resume
        it): the returned claim is first, sending, and owned by ``request_id`` (the request whose
        send it finishes), with the ``progress`` the earlier attempt recorded; None when the outcome
        is not unknown (any more) or another claimant took it first. Exactly one of two concurrent
        callers gets it. A failure is RetryLater."""
        ...

    def record_progress(self, claim: Claim, progress: str) -> Claim:
        """Record how far the claim's send got, before the step that ``progress`` names is taken; the
        returned claim settles it. Conditional on the claim's version: a failure (storage, or the
        claim taken over) is RetryLater, and then that step must not be taken."""
        ...
