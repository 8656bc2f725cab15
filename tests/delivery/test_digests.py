"""Storm digests in one process, end to end: the app's handlers, Azurite (its own, for its own flush
queue) and the fake Graph. The many-process storms are in tests/e2e/test_storm.py."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from shared.delivery.digests.flush import poison_queue
from shared.delivery.digests.held import FLUSH_QUEUE
from shared.endpoints.deliver import handle_digest_flush
from shared.endpoints.hooks import handle_hook
from shared.endpoints.mail import handle_mail
from shared.runtime import Runtime
from tests.conftest import RuntimeFactory
from tests.fakes.graph import FakeGraph, graph_error
from tests.fakes.identity import FakeManagedIdentity
from tests.helpers.alerts import distinct_alert
from tests.helpers.app import hook_request, mail_request, response_json
from tests.helpers.azurite import running_azurite

DATA = Path(__file__).parents[1] / "data"


@pytest.fixture
def own_azurite() -> Iterator[str]:
    """An Azurite of this test's own: the digest flush queue has one fixed name for every bridge."""
    with running_azurite() as connection_string:
        yield connection_string


@pytest.fixture
def digest_runtime(mi_runtime: RuntimeFactory, own_azurite: str) -> Callable[..., Runtime]:
    def factory(**settings: str) -> Runtime:
        return mi_runtime(
            **{
                "AzureWebJobsStorage": own_azurite,
                # 3 a minute: 2 for notifications, 1 kept for the digest.
                "MAIL_MAILBOX_MESSAGES_PER_MINUTE": "3",
                "MAIL_DIGEST_WINDOW_S": "1",
                "MAIL_DEFAULT_TO": "oncall@contoso.com",
                **settings,
            }
        )

    return factory


def alert(number: int) -> bytes:
    return distinct_alert(f"DiskWillFill{number:03d}")


def queue(connection: str, name: str) -> QueueClient:
    client = QueueClient.from_connection_string(
        connection, name, message_encode_policy=TextBase64EncodePolicy(), message_decode_policy=TextBase64DecodePolicy()
    )
    with contextlib.suppress(ResourceExistsError):
        client.create_queue()
    return client


def run_flushes(runtime: Runtime, connection: str, *, timeout_s: float = 90) -> int:
    """Run the flush function over the digest queue as the host would, until nothing is held and
    the queue is empty, invisible (delayed) messages included; the number of flushes run."""
    flushes = queue(connection, FLUSH_QUEUE)
    runs = 0
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for message in flushes.receive_messages(max_messages=16, visibility_timeout=60):
            handle_digest_flush(message.content, runtime)
            flushes.delete_message(message)
            runs += 1
        waiting = flushes.get_queue_properties().approximate_message_count
        assert runtime.holding is not None
        if not waiting and not sum(runtime.holding.counts().values()):
            return runs
        time.sleep(0.3)
    raise AssertionError("the digest queue did not empty")


def mail_json(request: Any) -> dict[str, Any]:
    message: dict[str, Any] = request.message
    return message


# Held in either form: a MIME notification (the default) is read back for its digest entry.
@pytest.mark.parametrize("message_format", ["mime", "json"])
def test_a_storm_past_the_pace_becomes_one_digest_naming_every_alert(
    digest_runtime: Callable[..., Runtime],
    graph: FakeGraph,
    identity: FakeManagedIdentity,
    own_azurite: str,
    message_format: str,
) -> None:
    runtime = digest_runtime(MAIL_MESSAGE_FORMAT=message_format)
    answers = [response_json(handle_hook(hook_request("alertmanager", alert(n)), runtime)) for n in range(8)]
    assert [answer["status"] for answer in answers] == ["accepted"] * 2 + ["held"] * 6
    assert len(graph.sent) == 2, "held notifications are not sent on their own"
    assert run_flushes(runtime, own_azurite) >= 1
    [digest] = graph.sent[2:]
    message = mail_json(digest)
    assert message["subject"] == "[DIGEST] 6 notifications on route default: 6 firing"
    content = message["body"]["content"]
    for n in range(2, 8):
        assert content.count(f"DiskWillFill{n:03d}") >= 2, "named in the summary and shown in full"
    assert [r["emailAddress"]["address"] for r in message["toRecipients"]] == ["oncall@contoso.com"]
    assert {h["name"]: h["value"] for h in message["internetMessageHeaders"]}["X-Mailhook-Source"] == "digest"
    assert runtime.holding is not None and runtime.holding.counts() == {}


def test_a_held_notifications_repeat_is_answered_held_then_duplicate_once_its_digest_is_sent(
    digest_runtime: Callable[..., Runtime], graph: FakeGraph, identity: FakeManagedIdentity, own_azurite: str
) -> None:
    runtime = digest_runtime()
    for n in range(2):
        handle_hook(hook_request("alertmanager", alert(n)), runtime)
    storm = alert(99)
    first = response_json(handle_hook(hook_request("alertmanager", storm), runtime))
    again = response_json(handle_hook(hook_request("alertmanager", storm), runtime))
    assert (first["status"], again["status"], again["requestId"]) == ("held", "held", first["requestId"])
    run_flushes(runtime, own_azurite)
    after = response_json(handle_hook(hook_request("alertmanager", storm), runtime))
    assert (after["status"], after["requestId"]) == ("duplicate", first["requestId"])
    assert len(graph.sent) == 3, "two alerts, one digest; the repeats sent nothing"


def test_mail_past_the_pace_is_refused_with_retry_after_not_held(
    digest_runtime: Callable[..., Runtime], graph: FakeGraph, identity: FakeManagedIdentity
) -> None:
    runtime = digest_runtime()
    mail = {"to": "ops@contoso.com", "subject": "Disk full", "text": "93%"}
    answers = [handle_mail(mail_request(mail), runtime) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [202, 202, 429]
    refused = response_json(answers[2])
    assert refused["code"] == "mailbox_paced"
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 60


def test_a_route_without_digests_refuses_past_the_pace(
    digest_runtime: Callable[..., Runtime], graph: FakeGraph, identity: FakeManagedIdentity
) -> None:
    runtime = digest_runtime(MAIL_ROUTES=json.dumps({"default": {"to": ["oncall@contoso.com"], "digest": False}}))
    answers = [handle_hook(hook_request("alertmanager", alert(n)), runtime) for n in range(3)]
    assert [answer.status_code for answer in answers] == [202, 202, 429]
    assert response_json(answers[2])["code"] == "mailbox_paced"


def test_the_budget_reserve_is_for_digests_and_an_exhausted_budget_holds_until_it_frees(
    digest_runtime: Callable[..., Runtime], graph: FakeGraph, identity: FakeManagedIdentity, own_azurite: str
) -> None:
    # 3 recipients a day, 1 kept for digests: two alerts go out, the third waits for a digest.
    runtime = digest_runtime(
        MAIL_DAILY_RECIPIENT_BUDGET="3", MAIL_DIGEST_RESERVE="1", MAIL_MAILBOX_MESSAGES_PER_MINUTE="100"
    )
    answers = [response_json(handle_hook(hook_request("alertmanager", alert(n)), runtime)) for n in range(4)]
    assert [answer["status"] for answer in answers] == ["accepted", "accepted", "held", "held"]
    run_flushes(runtime, own_azurite)
    assert len(graph.sent) == 3, "the digest took the reserved recipient"
    # Now even the reserve is used: the next storm's digest waits for budget, its alerts held, not lost.
    later = response_json(handle_hook(hook_request("alertmanager", alert(9)), runtime))
    assert later["status"] == "held"
    flushes = queue(own_azurite, FLUSH_QUEUE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for message in flushes.receive_messages(max_messages=16, visibility_timeout=60):
            handle_digest_flush(message.content, runtime)
            flushes.delete_message(message)
        time.sleep(0.3)
        if flushes.get_queue_properties().approximate_message_count:
            break  # deferred: the flush is back on the queue, delayed until the budget frees
    assert len(graph.sent) == 3, "never sent past the budget"
    assert runtime.holding is not None and sum(runtime.holding.counts().values()) == 1, "still held, not dropped"
    [usage] = runtime.mailbox_limits.usage()
    assert usage.recipients_used == 3


def test_a_digest_graph_refuses_is_reported_and_frees_the_notifications_keys(
    digest_runtime: Callable[..., Runtime], graph: FakeGraph, identity: FakeManagedIdentity, own_azurite: str
) -> None:
    runtime = digest_runtime()
    for n in range(2):
        handle_hook(hook_request("alertmanager", alert(n)), runtime)
    storm = alert(50)
    assert response_json(handle_hook(hook_request("alertmanager", storm), runtime))["status"] == "held"
    graph.enqueue(400, json=graph_error("ErrorInvalidRecipients", "At least one recipient isn't valid."))
    run_flushes(runtime, own_azurite)
    [report] = queue(own_azurite, poison_queue()).receive_messages()
    document = json.loads(report.content)
    assert (document["notifications"], document["error"]["status"]) == (1, 422)
    assert document["report"].startswith("mailhook-held/reports/")
    retry = response_json(handle_hook(hook_request("alertmanager", storm), runtime))
    assert retry["status"] in ("accepted", "held"), "its key was freed: the sender's retry can mail it"


def test_notifications_held_behind_a_crashed_runs_batch_go_out_with_the_next_run(
    digest_runtime: Callable[..., Runtime], graph: FakeGraph, identity: FakeManagedIdentity, own_azurite: str
) -> None:
    """A run took a batch and died before sending it; a notification held meanwhile scheduled a flush
    of its own. That flush finds the old batch first: it must send it, then the newer one too."""
    # Held by the budget this time (1 recipient for notifications, 2 kept for the two digests).
    runtime = digest_runtime(
        MAIL_DAILY_RECIPIENT_BUDGET="3", MAIL_DIGEST_RESERVE="2", MAIL_MAILBOX_MESSAGES_PER_MINUTE="100"
    )
    assert runtime.holding is not None
    handle_hook(hook_request("alertmanager", alert(0)), runtime)
    assert response_json(handle_hook(hook_request("alertmanager", alert(10)), runtime))["status"] == "held"
    flushes = queue(own_azurite, FLUSH_QUEUE)
    time.sleep(1.5)  # the window
    [scheduled] = flushes.receive_messages(max_messages=16, visibility_timeout=600)  # the run that dies
    flushes.delete_message(scheduled)  # (its redelivery comes last, below)
    [group] = {entity["PartitionKey"] for entity in runtime.holding._table.list_entities()}
    runtime.holding.unschedule_flush(group)  # what a run does before it takes its batch ...
    runtime.holding.take_batch(group, runtime.holding.waiting(group, limit=10))  # ... and then it died
    assert response_json(handle_hook(hook_request("alertmanager", alert(11)), runtime))["status"] == "held"
    run_flushes(runtime, own_azurite)
    digests = [mail_json(request) for request in graph.sent[1:]]
    contents = " ".join(digest["body"]["content"] for digest in digests)
    assert "DiskWillFill010" in contents and "DiskWillFill011" in contents
    assert len(digests) == 2, "the dead run's batch, then what was held after it"
    handle_digest_flush(scheduled.content, runtime)  # the dead run's message, redelivered: nothing left
    assert len(graph.sent) == 3


def test_a_large_held_notification_keeps_its_body_in_a_blob_and_still_goes_out_in_full(
    digest_runtime: Callable[..., Runtime], graph: FakeGraph, identity: FakeManagedIdentity, own_azurite: str
) -> None:
    runtime = digest_runtime()
    assert runtime.holding is not None
    for n in range(2):
        handle_hook(hook_request("alertmanager", alert(n)), runtime)
    document = json.loads(alert(77))
    [first] = document["alerts"]
    document["alerts"] = [
        {**first, "fingerprint": f"{n:016x}", "labels": {**first["labels"], "instance": f"db-{n}.prod-eu:9100"}}
        for n in range(80)
    ]
    assert (
        response_json(handle_hook(hook_request("alertmanager", json.dumps(document).encode()), runtime))["status"]
        == "held"
    )
    [(group, row)] = [
        (entity["PartitionKey"], entity["RowKey"])
        for entity in runtime.holding._table.list_entities()
        if entity["RowKey"][0].isdigit()
    ]
    [held] = runtime.holding.read(group, [row])
    assert held.blob is not None and len(held.body) > 30_000, "over a Table property's size: kept in a blob"
    run_flushes(runtime, own_azurite)
    [digest] = graph.sent[2:]
    assert "db-79.prod-eu:9100" in mail_json(digest)["body"]["content"]


def test_without_storage_a_notification_past_the_pace_is_refused_with_retry_after(
    mi_runtime: RuntimeFactory, graph: FakeGraph, identity: FakeManagedIdentity
) -> None:
    # Nothing can be held without storage: the limits hold for this process, and answer 429.
    runtime = mi_runtime(MAIL_MAILBOX_MESSAGES_PER_MINUTE="3", MAIL_DEFAULT_TO="oncall@contoso.com")
    assert runtime.holding is None and runtime.mailbox_limits.kind == "memory"
    answers = [handle_hook(hook_request("alertmanager", alert(n)), runtime) for n in range(4)]
    assert [answer.status_code for answer in answers] == [202, 202, 202, 429], "no pace kept for digests either"
    assert response_json(answers[3])["code"] == "mailbox_paced"
    assert int(answers[3].headers["Retry-After"]) >= 1
