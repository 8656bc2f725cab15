"""One delivery, several instances: three dev-server processes on one Azurite table send it once.

This is what an HA Alertmanager pair (or a sender's retries landing on different Functions
instances) does to a scaled-out app. The fake Graph answers slowly, so repeats arrive while the
first send is in flight; each repeat is told only what is known: "duplicate" once that one has
sent, else "in_progress" with Retry-After, and its retry then gets "duplicate". Then the sending
instance is killed mid-send: the delivery's outcome is unknown, and no instance sends it again.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.data.tables import TableClient, UpdateMode

from shared.delivery.idempotency.table import TABLE_NAME as IDEMPOTENCY_TABLE
from tests.fakes.graph import FakeGraph
from tests.fakes.identity import FakeManagedIdentity
from tests.helpers.devserver import RunningDevServer, devserver_process, write_settings

DATA = Path(__file__).resolve().parents[1] / "data"
INSTANCES = 3


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    with FakeGraph(default_delay_s=1.0) as fake:
        yield fake


@pytest.fixture
def instances(tmp_path: Path, azurite: str, graph: FakeGraph) -> Iterator[list[RunningDevServer]]:
    with FakeManagedIdentity() as identity, ExitStack() as stack:
        identity.on_issue = graph.valid_tokens.add
        environment = {
            # A mailbox of its own: the session's Azurite keeps every mailbox's shared limits, and
            # other tests' sends through bridge@contoso.com would count against this one's pace.
            "MAIL_SENDER": f"bridge-{uuid.uuid4().hex[:8]}@contoso.com",
            "MAIL_DEFAULT_TO": "oncall@contoso.com",
            "GRAPH_BASE_URL": graph.base_url,
            "AzureWebJobsStorage": azurite,
            "MAIL_RATE_LIMIT_PER_MINUTE": "0",
            **identity.environment,
        }
        servers = []
        for number in range(INSTANCES):
            folder = tmp_path / f"instance-{number}"
            folder.mkdir()
            settings = write_settings(folder / "local.settings.json", {})
            servers.append(stack.enter_context(devserver_process(settings, environment)))
        yield servers


def delivery() -> bytes:
    document = json.loads((DATA / "alertmanager" / "firing-grouped.json").read_text())
    document["groupKey"] = f'{{}}:{{alertname="HighMemoryUsage", run="{uuid.uuid4()}"}}'
    return json.dumps(document).encode()


def post(server: RunningDevServer, body: bytes) -> tuple[int, dict[str, Any]]:
    response = requests.post(
        f"{server.base_url}/api/hooks/alertmanager", data=body, headers={"Content-Type": "application/json"}, timeout=30
    )
    return response.status_code, response.json()


def test_concurrent_repeats_on_three_instances_send_once_and_are_told_the_truth(
    instances: list[RunningDevServer], graph: FakeGraph
) -> None:
    body = delivery()
    barrier = threading.Barrier(9)

    def deliver(index: int) -> tuple[int, dict[str, Any]]:
        barrier.wait()
        return post(instances[index % INSTANCES], body)

    with ThreadPoolExecutor(9) as pool:
        answers = list(pool.map(deliver, range(9)))
    assert [answer.get("status") for _, answer in answers].count("accepted") == 1
    in_progress = [answer for status, answer in answers if answer.get("code") == "in_progress"]
    assert in_progress, "with a 1 s Graph, some repeats arrived while the first was sending"
    for status, answer in answers:
        assert (status, answer.get("code", answer["status"])) in {
            (202, "accepted"),
            (202, "duplicate"),
            (503, "in_progress"),
        }
    for index in range(len(in_progress)):  # the sender's retry, on any instance
        status, retried = post(instances[index % INSTANCES], body)
        assert (status, retried["status"]) == (202, "duplicate")
    assert len(graph.sent) == 1


def test_an_instance_killed_mid_send_leaves_an_unknown_outcome_that_no_instance_resends(
    instances: list[RunningDevServer], graph: FakeGraph, azurite: str
) -> None:
    graph.default_delay_s = 30.0  # the first instance is killed while Graph holds its request
    body = delivery()
    first = threading.Thread(target=lambda: _ignore_errors(post, instances[0], body), daemon=True)
    first.start()
    deadline = time.monotonic() + 10
    while not graph.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    assert graph.requests, "the first instance reached Graph"
    instances[0].kill()
    graph.default_delay_s = 0.0
    status, answer = post(instances[1], body)
    assert (status, answer["code"]) == (503, "in_progress"), "its claim is still leased"
    # Once the dead instance's lease lapses (240 s), the next instance is told the outcome is unknown
    # instead of sending a second copy. The lease is made to lapse now, in the table itself.
    expire_lease(azurite, answer["firstRequestId"])
    status, answer = post(instances[2], body)
    assert (status, answer["code"]) == (409, "outcome_unknown")
    status, answer = post(instances[1], body)
    assert (status, answer["code"]) == (409, "outcome_unknown")
    assert len(graph.requests) == 1, "nobody sent it again"


def expire_lease(azurite: str, request_id: str) -> None:
    """Move the lease of ``request_id``'s claim into the past, as 240 s of waiting would."""
    table = TableClient.from_connection_string(azurite, IDEMPOTENCY_TABLE)
    [entity] = table.query_entities("RequestId eq @id", parameters={"id": request_id})
    entity["LeaseUntil"] = time.time() - 1
    table.update_entity(entity, mode=UpdateMode.MERGE)


def _ignore_errors(call: Any, *args: Any) -> None:
    # The instance is killed: its caller sees the connection drop, as a sender would.
    with contextlib.suppress(requests.RequestException):
        call(*args)
