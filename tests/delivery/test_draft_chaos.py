"""Chaos over real HTTP: connections cut before and after Graph acted, on every step, senders retrying.

With the draft method every message is sent exactly once and every sender ends with a 2xx, in
direct mode (the sender retries with its Idempotency-Key) and in queue mode (the queue's next
attempt). With sendMail none is sent twice and none is told 2xx without being sent. The threads draw
faults from one sequence in whatever order they run, so which sends resolve inline and which need
the sender's retry varies; tests/delivery/test_graph_drafts.py pins each case down one by one.
"""

from __future__ import annotations

import base64
import collections
import random
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shared.delivery.transports.graph_drafts import REQUEST_ID_PROPERTY
from shared.endpoints.mail import handle_mail
from shared.runtime import Runtime
from tests.conftest import RuntimeFactory
from tests.delivery.test_queue_mode import drain, poison_all
from tests.fakes.graph import FakeGraph, Fault, Operation
from tests.helpers.app import mail_request, response_json

SIMPLE = {"to": "ops@contoso.com", "text": "93%"}
MAX_SENDER_ATTEMPTS = 12
# Every payload carries a small file; every fifth a 3.5 MB one, through an upload session.
BIG_FILE = base64.b64encode(random.Random(7).randbytes(3_500_000)).decode()


def payload(number: int) -> dict[str, Any]:
    attachments: list[dict[str, Any]] = [{"name": "note.txt", "content": f"note {number}"}]
    if number % 5 == 0:
        attachments.append({"name": "big.bin", "contentBase64": BIG_FILE})
    return {**SIMPLE, "subject": f"m{number}", "attachments": attachments}


def random_faults(seed: int, probability: float) -> Callable[[Operation], Fault | None]:
    chaos = random.Random(seed)
    lock = threading.Lock()
    faults: list[Fault] = ["cut_before", "cut_after"]

    def plan(operation: Operation) -> Fault | None:
        with lock:
            if chaos.random() >= probability:
                return None
            if operation == "get" and chaos.random() < 0.3:
                return "transient_not_found"
            return chaos.choice(faults)

    return plan


@pytest.fixture(autouse=True)
def tracked(graph: FakeGraph) -> None:
    graph.tracked_property = REQUEST_ID_PROPERTY


def sent_per_subject(graph: FakeGraph) -> collections.Counter[str]:
    return collections.Counter(str(mail.message.get("subject")) for mail in graph.mails)


def test_chaos_direct_with_drafts_every_message_once_and_every_sender_2xx(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    runtime = mi_runtime(MAIL_SEND_METHOD="draft", MAIL_SEND_DEADLINE_S="10")
    graph.fault_plan = random_faults(20261202, probability=0.25)

    def sender(number: int) -> list[int]:
        key = f"chaos-{number}-{uuid.uuid4().hex[:6]}"
        statuses = []
        for _ in range(MAX_SENDER_ATTEMPTS):
            response = handle_mail(mail_request(payload(number), headers={"Idempotency-Key": key}), runtime)
            statuses.append(response.status_code)
            if response.status_code == 202:
                break
        return statuses

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(sender, range(40)))
    graph.fault_plan = None

    assert all(statuses[-1] == 202 for statuses in outcomes), outcomes
    assert {status for statuses in outcomes for status in statuses} <= {202, 503, 504}, (
        "a sender is told to retry or that it went, nothing else"
    )
    assert sent_per_subject(graph) == collections.Counter(f"m{n}" for n in range(40)), "each exactly once"
    faulted = sum(1 for request in graph.requests if request.status is None)
    assert faulted >= 10, "the chaos cut connections"
    for mail in graph.mails:
        number = int(str(mail.message["subject"])[1:])
        assert [a.name for a in mail.attachments] == [a["name"] for a in payload(number)["attachments"]]


def test_chaos_queue_with_drafts_every_message_once(
    queue_runtime: Callable[..., Runtime], graph: FakeGraph, azurite: str
) -> None:
    runtime = queue_runtime(MAIL_SEND_METHOD="draft", MAIL_SEND_DEADLINE_S="10")
    answers = [handle_mail(mail_request(payload(number)), runtime) for number in range(30)]
    assert all(answer.status_code == 202 for answer in answers)
    graph.fault_plan = random_faults(20261203, probability=0.15)
    drain(runtime, azurite, quiet_s=3.0, workers=4, timeout_s=300)
    graph.fault_plan = None

    assert poison_all(runtime, azurite) == {}, "nothing reported: every unknown was resolved"
    assert sent_per_subject(graph) == collections.Counter(f"m{n}" for n in range(30)), "each exactly once"
    request_ids = {response_json(answer)["requestId"] for answer in answers}
    assert {mail.request_id_property for mail in graph.mails} == request_ids


def test_chaos_direct_with_sendmail_never_twice_never_2xx_unsent(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    runtime = mi_runtime()
    graph.fault_plan = random_faults(20261204, probability=0.3)

    def sender(number: int) -> int:
        key = f"sm-{number}-{uuid.uuid4().hex[:6]}"
        body = {**SIMPLE, "subject": f"m{number}"}
        status = 0
        for _ in range(4):
            status = handle_mail(mail_request(body, headers={"Idempotency-Key": key}), runtime).status_code
            if status in (202, 409):
                break
        return status

    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(sender, range(40)))
    graph.fault_plan = None

    sent = sent_per_subject(graph)
    assert all(count == 1 for count in sent.values()), "none sent twice"
    told_sent = {f"m{n}" for n, status in enumerate(statuses) if status == 202}
    assert told_sent <= set(sent), "none told 2xx without being sent"
    assert 409 in statuses, "the chaos lost answers, reported as unknown"
