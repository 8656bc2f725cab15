"""The digest flush: one delayed queue message per digest group becomes one digest mail.

It runs as the queue-triggered function ``flush_digests`` whenever storage is configured, in direct
and queue mode alike. Each run:
1. takes the group's batch: the one a crashed or deferred run left, or else (after removing the
   group's ``flush`` row, so notifications held from now on schedule a flush of their own) up to
   ``MAX_DIGEST_ENTRIES`` of the oldest held notifications; and again after each digest sent, until
   nothing is held (a flush may have been scheduled for notifications held behind another batch);
2. sends their digest through the dispatcher under an idempotency key of the batch, as a digest:
   it may use the recipients and the message a minute the others leave for digests;
3. settles the held notifications' own idempotency keys as the digest's outcome, and removes them.
What stops it is decided by the problem's category, as for the queue worker:
- ``Deferred`` (the mailbox's pace or budget, even with the reserve): the flush is queued again for
  when the limit frees; the notifications stay held: never dropped, never sent past the budget;
- another ``RetryLater`` (Graph throttled, storage unreachable): queued again with backoff;
- ``OutcomeUnknown`` or a batch whose earlier run stopped mid-send: the digest may have been sent,
  so it is reported on ``mailhook-digests-poison`` with every line it named, and never resent;
- a refusal (``Refused`` or another Problem): reported the same way; the notifications' keys are
  freed so their senders' retries can mail them.
"""

from __future__ import annotations

import json
import random
import time

from shared.delivery.digests.held import FLUSH_QUEUE, Batch, HeldNotification, HeldNotifications, group_of_flush_message
from shared.delivery.dispatch import Dispatcher, earlier_outcome_unknown
from shared.delivery.idempotency import IdempotencyStore, Outcome
from shared.delivery.mailbox import Purpose
from shared.delivery.queue_worker import retry_delay_s
from shared.logs import get_logger, request_context
from shared.mail.digest import compose_digest
from shared.problems import Deferred, OutcomeUnknown, Problem, RetryLater

log = get_logger(__name__)

# A digest names this many notifications at most; the rest go in the next one, right after.
MAX_DIGEST_ENTRIES = 500
# Digests one run sends before it hands the rest to a new run (the host's function timeout).
MAX_BATCHES_PER_RUN = 10
DIGEST_KEY_TTL_S = 7 * 24 * 3600
# How soon to look again at a batch another run is sending.
IN_PROGRESS_RECHECK_S = 15


def poison_queue() -> str:
    return f"{FLUSH_QUEUE}-poison"


class DigestFlusher:
    def __init__(self, dispatcher: Dispatcher, holding: HeldNotifications, idempotency: IdempotencyStore) -> None:
        self._dispatcher = dispatcher  # over the delivery transport, with the mailbox limits
        self._holding = holding
        self._idempotency = idempotency

    def flush(self, message_text: str) -> None:
        """Send the group's digests until nothing is held, or one has to wait (then it is queued again)."""
        group = group_of_flush_message(message_text)
        for _ in range(MAX_BATCHES_PER_RUN):
            batch = self._holding.batch(group)
            if batch is None:
                # Removed before the batch is taken: a notification held from now on schedules a
                # flush of its own, so none can fall between this batch and the next.
                self._holding.unschedule_flush(group)
                rows = self._holding.waiting(group, limit=MAX_DIGEST_ENTRIES)
                if not rows:
                    return
                batch = self._holding.take_batch(group, rows)
            # A batch left by an earlier run (a crash, a deferral) goes first, then the loop takes
            # what was held meanwhile: this run may have been scheduled for those.
            with request_context(batch.batch_id):
                if not self._send(group, batch, list(self._holding.read(group, batch.rows))):
                    return
        self._holding.schedule_flush(group, delay_s=0)  # a long storm: the rest in the next run

    def _send(self, group: str, batch: Batch, held: list[HeldNotification]) -> bool:
        """Send the batch's digest; True once the batch is settled, False when it waits (requeued)."""
        if not held:
            self._holding.remove_batch(group, [])
            return True
        digest = compose_digest(held[0].mailbox, [(item.line, item.request()) for item in held])
        claim = self._dispatcher.claim(f"digest:{group}:{batch.batch_id}", batch.batch_id, ttl_s=DIGEST_KEY_TTL_S)
        if not claim.first:
            if claim.outcome is Outcome.SENT:
                self._settle(group, held, Outcome.SENT)  # sent by a run that stopped before settling
            elif claim.outcome is None:
                self._holding.requeue_flush(group, delay_s=IN_PROGRESS_RECHECK_S)
                return False
            else:
                self._report(group, batch, held, earlier_outcome_unknown(claim), Outcome.UNKNOWN)
            return True
        try:
            self._dispatcher.send(lambda: digest, batch.batch_id, claim, purpose=Purpose.DIGEST, entries=len(held))
        except Deferred as deferral:
            # Jittered: many groups deferred by one limit must not all come back at the same second.
            delay_s = (deferral.retry_after_s or 5) + random.randint(0, 3)  # noqa: S311 (jitter)
            self._holding.requeue_flush(group, delay_s=delay_s)
            log.warning("digest of %d deferred %d s: %s", len(held), delay_s, deferral.code)
            return False
        except OutcomeUnknown as problem:
            self._report(group, batch, held, problem, Outcome.UNKNOWN)
            return True
        except RetryLater as problem:
            self._holding.requeue_flush(group, delay_s=retry_delay_s(problem, 1))
            log.warning("digest of %d not sent, queued again: %s", len(held), problem.code)
            return False
        except Problem as problem:
            self._report(group, batch, held, problem, None)
            return True
        self._settle(group, held, Outcome.SENT)
        log.info("digest sent naming %d notification(s)", len(held))
        return True

    def _settle(self, group: str, held: list[HeldNotification], outcome: Outcome | None) -> None:
        for item in held:
            if item.key is not None:
                self._idempotency.resolve(item.key, outcome)
        self._holding.remove_batch(group, held)

    def _report(
        self, group: str, batch: Batch, held: list[HeldNotification], problem: Problem, outcome: Outcome | None
    ) -> None:
        """Put the digest on the poison queue with every line it names, then settle its notifications."""
        document = {
            "group": group,
            "batchId": batch.batch_id,
            "error": problem.to_document(batch.batch_id),
            "failedAt": time.time(),
            "notifications": [{"requestId": item.request_id, "line": json.loads(item.line.to_json())} for item in held],
        }
        self._holding.report(poison_queue(), document)
        log.error("digest of %d notification(s) not sent (%s): reported on %s", len(held), problem.code, poison_queue())
        self._settle(group, held, outcome)
