"""Idempotency keys are scoped: one caller's Idempotency-Key never meets another's, nor reveals its request."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from shared.endpoints.hooks import handle_hook
from shared.endpoints.mail import handle_mail
from tests.conftest import RuntimeFactory
from tests.fakes.graph import FakeGraph
from tests.helpers.app import DATA, hook_request, mail_request, response_json

MAIL = {"to": "ops@contoso.com", "subject": "deploy done", "text": "v1.2.3 is live"}
ALERT = (DATA / "alertmanager" / "firing-single.json").read_bytes()


def _key_of(caller: str, key: str = "deploy-42") -> dict[str, str]:
    return {"x-functions-key": caller, "Idempotency-Key": key}


def test_the_same_key_from_two_callers_is_two_mails_each_told_its_own_request(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    runtime = mi_runtime()
    first_a = response_json(handle_mail(mail_request(MAIL, headers=_key_of("function-key-of-a")), runtime))
    first_b = response_json(handle_mail(mail_request(MAIL, headers=_key_of("function-key-of-b")), runtime))
    again_b = response_json(handle_mail(mail_request(MAIL, headers=_key_of("function-key-of-b")), runtime))
    assert (first_a["status"], first_b["status"]) == ("accepted", "accepted")
    assert first_b["requestId"] != first_a["requestId"]
    # B's repeat is B's duplicate, told B's request id.
    assert (again_b["status"], again_b["requestId"]) == ("duplicate", first_b["requestId"])
    assert len(graph.sent) == 2


def test_a_key_given_as_code_is_the_same_caller_as_in_the_header(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    import azure.functions as func

    runtime = mi_runtime()
    handle_mail(mail_request(MAIL, headers=_key_of("function-key-of-a")), runtime)
    by_code = func.HttpRequest(
        method="POST",
        url="http://localhost:7071/api/mail?code=function-key-of-a",
        headers={"Content-Type": "application/json", "Idempotency-Key": "deploy-42"},
        params={"code": "function-key-of-a"},
        body=mail_request(MAIL).get_body(),
    )
    assert response_json(handle_mail(by_code, runtime))["status"] == "duplicate"
    assert len(graph.sent) == 1


def test_a_webhook_idempotency_key_is_scoped_to_its_caller_too(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    runtime = mi_runtime(MAIL_DEFAULT_TO="oncall@contoso.com")
    answers = [
        response_json(handle_hook(hook_request("slack", {"text": "disk full"}, headers=_key_of(caller)), runtime))
        for caller in ("function-key-of-a", "function-key-of-b", "function-key-of-a")
    ]
    assert [answer["status"] for answer in answers] == ["accepted", "accepted", "duplicate"]
    assert answers[2]["requestId"] == answers[0]["requestId"]
    assert len(graph.sent) == 2


def test_the_same_notification_from_two_callers_on_one_route_is_one_mail(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    """Alertmanager replicas each send the group: its own key is the route's, not the caller's."""
    runtime = mi_runtime(MAIL_DEFAULT_TO="oncall@contoso.com")
    for caller in ("replica-1-key", "replica-2-key"):
        request = hook_request("alertmanager", ALERT, headers={"x-functions-key": caller})
        assert handle_hook(request, runtime).status_code == 202
    assert len(graph.sent) == 1


def _hmac(secret: str, body: bytes) -> str:
    import hashlib
    import hmac

    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


SIGNED: dict[str, tuple[str, str, Callable[[bytes], dict[str, str]]]] = {
    # source: (setting, data file, headers of a signed delivery)
    "pagerduty": (
        "PAGERDUTY_WEBHOOK_SECRET",
        "incident.triggered.json",
        lambda body: {"X-PagerDuty-Signature": "v1=" + _hmac("pd-secret", body)},
    ),
    "sentry": (
        "SENTRY_CLIENT_SECRET",
        "issue.created.json",
        lambda body: {"Sentry-Hook-Signature": _hmac("pd-secret", body), "Sentry-Hook-Resource": "issue"},
    ),
}


@pytest.mark.parametrize("source", SIGNED)
def test_a_signed_delivery_replayed_with_fresh_idempotency_keys_is_mailed_once(
    mi_runtime: RuntimeFactory, graph: FakeGraph, source: str
) -> None:
    setting, file, headers_of = SIGNED[source]
    runtime = mi_runtime(MAIL_DEFAULT_TO="oncall@contoso.com", **{setting: "pd-secret"})
    body = (DATA / source / file).read_bytes()
    statuses = [
        response_json(
            handle_hook(hook_request(source, body, headers={**headers_of(body), "Idempotency-Key": f"k{n}"}), runtime)
        )["status"]
        for n in range(5)
    ]
    assert statuses == ["accepted"] + ["duplicate"] * 4
    assert len(graph.sent) == 1
