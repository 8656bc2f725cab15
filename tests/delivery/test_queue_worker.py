"""The queue worker's decisions by failure category, over an in-memory queue and a recording transport.

tests/delivery/test_queue_mode.py runs the same worker against Azurite and the fake Graph.
"""

from __future__ import annotations

from typing import Any

import pytest

from shared.delivery.dispatch import Dispatcher
from shared.delivery.idempotency.memory import MemoryIdempotencyStore
from shared.delivery.mail_queue import MailQueue, QueuedMail
from shared.delivery.queue_worker import MAX_ATTEMPTS, QueueWorker
from shared.delivery.transports import OutcomeUnknown, Refused, RetryLater
from shared.mail.draft import parse_mail_request
from shared.mail.graph_message import GraphSend
from shared.mail.policy import MailPolicy
from shared.problems import Problem
from tests.fakes.recording_transport import RecordingTransport
from tests.helpers.app import settings_from


class InMemoryMailQueue(MailQueue):
    """The worker's side of the queue, kept in lists."""

    def __init__(self, mail: GraphSend) -> None:
        self._mail = mail
        self.requeued: list[tuple[QueuedMail, int]] = []
        self.poisoned: list[tuple[QueuedMail, dict[str, Any]]] = []
        self.forgotten: list[QueuedMail] = []

    def put(self, queued: QueuedMail, *, delay_s: int = 0) -> None:
        self.requeued.append((queued, delay_s))

    def read_mail(self, queued: QueuedMail) -> GraphSend:
        return self._mail

    def forget_body(self, queued: QueuedMail) -> None:
        self.forgotten.append(queued)

    def to_poison(self, queued: QueuedMail, error: dict[str, Any]) -> None:
        self.poisoned.append((queued, error))


@pytest.fixture
def mail() -> GraphSend:
    return MailPolicy(settings_from().policy).approve(
        parse_mail_request({"to": "ops@contoso.com", "subject": "Disk full", "text": "93%"})
    )


class Setup:
    def __init__(self, mail: GraphSend) -> None:
        self.store = MemoryIdempotencyStore()
        self.transport = RecordingTransport()
        self.queue = InMemoryMailQueue(mail)
        self.worker = QueueWorker(Dispatcher(self.store, None, self.transport), self.queue)


def queued(attempt: int = 1, request_id: str = "req-1") -> QueuedMail:
    return QueuedMail(request_id, "bridge@contoso.com", attempt=attempt, enqueued_at=0.0, body=b"{}")


def test_sent_forgets_the_body_and_a_second_copy_is_dropped(mail: GraphSend) -> None:
    setup = Setup(mail)
    setup.worker.handle(queued())
    setup.worker.handle(queued())
    assert len(setup.transport.sent) == 1
    assert setup.queue.forgotten == [queued()]
    assert (setup.queue.requeued, setup.queue.poisoned) == ([], [])


def test_retry_later_goes_back_on_the_queue_for_its_retry_after_as_the_next_attempt(mail: GraphSend) -> None:
    setup = Setup(mail)
    setup.transport.fail_next(RetryLater("throttled", retry_after_s=7))
    setup.worker.handle(queued(attempt=2))
    [(copy, delay_s)] = setup.queue.requeued
    assert (copy.attempt, delay_s) == (3, 7)
    setup.worker.handle(copy)
    assert len(setup.transport.sent) == 1, "the key was released: the copy is sent"


def test_retry_later_without_retry_after_backs_off(mail: GraphSend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shared.delivery.queue_worker.random.uniform", lambda low, high: 1.0)
    setup = Setup(mail)
    setup.transport.fail_next(RetryLater("busy"))
    setup.worker.handle(queued(attempt=3))
    assert [delay_s for _, delay_s in setup.queue.requeued] == [8]


def test_retry_later_on_the_last_attempt_goes_to_the_poison_queue(mail: GraphSend) -> None:
    setup = Setup(mail)
    setup.transport.fail_next(RetryLater("busy"))
    setup.worker.handle(queued(attempt=MAX_ATTEMPTS))
    assert setup.queue.requeued == []
    [(_, error)] = setup.queue.poisoned
    assert error["status"] == 503


@pytest.mark.parametrize("problem", [Refused("no"), Problem("uncategorised")])
def test_refused_goes_to_the_poison_queue_at_once_and_releases_the_key(mail: GraphSend, problem: Problem) -> None:
    setup = Setup(mail)
    setup.transport.fail_next(problem)
    setup.worker.handle(queued())
    [(_, error)] = setup.queue.poisoned
    assert (error["code"], error["requestId"]) == (problem.code, "req-1")
    assert setup.queue.requeued == []
    assert setup.store.claim("delivery:req-1", "req-2", ttl_s=60).first


def test_outcome_unknown_goes_to_the_poison_queue_and_keeps_the_key(mail: GraphSend) -> None:
    setup = Setup(mail)
    setup.transport.fail_next(OutcomeUnknown("no answer"))
    setup.worker.handle(queued())
    assert len(setup.queue.poisoned) == 1
    setup.worker.handle(queued())
    assert len(setup.transport.attempts) == 1, "never sent again"


def test_anything_else_releases_the_key_and_raises_for_the_host_to_retry(mail: GraphSend) -> None:
    setup = Setup(mail)
    setup.queue.read_mail = lambda queued: (_ for _ in ()).throw(OSError("storage down"))  # type: ignore[method-assign]
    with pytest.raises(OSError, match="storage down"):
        setup.worker.handle(queued())
    assert setup.store.claim("delivery:req-1", "req-2", ttl_s=60).first
