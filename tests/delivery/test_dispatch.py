"""The one claim → admit → send → settle flow, over a recording transport: no MSAL, no HTTP."""

from __future__ import annotations

import pytest

from shared.delivery.dispatch import Dispatcher, EarlierOutcomeUnknown, EarlierRequestInProgress
from shared.delivery.idempotency import memory as memory_module
from shared.delivery.idempotency.memory import MemoryIdempotencyStore
from shared.delivery.mailbox import MailboxRules, RecipientBudgetExhausted
from shared.delivery.mailbox.memory import MemoryMailboxLimits
from shared.delivery.transports import OutcomeUnknown, Refused, RetryLater
from shared.mail.draft import parse_mail_request
from shared.mail.graph_message import GraphSend
from shared.mail.policy import MailPolicy
from tests.fakes.recording_transport import RecordingTransport
from tests.helpers.app import settings_from

TTL_S = 3600


def approved(subject: str = "Disk full", to: str | list[str] = "ops@contoso.com") -> GraphSend:
    return MailPolicy(settings_from().policy).approve(parse_mail_request({"to": to, "subject": subject, "text": "93%"}))


@pytest.fixture
def transport() -> RecordingTransport:
    return RecordingTransport()


@pytest.fixture
def store() -> MemoryIdempotencyStore:
    return MemoryIdempotencyStore()


def limits(per_day: int = 100) -> MemoryMailboxLimits:
    return MemoryMailboxLimits(
        MailboxRules(recipients_per_day=per_day, digest_reserve=0, messages_per_minute=1000, slot_lease_s=60)
    )


def used(limits: MemoryMailboxLimits) -> int:
    return max((usage.recipients_used for usage in limits.usage()), default=0)


def dispatcher(store: MemoryIdempotencyStore, transport: RecordingTransport, per_day: int = 100) -> Dispatcher:
    return Dispatcher(store, transport, limits=limits(per_day))


def test_a_key_sends_once_and_repeats_answer_duplicate_with_the_first_request_id(
    store: MemoryIdempotencyStore, transport: RecordingTransport
) -> None:
    flow = dispatcher(store, transport)
    answers = [flow.dispatch(approved(), f"req-{n}", key="k", ttl_s=TTL_S) for n in range(3)]
    assert [(a.status, a.request_id) for a in answers] == [("accepted", "req-0")] + [("duplicate", "req-0")] * 2
    assert [recorded.request_id for recorded in transport.sent] == ["req-0"]


def test_without_a_key_every_request_is_sent(store: MemoryIdempotencyStore, transport: RecordingTransport) -> None:
    flow = dispatcher(store, transport)
    for n in range(2):
        assert flow.dispatch(approved(f"m{n}"), f"req-{n}", key=None, ttl_s=TTL_S).status == "accepted"
    assert transport.subjects == ["m0", "m1"]


def test_retry_later_releases_the_key_so_the_senders_retry_sends(
    store: MemoryIdempotencyStore, transport: RecordingTransport
) -> None:
    flow = dispatcher(store, transport)
    transport.fail_next(RetryLater("busy", retry_after_s=3))
    with pytest.raises(RetryLater) as raised:
        flow.dispatch(approved(), "req-1", key="k", ttl_s=TTL_S)
    assert (raised.value.retry_after_s, raised.value.headers["Retry-After"]) == (3, "3")
    retried = flow.dispatch(approved(), "req-2", key="k", ttl_s=TTL_S)
    assert (retried.status, retried.request_id) == ("accepted", "req-2")
    assert len(transport.attempts) == 2
    assert [recorded.request_id for recorded in transport.sent] == ["req-2"]


def test_refused_releases_the_key_too(store: MemoryIdempotencyStore, transport: RecordingTransport) -> None:
    flow = dispatcher(store, transport)
    transport.fail_next(Refused("no"))
    with pytest.raises(Refused):
        flow.dispatch(approved(), "req-1", key="k", ttl_s=TTL_S)
    assert flow.dispatch(approved(), "req-2", key="k", ttl_s=TTL_S).status == "accepted"


def test_outcome_unknown_keeps_the_key_and_a_repeat_is_told_so_not_duplicate(
    store: MemoryIdempotencyStore, transport: RecordingTransport
) -> None:
    flow = dispatcher(store, transport)
    transport.fail_next(OutcomeUnknown("no answer after sending"))
    with pytest.raises(OutcomeUnknown):
        flow.dispatch(approved(), "req-1", key="k", ttl_s=TTL_S)
    for retry in ("req-2", "req-3"):
        with pytest.raises(EarlierOutcomeUnknown) as raised:
            flow.dispatch(approved(), retry, key="k", ttl_s=TTL_S)
        document = raised.value.to_document(retry)
        assert (document["status"], document["code"], document["firstRequestId"]) == (409, "outcome_unknown", "req-1")
    assert len(transport.attempts) == 1


def test_a_claim_whose_owner_died_before_sending_is_sent_by_the_next_claimant(
    store: MemoryIdempotencyStore, transport: RecordingTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    # req-1 claimed the key and died waiting for a send slot: nothing went out, so the retry sends.
    monkeypatch.setattr(memory_module, "LEASE_S", 0)
    flow = dispatcher(store, transport)
    store.claim("k", "req-1", ttl_s=TTL_S)
    assert flow.dispatch(approved(), "req-2", key="k", ttl_s=TTL_S).status == "accepted"
    assert [recorded.request_id for recorded in transport.sent] == ["req-2"]


def test_a_repeat_while_the_first_is_sending_is_told_to_retry_not_duplicate(
    store: MemoryIdempotencyStore, transport: RecordingTransport
) -> None:
    flow = dispatcher(store, transport)
    first = store.claim("k", "req-1", ttl_s=TTL_S)  # req-1 is between claim and settle
    with pytest.raises(EarlierRequestInProgress) as raised:
        flow.dispatch(approved(), "req-2", key="k", ttl_s=TTL_S)
    assert (raised.value.status, raised.value.code, raised.value.headers["Retry-After"]) == (503, "in_progress", "5")
    store.complete(first)
    assert flow.dispatch(approved(), "req-2", key="k", ttl_s=TTL_S).status == "duplicate"
    assert transport.attempts == []


def test_a_claim_its_owner_never_settled_is_an_unknown_outcome_never_a_second_send(
    store: MemoryIdempotencyStore, transport: RecordingTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory_module, "LEASE_S", 0)
    flow = dispatcher(store, transport)
    # req-1's process died after handing the message to the transport: it may or may not have sent.
    store.mark_sending(store.claim("k", "req-1", ttl_s=TTL_S))
    for retry in ("req-2", "req-3"):
        with pytest.raises(EarlierOutcomeUnknown):
            flow.dispatch(approved(), retry, key="k", ttl_s=TTL_S)
    assert transport.attempts == []


def test_the_budget_is_checked_before_sending_and_counts_only_what_was_sent(
    store: MemoryIdempotencyStore, transport: RecordingTransport
) -> None:
    budget = limits(3)
    flow = Dispatcher(store, transport, limits=budget)
    transport.fail_next(RetryLater("busy"))
    with pytest.raises(RetryLater):
        flow.dispatch(approved(to=["a@contoso.com", "b@contoso.com"]), "req-1", key=None, ttl_s=TTL_S)
    assert used(budget) == 0, "a send Graph did not take gives its recipients back"
    flow.dispatch(approved(to=["a@contoso.com", "b@contoso.com"]), "req-2", key="k", ttl_s=TTL_S)
    assert used(budget) == 2
    with pytest.raises(RecipientBudgetExhausted):
        flow.dispatch(approved(to=["a@contoso.com", "b@contoso.com"]), "req-3", key="other", ttl_s=TTL_S)
    assert len(transport.attempts) == 2, "over budget: the transport is not asked"
    assert flow.dispatch(approved(to="a@contoso.com"), "req-4", key="other", ttl_s=TTL_S).status == "accepted", (
        "the refused request released its key"
    )


def test_an_unknown_outcome_keeps_its_recipients_counted(
    store: MemoryIdempotencyStore, transport: RecordingTransport
) -> None:
    budget = limits(3)
    flow = Dispatcher(store, transport, limits=budget)
    transport.fail_next(OutcomeUnknown("no answer"))
    with pytest.raises(OutcomeUnknown):
        flow.dispatch(approved(to=["a@contoso.com", "b@contoso.com"]), "req-1", key=None, ttl_s=TTL_S)
    assert used(budget) == 2, "Graph may have sent it: its recipients count"
    assert [usage.in_flight for usage in budget.usage()] == [0], "its send slot is free again"


def test_without_limits_nothing_is_checked_or_counted(
    store: MemoryIdempotencyStore, transport: RecordingTransport
) -> None:
    flow = Dispatcher(store, transport)
    claim = flow.claim("delivery:req-1", "req-1", ttl_s=TTL_S)
    flow.send(lambda: approved(to=["a@contoso.com", "b@contoso.com"]), "req-1", claim)
    assert not flow.claim("delivery:req-1", "req-9", ttl_s=TTL_S).first
    assert len(transport.sent) == 1


def test_the_mail_is_read_only_once_the_key_is_claimed(store: MemoryIdempotencyStore) -> None:
    """A queued duplicate must not look for a claim-check blob its first copy deleted."""
    flow = Dispatcher(store, RecordingTransport())
    reads: list[str] = []

    def read_mail() -> GraphSend:
        reads.append("read")
        raise ValueError("unreadable body")

    claim = flow.claim("delivery:req-1", "req-1", ttl_s=TTL_S)
    with pytest.raises(ValueError, match="unreadable"):
        flow.send(read_mail, "req-1", claim)
    assert reads == ["read"]
    assert flow.claim("delivery:req-1", "req-2", ttl_s=TTL_S).first, "a failure before sending releases the key"
