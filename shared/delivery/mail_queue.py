"""The outbound queue's storage: the envelope a queued message travels in, and where it lives.

A queue message holds at most 64 KB
(https://learn.microsoft.com/azure/storage/queues/storage-queues-introduction), and the
Functions trigger reads it base64-encoded
(https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue#host-json),
so about 48 KB of text. A larger Graph request (attachments) is stored as a blob and the queue
message carries its name instead: a claim check. The queue transport puts messages here; the
queue worker reads them back, puts them back for a retry, or moves them to the poison queue.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.mail.digest_line import DigestLine
from shared.mail.graph_message import JSON_CONTENT_TYPE, MIME_CONTENT_TYPE, GraphSend, SendMailRequest

if TYPE_CHECKING:
    from shared.azure.storage import StorageClients

ENVELOPE_VERSION = 1


@dataclass(frozen=True)
class QueuedMail:
    """One message on the outbound queue."""

    request_id: str
    mailbox: str
    attempt: int  # 1 for the first delivery attempt
    enqueued_at: float  # when the bridge first accepted it (epoch seconds)
    body: bytes | None = None  # the exact Graph request, when it fits in the message
    blob: str | None = None  # else the claim check: the blob holding it
    digest: DigestLine | None = None  # a notification's line in its route's digest (GraphSend.digest)
    content_type: str = JSON_CONTENT_TYPE  # the body's form: Graph's JSON, or its base64 MIME (text/plain)

    def to_text(self) -> str:
        document: dict[str, Any] = {
            "v": ENVELOPE_VERSION,
            "requestId": self.request_id,
            "mailbox": self.mailbox,
            "attempt": self.attempt,
            "enqueuedAt": self.enqueued_at,
        }
        if self.body is not None:
            document["body"] = base64.b64encode(self.body).decode()
        if self.blob is not None:
            document["blob"] = self.blob
        if self.digest is not None:
            document["digest"] = self.digest.to_json()
        if self.content_type != JSON_CONTENT_TYPE:
            document["contentType"] = self.content_type
        return json.dumps(document, separators=(",", ":"))

    @classmethod
    def from_text(cls, text: str) -> QueuedMail:
        document = json.loads(text)
        if document.get("v") != ENVELOPE_VERSION:
            raise ValueError(f"unknown envelope version {document.get('v')!r}")
        body = document.get("body")
        return cls(
            request_id=str(document["requestId"]),
            mailbox=str(document["mailbox"]),
            attempt=int(document["attempt"]),
            enqueued_at=float(document["enqueuedAt"]),
            body=base64.b64decode(body) if body is not None else None,
            blob=document.get("blob"),
            digest=DigestLine.from_json(document["digest"]) if document.get("digest") else None,
            content_type=str(document.get("contentType", JSON_CONTENT_TYPE)),
        )


def bodies_container(queue_name: str) -> str:
    return f"{queue_name}-bodies"


def poison_queue(queue_name: str) -> str:
    # The name the Functions host itself moves failing messages to.
    return f"{queue_name}-poison"


class MailQueue:
    """The queue, its claim-check container and its poison queue, for one MAIL_QUEUE_NAME."""

    def __init__(self, storage: StorageClients, queue_name: str) -> None:
        self._storage = storage
        self._queue_name = queue_name

    def put(self, queued: QueuedMail, *, delay_s: int = 0) -> None:
        """Queue the envelope, invisible for ``delay_s`` seconds."""
        self._storage.queue(self._queue_name).send_message(queued.to_text(), visibility_timeout=delay_s or None)

    def store_body(self, blob: str, body: bytes) -> None:
        self._storage.container(bodies_container(self._queue_name)).upload_blob(blob, body, overwrite=True)

    def read_mail(self, queued: QueuedMail) -> GraphSend:
        """The Graph request the envelope carries, or the one its claim check points to, read again
        as the HTTP side approved it: the JSON validated, the MIME message's recipients read."""
        body = queued.body
        if body is None:
            assert queued.blob is not None
            container = self._storage.container(bodies_container(self._queue_name))
            body = bytes(container.download_blob(queued.blob).readall())
        if queued.content_type == MIME_CONTENT_TYPE:
            from shared.mail.mime_request import content_of

            return GraphSend(queued.mailbox, None, body, queued.digest, content_of(body))
        return GraphSend(queued.mailbox, SendMailRequest.model_validate_json(body), body, queued.digest)

    def forget_body(self, queued: QueuedMail) -> None:
        """Delete the claim-check blob once the message is sent."""
        if queued.blob is not None:
            self._storage.container(bodies_container(self._queue_name)).delete_blob(queued.blob)

    def requeue(self, queued: QueuedMail, *, delay_s: int, next_attempt: bool = True) -> None:
        """Put a copy back, as the next attempt unless it was not attempted (deferred by our own
        limits); the host deletes the original when the function returns."""
        attempt = queued.attempt + 1 if next_attempt else queued.attempt
        self.put(dataclasses.replace(queued, attempt=attempt), delay_s=delay_s)

    def to_poison(self, queued: QueuedMail, error: dict[str, Any]) -> None:
        document = {**json.loads(queued.to_text()), "error": error, "failedAt": time.time()}
        self._storage.queue(poison_queue(self._queue_name)).send_message(json.dumps(document))
