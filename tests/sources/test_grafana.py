"""Grafana webhook contact point payloads (tests/data/grafana, built from its docs) → Notification, and signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from shared.endpoints.hooks import handle_hook
from shared.runtime import Runtime
from shared.sources.base import HookRequest, InvalidHookPayload
from shared.sources.grafana import to_notification
from shared.sources.notification import Link, Notification, Severity, Status
from tests.conftest import RuntimeFactory
from tests.fakes.graph import FakeGraph
from tests.helpers.app import DATA, hook_request, response_json

SECRET = "grafana-hmac-secret"
SIGNATURE = "X-Grafana-Alerting-Signature"  # Grafana's default "Header"
# Grafana's "Timestamp Header" has no default name; this is the one shared/sources/grafana.py reads.
# Grafana has no default name for it; this is the one its Terraform provider example uses.
TIMESTAMP = "X-Grafana-Alerting-Timestamp"


def payload(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((DATA / "grafana" / f"{name}.json").read_text())
    return document


def adapt(document: Any) -> Notification:
    return to_notification(HookRequest(source="grafana", payload=document, headers={}))


def test_firing_group_with_values_and_grafana_links() -> None:
    document = payload("firing")
    notification = adapt(document)
    # Grafana renders its (deprecated) title with Alertmanager's subject template: ours must agree.
    assert notification.title == document["title"] == "[FIRING:2] High CPU usage Platform (platform)"
    assert (notification.source, notification.status, notification.severity) == (
        "grafana",
        Status.FIRING,
        Severity.CRITICAL,
    )
    assert notification.summary is None, "no common summary, and the alerts have their own"
    assert notification.facts == [
        ("alertname", "High CPU usage"),
        ("grafana_folder", "Platform"),
    ], "no receiver row"
    assert notification.links == [Link("Grafana", "https://grafana.example.com")]

    described, bare = notification.alerts
    assert described.description == "CPU on web-1 has been above 85% for 10 minutes."
    # valueString names each value's series: the values show with their labels.
    assert described.values == {"B": "87.31 (instance=web-1:9100)", "C": "1 (instance=web-1:9100)"}
    assert [link.title for link in described.links] == ["Runbook", "Source", "Dashboard", "Panel", "Image", "Silence"]
    assert described.links[-1].url == document["alerts"][0]["silenceURL"], "Grafana's own silence form"
    assert described.links[4] == Link("Image", "https://grafana.example.com/public/img/attachments/kU1mXqz7.png")

    assert bare.description is None
    assert bare.values == {"B": "96.02 (instance=web-2:9100)", "C": "1 (instance=web-2:9100)"}
    assert [link.title for link in bare.links] == ["Runbook", "Source", "Silence"], "empty URLs are no links"
    assert (bare.name, bare.severity, bare.ends_at) == ("High CPU usage", Severity.CRITICAL, None)
    assert notification.dedup_key is not None and len(notification.dedup_key) == 64


def test_resolved_alert_with_null_values() -> None:
    document = payload("resolved")
    notification = adapt(document)
    assert (notification.status, notification.title) == (Status.RESOLVED, document["title"])
    assert notification.summary == "p99 latency of checkout back under 800 ms"
    [alert] = notification.alerts
    assert (alert.values, alert.description) == ({"A": "612.5 (service=checkout)"}, None)
    assert alert.ends_at is not None and alert.ends_at.isoformat() == "2024-05-14T07:35:00+00:00"


def test_deprecated_title_and_message_are_only_a_last_resort() -> None:
    document = payload("firing")
    for field in ("title", "state", "message"):
        del document[field]
    assert adapt(document).title == "[FIRING:2] High CPU usage Platform (platform)", "not needed for the subject"

    bare = payload("resolved")
    bare["alerts"][0]["annotations"] = {}
    bare["alerts"][0]["valueString"] = ""
    bare["commonAnnotations"] = {}
    assert adapt(bare).description == "Resolved\n\nValue: A=612.5", "its lines, without Markdown's **"
    assert adapt(bare).summary is None
    del bare["message"]
    assert adapt(bare).description is None


def test_the_default_template_message_stays_readable_and_values_are_rounded() -> None:
    """Grafana's docs example: no annotations, so the default template's message is the prose; float64s in full."""
    notification = adapt(payload("default-message"))
    assert notification.title == "[FIRING:2] High memory usage, High CPU usage (blue)", "not '[FIRING:2] (blue)'"
    assert notification.description is not None
    assert notification.description.startswith("Firing\n\nValue: B=44.24, C=1\nLabels:\n - alertname = High memory")
    assert "**" not in notification.description and "44.2394" not in notification.description
    assert "Source: https://play.grafana.org/alerting/1afz29v7z/edit" in notification.description
    assert notification.alerts[0].values == {"B": "44.24 (instance=web-1:9100)", "C": "1 (instance=web-1:9100)"}


@pytest.mark.parametrize("document", [[], {}, {"alerts": None}, {"alerts": [], "title": "[FIRING:1] x"}])
def test_no_alerts_is_an_invalid_payload(document: Any) -> None:
    with pytest.raises(InvalidHookPayload):
        adapt(document)


# --- X-Grafana-Alerting-Signature, checked by GrafanaSource.verify before the payload is read ---------


def sign(body: bytes, secret: str = SECRET, timestamp: str | None = None) -> str:
    """What Grafana sends: hex HMAC-SHA256 of the body, or of "<timestamp>:<body>" (grafana/alerting http/hmac.go)."""
    signed = body if timestamp is None else timestamp.encode() + b":" + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


BODY = json.dumps(payload("firing")).encode()


@pytest.fixture(params=["body signed", "timestamp signed"])
def signed_runtime(request: pytest.FixtureRequest, mi_runtime: RuntimeFactory) -> Runtime:
    """Grafana signs the body alone, or "<ts>:<body>" when its contact point names a timestamp header."""
    timestamped = {"GRAFANA_WEBHOOK_TIMESTAMP_HEADER": TIMESTAMP} if request.param == "timestamp signed" else {}
    return mi_runtime(GRAFANA_WEBHOOK_SECRET=SECRET, MAIL_DEFAULT_TO="oncall@contoso.com", **timestamped)


def test_a_valid_signature_is_accepted(signed_runtime: Runtime, graph: FakeGraph) -> None:
    timestamp = str(int(time.time())) if signed_runtime.settings.hook_auth.grafana_timestamp_header else None
    headers = {SIGNATURE: sign(BODY, timestamp=timestamp), **({TIMESTAMP: timestamp} if timestamp else {})}
    response = handle_hook(hook_request("grafana", BODY, headers=headers), signed_runtime)
    assert response.status_code == 202, response.get_body()
    [sent] = graph.sent
    assert sent.message["subject"] == "[FIRING:2] High CPU usage Platform (platform)"
    assert sent.message["toRecipients"] == [{"emailAddress": {"address": "oncall@contoso.com"}}]


def _signed_at(offset_s: int) -> dict[str, str]:
    timestamp = str(int(time.time()) + offset_s)
    return {SIGNATURE: sign(BODY, timestamp=timestamp), TIMESTAMP: timestamp}


TAMPERED = BODY.replace(b'"status": "firing"', b'"status": "resolved"', 1)
# What a forger sends: (headers, body), built when the test runs so timestamps are fresh.
FORGERIES: dict[str, Callable[[], tuple[dict[str, str], bytes]]] = {
    "missing": lambda: ({}, BODY),
    "wrong secret": lambda: ({SIGNATURE: sign(BODY, secret="guessed")}, BODY),
    "GitHub-style prefix": lambda: ({SIGNATURE: "sha256=" + sign(BODY)}, BODY),
    "stale timestamp (a replay)": lambda: (_signed_at(-600), BODY),
    "timestamp from the future": lambda: (_signed_at(+600), BODY),
    "timestamp header dropped": lambda: ({SIGNATURE: _signed_at(0)[SIGNATURE]}, BODY),
    "tampered body": lambda: ({SIGNATURE: sign(BODY)}, TAMPERED),
    "tampered body, timestamped": lambda: (_signed_at(0), TAMPERED),
}


@pytest.mark.parametrize("forgery", FORGERIES)
def test_forged_signatures_get_401_and_nothing_is_sent(signed_runtime: Runtime, graph: FakeGraph, forgery: str) -> None:
    headers, body = FORGERIES[forgery]()
    response = handle_hook(hook_request("grafana", body, headers=headers), signed_runtime)
    assert (response.status_code, response_json(response)["code"]) == (401, "signature_invalid")
    assert graph.requests == []


def test_the_tampered_body_is_still_a_valid_payload(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    """So the tampering cases above fail on the signature, not on the payload."""
    assert TAMPERED != BODY
    runtime = mi_runtime(MAIL_DEFAULT_TO="oncall@contoso.com")
    assert handle_hook(hook_request("grafana", TAMPERED), runtime).status_code == 202
    assert graph.sent[0].message["subject"] == "[RESOLVED] High CPU usage Platform (platform)"


def test_without_a_secret_no_signature_is_needed(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    runtime = mi_runtime(MAIL_DEFAULT_TO="oncall@contoso.com")
    assert handle_hook(hook_request("grafana", BODY), runtime).status_code == 202
    assert len(graph.sent) == 1


def test_a_replayed_signed_delivery_is_mailed_once_whatever_its_idempotency_key(
    signed_runtime: Runtime, graph: FakeGraph
) -> None:
    """The signature covers the body, not Idempotency-Key: a fresh key on a captured request is still a replay."""
    timestamp = str(int(time.time())) if signed_runtime.settings.hook_auth.grafana_timestamp_header else None
    headers = {SIGNATURE: sign(BODY, timestamp=timestamp), **({TIMESTAMP: timestamp} if timestamp else {})}
    answers = [
        handle_hook(
            hook_request("grafana", BODY, headers={**headers, "Idempotency-Key": f"replay-{attempt}"}), signed_runtime
        )
        for attempt in range(20)
    ]
    assert [answer.status_code for answer in answers] == [202] * 20
    assert [response_json(answer)["status"] for answer in answers] == ["accepted"] + ["duplicate"] * 19
    assert len(graph.sent) == 1
