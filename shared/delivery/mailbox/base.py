"""What the dispatcher asks of mailbox limits: admit a send, settle it, and report usage."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from shared.delivery.mailbox.ledger import MailboxBusy, MailboxLedger, MailboxRules, Permit, Purpose
from shared.problems import StorageUnavailable


class MailboxLimitsUnavailable(StorageUnavailable):
    """The shared limits cannot be read or written: nothing is sent unmetered."""

    code = "mailbox_limits_unavailable"
    title = "The mailbox limits cannot be checked"


@dataclass(frozen=True)
class MailboxUsage:
    """One mailbox's limits as /api/health reports them."""

    mailbox: str
    recipients_used: int  # last 24 hours, every instance
    recipients_per_day: int
    sent_last_minute: int
    messages_per_minute: int
    in_flight: int
    last_digest_at: float | None
    last_digest_entries: int


def usage_of(mailbox: str, ledger: MailboxLedger, rules: MailboxRules) -> MailboxUsage:
    return MailboxUsage(
        mailbox=mailbox,
        recipients_used=ledger.used,
        recipients_per_day=rules.recipients_per_day,
        sent_last_minute=ledger.sent_last_minute,
        messages_per_minute=rules.messages_per_minute,
        in_flight=len(ledger.slots),
        last_digest_at=ledger.last_digest_at or None,
        last_digest_entries=ledger.last_digest_entries,
    )


class MailboxLimits(Protocol):
    kind: str  # "table" (every instance) or "memory" (this process only), for /api/health

    def admit(self, mailbox: str, recipients: int, purpose: Purpose, *, entries: int = 0) -> Permit:
        """Reserve a slot, a pace entry and the recipients, or raise a Deferred (or MailboxLimitsUnavailable)."""
        ...

    def take_slot(self, mailbox: str) -> Permit:
        """Reserve a send slot alone (a resumed send: its budget and pace were counted by its first
        attempt), or raise MailboxBusy (or MailboxLimitsUnavailable)."""
        ...

    def settle(self, permit: Permit, *, taken: bool) -> None:
        """Free the permit's slot; ``taken=False`` (Graph never took the message) gives back the rest."""
        ...

    def usage(self) -> list[MailboxUsage]: ...


# Sends hold a slot for a fraction of a second each; a full set frees within a few seconds.
SLOT_WAIT_S = 10.0


def admit_waiting(
    limits: MailboxLimits, mailbox: str, recipients: int, purpose: Purpose, *, entries: int = 0,
    wait_s: float = SLOT_WAIT_S,
) -> Permit:  # fmt: skip
    """``limits.admit``, waiting up to ``wait_s`` while only the send slots are full."""
    return _waiting(lambda: limits.admit(mailbox, recipients, purpose, entries=entries), wait_s)


def slot_waiting(limits: MailboxLimits, mailbox: str, *, wait_s: float = SLOT_WAIT_S) -> Permit:
    """``limits.take_slot``, waiting up to ``wait_s`` for one to free."""
    return _waiting(lambda: limits.take_slot(mailbox), wait_s)


def _waiting(take: Callable[[], Permit], wait_s: float) -> Permit:
    give_up_at = time.monotonic() + wait_s
    while True:
        try:
            return take()
        except MailboxBusy:
            if time.monotonic() >= give_up_at:
                raise
        # Jittered, so instances waiting for the same mailbox do not all retry at once.
        time.sleep(random.uniform(0.05, 0.25))  # noqa: S311 (jitter, not cryptography)
