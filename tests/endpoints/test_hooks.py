"""POST /api/hooks/{source}: routes, filters, templates and the shared sending path, against the fake Graph."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.endpoints.hooks import handle_hook
from tests.conftest import RuntimeFactory
from tests.fakes.graph import FakeGraph
from tests.helpers.app import SENDER, hook_request, response_json

SLACK = {
    "text": "Backup failed on db-1\nexit code 2",
    "attachments": [{"color": "danger", "fields": [{"title": "Host", "value": "db-1"}]}],
}
ROUTES = {
    "default": {"to": "oncall@contoso.com"},
    "db": {"to": "dba@contoso.com", "cc": "lead@contoso.com", "subjectPrefix": "[DB]", "from": "alerts@contoso.com"},
    "quiet": {"to": "ops@contoso.com", "sendResolved": False},
    "text": {"to": "ops@contoso.com", "format": "text"},
    "empty": {},
}


@pytest.fixture
def runtime_settings() -> dict[str, str]:
    return {"MAIL_ROUTES": json.dumps(ROUTES), "MAIL_ALLOWED_SENDERS": "alerts@contoso.com"}


def test_default_route_sends_to_its_recipients(
    mi_runtime: RuntimeFactory, graph: FakeGraph, runtime_settings: dict[str, str]
) -> None:
    response = handle_hook(hook_request("slack", SLACK), mi_runtime(**runtime_settings))
    assert response.status_code == 202, response.get_body()
    assert response_json(response)["status"] == "accepted"
    [sent] = graph.sent
    message = sent.message
    assert sent.mailbox == SENDER
    assert message["subject"] == "Backup failed on db-1"
    assert message["toRecipients"] == [{"emailAddress": {"address": "oncall@contoso.com"}}]
    assert message["body"]["contentType"] == "html"
    assert "exit code 2" in message["body"]["content"]
    assert {h["name"]: h["value"] for h in message["internetMessageHeaders"]} == {
        "X-Mailhook-Source": "slack",
        "X-Mailhook-Status": "info",
    }


def test_named_route_sets_recipients_sender_and_prefix(
    mi_runtime: RuntimeFactory, graph: FakeGraph, runtime_settings: dict[str, str]
) -> None:
    assert handle_hook(hook_request("slack", SLACK, route="db"), mi_runtime(**runtime_settings)).status_code == 202
    [sent] = graph.sent
    assert sent.mailbox == "alerts@contoso.com"
    assert sent.message["subject"] == "[DB] Backup failed on db-1"
    assert sent.message["ccRecipients"] == [{"emailAddress": {"address": "lead@contoso.com"}}]


def test_callers_cannot_choose_recipients(
    mi_runtime: RuntimeFactory, graph: FakeGraph, runtime_settings: dict[str, str]
) -> None:
    payload: dict[str, Any] = {**SLACK, "to": "attacker@evil.example", "channel": "attacker@evil.example"}
    assert handle_hook(hook_request("slack", payload), mi_runtime(**runtime_settings)).status_code == 202
    assert "evil.example" not in graph.sent[0].body.decode()


def test_text_format_route(mi_runtime: RuntimeFactory, graph: FakeGraph, runtime_settings: dict[str, str]) -> None:
    assert handle_hook(hook_request("slack", SLACK, route="text"), mi_runtime(**runtime_settings)).status_code == 202
    body = graph.sent[0].message["body"]
    assert body["contentType"] == "text"
    assert "<" not in body["content"]
    assert "Host: db-1" in body["content"]


@pytest.mark.parametrize(
    ("source", "route", "status", "code"),
    [
        ("nagios", None, 404, "unknown_source"),
        ("slack", "nope", 404, "unknown_route"),
        ("slack", "empty", 503, "route_without_recipients"),
    ],
)
def test_unknown_source_route_and_empty_route(
    mi_runtime: RuntimeFactory,
    graph: FakeGraph,
    runtime_settings: dict[str, str],
    source: str,
    route: str | None,
    status: int,
    code: str,
) -> None:
    response = handle_hook(hook_request(source, SLACK, route=route), mi_runtime(**runtime_settings))
    assert (response.status_code, response_json(response)["code"]) == (status, code)
    assert graph.requests == []


def test_default_route_falls_back_to_mail_default_to(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    assert handle_hook(hook_request("slack", SLACK), mi_runtime(MAIL_DEFAULT_TO="noc@contoso.com")).status_code == 202
    assert graph.sent[0].message["toRecipients"] == [{"emailAddress": {"address": "noc@contoso.com"}}]


def test_form_encoded_payload(mi_runtime: RuntimeFactory, graph: FakeGraph, runtime_settings: dict[str, str]) -> None:
    from urllib.parse import urlencode

    body = urlencode({"payload": json.dumps(SLACK)})
    request = hook_request("slack", body, content_type="application/x-www-form-urlencoded")
    assert handle_hook(request, mi_runtime(**runtime_settings)).status_code == 202
    assert graph.sent[0].message["subject"] == "Backup failed on db-1"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ("{", "application/json", 400, "invalid_json"),
        ("text", "text/plain", 415, "unsupported_media_type"),
        ("x=1", "application/x-www-form-urlencoded", 400, "invalid_json"),
        ("[]", "application/json", 400, "invalid_payload"),
        ("{}", "application/json", 400, "invalid_payload"),
    ],
)
def test_bad_bodies_are_problems(
    mi_runtime: RuntimeFactory,
    graph: FakeGraph,
    runtime_settings: dict[str, str],
    body: str,
    content_type: str,
    status: int,
    code: str,
) -> None:
    response = handle_hook(hook_request("slack", body, content_type=content_type), mi_runtime(**runtime_settings))
    assert (response.status_code, response_json(response)["code"]) == (status, code)
    assert graph.requests == []


def test_custom_templates_override_by_name(
    mi_runtime: RuntimeFactory, graph: FakeGraph, runtime_settings: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "slack.subject.j2").write_text("Chat: {{ n.title | upper }}")
    (tmp_path / "special.subject.j2").write_text("Special {{ n.facts[0][1] }}")
    (tmp_path / "special.html.j2").write_text("<p>{{ n.description }}</p>")
    routes = {**ROUTES, "special": {"to": "ops@contoso.com", "template": "special"}}
    runtime = mi_runtime(**{**runtime_settings, "MAIL_ROUTES": json.dumps(routes), "MAIL_TEMPLATES_DIR": str(tmp_path)})
    hostile = {**SLACK, "text": "Backup failed on db-1\n<script>alert(1)</script>"}
    assert handle_hook(hook_request("slack", hostile), runtime).status_code == 202
    assert handle_hook(hook_request("slack", hostile, route="special"), runtime).status_code == 202
    by_source, by_route = (request.message for request in graph.sent)
    assert by_source["subject"] == "Chat: BACKUP FAILED ON DB-1"
    assert "Sent by Mailhook" in by_source["body"]["content"], "the body falls back to the built-in template"
    assert by_route["subject"] == "Special db-1"
    assert by_route["body"]["content"] == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"


def test_a_broken_custom_template_fails_health_not_an_alert(tmp_path: Path, graph_runtime: RuntimeFactory) -> None:
    from shared.settings import SettingsError

    (tmp_path / "slack.html.j2").write_text("{% if %}")
    with pytest.raises(SettingsError) as caught:
        graph_runtime(MAIL_TEMPLATES_DIR=str(tmp_path))
    assert caught.value.problems[0].setting == "MAIL_TEMPLATES_DIR"
    assert "slack.html.j2" in caught.value.problems[0].message


def test_the_recipient_policy_applies_to_routes_too(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    runtime = mi_runtime(MAIL_DEFAULT_TO="oncall@contoso.com", MAIL_ALLOWED_RECIPIENT_DOMAINS="contoso.com")
    assert handle_hook(hook_request("slack", SLACK), runtime).status_code == 202
    assert len(graph.sent) == 1


def _alertmanager(name: str) -> str:
    return (Path(__file__).parents[1] / "data" / "alertmanager" / f"{name}.json").read_text()


def test_send_resolved_false_drops_resolved_notifications(
    mi_runtime: RuntimeFactory, graph: FakeGraph, runtime_settings: dict[str, str]
) -> None:
    runtime = mi_runtime(**runtime_settings)
    response = handle_hook(hook_request("alertmanager", _alertmanager("resolved"), route="quiet"), runtime)
    assert response.status_code == 202
    assert response_json(response)["status"] == "ignored"
    assert "resolved" in response_json(response)["reason"]
    assert handle_hook(hook_request("alertmanager", _alertmanager("resolved")), runtime).status_code == 202
    assert (
        handle_hook(hook_request("alertmanager", _alertmanager("firing-single"), route="quiet"), runtime).status_code
        == 202
    )
    assert [request.message["toRecipients"][0]["emailAddress"]["address"] for request in graph.sent] == [
        "oncall@contoso.com",
        "ops@contoso.com",
    ]


def test_critical_firing_alerts_are_high_importance(
    mi_runtime: RuntimeFactory, graph: FakeGraph, runtime_settings: dict[str, str]
) -> None:
    firing: dict[str, Any] = json.loads(_alertmanager("firing-single"))
    for alert in firing["alerts"]:
        alert["labels"]["severity"] = "critical"
    runtime = mi_runtime(**runtime_settings)
    assert handle_hook(hook_request("alertmanager", firing), runtime).status_code == 202
    assert handle_hook(hook_request("alertmanager", _alertmanager("resolved")), runtime).status_code == 202
    critical, resolved = (request.message for request in graph.sent)
    assert critical["importance"] == "high"
    assert "importance" not in resolved
    assert {h["name"]: h["value"] for h in resolved["internetMessageHeaders"]}["X-Mailhook-Status"] == "resolved"
