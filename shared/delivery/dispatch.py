"""Dispatch: claim → admit → send → settle, the one flow every message goes through.

Both HTTP endpoints end here (``Dispatcher.dispatch``), and so does the queue worker
(``Dispatcher.claim`` then ``Dispatcher.send``, see ``queue_worker``). With a key, the key is
claimed first, and a repeat within its time to live sends nothing. Its answer is what is known of
the first request, never more: "duplicate" (202, the first request's id) once that was sent;
"held" once it was held for a storm digest; 503 ``in_progress`` with Retry-After while it is
still sending, so the sender's retry learns how it ended; 409 ``outcome_unknown`` when it may or
may not have been sent. Admission is the sender mailbox's limits (``shared.delivery.mailbox``):
the recipients are reserved before the send and given back only if Graph surely did not take it; a
notification past the mailbox's pace or budget is held for its route's digest
(``shared.delivery.digests``) instead of being refused. The claim is settled by the
failure's category, never by its name: a send whose outcome is unknown (``OutcomeUnknown``)
keeps the key, because a retry could send the message twice; any other failure releases it, so a
retry can send. A claim whose owner stopped after marking it sending (a crash mid-send) is unknown
too; one whose owner stopped before (waiting for a send slot) is simply the next claimant's. Over a
transport that can find out what became of a send (Graph's draft method), a repeat of an unknown
outcome resumes it instead (``Dispatcher.resume``): it is sent once, and the repeat told so. Such a
transport records on the claim how far its send got (``SendProgress``: "a /send was posted for
draft X", before it is), so that the resume knows what is safe: what had been handed over for sending
and cannot be found stays unknown, never sent again. A resume takes a send slot of the mailbox like
any send, but not its budget or pace, which the first attempt used.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.delivery.idempotency import Claim, IdempotencyStore, Outcome
from shared.delivery.mailbox import MailboxBusy, MailboxLimits, Permit, Purpose, admit_waiting, slot_waiting
from shared.delivery.transports import OutcomeUnknown, ResumableTransport, Resumed, Transport
from shared.logs import get_logger
from shared.mail.graph_message import GraphSend
from shared.problems import Deferred, Problem, RetryLater

if TYPE_CHECKING:
    from shared.delivery.digests.held import HeldNotifications

log = get_logger(__name__)

MAX_IDEMPOTENCY_KEY_CHARS = 200


class InvalidIdempotencyKey(Problem):
    status = 400
    code = "invalid_idempotency_key"
    title = "The Idempotency-Key header is not usable"


class EarlierRequestInProgress(RetryLater):
    status = 503
    code = "in_progress"
    title = "An earlier request with this key is still being sent"


class EarlierOutcomeUnknown(Problem):
    # 409, as the IETF idempotency-key draft answers a key whose first request is not settled
    # (https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/): a retry
    # cannot change it, and a 2xx would tell the sender a mail went out that may not have.
    status = 409
    code = "outcome_unknown"
    title = "An earlier request with this key may or may not have been sent"


class EarlierOutcomeStillUnknown(EarlierOutcomeUnknown, OutcomeUnknown):
    """A repeat that asked, and Graph could not tell: the earlier request's draft had been handed over
    for sending and neither it nor its sent copy is to be found (a copy on its way to Sent Items, or
    none kept). ``resumable``: a later repeat asks again (the queue tries again, up to its attempts)."""

    resumable = True


# How long a repeat waits for the first request to settle: a send takes seconds, not minutes.
IN_PROGRESS_RETRY_AFTER_S = 5


@dataclass(frozen=True)
class Dispatched:
    # "accepted" (sent, or queued, now), "held" (stored for a storm digest), or "duplicate" (an
    # earlier request sent it)
    status: str
    request_id: str  # the request that sent or holds it: ours, or the earlier one


def header_key(value: str | None) -> str | None:
    """The caller's Idempotency-Key header, checked; None when absent."""
    if value is None or not value.strip():
        return None
    key = value.strip()
    if len(key) > MAX_IDEMPOTENCY_KEY_CHARS or not key.isprintable():
        raise InvalidIdempotencyKey(f"Use at most {MAX_IDEMPOTENCY_KEY_CHARS} printable characters.")
    return key


class Dispatcher:
    """Claim → admit → send → settle, over one transport.

    ``limits`` is None where nothing is sent but onto the queue (the HTTP side in queue mode): the
    queue worker admits each message when it sends it. ``holding`` is None without storage: a
    notification the limits refuse is then refused (429 with Retry-After) rather than held.
    """

    def __init__(
        self,
        idempotency: IdempotencyStore,
        transport: Transport,
        *,
        limits: MailboxLimits | None = None,
        holding: HeldNotifications | None = None,
        digest_window_s: int = 60,
    ) -> None:
        self._idempotency = idempotency
        self._transport = transport
        # Checked once: a runtime-checkable Protocol's isinstance looks up each of its members, some
        # 12 µs, which every keyed send (every webhook) paid twice.
        self._resumable = transport if isinstance(transport, ResumableTransport) else None
        self._limits = limits
        self._holding = holding
        self._digest_window_s = digest_window_s

    def dispatch(self, mail: GraphSend, request_id: str, *, key: str | None, ttl_s: int) -> Dispatched:
        """Send ``mail`` once per ``key`` (every time when None); a Problem says why it was not sent."""
        claim = None
        if key is not None:
            claim = self.claim(key, request_id, ttl_s=ttl_s)
            if not claim.first:
                return self.resume(claim, lambda: mail, ttl_s=ttl_s) or answer_repeat(claim)
        return Dispatched(self.send(lambda: mail, request_id, claim), request_id)

    def claim(self, key: str, request_id: str, *, ttl_s: int) -> Claim:
        """Claim the key; not ``first`` means an earlier request owns it, and ``outcome`` says how it ended.

        A lapsed claim taken over is not ours to send: its owner stopped between claim and settle
        and may have sent, so it is recorded as unknown and answered as a repeat of an unknown
        outcome (``abandoned_by`` kept, so the first to find out can report it).
        """
        claim = self._idempotency.claim(key, request_id, ttl_s=ttl_s)  # the store unreachable: RetryLater
        if claim.first and claim.abandoned_by is not None:
            self._idempotency.complete(claim, Outcome.UNKNOWN)
            log.warning("request %s claimed this key and never settled it: outcome unknown", claim.abandoned_by)
            return dataclasses.replace(claim, first=False, request_id=claim.abandoned_by, outcome=Outcome.UNKNOWN)
        if not claim.first:
            log.info("repeat of request %s (%s): nothing sent", claim.request_id, claim.outcome or "in progress")
        return claim

    def resume(self, claim: Claim, read_mail: Callable[[], GraphSend], *, ttl_s: int) -> Dispatched | None:
        """A repeat of a request whose outcome is unknown, finished by a transport that can find out
        what happened (``ResumableTransport``: Graph's draft method); None when it cannot, and the
        repeat is answered as one (409 outcome_unknown). "accepted" when it is sent now, "duplicate"
        when it had been sent; 409 outcome_unknown (``EarlierOutcomeStillUnknown``) when the earlier
        attempt had handed it over and nothing tells yet whether it went out; a failure keeps the
        outcome unknown, so a later repeat resumes again. It takes a send slot of the mailbox (Outlook's
        concurrency limit holds for it too), not its budget or pace: the first attempt was counted.
        """
        resumable = self._resumable
        if claim.outcome is not Outcome.UNKNOWN or resumable is None:
            return None
        mail = read_mail()
        if not resumable.can_resume(mail):
            return None
        reopened = self._idempotency.reopen(claim.key, claim.request_id, ttl_s=ttl_s)
        if reopened is None:  # another repeat is finishing it: it learns how that one ended
            raise earlier_request_in_progress(claim)
        progress = ClaimProgress(self._idempotency, reopened)
        try:
            permit = slot_waiting(self._limits, mail.mailbox) if self._limits is not None else None
            try:
                resumed = resumable.resume(mail, reopened.request_id, progress)
            finally:
                if permit is not None and self._limits is not None:
                    self._limits.settle(permit, taken=True)
        except BaseException:
            self._idempotency.complete(progress.claim, Outcome.UNKNOWN)
            raise
        if resumed is Resumed.STILL_UNKNOWN:
            self._idempotency.complete(progress.claim, Outcome.UNKNOWN)
            raise EarlierOutcomeStillUnknown(
                f"Request {reopened.request_id} with this key was handed to Graph for sending, and Graph cannot "
                "tell yet whether it went out (its sent copy may still be on its way, or none is kept), so it is "
                "not sent again: it could arrive twice. A later retry with this key asks again; or check the "
                "recipient's mailbox.",
                extra={"firstRequestId": reopened.request_id},
            )
        self._idempotency.complete(progress.claim)
        sent_now = resumed is Resumed.SENT_NOW
        log.info("request %s resumed: %s", reopened.request_id, resumed.value)
        return Dispatched("accepted" if sent_now else "duplicate", reopened.request_id)

    def send(
        self,
        read_mail: Callable[[], GraphSend],
        request_id: str,
        claim: Claim | None,
        *,
        purpose: Purpose | None = None,
        entries: int = 0,
    ) -> str:
        """Admit → send → settle the claim (if any) by outcome; a failure is raised again after settling.

        Returns "accepted", or "held" when the mailbox's limits refused a notification and it was
        stored for its route's digest instead. The mail is read only once the key is ours: a
        duplicate copy of a queued message must not look for a claim-check blob that its first
        copy already deleted.
        """
        progress: ClaimProgress | None = None
        try:
            mail = read_mail()
            purpose = purpose or (Purpose.NOTIFICATION if mail.digest is not None else Purpose.MAIL)
            permit = None
            if self._limits is not None:
                try:
                    permit = admit_waiting(
                        self._limits, mail.mailbox, len(mail.recipient_addresses()), purpose, entries=entries
                    )
                except Deferred as deferral:
                    if not self._may_hold(mail, deferral):
                        raise
                    assert self._holding is not None
                    self._holding.hold(mail, request_id, claim.key if claim else None, window_s=self._digest_window_s)
                    if claim is not None:
                        self._idempotency.complete(claim, Outcome.HELD)
                    log.info("held for the route's digest: %s", deferral.code)
                    return "held"
            if claim is not None:
                try:
                    progress = ClaimProgress(self._idempotency, self._idempotency.mark_sending(claim))
                except BaseException:
                    if permit is not None and self._limits is not None:
                        self._limits.settle(permit, taken=False)
                    raise
            self._send_admitted(mail, request_id, permit, progress)
        except OutcomeUnknown:
            if claim is not None:
                # It may have been sent: never again (its progress says how far it got).
                self._idempotency.complete(progress.claim if progress else claim, Outcome.UNKNOWN)
            raise
        except BaseException:
            if claim is not None:
                # Nothing was sent: a retry may send it.
                self._idempotency.release(progress.claim if progress else claim)
            raise
        if claim is not None:
            self._idempotency.complete(progress.claim if progress else claim)
        return "accepted"

    def _may_hold(self, mail: GraphSend, deferral: Deferred) -> bool:
        # Only a notification carries a digest line; full send slots free within seconds
        # (admit_waiting waited for them), not worth a digest.
        return mail.digest is not None and self._holding is not None and not isinstance(deferral, MailboxBusy)

    def _send_admitted(
        self, mail: GraphSend, request_id: str, permit: Permit | None, progress: ClaimProgress | None
    ) -> None:
        """Send; the permit keeps its recipients unless Graph surely did not take the message."""
        try:
            if progress is not None and self._resumable is not None:
                self._resumable.send(mail, request_id, progress)
            else:
                self._transport.send(mail, request_id)
        except OutcomeUnknown:
            if permit is not None and self._limits is not None:
                self._limits.settle(permit, taken=True)  # it may have gone: it counts
            raise
        except BaseException:
            if permit is not None and self._limits is not None:
                self._limits.settle(permit, taken=False)
            raise
        if permit is not None and self._limits is not None:
            self._limits.settle(permit, taken=True)


class ClaimProgress:
    """A send's progress, kept on its claim (``SendProgress``): each record is a conditional write that
    moves the claim on, so the claim that settles the send is always the latest (``claim``)."""

    def __init__(self, idempotency: IdempotencyStore, claim: Claim) -> None:
        self._idempotency = idempotency
        self.claim = claim

    @property
    def recorded(self) -> str | None:
        return self.claim.progress

    def record(self, progress: str) -> None:
        self.claim = self._idempotency.record_progress(self.claim, progress)


def earlier_outcome_unknown(claim: Claim) -> EarlierOutcomeUnknown:
    return EarlierOutcomeUnknown(
        f"Request {claim.request_id} with this key may or may not have been sent (its send did not end in an "
        "answer), so this one is not sent: it could arrive twice. Check the recipient's mailbox, or send again "
        "with a new key.",
        extra={"firstRequestId": claim.request_id},
    )


def answer_repeat(claim: Claim) -> Dispatched:
    """What a repeat of an earlier request is told: only what is known of that request."""
    if claim.outcome is Outcome.SENT:
        return Dispatched("duplicate", claim.request_id)
    if claim.outcome is Outcome.HELD:
        return Dispatched("held", claim.request_id)
    if claim.outcome is Outcome.UNKNOWN:
        raise earlier_outcome_unknown(claim)
    raise earlier_request_in_progress(claim)


def earlier_request_in_progress(claim: Claim) -> EarlierRequestInProgress:
    return EarlierRequestInProgress(
        f"Request {claim.request_id} with this key is still being sent; retry to learn how it ended.",
        retry_after_s=IN_PROGRESS_RETRY_AFTER_S,
        extra={"firstRequestId": claim.request_id},
    )
