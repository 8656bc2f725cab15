"""Dispatch: claim → budget → send → settle, the one flow every message goes through.

Both HTTP endpoints end here (``Dispatcher.dispatch``), and so does the queue worker
(``Dispatcher.claim`` then ``Dispatcher.send``, see ``queue_worker``). With a key, the key is
claimed first; a repeat within its time to live answers "duplicate" with the first request's id
and sends nothing. The claim is settled by the failure's category, never by its name: a send
whose outcome is unknown (``OutcomeUnknown``) keeps the key, because a retry could send the
message twice; any other failure releases it, so a retry can send.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shared.delivery.idempotency import Claim, IdempotencyStore
from shared.delivery.limits import RecipientBudget
from shared.delivery.transports import OutcomeUnknown, Transport
from shared.logs import get_logger
from shared.mail.graph_message import GraphSend
from shared.problems import Problem

log = get_logger(__name__)

MAX_IDEMPOTENCY_KEY_CHARS = 200


class InvalidIdempotencyKey(Problem):
    status = 400
    code = "invalid_idempotency_key"
    title = "The Idempotency-Key header is not usable"


@dataclass(frozen=True)
class Dispatched:
    status: str  # "accepted" (sent or queued now) or "duplicate" (an earlier request did)
    request_id: str  # the request that sent it: ours, or the earlier one


def header_key(value: str | None) -> str | None:
    """The caller's Idempotency-Key header, checked; None when absent."""
    if value is None or not value.strip():
        return None
    key = value.strip()
    if len(key) > MAX_IDEMPOTENCY_KEY_CHARS or not key.isprintable():
        raise InvalidIdempotencyKey(f"Use at most {MAX_IDEMPOTENCY_KEY_CHARS} printable characters.")
    return key


class Dispatcher:
    """Claim → budget → send → settle, over one transport.

    ``recipient_budget`` is None for the queue worker: the HTTP side checked and counted the
    recipients when it queued the message.
    """

    def __init__(
        self, idempotency: IdempotencyStore, recipient_budget: RecipientBudget | None, transport: Transport
    ) -> None:
        self._idempotency = idempotency
        self._recipient_budget = recipient_budget
        self._transport = transport

    def dispatch(self, mail: GraphSend, request_id: str, *, key: str | None, ttl_s: int) -> Dispatched:
        """Send ``mail`` once per ``key`` (every time when None); a Problem says why it was not sent."""
        claim = None
        if key is not None:
            claim = self.claim(key, request_id, ttl_s=ttl_s)
            if not claim.first:
                return Dispatched("duplicate", claim.request_id)
        self.send(lambda: mail, request_id, claim)
        return Dispatched("accepted", request_id)

    def claim(self, key: str, request_id: str, *, ttl_s: int) -> Claim:
        """Claim the key; not ``first`` means an earlier request sent it, or is sending it now."""
        claim = self._idempotency.claim(key, request_id, ttl_s=ttl_s)  # the store unreachable: RetryLater
        if not claim.first:
            log.info("duplicate of request %s: nothing sent", claim.request_id)
        return claim

    def send(self, read_mail: Callable[[], GraphSend], request_id: str, claim: Claim | None) -> None:
        """Budget → send → settle the claim (if any) by outcome; a failure is raised again after settling.

        The mail is read only once the key is ours: a duplicate copy of a queued message must not
        look for a claim-check blob that its first copy already deleted.
        """
        try:
            mail = read_mail()
            recipients = len(mail.request.message.recipients())
            if self._recipient_budget is not None:
                self._recipient_budget.check(mail.mailbox, recipients)
            self._transport.send(mail, request_id)
        except OutcomeUnknown:
            if claim is not None:
                self._idempotency.complete(claim)  # it may have been sent: a retry must not send it again
            raise
        except BaseException:
            if claim is not None:
                self._idempotency.release(claim)  # nothing was sent: a retry may send it
            raise
        if claim is not None:
            self._idempotency.complete(claim)
        if self._recipient_budget is not None:
            self._recipient_budget.record(mail.mailbox, recipients)
