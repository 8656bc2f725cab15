"""The queue worker's decisions by failure category, over the real queue, blobs and table (Azurite).

The transport records instead of sending (tests/fakes/recording_transport.py), so each category
can be scripted; tests/delivery/test_queue_mode.py runs the same worker against the fake Graph.
The one thing Azurite cannot show is the delay of a message put back invisible, so ``put`` is
wrapped to note it (the message still goes to the real queue).
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from azure.core.exceptions import ResourceNotFoundError

from shared.azure.storage import StorageClients
from shared.delivery.dispatch import Dispatcher, EarlierRequestInProgress
from shared.delivery.idempotency import table as table_module
from shared.delivery.idempotency.table import TableIdempotencyStore
from shared.delivery.mail_queue import MailQueue, QueuedMail, bodies_container, poison_queue
from shared.delivery.queue_worker import MAX_ATTEMPTS, QueueWorker
from shared.delivery.transports import OutcomeUnknown, Refused, RetryLater
from shared.delivery.transports.queue import MAX_INLINE_BODY_BYTES, QueueTransport
from shared.mail.draft import parse_mail_request
from shared.mail.graph_message import GraphSend
from shared.mail.policy import MailPolicy
from shared.problems import Problem
from shared.settings.delivery import StorageConnection
from tests.fakes.recording_transport import RecordingTransport
from tests.helpers.app import settings_from


class NotingMailQueue(MailQueue):
    """The real queue; each ``put`` is also noted with its delay, which Azurite keeps invisible."""

    def __init__(self, storage: StorageClients, queue_name: str) -> None:
        super().__init__(storage, queue_name)
        self.delays_s: list[int] = []

    def put(self, queued: QueuedMail, *, delay_s: int = 0) -> None:
        self.delays_s.append(delay_s)
        super().put(queued, delay_s=delay_s)


@dataclass
class Bridge:
    storage: StorageClients
    queue_name: str
    queue: NotingMailQueue
    store: TableIdempotencyStore
    transport: RecordingTransport = field(default_factory=RecordingTransport)

    @property
    def worker(self) -> QueueWorker:
        return QueueWorker(Dispatcher(self.store, self.transport), self.queue)

    def accept(self, mail: GraphSend) -> QueuedMail:
        """What the HTTP side does: queue the mail; return the envelope the host hands the worker."""
        request_id = str(uuid.uuid4())
        QueueTransport(self.queue).send(mail, request_id)
        self.queue.delays_s.clear()
        [message] = self.storage.queue(self.queue_name).receive_messages()
        self.storage.queue(self.queue_name).delete_message(message)
        return QueuedMail.from_text(message.content)

    def poisoned(self) -> list[dict[str, Any]]:
        queue = self.storage.queue(poison_queue(self.queue_name))
        return [json.loads(message.content) for message in queue.receive_messages(max_messages=32)]

    def waiting(self) -> int:
        return self.storage.queue(self.queue_name).get_queue_properties().approximate_message_count or 0


@pytest.fixture
def bridge(azurite: str) -> Bridge:
    storage = StorageClients(StorageConnection(connection_string=azurite), requests.Session())
    name = f"w-{uuid.uuid4().hex[:12]}"
    return Bridge(storage, name, NotingMailQueue(storage, name), TableIdempotencyStore(storage))


def approved(text: str = "93%") -> GraphSend:
    return MailPolicy(settings_from().policy).approve(
        parse_mail_request({"to": "ops@contoso.com", "subject": "Disk full", "text": text})
    )


def test_sent_deletes_the_claim_check_and_a_second_copy_is_dropped(bridge: Bridge) -> None:
    queued = bridge.accept(approved("x" * (MAX_INLINE_BODY_BYTES + 1)))
    assert queued.blob is not None
    bridge.worker.handle(queued)
    bridge.worker.handle(queued)  # a copy re-queued just before a crash
    assert len(bridge.transport.sent) == 1
    with pytest.raises(ResourceNotFoundError):
        bridge.storage.container(bodies_container(bridge.queue_name)).download_blob(queued.blob).readall()
    assert (bridge.waiting(), bridge.poisoned()) == (0, [])


def test_retry_later_goes_back_on_the_queue_for_its_retry_after_as_the_next_attempt(bridge: Bridge) -> None:
    queued = bridge.accept(approved())
    bridge.transport.fail_next(RetryLater("throttled", retry_after_s=7))
    bridge.worker.handle(queued)
    assert (bridge.queue.delays_s, bridge.waiting()) == ([7], 1)
    bridge.worker.handle(dataclasses.replace(queued, attempt=queued.attempt + 1))
    assert len(bridge.transport.sent) == 1, "the key was released: the next attempt is sent"


def test_retry_later_without_retry_after_backs_off(bridge: Bridge, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shared.delivery.queue_worker.random.uniform", lambda low, high: 1.0)
    queued = bridge.accept(approved())
    bridge.transport.fail_next(RetryLater("busy"))
    bridge.worker.handle(dataclasses.replace(queued, attempt=3))
    assert bridge.queue.delays_s == [8]


def test_retry_later_on_the_last_attempt_goes_to_the_poison_queue(bridge: Bridge) -> None:
    queued = bridge.accept(approved())
    bridge.transport.fail_next(RetryLater("busy"))
    bridge.worker.handle(dataclasses.replace(queued, attempt=MAX_ATTEMPTS))
    [poisoned] = bridge.poisoned()
    assert (poisoned["error"]["status"], bridge.waiting()) == (503, 0)


@pytest.mark.parametrize("problem", [Refused("no"), Problem("uncategorised")])
def test_refused_goes_to_the_poison_queue_at_once_and_releases_the_key(bridge: Bridge, problem: Problem) -> None:
    queued = bridge.accept(approved())
    bridge.transport.fail_next(problem)
    bridge.worker.handle(queued)
    [poisoned] = bridge.poisoned()
    assert (poisoned["error"]["code"], poisoned["requestId"]) == (problem.code, queued.request_id)
    assert bridge.waiting() == 0
    assert bridge.store.claim(f"delivery:{queued.request_id}", "another", ttl_s=60).first


def test_outcome_unknown_goes_to_the_poison_queue_and_keeps_the_key(bridge: Bridge) -> None:
    queued = bridge.accept(approved())
    bridge.transport.fail_next(OutcomeUnknown("no answer"))
    bridge.worker.handle(queued)
    bridge.worker.handle(queued)  # a second copy: already reported, dropped
    assert len(bridge.poisoned()) == 1
    assert len(bridge.transport.attempts) == 1, "never sent again"


def test_a_copy_arriving_while_another_sends_is_left_for_the_host_to_retry(bridge: Bridge) -> None:
    queued = bridge.accept(approved())
    sending = bridge.store.claim(f"delivery:{queued.request_id}", queued.request_id, ttl_s=60)
    with pytest.raises(EarlierRequestInProgress):  # the host retries it after visibilityTimeout
        bridge.worker.handle(queued)
    bridge.store.complete(sending)
    bridge.worker.handle(queued)  # by then the other copy has sent: dropped
    assert (bridge.transport.attempts, bridge.poisoned()) == ([], [])


def test_an_attempt_that_died_mid_send_is_reported_once_never_sent_again(
    bridge: Bridge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(table_module, "LEASE_S", 0)
    queued = bridge.accept(approved())
    claim = bridge.store.claim(f"delivery:{queued.request_id}", queued.request_id, ttl_s=60)
    bridge.store.mark_sending(claim)  # then its instance died mid-send
    bridge.worker.handle(queued)  # the host's next delivery of the message, after its lease
    bridge.worker.handle(queued)
    [poisoned] = bridge.poisoned()
    assert poisoned["error"]["code"] == "outcome_unknown"
    assert bridge.transport.attempts == []


def test_an_attempt_that_died_before_sending_is_sent_by_the_next_delivery(
    bridge: Bridge, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It claimed the key and died waiting for a send slot: nothing went out, so the host's retry sends.
    monkeypatch.setattr(table_module, "LEASE_S", 0)
    queued = bridge.accept(approved())
    bridge.store.claim(f"delivery:{queued.request_id}", queued.request_id, ttl_s=60)
    bridge.worker.handle(queued)
    assert ([attempt.request_id for attempt in bridge.transport.sent], bridge.poisoned()) == ([queued.request_id], [])


def test_anything_else_releases_the_key_and_raises_for_the_host_to_retry(bridge: Bridge) -> None:
    queued = bridge.accept(approved("x" * (MAX_INLINE_BODY_BYTES + 1)))
    assert queued.blob is not None
    bridge.storage.container(bodies_container(bridge.queue_name)).delete_blob(queued.blob)  # storage lost it
    with pytest.raises(ResourceNotFoundError):
        bridge.worker.handle(queued)
    assert bridge.store.claim(f"delivery:{queued.request_id}", "another", ttl_s=60).first
