"""Azure Table storage store: one entity per key, claimed with an insert that fails if it exists.

Insert-if-absent is atomic in Table storage, so of two bridges (or two threads) claiming the same
key at the same instant exactly one succeeds. Taking over an expired or abandoned record is an
update conditioned on its ETag, so that too has one winner. Times are each writer's clock, as
epoch seconds: a lease (240 s) is far longer than the clock skew between instances.
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from shared.delivery.idempotency.base import LEASE_S, Claim, IdempotencyUnavailable, Outcome
from shared.logs import get_logger

if TYPE_CHECKING:
    from azure.data.tables import TableClient

    from shared.azure.storage import StorageClients

log = get_logger(__name__)
TABLE_NAME = "mailhookidempotency"


class TableIdempotencyStore:
    def __init__(self, storage: StorageClients) -> None:
        self._storage = storage

    @property
    def _table(self) -> TableClient:
        return self._storage.table(TABLE_NAME)

    def claim(self, key: str, request_id: str, *, ttl_s: int) -> Claim:
        from azure.core.exceptions import AzureError

        try:
            return self._claim(key, request_id, ttl_s=ttl_s)
        except AzureError as exc:
            log.error("idempotency store unavailable: %s", type(exc).__name__)
            raise IdempotencyUnavailable(
                f"Azure Table storage could not be reached ({type(exc).__name__}); nothing was sent."
            ) from None

    def _claim(self, key: str, request_id: str, *, ttl_s: int) -> Claim:
        from azure.core import MatchConditions
        from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceModifiedError
        from azure.data.tables import UpdateMode

        now = time.time()
        entity = _entity(key, request_id, expires_at=now + ttl_s, lease_until=now + LEASE_S)
        try:
            created = self._table.create_entity(entity)
            return Claim(key, first=True, request_id=request_id, etag=_etag(created))
        except ResourceExistsError:
            pass
        existing = self._table.get_entity(entity["PartitionKey"], entity["RowKey"])
        abandoned_by = None
        if float(existing.get("ExpiresAt") or 0.0) > now:
            outcome = _outcome(existing)
            if outcome is not None or float(existing.get("LeaseUntil") or 0.0) > now:
                return Claim(key, first=False, request_id=str(existing.get("RequestId", "")), outcome=outcome)
            # Lapsed: unknown if its owner had started sending, else nothing went out and it is ours.
            abandoned_by = str(existing.get("RequestId", "")) if existing.get("Sending") else None
        if abandoned_by is not None:
            # Its send may have gone out: the record stays that request's, with how far it got.
            entity = {**entity, "RequestId": abandoned_by, "Sending": True}
            if "Progress" in existing:
                entity["Progress"] = existing["Progress"]
        try:
            updated = self._table.update_entity(
                entity,
                mode=UpdateMode.REPLACE,
                etag=existing.metadata["etag"],
                match_condition=MatchConditions.IfNotModified,
            )
        except (ResourceModifiedError, HttpResponseError) as exc:
            if getattr(exc, "status_code", None) not in (409, 412):
                raise
            # Another claimant took over the lapsed record first: it sends, we do not.
            winner = self._table.get_entity(entity["PartitionKey"], entity["RowKey"])
            return Claim(key, first=False, request_id=str(winner.get("RequestId", "")), outcome=_outcome(winner))
        return Claim(key, first=True, request_id=request_id, etag=_etag(updated), abandoned_by=abandoned_by)

    def complete(self, claim: Claim, outcome: Outcome = Outcome.SENT) -> None:
        """Record the outcome; if that fails the lease lapses, and the key's next claimant is told its
        outcome is unknown: never a second send."""
        from azure.core import MatchConditions
        from azure.core.exceptions import AzureError
        from azure.data.tables import UpdateMode

        partition, row = _location(claim.key)
        try:
            self._table.update_entity(
                {"PartitionKey": partition, "RowKey": row, "LeaseUntil": 0.0, "Outcome": outcome.value},
                mode=UpdateMode.MERGE,
                etag=claim.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except AzureError as exc:
            log.warning("idempotency record not completed: %s", type(exc).__name__)

    def mark_sending(self, claim: Claim) -> Claim:
        """One conditional write before the send; if it fails (storage, or the claim was taken over),
        nothing is sent."""
        import dataclasses

        from azure.core import MatchConditions
        from azure.core.exceptions import AzureError
        from azure.data.tables import UpdateMode

        partition, row = _location(claim.key)
        try:
            updated = self._table.update_entity(
                {"PartitionKey": partition, "RowKey": row, "Sending": True, "Progress": ""},
                mode=UpdateMode.MERGE,
                etag=claim.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except AzureError as exc:
            log.error("idempotency record not marked sending: %s", type(exc).__name__)
            raise IdempotencyUnavailable(
                f"Azure Table storage could not record the send ({type(exc).__name__}); nothing was sent."
            ) from None
        return dataclasses.replace(claim, etag=_etag(updated), progress="")

    def record_progress(self, claim: Claim, progress: str) -> Claim:
        """One conditional write before the step ``progress`` names; if it fails, that step is not taken."""
        import dataclasses

        from azure.core import MatchConditions
        from azure.core.exceptions import AzureError
        from azure.data.tables import UpdateMode

        partition, row = _location(claim.key)
        try:
            updated = self._table.update_entity(
                {"PartitionKey": partition, "RowKey": row, "Progress": progress},
                mode=UpdateMode.MERGE,
                etag=claim.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except AzureError as exc:
            # The write may have been applied with its answer lost (a timeout, a cut connection): read
            # the record back rather than give up a step that was in fact recorded (the draft method
            # would otherwise delete a draft its claim says is being sent, and report it unknown).
            applied = self._recorded(claim, progress)
            if applied is not None:
                log.warning("idempotency record's progress: the answer was lost, the write was applied")
                return applied
            log.error("idempotency record's progress not recorded: %s", type(exc).__name__)
            raise IdempotencyUnavailable(
                f"Azure Table storage could not record the send's progress ({type(exc).__name__}); "
                "its next step was not taken."
            ) from None
        return dataclasses.replace(claim, etag=_etag(updated), progress=progress)

    def _recorded(self, claim: Claim, progress: str) -> Claim | None:
        """The claim as stored, if it holds ``progress`` for the same request and is still sending; else None.

        Progress texts name one draft (its id and creation time), so another claimant cannot have
        written the same one."""
        import dataclasses

        from azure.core.exceptions import AzureError

        partition, row = _location(claim.key)
        try:
            entity = self._table.get_entity(partition, row)
        except AzureError:
            return None
        if entity.get("RequestId") != claim.request_id or _progress(entity) != progress or _outcome(entity) is not None:
            return None
        return dataclasses.replace(claim, etag=entity.metadata.get("etag"), progress=progress)

    def reopen(self, key: str, request_id: str, *, ttl_s: int) -> Claim | None:
        """Conditional on the record's ETag, so of two callers one gets it; the other gets None."""
        from azure.core import MatchConditions
        from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        partition, row = _location(key)
        now = time.time()
        try:
            existing = self._table.get_entity(partition, row)
            if float(existing.get("ExpiresAt") or 0.0) <= now or _outcome(existing) is not Outcome.UNKNOWN:
                return None
            entity = _entity(
                key,
                request_id,
                expires_at=max(float(existing.get("ExpiresAt") or 0.0), now + ttl_s),
                lease_until=now + LEASE_S,
            )
            progress = _progress(existing)
            if progress is not None:
                entity["Progress"] = progress
            updated = self._table.update_entity(
                {**entity, "Sending": True},
                mode=UpdateMode.REPLACE,
                etag=existing.metadata["etag"],
                match_condition=MatchConditions.IfNotModified,
            )
        except ResourceNotFoundError:
            return None
        except HttpResponseError as exc:
            if getattr(exc, "status_code", None) in (409, 412):
                return None  # another claimant reopened it first
            raise IdempotencyUnavailable(
                f"Azure Table storage could not reopen the key ({type(exc).__name__})."
            ) from None
        except AzureError as exc:
            raise IdempotencyUnavailable(
                f"Azure Table storage could not reopen the key ({type(exc).__name__})."
            ) from None
        return Claim(key, first=True, request_id=request_id, etag=_etag(updated), progress=progress)

    def release(self, claim: Claim) -> None:
        """Free the key so a retry can send; if that fails, the lease lapses and frees it later."""
        from azure.core import MatchConditions
        from azure.core.exceptions import AzureError

        partition, row = _location(claim.key)
        try:
            self._table.delete_entity(partition, row, etag=claim.etag, match_condition=MatchConditions.IfNotModified)
        except AzureError as exc:
            # Already taken over by another claimant (412) is fine: theirs to keep.
            log.warning("idempotency record not released: %s", type(exc).__name__)

    def resolve(self, key: str, outcome: Outcome | None) -> None:
        """Settle a held key once its digest is settled; a record expired meanwhile needs nothing."""
        from azure.core.exceptions import AzureError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        partition, row = _location(key)
        try:
            if outcome is None:
                self._table.delete_entity(partition, row)
            else:
                self._table.update_entity(
                    {"PartitionKey": partition, "RowKey": row, "LeaseUntil": 0.0, "Outcome": outcome.value},
                    mode=UpdateMode.MERGE,
                )
        except ResourceNotFoundError:
            pass
        except AzureError as exc:
            log.warning("held idempotency record not resolved: %s", type(exc).__name__)


def _location(key: str) -> tuple[str, str]:
    # Keys hold characters Table storage refuses in keys ('/', '#', '?'); a hash has none, and its
    # first two hex digits spread the records over 256 partitions.
    digest = hashlib.sha256(key.encode()).hexdigest()
    return digest[:2], digest


def _entity(key: str, request_id: str, *, expires_at: float, lease_until: float) -> dict[str, Any]:
    partition, row = _location(key)
    return {
        "PartitionKey": partition,
        "RowKey": row,
        "RequestId": request_id,
        "ExpiresAt": expires_at,
        "LeaseUntil": lease_until,
    }


def _outcome(entity: Any) -> Outcome | None:
    """How the record's claimant ended; None while it is sending (or after it stopped without a word)."""
    recorded = entity.get("Outcome")
    if recorded:
        return Outcome(recorded)
    # Records completed before outcomes were kept have only their lease cleared: they were sent.
    return Outcome.SENT if not float(entity.get("LeaseUntil") or 0.0) else None


def _progress(entity: Any) -> str | None:
    """What the record's sender recorded of its progress; None for a record kept before progress was."""
    recorded = entity.get("Progress")
    return str(recorded) if recorded is not None else None


def _etag(response: Any) -> str | None:
    return response.get("etag") if isinstance(response, dict) else None
