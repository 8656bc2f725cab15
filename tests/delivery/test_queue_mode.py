"""Queue mode and idempotency end to end against Azurite and the fake Graph: nothing lost, nothing twice."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from shared.delivery.mail_queue import bodies_container
from shared.delivery.transports.queue import MAX_INLINE_BODY_BYTES
from shared.endpoints.deliver import handle_queued_mail
from shared.endpoints.hooks import handle_hook
from shared.endpoints.mail import handle_mail
from shared.runtime import Runtime
from tests.conftest import RuntimeFactory
from tests.fakes.graph import FakeGraph, graph_error
from tests.fakes.identity import FakeManagedIdentity
from tests.helpers.app import hook_request, mail_request, response_json

DATA = Path(__file__).parents[1] / "data"
ROOT = Path(__file__).resolve().parents[2]
SIMPLE = {"to": "ops@contoso.com", "subject": "Disk full", "text": "93%"}


def queue_client(azurite: str, name: str) -> QueueClient:
    queue = QueueClient.from_connection_string(
        azurite, name, message_encode_policy=TextBase64EncodePolicy(), message_decode_policy=TextBase64DecodePolicy()
    )
    with contextlib.suppress(ResourceExistsError):
        queue.create_queue()
    return queue


def drain(runtime: Runtime, azurite: str, *, quiet_s: float = 0.0, workers: int = 1, timeout_s: float = 120) -> int:
    """Run the queue function over every message, as the host would, until the queue is empty,
    invisible messages included (those put back with a delay), and has stayed empty for ``quiet_s``.
    Returns the number of invocations."""
    queue = queue_client(azurite, runtime.settings.delivery.queue_name)
    invocations = 0
    quiet_since = time.monotonic()
    deadline = time.monotonic() + timeout_s
    with ThreadPoolExecutor(workers) as pool:
        while time.monotonic() < deadline:
            messages = list(queue.receive_messages(max_messages=32, messages_per_page=32, visibility_timeout=60))
            if not messages:
                waiting = queue.get_queue_properties().approximate_message_count
                if not waiting and time.monotonic() - quiet_since >= quiet_s:
                    return invocations
                if waiting:
                    quiet_since = time.monotonic()
                time.sleep(0.2)
                continue

            def run(message: Any) -> None:
                handle_queued_mail(message.content, runtime)
                queue.delete_message(message)  # the host deletes it once the function returned

            list(pool.map(run, messages))
            invocations += len(messages)
            quiet_since = time.monotonic()
    raise AssertionError(f"the queue did not drain in {timeout_s} s")


def poison(runtime: Runtime, azurite: str) -> list[dict[str, Any]]:
    queue = queue_client(azurite, f"{runtime.settings.delivery.queue_name}-poison")
    return [json.loads(m.content) for m in queue.peek_messages(max_messages=32)]


def test_accepted_at_once_then_sent_by_the_queue_function(
    queue_runtime: Callable[..., Runtime], graph: FakeGraph, azurite: str
) -> None:
    runtime = queue_runtime()
    response = handle_mail(mail_request(SIMPLE), runtime)
    assert response.status_code == 202
    request_id = response_json(response)["requestId"]
    assert graph.requests == [], "nothing is sent before the queue function runs"
    assert drain(runtime, azurite) == 1
    [sent] = graph.sent
    assert sent.headers["client-request-id"] == request_id
    assert sent.message["subject"] == "Disk full"
    assert drain(runtime, azurite) == 0


def test_throttling_puts_the_message_back_for_retry_after(
    queue_runtime: Callable[..., Runtime], graph: FakeGraph, azurite: str
) -> None:
    runtime = queue_runtime(MAIL_SEND_DEADLINE_S="1")
    graph.enqueue(429, json=graph_error("ApplicationThrottled", "MailboxConcurrency"), headers={"Retry-After": "2"})
    assert handle_mail(mail_request(SIMPLE), runtime).status_code == 202
    assert drain(runtime, azurite) == 2, "delivered on the second dequeue"
    throttled, sent = graph.requests
    assert sent.status == 202
    assert sent.received_at - throttled.received_at >= 2.0, "invisible for Retry-After"
    assert sent.body == throttled.body
    assert poison(runtime, azurite) == []


def test_permanent_failure_goes_to_the_poison_queue_with_the_reason(
    queue_runtime: Callable[..., Runtime], graph: FakeGraph, azurite: str
) -> None:
    runtime = queue_runtime()
    graph.enqueue(400, json=graph_error("ErrorInvalidRecipients", "At least one recipient isn't valid."))
    request_id = response_json(handle_mail(mail_request(SIMPLE), runtime))["requestId"]
    drain(runtime, azurite, quiet_s=0.5)
    [poisoned] = poison(runtime, azurite)
    assert poisoned["requestId"] == request_id
    assert (poisoned["error"]["code"], poisoned["error"]["graphError"]) == (
        "graph_rejected_message",
        "ErrorInvalidRecipients",
    )
    assert len(graph.requests) == 1


def test_large_messages_travel_as_a_claim_check(
    queue_runtime: Callable[..., Runtime], graph: FakeGraph, azurite: str
) -> None:
    from azure.storage.blob import ContainerClient

    runtime = queue_runtime()
    attachment = "QUJD" * (MAX_INLINE_BODY_BYTES // 2)
    payload = {**SIMPLE, "attachments": [{"name": "big.bin", "contentBase64": attachment}]}
    request_id = response_json(handle_mail(mail_request(payload), runtime))["requestId"]
    container = ContainerClient.from_connection_string(azurite, bodies_container(runtime.settings.delivery.queue_name))
    assert [blob.name for blob in container.list_blobs()] == [f"{request_id}.json"]
    drain(runtime, azurite)
    [sent] = graph.sent
    assert sent.message["attachments"][0]["contentBytes"] == attachment
    assert list(container.list_blobs()) == [], "the blob goes once the mail is sent"


@pytest.fixture
def alertmanager_payload() -> bytes:
    """One Alertmanager delivery; its group key is new for each test, as the idempotency table is shared."""
    document = json.loads((DATA / "alertmanager" / "firing-grouped.json").read_text())
    document["groupKey"] = f'{{}}:{{alertname="HighMemoryUsage", run="{uuid.uuid4()}"}}'
    return json.dumps(document).encode()


@pytest.mark.parametrize("delivery", ["direct", "queue"])
def test_the_same_alertmanager_payload_five_times_is_one_email(
    queue_runtime: Callable[..., Runtime], graph: FakeGraph, azurite: str, delivery: str, alertmanager_payload: bytes
) -> None:
    runtime = queue_runtime(MAIL_DELIVERY=delivery)
    answers = [
        response_json(handle_hook(hook_request("alertmanager", alertmanager_payload), runtime)) for _ in range(5)
    ]
    assert [a["status"] for a in answers] == ["accepted"] + ["duplicate"] * 4
    assert {a["requestId"] for a in answers} == {answers[0]["requestId"]}
    drain(runtime, azurite)
    assert len(graph.sent) == 1


@pytest.mark.parametrize("delivery", ["direct", "queue"])
def test_concurrent_duplicates_from_an_ha_pair_send_once(
    queue_runtime: Callable[..., Runtime], graph: FakeGraph, azurite: str, delivery: str, alertmanager_payload: bytes
) -> None:
    runtime = queue_runtime(MAIL_DELIVERY=delivery)
    # Two bridge instances sharing one table, as two Functions instances do.
    other_instance = queue_runtime(MAIL_DELIVERY=delivery, MAIL_QUEUE_NAME=runtime.settings.delivery.queue_name)
    barrier = threading.Barrier(6)

    def post(index: int) -> dict[str, Any]:
        barrier.wait()
        bridge = runtime if index % 2 else other_instance
        answer: dict[str, Any] = response_json(handle_hook(hook_request("alertmanager", alertmanager_payload), bridge))
        return answer

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(post, range(6)))
    # One sends; a repeat is told "duplicate" once that one has sent, or to retry while it is sending.
    assert [a.get("status") for a in answers].count("accepted") == 1
    for answer in answers:
        if answer.get("code") == "in_progress":
            retried = response_json(handle_hook(hook_request("alertmanager", alertmanager_payload), runtime))
            assert retried["status"] == "duplicate"
        else:
            assert answer["status"] in ("accepted", "duplicate")
    drain(runtime, azurite)
    assert len(graph.sent) == 1


def test_a_route_is_part_of_the_key(
    queue_runtime: Callable[..., Runtime], graph: FakeGraph, azurite: str, alertmanager_payload: bytes
) -> None:
    routes = json.dumps({"default": {"to": "oncall@contoso.com"}, "audit": {"to": "audit@contoso.com"}})
    runtime = queue_runtime(MAIL_DELIVERY="direct", MAIL_ROUTES=routes)
    handle_hook(hook_request("alertmanager", alertmanager_payload), runtime)
    handle_hook(hook_request("alertmanager", alertmanager_payload, route="audit"), runtime)
    assert len(graph.sent) == 2, "one alert routed to two teams is two emails"


def test_a_github_redelivery_is_one_email(
    queue_runtime: Callable[..., Runtime], graph: FakeGraph, azurite: str
) -> None:
    runtime = queue_runtime()
    body = (DATA / "github" / "workflow_run.completed.failure.json").read_bytes()
    headers = {"X-GitHub-Event": "workflow_run", "X-GitHub-Delivery": str(uuid.uuid4())}
    first = response_json(handle_hook(hook_request("github", body, headers=headers), runtime))
    redelivered = response_json(handle_hook(hook_request("github", body, headers=headers), runtime))
    assert (first["status"], redelivered["status"]) == ("accepted", "duplicate")
    assert redelivered["requestId"] == first["requestId"]
    drain(runtime, azurite)
    assert len(graph.sent) == 1


def test_idempotency_key_header_on_api_mail(
    queue_runtime: Callable[..., Runtime], graph: FakeGraph, azurite: str
) -> None:
    runtime = queue_runtime(MAIL_DELIVERY="direct")
    key = {"Idempotency-Key": f"deploy-{uuid.uuid4()}"}
    answers = [response_json(handle_mail(mail_request(SIMPLE, headers=key), runtime)) for _ in range(3)]
    assert [a["status"] for a in answers] == ["accepted", "duplicate", "duplicate"]
    assert response_json(handle_mail(mail_request(SIMPLE), runtime))["status"] == "accepted", "no key: no dedup"
    assert len(graph.sent) == 2


def test_a_refused_direct_send_lets_the_sender_retry(
    queue_runtime: Callable[..., Runtime], graph: FakeGraph, azurite: str
) -> None:
    runtime = queue_runtime(MAIL_DELIVERY="direct")
    graph.enqueue(400, json=graph_error("ErrorInvalidRecipients", "refused"))
    headers = {"X-GitHub-Event": "workflow_run", "X-GitHub-Delivery": str(uuid.uuid4())}
    body = (DATA / "github" / "workflow_run.completed.failure.json").read_bytes()
    assert handle_hook(hook_request("github", body, headers=headers), runtime).status_code == 422
    retried = handle_hook(hook_request("github", body, headers=headers), runtime)
    assert (retried.status_code, response_json(retried)["status"]) == (202, "accepted")
    assert len(graph.sent) == 1


@pytest.mark.parametrize("status", [500, 502])
def test_a_graph_5xx_keeps_the_key_so_a_retry_never_sends_twice(
    queue_runtime: Callable[..., Runtime], graph: FakeGraph, azurite: str, status: int
) -> None:
    # Graph may have acted on the request before failing: its outcome is unknown, as after a timeout.
    runtime = queue_runtime(MAIL_DELIVERY="direct")
    graph.enqueue(status, json=graph_error("InternalServerError", "boom"))
    headers = {"X-GitHub-Event": "workflow_run", "X-GitHub-Delivery": str(uuid.uuid4())}
    body = (DATA / "github" / "workflow_run.completed.failure.json").read_bytes()
    first = handle_hook(hook_request("github", body, headers=headers), runtime)
    assert (first.status_code, response_json(first)["code"]) == (502, "graph_error")
    handle_hook(hook_request("github", body, headers=headers), runtime)
    assert len(graph.requests) == 1, "the retry did not reach Graph"


def test_unreachable_idempotency_store_sends_nothing(
    mi_runtime: RuntimeFactory, graph: FakeGraph, alertmanager_payload: bytes
) -> None:
    closed_port = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;"
    runtime = mi_runtime(AzureWebJobsStorage=closed_port, MAIL_DEFAULT_TO="oncall@contoso.com")
    response = handle_hook(hook_request("alertmanager", alertmanager_payload), runtime)
    assert (response.status_code, response_json(response)["code"]) == (503, "idempotency_unavailable")
    assert graph.requests == []


def test_chaos_every_message_exactly_once_or_reported(
    queue_runtime: Callable[..., Runtime], graph: FakeGraph, azurite: str
) -> None:
    """200 messages while Graph throttles, fails and drops connections at random."""
    # A Retry-After of 8 s does not fit the 5 s deadline: the message goes back on the queue.
    runtime = queue_runtime(MAIL_SEND_DEADLINE_S="5")
    chaos = random.Random(20261125)
    for _ in range(150):
        kind = chaos.choice(["429", "503", "504", "drop"])
        if kind == "429":
            graph.enqueue(
                429, json=graph_error("TooManyRequests", "x"), headers={"Retry-After": str(chaos.choice([0, 1, 8]))}
            )
        elif kind == "drop":
            graph.enqueue(202, close_without_answer=True)
        else:
            graph.enqueue(int(kind), json=graph_error("ServiceNotAvailable", "x"))
    request_ids = set()
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda i: handle_mail(mail_request({**SIMPLE, "subject": f"m{i}"}), runtime), range(200))
        )
    request_ids = {response_json(answer)["requestId"] for answer in answers}
    assert len(request_ids) == 200
    drain(runtime, azurite, quiet_s=3.0, workers=4)

    sent_ids = [request.headers["client-request-id"] for request in graph.sent]
    poisoned = poison_all(runtime, azurite)
    assert len(sent_ids) == len(set(sent_ids)), "no message was sent twice"
    assert set(sent_ids) | set(poisoned) == request_ids, "every message is sent or reported"
    assert set(poisoned.values()) <= {"graph_timeout"}, "only an unknown outcome is reported, never retried"
    # A dropped connection or a 504 leaves a message unsent and reported; on a loaded machine a slow
    # 202 can also time out, and is then both sent and reported as of unknown outcome, never resent.
    dropped = sum(1 for request in graph.requests if request.status in (None, 504))
    assert len(set(poisoned) - set(sent_ids)) == dropped
    assert graph.pending_scripted == 0


def poison_all(runtime: Runtime, azurite: str) -> dict[str, str]:
    queue = queue_client(azurite, f"{runtime.settings.delivery.queue_name}-poison")
    reasons = {}
    while messages := list(queue.receive_messages(max_messages=32, messages_per_page=32)):
        for message in messages:
            document = json.loads(message.content)
            reasons[document["requestId"]] = document["error"]["code"]
            queue.delete_message(message)
    return reasons


def test_queue_function_object_as_the_host_calls_it(
    queue_runtime: Callable[..., Runtime], graph: FakeGraph, azurite: str, identity: FakeManagedIdentity
) -> None:
    # The worker indexes function_app with the app settings set; deliver exists only in queue mode.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MAIL_DELIVERY", "queue")
        spec = importlib.util.spec_from_file_location("function_app_in_queue_mode", ROOT / "function_app.py")
        assert spec is not None and spec.loader is not None
        function_app = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(function_app)

    runtime = queue_runtime()
    handle_mail(mail_request(SIMPLE), runtime)
    [message] = queue_client(azurite, runtime.settings.delivery.queue_name).receive_messages()
    # The Functions host hands the function the decoded body as bytes.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("shared.endpoints.deliver.current_runtime", lambda: runtime)
        function_app.deliver(
            func.QueueMessage(id=message.id, body=message.content.encode(), pop_receipt=message.pop_receipt)
        )
    assert len(graph.sent) == 1
