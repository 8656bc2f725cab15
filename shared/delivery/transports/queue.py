"""The queue transport: the finished Graph request goes onto an Azure Storage queue, and the
queue-triggered function (shared/queue_worker.py) sends it.

A queue message holds at most 64 KB, and the Functions trigger reads it base64-encoded, so about
48 KB of text. A larger Graph request (attachments) is stored as a blob and the queue message
carries its name instead: a claim check.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import Any

from shared.azure.storage import StorageClients
from shared.logs import get_logger
from shared.mail.graph_message import GraphSend
from shared.problems import Problem

log = get_logger(__name__)

# 64 KB queue limit, base64 inflates by 4/3, and room for the envelope's own fields.
MAX_INLINE_BODY_BYTES = 46 * 1024
ENVELOPE_VERSION = 1


class QueueUnavailable(Problem):
    status = 503
    code = "queue_unavailable"
    title = "The outbound queue cannot be written"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"Retry-After": "5"})


@dataclass(frozen=True)
class QueuedMail:
    """One message on the outbound queue."""

    request_id: str
    mailbox: str
    attempt: int  # 1 for the first delivery attempt
    enqueued_at: float  # when the bridge first accepted it (epoch seconds)
    body: bytes | None = None  # the exact Graph request, when it fits in the message
    blob: str | None = None  # else the claim check: the blob holding it

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
        )


def bodies_container(queue_name: str) -> str:
    return f"{queue_name}-bodies"


def poison_queue(queue_name: str) -> str:
    # The name the Functions host itself moves failing messages to.
    return f"{queue_name}-poison"


class QueueTransport:
    name = "queue"

    def __init__(self, storage: StorageClients, queue_name: str) -> None:
        self._storage = storage
        self._queue_name = queue_name

    def send(self, mail: GraphSend, request_id: str) -> None:
        queued = QueuedMail(request_id=request_id, mailbox=mail.mailbox, attempt=1, enqueued_at=time.time())
        try:
            if len(mail.body) > MAX_INLINE_BODY_BYTES:
                blob = f"{request_id}.json"
                self._storage.container(bodies_container(self._queue_name)).upload_blob(blob, mail.body, overwrite=True)
                queued = QueuedMail(**{**queued.__dict__, "blob": blob})
            else:
                queued = QueuedMail(**{**queued.__dict__, "body": mail.body})
            self.enqueue(queued, delay_s=0)
        except Exception as exc:
            from azure.core.exceptions import AzureError

            if not isinstance(exc, AzureError):
                raise
            log.error("enqueue failed: %s", type(exc).__name__)
            raise QueueUnavailable(
                f"The message could not be queued ({type(exc).__name__}); nothing was sent."
            ) from None
        log.info("queued for delivery%s", " with a claim check" if queued.blob else "")

    def enqueue(self, queued: QueuedMail, *, delay_s: int) -> None:
        self._storage.queue(self._queue_name).send_message(queued.to_text(), visibility_timeout=delay_s or None)

    def read_body(self, queued: QueuedMail) -> bytes:
        if queued.body is not None:
            return queued.body
        assert queued.blob is not None
        return bytes(self._storage.container(bodies_container(self._queue_name)).download_blob(queued.blob).readall())

    def forget_body(self, queued: QueuedMail) -> None:
        if queued.blob is not None:
            self._storage.container(bodies_container(self._queue_name)).delete_blob(queued.blob)

    def to_poison(self, queued: QueuedMail, error: dict[str, Any]) -> None:
        document = {**json.loads(queued.to_text()), "error": error, "failedAt": time.time()}
        self._storage.queue(poison_queue(self._queue_name)).send_message(json.dumps(document))
