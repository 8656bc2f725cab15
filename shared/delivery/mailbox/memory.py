"""Mailbox limits for runs without storage: one process's ledgers, behind a lock.

They hold per process only: with N instances a mailbox gets N times the budget, pace and slots.
Only local runs and tests are meant to go without storage; /api/health says which store is in use.
"""

from __future__ import annotations

import threading
import time
import uuid

from shared.delivery.mailbox.base import MailboxUsage, usage_of
from shared.delivery.mailbox.ledger import MailboxLedger, MailboxRules, Permit, Purpose, bucket_of


class MemoryMailboxLimits:
    kind = "memory"

    def __init__(self, rules: MailboxRules) -> None:
        self._rules = rules
        self._ledgers: dict[str, MailboxLedger] = {}
        self._lock = threading.Lock()

    def admit(self, mailbox: str, recipients: int, purpose: Purpose, *, entries: int = 0) -> Permit:
        now = time.time()
        permit = Permit(mailbox.lower(), uuid.uuid4().hex, bucket_of(now), int(now), recipients, purpose, entries)
        with self._lock:
            self._ledgers.setdefault(permit.mailbox, MailboxLedger()).admit(self._rules, permit, now)
        return permit

    def take_slot(self, mailbox: str) -> Permit:
        now = time.time()
        permit = Permit(mailbox.lower(), uuid.uuid4().hex, bucket_of(now), int(now), 0, Purpose.MAIL, slot_only=True)
        with self._lock:
            self._ledgers.setdefault(permit.mailbox, MailboxLedger()).take_slot(self._rules, permit, now)
        return permit

    def settle(self, permit: Permit, *, taken: bool) -> None:
        with self._lock:
            self._ledgers.setdefault(permit.mailbox, MailboxLedger()).settle(permit, taken=taken, now=time.time())

    def usage(self) -> list[MailboxUsage]:
        now = time.time()
        with self._lock:
            for ledger in self._ledgers.values():
                ledger.prune(now)
            return [usage_of(mailbox, ledger, self._rules) for mailbox, ledger in sorted(self._ledgers.items())]
