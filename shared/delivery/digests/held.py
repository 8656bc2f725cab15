"""Held notifications: stored in Table storage until their route's digest is sent.

One partition per digest group (a route, its sender mailbox and its recipients), holding:
- one row per held notification, its row key ordered by when it was held: its digest line, its
  idempotency key, and the exact Graph request (in the row while it fits, else in a blob) with its
  content type (``ContentType``, only when it is the MIME form's text/plain);
- ``flush``: the group's flush is scheduled (a delayed message on the ``mailhook-digests`` queue);
- ``batch``: the notifications a digest being sent names, fixed before it is sent, so a flush that
  is retried after a crash sends the same digest under the same idempotency key, never a second one.

A notification is written before its group's flush is ensured, and a flush takes its batch only
after removing the ``flush`` row: so every held notification is either in the batch being taken or
has a flush scheduled after it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from shared.logs import get_logger
from shared.mail.digest_line import DigestLine
from shared.mail.graph_message import JSON_CONTENT_TYPE, MIME_CONTENT_TYPE, GraphSend, SendMailRequest
from shared.problems import StorageUnavailable

if TYPE_CHECKING:
    from azure.core.paging import PageIterator
    from azure.data.tables import TableClient
    from azure.storage.blob import ContainerClient

    from shared.azure.storage import StorageClients

log = get_logger(__name__)

TABLE_NAME = "mailhookheld"
BODIES_CONTAINER = "mailhook-held"
FLUSH_QUEUE = "mailhook-digests"
FLUSH_ROW = "flush"
BATCH_ROW = "batch"
# A Table string property holds 64 KiB of UTF-16 (https://learn.microsoft.com/rest/api/storageservices/
# understanding-the-table-service-data-model#property-types): 32K characters; larger bodies go to a blob.
MAX_INLINE_BODY_CHARS = 30_000
# A scheduled flush whose time is this far past has been lost (its queue message failed after the
# ``flush`` row was written): the next notification held schedules it again.
LOST_FLUSH_AFTER_S = 600
ENVELOPE_VERSION = 1


class HoldingUnavailable(StorageUnavailable):
    code = "holding_unavailable"
    title = "The notification could not be held for a digest"


@dataclass(frozen=True)
class HeldNotification:
    group: str
    row: str
    request_id: str
    key: str | None  # the idempotency key its sender's retries are answered from
    line: DigestLine
    mailbox: str
    body: bytes  # the Graph request it would have been sent as
    blob: str | None  # where the body is kept when it did not fit in the row
    content_type: str = JSON_CONTENT_TYPE  # the body's form (GraphSend.content_type)

    def mail(self) -> GraphSend:
        if self.content_type == MIME_CONTENT_TYPE:
            from shared.mail.mime_request import content_of

            return GraphSend(self.mailbox, None, self.body, mime=content_of(self.body))
        return GraphSend(self.mailbox, SendMailRequest.model_validate_json(self.body), self.body)

    def request(self) -> SendMailRequest:
        """The JSON form its digest entry is composed from; a MIME mail is read back (we built it)."""
        if self.content_type == MIME_CONTENT_TYPE:
            from shared.mail.mime_message import request_of_generated
            from shared.mail.mime_request import decode_graph_mime

            return request_of_generated(decode_graph_mime(self.body))
        return SendMailRequest.model_validate_json(self.body)


@dataclass(frozen=True)
class Batch:
    batch_id: str
    rows: list[str]


def group_of(mail: GraphSend, route: str) -> str:
    """The digest group: one digest per route, sender mailbox and set of recipients."""
    recipients = sorted(address.lower() for address in mail.recipient_addresses())
    material = "\n".join([route, mail.mailbox.lower(), *recipients])
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def flush_message(group: str) -> str:
    return json.dumps({"v": ENVELOPE_VERSION, "group": group}, separators=(",", ":"))


def group_of_flush_message(text: str) -> str:
    document = json.loads(text)
    if document.get("v") != ENVELOPE_VERSION or not isinstance(document.get("group"), str):
        raise ValueError(f"not a digest flush message: {text[:80]!r}")
    return str(document["group"])


class HeldNotifications:
    def __init__(self, storage: StorageClients) -> None:
        self._storage = storage
        self.operations = 0  # Table, blob and queue requests made, for the benchmark

    @property
    def _table(self) -> TableClient:
        return self._storage.table(TABLE_NAME)

    @property
    def _bodies(self) -> ContainerClient:
        return self._storage.container(BODIES_CONTAINER)

    def hold(self, mail: GraphSend, request_id: str, key: str | None, *, window_s: int) -> str:
        """Store the notification and make sure its group's flush is scheduled; returns the group."""
        from azure.core.exceptions import AzureError

        assert mail.digest is not None
        group = group_of(mail, mail.digest.route)
        now = self._storage.clock.now()
        row = f"{int(now * 1000):015d}-{request_id}"
        entity: dict[str, Any] = {
            "PartitionKey": group,
            "RowKey": row,
            "RequestId": request_id,
            "Key": key or "",
            "Line": mail.digest.to_json(),
            "Mailbox": mail.mailbox,
        }
        if mail.content_type != JSON_CONTENT_TYPE:
            entity["ContentType"] = mail.content_type
        try:
            text = mail.body.decode()
            if len(text) <= MAX_INLINE_BODY_CHARS:
                entity["Body"] = text
            else:
                entity["Blob"] = f"{group}/{row}.json"
                self.operations += 1
                self._bodies.upload_blob(entity["Blob"], mail.body, overwrite=True)
            self.operations += 1
            self._table.create_entity(entity)
        except AzureError as exc:
            raise HoldingUnavailable(
                f"Azure storage could not be written ({type(exc).__name__}); nothing was held or sent."
            ) from None
        try:
            self.schedule_flush(group, delay_s=window_s)
        except AzureError as exc:
            self._forget(group, row, entity.get("Blob"))
            raise HoldingUnavailable(
                f"The digest could not be scheduled ({type(exc).__name__}); nothing was held or sent."
            ) from None
        return group

    def schedule_flush(self, group: str, *, delay_s: int) -> None:
        """Queue the group's flush unless one is scheduled already (or was lost)."""
        from azure.core import MatchConditions
        from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        for _ in range(3):  # the row may be removed between our insert and our read: insert again
            due = self._storage.clock.now() + delay_s
            marker = {"PartitionKey": group, "RowKey": FLUSH_ROW, "DueAt": due}
            self.operations += 1
            try:
                self._table.create_entity(marker)
                break
            except ResourceExistsError:
                pass
            try:
                self.operations += 1
                existing = self._table.get_entity(group, FLUSH_ROW)
            except ResourceNotFoundError:
                continue
            if float(existing.get("DueAt") or 0.0) + LOST_FLUSH_AFTER_S > self._storage.clock.now():
                return  # scheduled, and not lost
            try:
                self.operations += 1
                self._table.update_entity(
                    marker, mode=UpdateMode.REPLACE, etag=existing.metadata["etag"],
                    match_condition=MatchConditions.IfNotModified,
                )  # fmt: skip
            except HttpResponseError as exc:
                if exc.status_code in (404, 409, 412):
                    continue  # rescheduled or taken meanwhile: look again
                raise
            log.warning("digest flush of group %s was lost; scheduled again", group)
            break
        self.requeue_flush(group, delay_s=delay_s)

    def requeue_flush(self, group: str, *, delay_s: int) -> None:
        self.operations += 1
        self._storage.queue(FLUSH_QUEUE).send_message(flush_message(group), visibility_timeout=delay_s or None)

    def unschedule_flush(self, group: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        self.operations += 1
        with contextlib.suppress(ResourceNotFoundError):
            self._table.delete_entity(group, FLUSH_ROW)

    def waiting(self, group: str, *, limit: int) -> list[str]:
        """The rows of the group's held notifications, oldest first, at most ``limit``."""
        self.operations += 1
        # Notification rows start with digits, which sort before the 'batch' and 'flush' rows.
        query = self._table.query_entities(
            "PartitionKey eq @group and RowKey lt 'a'", parameters={"group": group}, select=["RowKey"]
        )
        rows: list[str] = []
        for entity in query:
            rows.append(str(entity["RowKey"]))
            if len(rows) >= limit:
                break
        return rows

    def batch(self, group: str) -> Batch | None:
        from azure.core.exceptions import ResourceNotFoundError

        self.operations += 1
        try:
            entity = self._table.get_entity(group, BATCH_ROW)
        except ResourceNotFoundError:
            return None
        return Batch(str(entity["BatchId"]), json.loads(entity["Rows"]))

    def take_batch(self, group: str, rows: list[str]) -> Batch:
        """Fix which notifications the next digest names; an existing batch (another flush) wins."""
        from azure.core.exceptions import ResourceExistsError

        batch = Batch(f"digest-{uuid.uuid4()}", rows)
        entity = {
            "PartitionKey": group,
            "RowKey": BATCH_ROW,
            "BatchId": batch.batch_id,
            "Rows": json.dumps(rows),
            "TakenAt": time.time(),
        }
        self.operations += 1
        try:
            self._table.create_entity(entity)
        except ResourceExistsError:
            existing = self.batch(group)
            if existing is not None:
                return existing
            raise
        return batch

    def read(self, group: str, rows: list[str]) -> Iterator[HeldNotification]:
        """The batch's notifications; rows already removed are skipped."""
        from azure.core.exceptions import ResourceNotFoundError

        for row in rows:
            self.operations += 1
            try:
                entity = self._table.get_entity(group, row)
            except ResourceNotFoundError:
                continue
            if entity.get("Blob"):
                self.operations += 1
                body = bytes(self._bodies.download_blob(entity["Blob"]).readall())
            else:
                body = str(entity.get("Body", "")).encode()
            yield HeldNotification(
                group=group,
                row=row,
                request_id=str(entity.get("RequestId", "")),
                key=str(entity.get("Key") or "") or None,
                line=DigestLine.from_json(str(entity["Line"])),
                mailbox=str(entity.get("Mailbox", "")),
                body=body,
                blob=str(entity.get("Blob") or "") or None,
                content_type=str(entity.get("ContentType") or JSON_CONTENT_TYPE),
            )

    def remove_batch(self, group: str, held: list[HeldNotification]) -> None:
        """Delete the batch's notifications, their blobs, then the batch itself."""
        from azure.core.exceptions import ResourceNotFoundError

        for notification in held:
            self._forget(group, notification.row, notification.blob)
        self.operations += 1
        with contextlib.suppress(ResourceNotFoundError):
            self._table.delete_entity(group, BATCH_ROW)

    def report(self, queue_name: str, report: dict[str, Any]) -> None:
        """Report a digest that failed: the whole report as a blob (it can name hundreds of
        notifications, past a queue message's 64 KB), and a message naming it on ``queue_name``."""
        blob = f"reports/{report['batchId']}.json"
        self.operations += 2
        self._bodies.upload_blob(blob, json.dumps(report).encode(), overwrite=True)
        summary = {key: value for key, value in report.items() if key != "notifications"}
        summary.update(notifications=len(report["notifications"]), report=f"{BODIES_CONTAINER}/{blob}")
        self._storage.queue(queue_name).send_message(json.dumps(summary))

    def counts(self, *, limit: int = 10_000) -> dict[str, int]:
        """Held notifications per sender mailbox (counted up to ``limit``), for /api/status (function key)."""
        self.operations += 1
        counts: dict[str, int] = {}
        for seen, entity in enumerate(self._table.query_entities("RowKey lt 'a'", select=["Mailbox"]), 1):
            mailbox = str(entity.get("Mailbox", "")).lower()
            counts[mailbox] = counts.get(mailbox, 0) + 1
            if seen >= limit:
                break
        return counts

    def count_up_to(self, bound: int, *, max_requests: int = 3) -> tuple[int, bool]:
        """How many notifications are held, reading at most ``bound`` row keys: (count, whether more are held).

        For the anonymous /api/health: each call costs one small query ($top, $select of the row key),
        whatever a storm left held. A query across partitions may come back short with a continuation
        (https://learn.microsoft.com/rest/api/storageservices/query-timeout-and-pagination), so it is
        followed for the rest, up to ``max_requests``; past those the count is a lower bound too.
        """
        count, token = 0, None
        for _ in range(max_requests):
            self.operations += 1
            query = self._table.query_entities("RowKey lt 'a'", select=["RowKey"], results_per_page=bound - count)
            # by_page's iterator is a PageIterator: the continuation of the page it read.
            pages = cast("PageIterator[Any]", query.by_page(continuation_token=token))
            count += sum(1 for _ in next(pages, ()))
            token = pages.continuation_token
            if token is None or count >= bound:
                break
        return count, token is not None

    def _forget(self, group: str, row: str, blob: str | None) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        self.operations += 1
        with contextlib.suppress(ResourceNotFoundError):
            self._table.delete_entity(group, row)
        if blob:
            self.operations += 1
            with contextlib.suppress(ResourceNotFoundError):
                self._bodies.delete_blob(blob)
