"""The queue transport: the finished Graph request goes onto an Azure Storage queue, and the
queue-triggered function (``shared.delivery.queue_worker``) sends it later. It only sends: the
worker's side of the queue is ``shared.delivery.mail_queue``.
"""

from __future__ import annotations

import time

from shared.delivery.mail_queue import MailQueue, QueuedMail
from shared.logs import get_logger
from shared.mail.graph_message import GraphSend
from shared.problems import StorageUnavailable

log = get_logger(__name__)

# 64 KB queue limit, base64 inflates by 4/3, and room for the envelope's own fields.
MAX_INLINE_BODY_BYTES = 46 * 1024


class QueueUnavailable(StorageUnavailable):
    code = "queue_unavailable"
    title = "The outbound queue cannot be written"


class QueueTransport:
    name = "queue"

    def __init__(self, mail_queue: MailQueue) -> None:
        self._mail_queue = mail_queue

    def send(self, mail: GraphSend, request_id: str) -> None:
        enqueued_at = time.time()
        try:
            blob = None
            if len(mail.body) > MAX_INLINE_BODY_BYTES:
                blob = f"{request_id}.json" if mail.mime is None else f"{request_id}.b64"
                self._mail_queue.store_body(blob, mail.body)
            queued = QueuedMail(
                request_id, mail.mailbox, attempt=1, enqueued_at=enqueued_at,
                body=None if blob else mail.body, blob=blob, digest=mail.digest, content_type=mail.content_type,
            )  # fmt: skip
            self._mail_queue.put(queued)
        except Exception as exc:
            from azure.core.exceptions import AzureError

            if not isinstance(exc, AzureError):
                raise
            log.error("enqueue failed: %s", type(exc).__name__)
            raise QueueUnavailable(
                f"The message could not be queued ({type(exc).__name__}); nothing was sent."
            ) from None
        log.info("queued for delivery%s", " with a claim check" if queued.blob else "")
