"""The queue-triggered function's work: send one queued message, exactly once, or report why not.

What happens to a message (MAIL_DELIVERY=queue):
- sent: the claim-check blob is deleted; the host deletes the queue message when we return.
- throttled or unavailable (Graph 429/503/504 past the send deadline, no token, outbox busy): a copy
  goes back on the queue, invisible for Graph's Retry-After (or a backoff), with attempt + 1; after
  MAX_ATTEMPTS it goes to the poison queue instead. The original is then deleted by the host.
- refused for good (Graph 4xx other than 429, a configuration error, too large): to the poison queue
  at once, with the problem document (Graph's error code and request id) attached.
- outcome unknown (Graph took the request and did not answer): to the poison queue, never retried,
  because Graph may have sent it.
- anything else raises: the host retries it after host.json's visibilityTimeout and moves it to
  the poison queue after maxDequeueCount dequeues.
A delivery key per request id, claimed before sending, makes sure two copies of one message (a
copy re-queued just before a crash) cannot both be sent.
"""

from __future__ import annotations

import math
import random

from shared.delivery.idempotency import Claim
from shared.delivery.transports.graph import GraphTimeout
from shared.delivery.transports.queue import QueuedMail, QueueTransport
from shared.logs import get_logger, request_context
from shared.mail.graph_message import GraphSend, SendMailRequest
from shared.problems import Problem
from shared.runtime import Runtime, current_runtime

log = get_logger(__name__)

MAX_ATTEMPTS = 8
_RETRY_LATER_STATUSES = {503}
DELIVERY_KEY_TTL_S = 7 * 24 * 3600  # as long as a message can sit in a queue


def handle_queued_mail(message_text: str, runtime: Runtime | None = None) -> None:
    runtime = runtime or current_runtime()
    queue = runtime.queue
    if queue is None:
        raise RuntimeError("a queued message arrived but MAIL_DELIVERY is not 'queue'")
    queued = QueuedMail.from_text(message_text)
    with request_context(queued.request_id):
        claim = runtime.idempotency.claim(f"delivery:{queued.request_id}", queued.request_id, ttl_s=DELIVERY_KEY_TTL_S)
        if not claim.first:
            log.warning("queued message already delivered or being delivered: dropped this copy")
            return
        try:
            body = queue.read_body(queued)
            mail = GraphSend(queued.mailbox, SendMailRequest.model_validate_json(body), body)
            runtime.delivery_transport.send(mail, queued.request_id)
        except Problem as problem:
            _after_failure(runtime, queue, queued, claim, problem)
            return
        except BaseException:
            runtime.idempotency.release(claim)
            raise
        runtime.idempotency.complete(claim)
        queue.forget_body(queued)
        log.info("queued message delivered (attempt %d)", queued.attempt)


def _after_failure(runtime: Runtime, queue: QueueTransport, queued: QueuedMail, claim: Claim, problem: Problem) -> None:
    error = problem.to_document(queued.request_id)
    if isinstance(problem, GraphTimeout):
        # Graph may have sent it: keep the delivery key so no copy is ever sent, and report it.
        runtime.idempotency.complete(claim)
        queue.to_poison(queued, error)
        log.error("outcome unknown, moved to the poison queue: %s", problem.detail)
        return
    runtime.idempotency.release(claim)
    if problem.status not in _RETRY_LATER_STATUSES or queued.attempt >= MAX_ATTEMPTS:
        queue.to_poison(queued, error)
        log.error("moved to the poison queue after attempt %d: %s %s", queued.attempt, problem.code, problem.detail)
        return
    delay_s = _retry_after_s(problem, queued.attempt)
    queue.enqueue(QueuedMail(**{**queued.__dict__, "attempt": queued.attempt + 1}), delay_s=delay_s)
    log.warning("attempt %d: %s; queued again in %d s", queued.attempt, problem.code, delay_s)


def _retry_after_s(problem: Problem, attempt: int) -> int:
    retry_after = problem.headers.get("Retry-After", "")
    if retry_after.isdigit():
        return max(1, int(retry_after))
    # Exponential backoff with jitter: 2, 4, 8 ... seconds, at most 5 minutes.
    jitter = random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not cryptography)
    return max(1, math.ceil(jitter * min(300, 1 << attempt)))
