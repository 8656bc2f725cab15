"""Dispatch: hand an approved message to the transport at most once per idempotency key.

Both HTTP endpoints end here. With a key, the key is claimed first; a repeat within its time to
live answers "duplicate" with the first request's id and sends nothing. A send that failed
releases the key, so the sender's retry can send; a send whose outcome is unknown (Graph did not
answer) keeps it, because a retry could send the message twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.delivery.idempotency import Claim, IdempotencyStore
from shared.delivery.limits import RecipientBudget
from shared.delivery.transports import Transport
from shared.delivery.transports.graph import GraphTimeout
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
    """Claim → budget → send → settle, for every message an HTTP endpoint accepts."""

    def __init__(self, idempotency: IdempotencyStore, recipient_budget: RecipientBudget, transport: Transport) -> None:
        self._idempotency = idempotency
        self._recipient_budget = recipient_budget
        self._transport = transport

    def dispatch(self, mail: GraphSend, request_id: str, *, key: str | None, ttl_s: int) -> Dispatched:
        recipients = len(mail.request.message.recipients())
        if key is None:
            self._recipient_budget.check(mail.mailbox, recipients)
            self._transport.send(mail, request_id)
        else:
            claim = self._idempotency.claim(key, request_id, ttl_s=ttl_s)  # IdempotencyUnavailable: 503
            if not claim.first:
                log.info("duplicate of request %s: nothing sent", claim.request_id)
                return Dispatched("duplicate", claim.request_id)
            self._send_claimed(mail, request_id, claim)
        self._recipient_budget.record(mail.mailbox, recipients)
        return Dispatched("accepted", request_id)

    def _send_claimed(self, mail: GraphSend, request_id: str, claim: Claim) -> None:
        try:
            self._recipient_budget.check(mail.mailbox, len(mail.request.message.recipients()))
            self._transport.send(mail, request_id)
        except GraphTimeout:
            self._idempotency.complete(claim)
            raise
        except BaseException:
            self._idempotency.release(claim)
            raise
        self._idempotency.complete(claim)
