"""PagerDuty v3 webhooks (tests/data/pagerduty, shaped as PagerDuty's "Webhooks Overview" documents them).

Reading: each ``incident.*`` event → Notification, other events skipped, non-events refused.
Over the app (handle_hook with a real func.HttpRequest, the fake Graph over loopback): the
``X-PagerDuty-Signature`` check, computed here as PagerDuty's "Verifying Signatures" page says
(``v1=`` + hex HMAC-SHA256 of the body, one per secret, comma-separated), and replays.
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
from shared.sources.pagerduty import to_notification, verify_signature
from tests.conftest import RuntimeFactory
from tests.fakes.graph import FakeGraph
from tests.helpers.app import DATA, hook_request, response_json, settings_from

SECRET = "pd-subscription-secret-3f9a0c2b7e"
OLD_SECRET = "pd-subscription-secret-retiring-81d2"
TOKEN = "hook-token-4Kq9vXw2Lr7T"


def payload(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((DATA / "pagerduty" / f"{name}.json").read_text())
    return document


def body(name: str) -> bytes:
    return (DATA / "pagerduty" / f"{name}.json").read_bytes()


def read(document: Any, headers: dict[str, str] | None = None) -> Notification | Skip:
    raw = json.dumps(document).encode()
    return to_notification(HookRequest(source="pagerduty", payload=document, headers=headers or {}, body=raw))


def notification(name: str) -> Notification:
    outcome = read(payload(name))
    assert isinstance(outcome, Notification), outcome
    return outcome


def sign(raw: bytes, *secrets: str) -> str:
    """X-PagerDuty-Signature as PagerDuty sends it: one ``v1=`` value per active secret, comma-separated."""
    return ",".join("v1=" + hmac.new(s.encode(), raw, hashlib.sha256).hexdigest() for s in secrets or (SECRET,))


# --- reading ------------------------------------------------------------------------------------


def test_a_triggered_incident() -> None:
    triggered = notification("incident.triggered")
    assert triggered.title == "[TRIGGERED] #4711 Checkout p99 latency above 2 s (prod-eu) — Checkout API"
    assert (triggered.source, triggered.status, triggered.severity) == ("pagerduty", Status.FIRING, Severity.CRITICAL)
    assert triggered.facts == [
        ("Service", "Checkout API"),
        ("Status", "triggered"),
        ("Urgency", "high"),
        ("Assigned to", "Dana Oncall"),
        ("Escalation policy", "Checkout on-call"),
        ("Teams", "Payments"),
        ("By", "Checkout API"),
        ("Occurred", "2026-11-30 02:58:12 UTC"),
        ("Incident key", "checkout-latency-prod-eu"),
        ("Conference number", "+1 555 0100,,4711#"),
    ]
    assert triggered.links == [
        Link("Incident", "https://contoso.pagerduty.com/incidents/Q2K7L0S9ZDRX4T"),
        Link("Service", "https://contoso.pagerduty.com/services/PSV8C2K"),
        Link("Conference bridge", "https://meet.contoso.com/incident-4711"),
    ]
    assert triggered.summary is None
    assert triggered.event == "incident.triggered"
    assert triggered.dedup_key == "pagerduty:01F5XQ8W7RZ2N4M6P8T0V2X4Z6", "the event id"


def test_the_life_of_an_incident() -> None:
    acknowledged = notification("incident.acknowledged")
    assert acknowledged.title.startswith("[ACKNOWLEDGED] #4711 ")
    assert (acknowledged.status, acknowledged.summary) == (Status.FIRING, "Acknowledged by Dana Oncall")
    escalated = notification("incident.escalated")
    assert (escalated.title.split("]")[0], escalated.status) == ("[ESCALATED", Status.FIRING)
    assert ("Assigned to", "Sam Secondary") in escalated.facts
    priority = notification("incident.priority_updated")
    assert priority.title.startswith("[PRIORITY P1] #4711 ")
    assert (priority.severity, priority.summary) == (Severity.CRITICAL, "Priority changed by Dana Oncall")
    assert ("Priority", "P1") in priority.facts
    resolved = notification("incident.resolved")
    assert resolved.title.startswith("[RESOLVED] #4711 ")
    assert (resolved.status, resolved.severity, resolved.summary) == (
        Status.RESOLVED,
        Severity.CRITICAL,
        "Resolved by Dana Oncall",
    )
    keys = {
        notification(name).dedup_key for name in ("incident.triggered", "incident.acknowledged", "incident.resolved")
    }
    assert len(keys) == 3, "each event of one incident is its own mail"


def test_notes_and_responders_are_news_about_an_incident() -> None:
    note = notification("incident.annotated")
    assert note.title == "[NOTE] Checkout p99 latency above 2 s (prod-eu)"
    assert (note.status, note.severity) == (Status.INFO, Severity.INFO)
    assert note.summary == "Rolled back checkout to v2026.11.29-3; latency recovering."
    assert note.links == [Link("Incident", "https://contoso.pagerduty.com/incidents/Q2K7L0S9ZDRX4T")]
    responder = notification("incident.responder.added")
    assert responder.title.startswith("[RESPONDER ADDED] ")
    assert responder.summary == "Could the DB team check the primary's replication lag?"
    assert ("Responder", "Lee Database") in responder.facts and ("Request", "pending") in responder.facts


@pytest.mark.parametrize(
    ("priority", "urgency", "severity"),
    [
        ("P1", "low", Severity.CRITICAL),
        ("P2", "high", Severity.ERROR),
        ("P3", "high", Severity.WARNING),
        ("P5", "high", Severity.INFO),
        ("SEV-ish", "high", Severity.CRITICAL),
        (None, "low", Severity.WARNING),
        (None, None, Severity.UNKNOWN),
    ],
)
def test_severity_from_the_priority_else_the_urgency(
    priority: str | None, urgency: str | None, severity: Severity
) -> None:
    document = payload("incident.triggered")
    data = document["event"]["data"]
    data["priority"] = {"summary": priority, "type": "priority_reference"} if priority else None
    data["urgency"] = urgency
    outcome = read(document)
    assert isinstance(outcome, Notification) and outcome.severity is severity


def test_an_event_type_yet_unknown_is_mailed_with_its_name() -> None:
    document = payload("incident.triggered")
    document["event"]["event_type"] = "incident.custom_field_values.updated"
    outcome = read(document)
    assert isinstance(outcome, Notification)
    assert outcome.title.startswith("[CUSTOM FIELD VALUES UPDATED] #4711 ")


def test_a_merged_incident_says_into_which() -> None:
    document = payload("incident.resolved")
    document["event"]["data"]["resolve_reason"] = {
        "type": "merge_resolve_reason",
        "incident": {"summary": "[#4700] Checkout down", "type": "incident_reference"},
    }
    outcome = read(document)
    assert isinstance(outcome, Notification) and outcome.summary == "Resolved: merged into [#4700] Checkout down"


def test_other_events_are_skipped_with_a_reason() -> None:
    assert read(payload("pagey.ping")) == Skip("ping", status="pong", http_status=200)
    skipped = read(payload("service.updated"))
    assert skipped == Skip("PagerDuty service.updated is not mailed: only incident events are")


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ([], ""),
        ({}, "event.event_type"),
        ({"event": "incident.triggered"}, "event.event_type"),
        ({"event": {"data": {}}}, "event.event_type"),
        ({"event": {"event_type": 7, "data": {}}}, "event.event_type"),
        ({"messages": [{"event": "incident.trigger", "incident": {}}]}, "messages"),
        ({"event": {"event_type": "incident.triggered"}}, "event.data"),
        ({"event": {"event_type": "incident.triggered", "data": ["x"]}}, "event.data"),
    ],
    ids=["list", "empty", "event-string", "no-type", "type-number", "v2-messages", "no-data", "data-list"],
)
def test_what_is_no_v3_event_is_refused(document: Any, field: str) -> None:
    with pytest.raises(InvalidHookPayload) as refused:
        read(document)
    assert [error.field for error in refused.value.errors] == [field]


def test_without_an_event_id_the_webhook_id_or_the_body_digest_is_the_key() -> None:
    document = payload("incident.triggered")
    del document["event"]["id"]
    with_header = read(document, {"X-Webhook-Id": "b3a4c2d1-webhook"})
    assert isinstance(with_header, Notification) and with_header.dedup_key == "pagerduty:b3a4c2d1-webhook"
    bare = read(document)
    digest = hashlib.sha256(json.dumps(document).encode()).hexdigest()
    assert isinstance(bare, Notification) and bare.dedup_key == f"pagerduty:{digest}"


# --- X-PagerDuty-Signature ----------------------------------------------------------------------

RAW = body("incident.triggered")


@pytest.mark.parametrize(
    "header",
    [
        sign(RAW),
        sign(RAW, OLD_SECRET, SECRET),
        sign(RAW, SECRET, OLD_SECRET),
        sign(RAW, OLD_SECRET, SECRET).replace(",", ", "),
        sign(RAW).upper().replace("V1=", "v1="),
    ],
    ids=["one", "rotating-new-second", "rotating-new-first", "spaces", "upper-case-hex"],
)
def test_a_signature_made_with_the_secret_is_accepted(header: str) -> None:
    verify_signature(header, RAW, (SECRET,))  # does not raise


def test_each_of_our_secrets_is_accepted() -> None:
    """Two subscriptions (each with its own secret) posting to one bridge."""
    for secret in (SECRET, OLD_SECRET):
        verify_signature(sign(RAW, secret), RAW, (OLD_SECRET, SECRET))


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        sign(RAW, "guessed"),
        sign(RAW + b"\n"),
        sign(RAW).removeprefix("v1="),
        sign(RAW).replace("v1=", "v0="),
        sign(RAW)[:-1],
        "v1=,v1=",
        ",".join([sign(RAW, "guess")] * 8 + [sign(RAW)]),
    ],
    ids=["missing", "empty", "wrong-secret", "other-body", "no-version", "other-version", "cut", "blank", "too-many"],
)
def test_other_signatures_are_refused(header: str | None) -> None:
    with pytest.raises(SignatureInvalid):
        verify_signature(header, RAW, (SECRET,))


# --- over the app --------------------------------------------------------------------------------


def post(runtime: Any, raw: bytes, headers: dict[str, str]) -> Any:
    return handle_hook(hook_request("pagerduty", raw, headers=headers), runtime)


def test_a_signed_incident_is_mailed_once_however_often_it_comes(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    runtime = mi_runtime(PAGERDUTY_WEBHOOK_SECRET=f"{OLD_SECRET},{SECRET}", MAIL_DEFAULT_TO="oncall@contoso.com")
    first = post(runtime, RAW, {"X-PagerDuty-Signature": sign(RAW, SECRET)})
    assert (first.status_code, response_json(first)["status"]) == (202, "accepted"), first.get_body()
    [sent] = graph.sent
    message = sent.message
    assert message["subject"] == "[TRIGGERED] #4711 Checkout p99 latency above 2 s (prod-eu) — Checkout API"
    assert message["toRecipients"] == [{"emailAddress": {"address": "oncall@contoso.com"}}]
    assert message["importance"] == "high"
    # PagerDuty retries on a timeout; an attacker who captured the signed body replays it.
    for _ in range(2):
        again = post(runtime, RAW, {"X-PagerDuty-Signature": sign(RAW, SECRET)})
        assert (again.status_code, response_json(again)["status"]) == (202, "duplicate")
    assert len(graph.sent) == 1
    resolved = body("incident.resolved")
    assert post(runtime, resolved, {"X-PagerDuty-Signature": sign(resolved, OLD_SECRET)}).status_code == 202
    assert [s.message["subject"].split("]")[0] for s in graph.sent] == ["[TRIGGERED", "[RESOLVED"]


def test_a_forged_or_tampered_delivery_sends_nothing(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    runtime = mi_runtime(PAGERDUTY_WEBHOOK_SECRET=SECRET, MAIL_DEFAULT_TO="oncall@contoso.com", HOOK_BEARER_TOKEN=TOKEN)
    tampered = RAW.replace(b'"urgency": "high"', b'"urgency": "low"')
    assert tampered != RAW
    for raw, headers in [
        (RAW, {}),
        (RAW, {"Authorization": f"Bearer {TOKEN}"}),  # the secret, once set, is what PagerDuty must prove
        (tampered, {"X-PagerDuty-Signature": sign(RAW)}),
        (RAW, {"X-PagerDuty-Signature": sign(RAW, "guessed")}),
    ]:
        refused = post(runtime, raw, headers)
        assert (refused.status_code, response_json(refused)["code"]) == (401, "signature_invalid")
    assert graph.requests == []


def test_without_a_secret_the_bearer_token_is_required(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    """A subscription's custom_headers can carry it."""
    runtime = mi_runtime(MAIL_DEFAULT_TO="oncall@contoso.com", HOOK_BEARER_TOKEN=TOKEN)
    assert post(runtime, RAW, {"X-PagerDuty-Signature": sign(RAW)}).status_code == 401
    assert post(runtime, RAW, {"Authorization": f"Bearer {TOKEN}"}).status_code == 202
    assert len(graph.sent) == 1


def test_pings_other_events_and_non_events_are_answered_not_mailed(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    runtime = mi_runtime(PAGERDUTY_WEBHOOK_SECRET=SECRET, MAIL_DEFAULT_TO="oncall@contoso.com")
    ping = post(runtime, body("pagey.ping"), {"X-PagerDuty-Signature": sign(body("pagey.ping"))})
    assert (ping.status_code, response_json(ping)["status"]) == (200, "pong")
    service = post(runtime, body("service.updated"), {"X-PagerDuty-Signature": sign(body("service.updated"))})
    assert (service.status_code, response_json(service)["status"]) == (202, "ignored")
    assert "service.updated" in response_json(service)["reason"]
    v2 = b'{"messages": [{"event": "incident.trigger"}]}'
    refused = post(runtime, v2, {"X-PagerDuty-Signature": sign(v2)})
    assert (refused.status_code, response_json(refused)["code"]) == (400, "invalid_payload")
    assert response_json(refused)["errors"][0]["field"] == "messages"
    assert graph.requests == []


def test_a_route_lists_the_event_types_it_mails(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    routes = {"default": {"to": "oncall@contoso.com", "events": ["incident.triggered", "incident.resolved"]}}
    runtime = mi_runtime(MAIL_ROUTES=json.dumps(routes), PAGERDUTY_WEBHOOK_SECRET=SECRET)
    acknowledged = body("incident.acknowledged")
    skipped = post(runtime, acknowledged, {"X-PagerDuty-Signature": sign(acknowledged)})
    assert (skipped.status_code, response_json(skipped)["status"]) == (202, "ignored")
    assert "incident.acknowledged" in response_json(skipped)["reason"]
    assert post(runtime, RAW, {"X-PagerDuty-Signature": sign(RAW)}).status_code == 202
    assert len(graph.sent) == 1


@pytest.mark.parametrize("value", ["", "  ", f"{SECRET},", f"{SECRET}, ,{OLD_SECRET}"])
def test_a_blank_secret_is_a_settings_error(value: str) -> None:
    with pytest.raises(SettingsError) as error:
        settings_from(PAGERDUTY_WEBHOOK_SECRET=value)
    assert [problem.setting for problem in error.value.problems] == ["PAGERDUTY_WEBHOOK_SECRET"]


def test_secrets_are_never_shown() -> None:
    hook_auth = settings_from(PAGERDUTY_WEBHOOK_SECRET=f"{SECRET},{OLD_SECRET}").hook_auth
    assert hook_auth.pagerduty_secrets == (SECRET, OLD_SECRET)
    assert SECRET not in repr(hook_auth) and OLD_SECRET not in repr(hook_auth)
