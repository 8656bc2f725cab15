"""The queue-triggered function (MAIL_DELIVERY=queue): one queued message in, the queue worker's verdict out.

What happens to the message is ``shared.delivery.queue_worker``'s business; this entry reads the
envelope, sets the request's log context and hands it over.
"""

from __future__ import annotations

from shared.delivery.mail_queue import QueuedMail
from shared.logs import request_context
from shared.runtime import Runtime, current_runtime


def handle_queued_mail(message_text: str, runtime: Runtime | None = None) -> None:
    runtime = runtime or current_runtime()
    if runtime.queue_worker is None:
        raise RuntimeError("a queued message arrived but MAIL_DELIVERY is not 'queue'")
    queued = QueuedMail.from_text(message_text)
    with request_context(queued.request_id):
        runtime.queue_worker.handle(queued)
