"""The Graph path end to end: real func.HttpRequest → handle_mail → MSAL → HTTP to the fake Graph."""

from __future__ import annotations

import email.utils
import json
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import azure.functions as func
import pytest

from shared.endpoints.mail import handle_mail
from shared.runtime import Runtime
from tests.conftest import RuntimeFactory
from tests.fakes.graph import FakeGraph, graph_error
from tests.fakes.identity import FakeManagedIdentity
from tests.helpers.app import SENDER, mail_request, reference_example, response_json

SIMPLE = {"to": "ops@contoso.com", "subject": "Disk full", "text": "93%"}


def send(runtime: Runtime, payload: Any = SIMPLE) -> func.HttpResponse:
    return handle_mail(mail_request(payload), runtime)


def assert_problem(response: func.HttpResponse, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_body()
    assert response.mimetype == "application/problem+json"
    document: dict[str, Any] = response_json(response)
    assert (document["status"], document["code"], document["type"]) == (status, code, f"urn:mailhook:problem:{code}")
    assert document["requestId"] == response.headers["X-Request-Id"]
    return document


def test_simplified_payload_reaches_graph(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    response = send(mi_runtime())
    assert response.status_code == 202
    body = response_json(response)
    assert body["status"] == "accepted"
    [request] = graph.sent
    assert request.mailbox == SENDER
    assert request.path == f"/v1.0/users/{SENDER}/sendMail"
    assert request.headers["client-request-id"] == body["requestId"]
    assert request.headers["content-type"] == "application/json"
    assert request.headers["authorization"].startswith("Bearer mi-token-")
    assert request.message["toRecipients"] == [{"emailAddress": {"address": "ops@contoso.com"}}]


def test_both_reference_examples_reach_graph_as_printed(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    runtime = mi_runtime()
    for number in (1, 2):
        assert handle_mail(mail_request(reference_example(number)), runtime).status_code == 202
    first, second = (request.json for request in graph.sent)
    expected_first = json.loads(reference_example(1))
    expected_first["saveToSentItems"] = False  # the one change: a real boolean for the doc's "false"
    assert first == expected_first
    assert (
        second["message"]["internetMessageHeaders"]
        == json.loads(reference_example(2))["message"]["internetMessageHeaders"]
    )


def test_from_sends_through_that_mailbox(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    runtime = mi_runtime(MAIL_ALLOWED_SENDERS="alerts@contoso.com")
    assert send(runtime, {**SIMPLE, "from": "alerts@contoso.com"}).status_code == 202
    assert graph.sent[0].path == "/v1.0/users/alerts@contoso.com/sendMail"


def test_policy_failures_send_nothing(
    mi_runtime: RuntimeFactory, graph: FakeGraph, identity: FakeManagedIdentity
) -> None:
    runtime = mi_runtime(MAIL_ALLOWED_RECIPIENT_DOMAINS="contoso.com")
    assert_problem(send(runtime, {**SIMPLE, "from": "ceo@contoso.com"}), 403, "sender_not_allowed")
    assert_problem(send(runtime, {**SIMPLE, "cc": "x@evil.example"}), 403, "recipient_not_allowed")
    # Attachments of any size up to 150 MB go through a draft; the rest of a message must fit in one request.
    too_big = {**SIMPLE, "text": "A" * (4 * 1024 * 1024)}
    document = assert_problem(send(runtime, too_big), 413, "message_too_large")
    assert "without its attachments" in document["detail"] and "4 MB" in document["detail"]
    assert graph.requests == []
    assert identity.token_requests == [], "no token is fetched for a message policy refuses"


def test_retry_after_seconds_is_honoured(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    graph.enqueue(429, json=graph_error("TooManyRequests", "Slow down"), headers={"Retry-After": "1"})
    assert send(mi_runtime()).status_code == 202
    throttled, accepted = graph.requests
    assert (throttled.status, accepted.status) == (429, 202)
    assert 1.0 <= accepted.received_at - throttled.received_at < 2.0
    assert accepted.body == throttled.body


def test_retry_after_http_date_is_honoured(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    retry_at = email.utils.formatdate(time.time() + 2, usegmt=True)
    graph.enqueue(503, json=graph_error("ServiceNotAvailable", "Busy"), headers={"Retry-After": retry_at})
    assert send(mi_runtime()).status_code == 202
    unavailable, accepted = graph.requests
    # An HTTP date has a one-second resolution: the wait is between one and two seconds, less the
    # time from formatting the date to the 503's arrival (0.9994 s was seen on a loaded machine).
    assert 0.8 <= accepted.received_at - unavailable.received_at < 2.5


def test_transient_errors_without_retry_after_back_off(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    graph.enqueue(503, json=graph_error("ServiceNotAvailable", "Busy"))
    graph.enqueue(429, json=graph_error("ApplicationThrottled", "Busy"))
    assert send(mi_runtime()).status_code == 202
    assert [request.status for request in graph.requests] == [503, 429, 202]


def test_a_graph_504_is_an_unknown_outcome_never_retried(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    # A 504 is a gateway that stopped waiting, not a refusal: Exchange may still send the message.
    graph.enqueue(504, json=graph_error("GatewayTimeout", "Timeout"))
    document = assert_problem(send(mi_runtime()), 504, "graph_timeout")
    assert (document["graphStatus"], document["graphError"]) == (504, "GatewayTimeout")
    assert "never sent twice" in document["detail"]
    assert [request.status for request in graph.requests] == [504]


def test_throttling_past_the_deadline_is_503_with_retry_after(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    graph.enqueue(429, json=graph_error("ApplicationThrottled", "MailboxConcurrency"), headers={"Retry-After": "30"})
    started = time.monotonic()
    response = send(mi_runtime(MAIL_SEND_DEADLINE_S="5"))
    assert time.monotonic() - started < 1.0, "a wait that cannot fit the deadline is not started"
    document = assert_problem(response, 503, "graph_unavailable")
    assert response.headers["Retry-After"] == "30"
    assert len(graph.requests) == 1
    # Graph's own status, code and request-id (a GUID the fake sets, as Graph does) travel with the answer.
    assert (document["graphStatus"], document["graphError"]) == (429, "ApplicationThrottled")
    uuid.UUID(document["graphRequestId"])


def test_a_message_over_the_mailbox_size_limit_is_413(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    graph.enqueue(400, json=graph_error("ErrorMessageSizeExceeded", "The message exceeds the maximum supported size."))
    document = assert_problem(send(mi_runtime()), 413, "message_too_large")
    assert document["graphError"] == "ErrorMessageSizeExceeded"


def test_read_timeout_is_504_and_never_retried(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    graph.enqueue(202, delay_s=3.0)
    response = send(mi_runtime(MAIL_SEND_DEADLINE_S="1"))
    document = assert_problem(response, 504, "graph_timeout")
    assert "never sent twice" in document["detail"]
    time.sleep(0.5)
    assert len(graph.requests) <= 1 and graph.pending_scripted == 0


def test_connection_dropped_after_sending_is_504_and_never_retried(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    graph.enqueue(202, close_without_answer=True)
    assert_problem(send(mi_runtime()), 504, "graph_timeout")
    assert len(graph.requests) == 1


def test_connection_refused_is_retried_then_503(
    graph_runtime: RuntimeFactory, identity: FakeManagedIdentity, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        unused_port = closed.getsockname()[1]
    runtime = graph_runtime(GRAPH_BASE_URL=f"http://127.0.0.1:{unused_port}", MAIL_SEND_DEADLINE_S="1.5")
    started = time.monotonic()
    response = send(runtime)
    elapsed = time.monotonic() - started
    assert_problem(response, 503, "graph_unavailable")
    attempts = [r for r in caplog.records if "Graph unreachable" in r.getMessage()]
    # The first backoff is at most 0.5 s, so a 1.5 s deadline always leaves room for a retry.
    assert len(attempts) >= 2, "a connection that was never made is retried"
    assert elapsed < 2.0, "and given up at the deadline"
    assert int(response.headers["Retry-After"]) >= 1


def test_401_gets_one_fresh_token(mi_runtime: RuntimeFactory, graph: FakeGraph, identity: FakeManagedIdentity) -> None:
    runtime = mi_runtime()
    assert send(runtime).status_code == 202
    graph.expire_tokens()
    assert send(runtime).status_code == 202
    assert [request.status for request in graph.requests] == [202, 401, 202]
    assert len(identity.token_requests) == 2
    assert graph.requests[2].headers["authorization"] == f"Bearer {identity.issued_tokens[1]}"


def test_401_twice_is_a_configuration_problem(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    graph.enqueue(401, json=graph_error("InvalidAuthenticationToken", "Invalid audience"))
    graph.enqueue(401, json=graph_error("InvalidAuthenticationToken", "Invalid audience"))
    document = assert_problem(send(mi_runtime()), 502, "graph_configuration_error")
    assert document["graphError"] == "InvalidAuthenticationToken"
    assert len(graph.requests) == 2


def test_graph_content_rejection_is_422_with_graphs_code(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    graph.enqueue(400, json=graph_error("ErrorInvalidRecipients", "At least one recipient isn't valid."))
    document = assert_problem(send(mi_runtime()), 422, "graph_rejected_message")
    assert document["graphError"] == "ErrorInvalidRecipients"
    assert len(document["graphRequestId"]) == 36, "Graph's request-id is reported for support cases"
    assert "recipient isn't valid" in document["detail"]


def test_graph_refusals_of_our_mailbox_are_502(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    runtime = mi_runtime()
    graph.enqueue(403, json=graph_error("ErrorAccessDenied", "Access is denied. Check credentials and try again."))
    assert "Mail.Send" in assert_problem(send(runtime), 502, "graph_configuration_error")["detail"]
    graph.enqueue(
        403,
        json=graph_error(
            "ErrorAccessDenied",
            "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.",
        ),
    )
    assert "access policy" in assert_problem(send(runtime), 502, "graph_configuration_error")["detail"]
    graph.enqueue(404, json=graph_error("ErrorInvalidUser", "The requested user 'x' is invalid."))
    assert "mailbox" in assert_problem(send(runtime), 502, "graph_configuration_error")["detail"]
    assert len(graph.requests) == 3, "none of these is retried"


def test_graph_413_is_413(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    graph.enqueue(413, json=graph_error("RequestEntityTooLarge", "The maximum request length supported is 4MB."))
    assert_problem(send(mi_runtime()), 413, "message_too_large")


def test_graph_500_is_reported_not_retried(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    graph.enqueue(500, json=graph_error("InternalServerError", "Oops"))
    assert_problem(send(mi_runtime()), 502, "graph_error")
    assert len(graph.requests) == 1


def test_one_token_for_50_sequential_sends(
    mi_runtime: RuntimeFactory, graph: FakeGraph, identity: FakeManagedIdentity
) -> None:
    runtime = mi_runtime()
    for _ in range(50):
        assert send(runtime).status_code == 202
    assert len(graph.sent) == 50
    assert len(identity.token_requests) == 1


def test_one_token_for_20_parallel_sends(
    mi_runtime: RuntimeFactory, graph: FakeGraph, identity: FakeManagedIdentity
) -> None:
    runtime = mi_runtime()
    start = threading.Barrier(20)

    def send_after_barrier(_: int) -> int:
        start.wait()
        return int(send(runtime).status_code)

    with ThreadPoolExecutor(20) as pool:
        assert list(pool.map(send_after_barrier, range(20))) == [202] * 20
    assert len(graph.sent) == 20
    assert len(identity.token_requests) == 1


def test_at_most_four_requests_in_flight_per_mailbox(
    mi_runtime: RuntimeFactory, graph: FakeGraph, identity: FakeManagedIdentity
) -> None:
    graph.default_delay_s = 0.2
    runtime = mi_runtime(MAIL_ALLOWED_SENDERS="other@contoso.com")
    payloads = [SIMPLE] * 12 + [{**SIMPLE, "from": "other@contoso.com"}] * 6
    with ThreadPoolExecutor(18) as pool:
        assert set(pool.map(lambda payload: int(send(runtime, payload).status_code), payloads)) == {202}
    assert graph.max_concurrent_per_mailbox == {SENDER: 4, "other@contoso.com": 4}


def test_a_base_url_written_with_v1_0_reaches_graph_once_versioned(
    mi_runtime: RuntimeFactory, graph: FakeGraph, identity: FakeManagedIdentity
) -> None:
    runtime = mi_runtime(GRAPH_BASE_URL=f"{graph.base_url}/v1.0")
    assert send(runtime).status_code == 202
    [request] = graph.sent
    assert request.path == "/v1.0/users/bridge@contoso.com/sendMail"
