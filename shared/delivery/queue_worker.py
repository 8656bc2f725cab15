"""The queue worker: send one queued message, exactly once, or report why not (MAIL_DELIVERY=queue).

It runs the same claim → send → settle flow as the HTTP endpoints (``Dispatcher``), on a delivery
key per request id, so two copies of one message (a copy re-queued just before a crash) cannot
both be sent. What happens next is decided by the failure's category alone:
- sent, or held for its route's storm digest: the claim-check blob is deleted; the host deletes
  the queue message when we return.
- ``Deferred`` (the mailbox's pace, budget or send slots; mail that cannot be held): a copy goes
  back on the queue for when the limit frees, with the same attempt number: nothing was tried.
- ``RetryLater`` (Graph throttling or unavailable past the send deadline, no token, outbox busy):
  a copy goes back on the queue, invisible for the problem's Retry-After (or a backoff), with
  attempt + 1; after MAX_ATTEMPTS it goes to the poison queue instead. The host then deletes the
  original.
- ``OutcomeUnknown`` (Graph took the request and did not answer): to the poison queue, never
  retried, because Graph may have sent it; the delivery key is kept. Unless it is ``resumable``
  (the draft method): then a copy goes back on the queue, and the next attempt finds the draft or
  its sent copy and finishes the send (``Dispatcher.resume``), once.
- ``Refused`` and any other Problem (a 4xx, a configuration error, too large): to the poison queue
  at once, with the problem document (Graph's error code and request id) attached.
- another copy owns the delivery key: dropped once that one sent; raised (the host retries it)
  while that one is still sending; to the poison queue when that one stopped before settling (a
  crash: it may have sent), dropped when its unknown outcome is already there.
- anything else raises, the delivery key's claim failing included: the host retries the message
  after host.json's visibilityTimeout and moves it to the poison queue after maxDequeueCount
  dequeues (https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger#poison-messages).
"""

from __future__ import annotations

import math
import random

from shared.delivery.dispatch import Dispatcher, earlier_outcome_unknown, earlier_request_in_progress
from shared.delivery.idempotency import Claim, Outcome
from shared.delivery.mail_queue import MailQueue, QueuedMail
from shared.delivery.transports import OutcomeUnknown, RetryLater
from shared.logs import get_logger
from shared.problems import Deferred, Problem

log = get_logger(__name__)

MAX_ATTEMPTS = 8
DELIVERY_KEY_TTL_S = 7 * 24 * 3600  # as long as a message can sit in a queue
MAX_BACKOFF_S = 300
DEFERRAL_JITTER_S = 5


class QueueWorker:
    def __init__(self, dispatcher: Dispatcher, mail_queue: MailQueue) -> None:
        self._dispatcher = dispatcher  # over the delivery transport (Graph or the outbox), with no budget
        self._mail_queue = mail_queue

    def handle(self, queued: QueuedMail) -> None:
        """Deliver one dequeued message; return normally whenever the host may delete it."""
        claim = self._dispatcher.claim(f"delivery:{queued.request_id}", queued.request_id, ttl_s=DELIVERY_KEY_TTL_S)
        if not claim.first:
            self._after_repeat(queued, claim)
            return
        try:
            status = self._dispatcher.send(lambda: self._mail_queue.read_mail(queued), queued.request_id, claim)
        except Problem as problem:  # the claim is settled already: kept for OutcomeUnknown, else released
            self._after_failure(queued, problem)
            return
        self._mail_queue.forget_body(queued)  # a held notification's request is in the held store now
        if status == "held":
            log.info("queued notification held for its route's digest (attempt %d)", queued.attempt)
        else:
            log.info("queued message delivered (attempt %d)", queued.attempt)

    def _after_repeat(self, queued: QueuedMail, claim: Claim) -> None:
        """Another copy of this message owns its delivery key."""
        if claim.outcome is Outcome.SENT:
            log.warning("queued message already delivered: dropped this copy")
        elif claim.outcome is Outcome.HELD:
            log.warning("queued notification already held for a digest: dropped this copy")
        elif claim.outcome is None:
            # A live copy is sending it: raise, so the host retries this copy after visibilityTimeout
            # and it learns how that one ended (dropping it would lose the message if that one dies).
            raise earlier_request_in_progress(claim)
        elif self._resumed(queued, claim):
            return
        elif claim.abandoned_by is not None:
            # An earlier attempt died mid-send (its claim lapsed): it may have been sent. Report it.
            self._after_failure(queued, earlier_outcome_unknown(claim))
        else:
            log.warning("queued message's outcome already reported unknown (poison queue): dropped this copy")

    def _resumed(self, queued: QueuedMail, claim: Claim) -> bool:
        """An earlier attempt's outcome is unknown: finish it if the transport can find out (drafts)."""
        try:
            resumed = self._dispatcher.resume(
                claim, lambda: self._mail_queue.read_mail(queued), ttl_s=DELIVERY_KEY_TTL_S
            )
        except Problem as problem:
            self._after_failure(queued, problem)
            return True
        if resumed is None:
            return False
        self._mail_queue.forget_body(queued)
        log.info("queued message resumed (attempt %d): %s", queued.attempt, resumed.status)
        return True

    def _after_failure(self, queued: QueuedMail, problem: Problem) -> None:
        error = problem.to_document(queued.request_id)
        if isinstance(problem, OutcomeUnknown) and problem.resumable and queued.attempt < MAX_ATTEMPTS:
            # The transport can find out later what became of it (a draft): the next attempt resumes it.
            delay_s = backoff_s(queued.attempt)
            self._mail_queue.requeue(queued, delay_s=delay_s)
            log.warning("attempt %d: outcome unknown for now; resumed in %d s", queued.attempt, delay_s)
            return
        if isinstance(problem, OutcomeUnknown):
            self._mail_queue.to_poison(queued, error)
            log.error("outcome unknown, moved to the poison queue: %s", problem.detail)
            return
        if isinstance(problem, Deferred):
            # Our own limits said not now: nothing was attempted, so no attempt is used up, and a
            # storm's backlog waits its turn however long it is. Jittered, so it does not return at once.
            delay_s = (problem.retry_after_s or 5) + random.randint(0, DEFERRAL_JITTER_S)  # noqa: S311
            self._mail_queue.requeue(queued, delay_s=delay_s, next_attempt=False)
            log.info("deferred %d s by the mailbox's limits: %s", delay_s, problem.code)
            return
        if not isinstance(problem, RetryLater) or queued.attempt >= MAX_ATTEMPTS:
            self._mail_queue.to_poison(queued, error)
            log.error("moved to the poison queue after attempt %d: %s %s", queued.attempt, problem.code, problem.detail)
            return
        delay_s = retry_delay_s(problem, queued.attempt)
        self._mail_queue.requeue(queued, delay_s=delay_s)
        log.warning("attempt %d: %s; queued again in %d s", queued.attempt, problem.code, delay_s)


def retry_delay_s(problem: RetryLater, attempt: int) -> int:
    """The problem's Retry-After, else exponential backoff with jitter: 2, 4, 8 ... s, at most 5 minutes."""
    if problem.retry_after_s is not None:
        return max(1, problem.retry_after_s)
    return backoff_s(attempt)


def backoff_s(attempt: int) -> int:
    jitter = random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not cryptography)
    return max(1, math.ceil(jitter * min(MAX_BACKOFF_S, 1 << attempt)))
