"""Sentry integration-platform webhooks (tests/data/sentry, shaped as Sentry's "Webhooks" pages document them).

Files are named ``<Sentry-Hook-Resource>.<action>.json``. Reading: issue alerts, metric alerts and issue
webhooks → Notification, other resources skipped. Over the app (handle_hook with a real func.HttpRequest,
the fake Graph over loopback): ``Sentry-Hook-Signature``, computed here as Sentry's page says (hex
HMAC-SHA256 of the body with the Client Secret), replays, and a route's ``events``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from shared.endpoints.hooks import handle_hook
from shared.settings import SettingsError
from shared.sources.auth import SignatureInvalid
from shared.sources.base import HookRequest, InvalidHookPayload, Skip
from shared.sources.notification import Link, Notification, Severity, Status
from shared.sources.sentry import to_notification, verify_signature
from tests.conftest import RuntimeFactory
from tests.fakes.graph import FakeGraph
from tests.helpers.app import DATA, hook_request, response_json, settings_from

SECRET = "c0ffee5e1f0d4a3bb2a1sentry-client-secret"
TOKEN = "hook-token-4Kq9vXw2Lr7T"


def body(name: str) -> bytes:
    return (DATA / "sentry" / f"{name}.json").read_bytes()


def payload(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(body(name))
    return document


def read(document: Any, resource: str | None) -> Notification | Skip:
    headers = {"Sentry-Hook-Resource": resource} if resource else {}
    raw = json.dumps(document).encode()
    return to_notification(HookRequest(source="sentry", payload=document, headers=headers, body=raw))


def notification(name: str) -> Notification:
    outcome = read(payload(name), name.split(".")[0])
    assert isinstance(outcome, Notification), outcome
    return outcome


def sign(raw: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


# --- reading ------------------------------------------------------------------------------------


def test_an_issue_alert() -> None:
    alert = notification("event_alert.triggered")
    assert alert.title == "[ERROR] GatewayTimeout: payment gateway did not answer within 10 s"
    assert (alert.source, alert.status, alert.severity) == ("sentry", Status.FIRING, Severity.ERROR)
    assert alert.facts == [
        ("Alert rule", "Checkout errors in production"),
        ("Culprit", "checkout.payments in charge_card"),
        ("Level", "error"),
        ("Environment", "production"),
        ("Release", "checkout@2026.11.29-3"),
        ("Handled", "no"),
        ("URL", "https://shop.contoso.com/api/checkout"),
        ("Platform", "python"),
        ("Seen", "2026-11-30 02:57:48 UTC"),
    ]
    assert alert.links == [
        Link("Issue", "https://sentry.io/organizations/contoso/issues/5566778899/"),
        Link("Event", payload("event_alert.triggered")["data"]["event"]["web_url"]),
    ]
    assert alert.summary is None, "the message is empty; the title says it all"
    assert (
        alert.dedup_key == "sentry:" + hashlib.sha256(json.dumps(payload("event_alert.triggered")).encode()).hexdigest()
    )


@pytest.mark.parametrize(
    ("level", "severity"),
    [("fatal", Severity.CRITICAL), ("warning", Severity.WARNING), ("debug", Severity.INFO), (None, Severity.UNKNOWN)],
)
def test_the_level_is_the_severity(level: str | None, severity: Severity) -> None:
    document = payload("event_alert.triggered")
    document["data"]["event"]["level"] = level
    outcome = read(document, "event_alert")
    assert isinstance(outcome, Notification) and outcome.severity is severity
    assert outcome.title.startswith(f"[{(level or 'alert').upper()}] ")


def test_a_metric_alert_fires_warns_and_resolves() -> None:
    critical = notification("metric_alert.critical")
    assert critical.title == "[CRITICAL] Checkout error rate"
    assert (critical.status, critical.severity) == (Status.FIRING, Severity.CRITICAL)
    assert critical.summary == "231 events in the last 10 minutes\nFilter: level:error transaction:/api/checkout"
    assert critical.facts == [
        ("Alert rule", "Checkout error rate"),
        ("Metric", "count()"),
        ("Query", "level:error transaction:/api/checkout"),
        ("Dataset", "events"),
        ("Environment", "production"),
        ("Projects", "checkout"),
        ("Time window", "10 min"),
        ("critical threshold", "200.0"),
        ("warning threshold", "100.0"),
        ("Started", "2026-11-30 02:48:00 UTC"),
    ]
    assert critical.links == [Link("Alert", "https://contoso.sentry.io/alerts/rules/details/318/?alert=1204")]
    warning = notification("metric_alert.warning")
    assert (warning.title, warning.status, warning.severity) == (
        "[WARNING] Checkout error rate",
        Status.FIRING,
        Severity.WARNING,
    )
    resolved = notification("metric_alert.resolved")
    assert (resolved.title, resolved.status) == ("[RESOLVED] Checkout error rate", Status.RESOLVED)
    assert ("Closed", "2026-11-30 03:40:00 UTC") in resolved.facts
    assert len({critical.dedup_key, warning.dedup_key, resolved.dedup_key}) == 3


def test_issue_webhooks() -> None:
    created = notification("issue.created")
    assert created.title == "[NEW ISSUE] CHECKOUT-3F GatewayTimeout: payment gateway did not answer within 10 s"
    assert (created.status, created.severity) == (Status.FIRING, Severity.ERROR)
    assert created.facts[:4] == [
        ("Project", "checkout"),
        ("Culprit", "checkout.payments in charge_card"),
        ("Level", "error"),
        ("Status", "unresolved (new)"),
    ]
    assert created.links == [Link("Issue", "https://sentry.io/organizations/contoso/issues/5566778899/")]
    regressed = notification("issue.unresolved")
    assert regressed.title.startswith("[REGRESSED] CHECKOUT-3F ")
    assert ("Events", "58") in regressed.facts and ("Users", "9") in regressed.facts
    resolved = notification("issue.resolved")
    assert (resolved.title.split("]")[0], resolved.status) == ("[RESOLVED", Status.RESOLVED)
    assigned = notification("issue.assigned")
    assert (assigned.status, ("Assigned to", "Dana Oncall") in assigned.facts) == (Status.INFO, True)
    assert assigned.event_facts is not None and assigned.event_facts.default_skip == (
        "Sentry issue assigned is not mailed by default"
    )
    assert created.event_facts is not None and created.event_facts.default_skip is None


def test_other_resources_are_skipped_with_a_reason() -> None:
    assert read(payload("installation.created"), "installation") == Skip(
        "Sentry installation created webhooks are not mailed: only event_alert, metric_alert and issue are"
    )
    comment = read({"action": "created", "data": {"comment": "looks like the gateway"}}, "comment")
    assert isinstance(comment, Skip) and comment.reason.startswith("Sentry comment created webhooks are not mailed")


@pytest.mark.parametrize(
    ("document", "resource", "field"),
    [
        (payload("issue.created"), None, "Sentry-Hook-Resource"),
        ([], "issue", ""),
        ({"action": "created"}, "issue", "data"),
        ({"action": "created", "data": {}}, "issue", "data.issue"),
        ({"action": "triggered", "data": {"event": "x"}}, "event_alert", "data.event"),
        ({"action": "critical", "data": {"metric_alert": None}}, "metric_alert", "data.metric_alert"),
    ],
    ids=["no-resource-header", "list", "no-data", "no-issue", "event-string", "metric-null"],
)
def test_what_sentry_does_not_send_is_refused(document: Any, resource: str | None, field: str) -> None:
    with pytest.raises(InvalidHookPayload) as refused:
        read(document, resource)
    assert [error.field for error in refused.value.errors] == [field]


# --- Sentry-Hook-Signature ----------------------------------------------------------------------

RAW = body("event_alert.triggered")


def test_the_signature_made_with_the_client_secret_is_accepted() -> None:
    verify_signature(sign(RAW), RAW, SECRET)
    verify_signature(sign(RAW).upper(), RAW, SECRET)


@pytest.mark.parametrize(
    "signature",
    [None, "", sign(RAW, "guessed"), sign(RAW + b" "), sign(RAW)[:-1], "sha256=" + sign(RAW)],
    ids=["missing", "empty", "wrong-secret", "other-body", "cut", "prefixed"],
)
def test_other_signatures_are_refused(signature: str | None) -> None:
    with pytest.raises(SignatureInvalid):
        verify_signature(signature, RAW, SECRET)


# --- over the app --------------------------------------------------------------------------------


def post(
    runtime: Any, name: str, *, secret: str = SECRET, raw: bytes | None = None, headers: dict[str, str] | None = None
) -> Any:
    data = body(name) if raw is None else raw
    sent = {
        "Sentry-Hook-Resource": name.split(".")[0],
        "Sentry-Hook-Signature": sign(data, secret),
        "Sentry-Hook-Timestamp": "1796007469",
        "Request-ID": "a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d",
        **(headers or {}),
    }
    return handle_hook(hook_request("sentry", data, headers=sent), runtime)


def test_a_signed_alert_is_mailed_once_however_often_it_comes(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    runtime = mi_runtime(SENTRY_CLIENT_SECRET=SECRET, MAIL_DEFAULT_TO="oncall@contoso.com")
    first = post(runtime, "event_alert.triggered")
    assert (first.status_code, response_json(first)["status"]) == (202, "accepted"), first.get_body()
    [sent] = graph.sent
    assert sent.message["subject"] == "[ERROR] GatewayTimeout: payment gateway did not answer within 10 s"
    assert "checkout.payments in charge_card" in sent.message["body"]["content"]
    replayed = post(runtime, "event_alert.triggered", headers={"Request-ID": "another-request-id"})
    assert (replayed.status_code, response_json(replayed)["status"]) == (202, "duplicate")
    for name in ("metric_alert.critical", "metric_alert.resolved", "issue.created"):
        assert post(runtime, name).status_code == 202
    assert [s.message["subject"].split("]")[0] for s in graph.sent] == [
        "[ERROR",
        "[CRITICAL",
        "[RESOLVED",
        "[NEW ISSUE",
    ]


def test_a_forged_or_tampered_delivery_sends_nothing(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    runtime = mi_runtime(SENTRY_CLIENT_SECRET=SECRET, MAIL_DEFAULT_TO="oncall@contoso.com", HOOK_BEARER_TOKEN=TOKEN)
    tampered = RAW.replace(b'"level": "error"', b'"level": "info"', 1)
    assert tampered != RAW
    for response in (
        post(runtime, "event_alert.triggered", secret="guessed"),
        post(runtime, "event_alert.triggered", raw=tampered, headers={"Sentry-Hook-Signature": sign(RAW)}),
        post(
            runtime, "event_alert.triggered", headers={"Sentry-Hook-Signature": "", "Authorization": f"Bearer {TOKEN}"}
        ),
    ):
        assert (response.status_code, response_json(response)["code"]) == (401, "signature_invalid")
    assert graph.requests == []


def test_without_a_secret_the_bearer_token_is_required(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    runtime = mi_runtime(MAIL_DEFAULT_TO="oncall@contoso.com", HOOK_BEARER_TOKEN=TOKEN)
    assert post(runtime, "issue.created").status_code == 401
    assert post(runtime, "issue.created", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 202


def test_what_is_not_mailed_is_answered(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    runtime = mi_runtime(SENTRY_CLIENT_SECRET=SECRET, MAIL_DEFAULT_TO="oncall@contoso.com")
    for name in ("installation.created", "issue.assigned"):
        skipped = post(runtime, name)
        assert (skipped.status_code, response_json(skipped)["status"]) == (202, "ignored"), name
    assert "list 'issue' in the route's events" in response_json(post(runtime, "issue.assigned"))["reason"]
    missing = post(runtime, "issue.created", headers={"Sentry-Hook-Resource": ""})
    assert (missing.status_code, response_json(missing)["code"]) == (400, "invalid_payload")
    assert graph.requests == []


def test_a_route_picks_resources_and_actions(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    routes = {"default": {"to": "oncall@contoso.com", "events": ["metric_alert", "issue.assigned"]}}
    runtime = mi_runtime(MAIL_ROUTES=json.dumps(routes), SENTRY_CLIENT_SECRET=SECRET)
    statuses = {
        name: response_json(post(runtime, name))["status"]
        for name in ("issue.created", "metric_alert.warning", "issue.assigned")
    }
    assert statuses == {"issue.created": "ignored", "metric_alert.warning": "accepted", "issue.assigned": "accepted"}
    assert len(graph.sent) == 2


@pytest.mark.parametrize("value", ["", "   "])
def test_a_blank_client_secret_is_a_settings_error(value: str) -> None:
    with pytest.raises(SettingsError) as error:
        settings_from(SENTRY_CLIENT_SECRET=value)
    assert [problem.setting for problem in error.value.problems] == ["SENTRY_CLIENT_SECRET"]
    assert SECRET not in repr(settings_from(SENTRY_CLIENT_SECRET=SECRET).hook_auth)
