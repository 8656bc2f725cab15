"""The queue-triggered functions: a queued message (MAIL_DELIVERY=queue) or a digest's flush.

What happens to a message is ``shared.delivery.queue_worker``'s business, and to a flush
``shared.delivery.digests.flush``'s; these entries read the envelope, set the log context and hand
it over.
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


def handle_digest_flush(message_text: str, runtime: Runtime | None = None) -> None:
    runtime = runtime or current_runtime()
    if runtime.digest_flusher is None:
        raise RuntimeError("a digest flush arrived but no storage is configured (AzureWebJobsStorage)")
    runtime.digest_flusher.flush(message_text)
