"""Mailbox limits every instance shares: one Table storage entity per sender mailbox.

Each admit and settle reads the mailbox's ledger, applies the rule, and writes it back on the
condition that nobody wrote in between (``If-Match`` with the entity's ETag; a 412 means another
instance won, so the step is redone on the fresh ledger)
(https://learn.microsoft.com/rest/api/storageservices/update-entity2). So a reservation is atomic
across instances: the budget is checked and counted in one write, and the fifth send in flight
cannot be admitted. Times are the storage service's (``StorageClock``), never an instance's own.
Storage that cannot be reached refuses the send (503, Retry-After): nothing goes out unmetered.
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from shared.delivery.mailbox.base import MailboxLimitsUnavailable, MailboxUsage, usage_of
from shared.delivery.mailbox.ledger import MailboxLedger, MailboxRules, Permit, Purpose, bucket_of
from shared.logs import get_logger

if TYPE_CHECKING:
    from azure.data.tables import TableClient

    from shared.azure.storage import StorageClients

log = get_logger(__name__)
StepResult = TypeVar("StepResult")

TABLE_NAME = "mailhookmailboxes"
PARTITION = "mailbox"
# Enough for dozens of instances writing one mailbox at the same moment: each conflict means another
# instance's step went through, so the wait is bounded by how many are ahead.
MAX_CONFLICTS = 60


class _Conflict(Exception):
    """Another instance wrote the ledger between our read and our write."""


class TableMailboxLimits:
    kind = "table"

    def __init__(self, storage: StorageClients, rules: MailboxRules) -> None:
        self._storage = storage
        self._rules = rules
        self.operations = 0  # Table requests made, for the benchmark

    @property
    def _table(self) -> TableClient:
        return self._storage.table(TABLE_NAME)

    def admit(self, mailbox: str, recipients: int, purpose: Purpose, *, entries: int = 0) -> Permit:
        token = uuid.uuid4().hex

        def step(ledger: MailboxLedger, now: float) -> Permit:
            permit = Permit(mailbox.lower(), token, bucket_of(now), int(now), recipients, purpose, entries)
            ledger.admit(self._rules, permit, now)  # a Deferred leaves the ledger unwritten
            return permit

        return self._update(mailbox.lower(), step)

    def take_slot(self, mailbox: str) -> Permit:
        token = uuid.uuid4().hex

        def step(ledger: MailboxLedger, now: float) -> Permit:
            permit = Permit(mailbox.lower(), token, bucket_of(now), int(now), 0, Purpose.MAIL, slot_only=True)
            ledger.take_slot(self._rules, permit, now)  # MailboxBusy leaves the ledger unwritten
            return permit

        return self._update(mailbox.lower(), step)

    def settle(self, permit: Permit, *, taken: bool) -> None:
        def step(ledger: MailboxLedger, now: float) -> None:
            ledger.settle(permit, taken=taken, now=now)

        try:
            self._update(permit.mailbox, step)
        except MailboxLimitsUnavailable as exc:
            # The slot's lease ends on its own; recipients not given back only make the budget stricter.
            log.warning("mailbox ledger not settled: %s", exc.detail)

    def usage(self) -> list[MailboxUsage]:
        from azure.core.exceptions import AzureError

        now = self._storage.clock.now()
        try:
            entities = list(self._table.query_entities(f"PartitionKey eq '{PARTITION}'"))
        except AzureError as exc:
            raise MailboxLimitsUnavailable(f"Azure Table storage could not be read ({type(exc).__name__}).") from None
        usages = []
        for entity in entities:
            ledger = MailboxLedger.from_properties(entity)
            ledger.prune(now)
            usages.append(usage_of(str(entity.get("Mailbox", "")), ledger, self._rules))
        return sorted(usages, key=lambda usage: usage.mailbox)

    def _update(self, mailbox: str, step: Callable[[MailboxLedger, float], StepResult]) -> StepResult:
        """Apply ``step(ledger, now)`` to the mailbox's ledger and write it back, redone on conflicts."""
        from azure.core.exceptions import AzureError

        row = hashlib.sha256(mailbox.encode()).hexdigest()[:40]  # addresses may hold '/', '#', '?'
        for conflicts in range(MAX_CONFLICTS):
            try:
                ledger, etag = self._read(row)
                result = step(ledger, self._storage.clock.now())
                self._write(row, mailbox, ledger, etag)
                return result
            except _Conflict:
                time.sleep(random.uniform(0.005, 0.02 * (1 + min(conflicts, 10))))  # noqa: S311 (jitter)
            except AzureError as exc:
                log.error("mailbox limits unavailable: %s", type(exc).__name__)
                raise MailboxLimitsUnavailable(
                    f"Azure Table storage could not be reached ({type(exc).__name__}); nothing was sent."
                ) from None
        raise MailboxLimitsUnavailable(f"The mailbox's ledger changed {MAX_CONFLICTS} times while we wrote it.")

    def _read(self, row: str) -> tuple[MailboxLedger, str | None]:
        from azure.core.exceptions import ResourceNotFoundError

        self.operations += 1
        try:
            entity = self._table.get_entity(PARTITION, row)
        except ResourceNotFoundError:
            return MailboxLedger(), None
        return MailboxLedger.from_properties(entity), entity.metadata["etag"]

    def _write(self, row: str, mailbox: str, ledger: MailboxLedger, etag: str | None) -> None:
        from azure.core import MatchConditions
        from azure.core.exceptions import HttpResponseError
        from azure.data.tables import UpdateMode

        entity: dict[str, Any] = {"PartitionKey": PARTITION, "RowKey": row, "Mailbox": mailbox}
        entity.update(ledger.to_properties())
        self.operations += 1
        try:
            if etag is None:
                self._table.create_entity(entity)
            else:
                self._table.update_entity(
                    entity, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
                )
        except HttpResponseError as exc:  # ResourceExistsError (409) and ResourceModifiedError (412) among them
            if exc.status_code in (409, 412):
                raise _Conflict from None
            raise
