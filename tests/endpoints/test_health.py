"""GET /api/health with storage: what an anonymous caller can make it read is bounded, whatever is held."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import azure.functions as func
import pytest
import requests
from azure.core.pipeline.transport import HttpRequest, RequestsTransport
from azure.data.tables import TableClient

from shared.azure.storage import StorageClients
from shared.delivery.digests.held import TABLE_NAME, HeldNotifications
from shared.endpoints.health import HELD_COUNT_BOUND, STORAGE_FIGURES_MAX_AGE_S, handle_health
from shared.mail.digest_line import DigestLine
from shared.mail.draft import parse_mail_request
from shared.runtime import Runtime
from tests.conftest import RuntimeFactory
from tests.endpoints.test_mail import published_schema
from tests.fakes.graph import FakeGraph
from tests.fakes.identity import FakeManagedIdentity
from tests.helpers.app import response_json
from tests.helpers.azurite import running_azurite


class CountingTransport:
    """The Tables SDK's own HTTP transport (RequestsTransport), wrapped to count what the service sends back
    for the held-notifications table: each Query Entities request (a GET on ``mailhookheld()``) and the
    entities (rows) in its JSON ``value``. Nothing is faked: every request goes to Azurite."""

    def __init__(self) -> None:
        self._transport = RequestsTransport()
        self.queries = 0
        self.rows_read = 0

    def send(self, request: HttpRequest, **kwargs: Any) -> Any:
        response = self._transport.send(request, **kwargs)
        if request.method == "GET" and f"/{TABLE_NAME}()" in request.url:
            self.queries += 1
            self.rows_read += len(json.loads(response.text())["value"])
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)  # open, close, sleep: the wrapped transport's own

    def __enter__(self) -> CountingTransport:
        self._transport.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._transport.__exit__(*exc_info)


class CountedStorage(StorageClients):
    """The bridge's storage clients, the held table's client sending through a CountingTransport."""

    def __init__(self, connection_string: str, runtime: Runtime, transport: CountingTransport) -> None:
        assert runtime.settings.delivery.storage is not None
        super().__init__(runtime.settings.delivery.storage, requests.Session())
        self._table_client = TableClient.from_connection_string(connection_string, TABLE_NAME, transport=transport)

    def table(self, name: str) -> TableClient:
        return self._table_client if name == TABLE_NAME else super().table(name)


@pytest.fixture
def own_azurite() -> Iterator[str]:
    """An Azurite of this test's own: the held table has one name for every bridge, and this test counts it all."""
    with running_azurite() as connection_string:
        yield connection_string


def health_request() -> func.HttpRequest:
    return func.HttpRequest(method="GET", url="http://localhost:7071/api/health", body=b"")


def hold(runtime: Runtime, count: int) -> None:
    """Hold ``count`` notifications for a storm digest, as the dispatcher does past a mailbox's limits."""
    mail = runtime.policy.approve(parse_mail_request({"to": "oncall@contoso.com", "subject": "held", "text": "x"}))
    assert runtime.holding is not None
    for number in range(count):
        line = DigestLine("default", "generic", "firing", "warning", f"Alert{number}", "2026-12-02T00:00:00Z", None)
        request_id = uuid.uuid4().hex
        runtime.holding.hold(dataclasses.replace(mail, digest=line), request_id, None, window_s=3600)


def test_anonymous_health_reads_a_bounded_page_of_held_rows_and_keeps_it_a_moment(
    mi_runtime: RuntimeFactory, graph: FakeGraph, identity: FakeManagedIdentity, own_azurite: str
) -> None:
    runtime = mi_runtime(AzureWebJobsStorage=own_azurite, MAIL_SENDER="hidden-sender@contoso.com")
    transport = CountingTransport()
    counted = dataclasses.replace(runtime, holding=HeldNotifications(CountedStorage(own_azurite, runtime, transport)))

    hold(runtime, 3)
    report = response_json(handle_health(health_request(), counted))["mailboxLimits"]
    assert (transport.queries, transport.rows_read) == (1, 3)
    assert (report["heldNotifications"], report.get("heldNotificationsAtLeast")) == (3, False), "under the bound"

    hold(runtime, HELD_COUNT_BOUND + 30)  # more held than the bound: 133
    counted = dataclasses.replace(counted)  # another runtime: nothing kept from the first
    transport.queries = transport.rows_read = 0
    answer = handle_health(health_request(), counted)
    report = response_json(answer)["mailboxLimits"]
    assert (transport.queries, transport.rows_read) == (1, HELD_COUNT_BOUND), "one page of the bound, not 133 rows"
    assert (report["heldNotifications"], report["heldNotificationsAtLeast"]) == (HELD_COUNT_BOUND, True)
    published_schema("/api/health", "200").validate(response_json(answer))
    assert "hidden-sender" not in answer.get_body().decode(), "no mailbox named"

    # Called again at once, as a flood would: answered from what was read, nothing more is read.
    for _ in range(20):
        assert response_json(handle_health(health_request(), counted))["mailboxLimits"] == report
    assert (transport.queries, transport.rows_read) == (1, HELD_COUNT_BOUND)

    time.sleep(STORAGE_FIGURES_MAX_AGE_S + 0.1)
    assert response_json(handle_health(health_request(), counted))["mailboxLimits"] == report
    assert (transport.queries, transport.rows_read) == (2, 2 * HELD_COUNT_BOUND), "read again once it is stale"
