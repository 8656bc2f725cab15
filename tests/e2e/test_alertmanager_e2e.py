"""Alertmanager and Grafana deliveries through scripts/devserver.py to the fake Graph, and a real Alertmanager.

The real-Alertmanager test runs Debian's ``prometheus-alertmanager`` (binary ``prometheus-alertmanager``;
upstream names it ``alertmanager``) with a generated configuration whose webhook points at the dev
server, posts an alert to Alertmanager's API and waits for the mails Alertmanager makes us send.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests

from tests.fakes import FakeHttpServer, HttpAnswer, HttpRequest
from tests.fakes.graph import FakeGraph, GraphRequest
from tests.fakes.identity import FakeManagedIdentity
from tests.helpers.alertmanager import ALERTMANAGER, running_alertmanager
from tests.helpers.app import DATA
from tests.helpers.devserver import devserver, write_settings

BEARER_TOKEN = "hook-bearer-token-for-e2e"
GRAFANA_SECRET = "grafana-hmac-secret-for-e2e"
ROUTES = {
    "default": {"to": "oncall@contoso.com"},
    "platform": {"to": "platform@contoso.com", "cc": "sre@contoso.com", "subjectPrefix": "[platform]"},
}
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
_DELIVERY_TIMEOUT_S = 30.0

T = TypeVar("T")


@dataclass(frozen=True)
class Bridge:
    base_url: str
    graph: FakeGraph

    def post(self, source: str, body: bytes, *, route: str | None = None, **headers: str) -> requests.Response:
        return requests.post(
            f"{self.base_url}/api/hooks/{source}",
            params={"route": route} if route else None,
            data=body,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {BEARER_TOKEN}", **headers},
            timeout=30,
        )

    def mails_since(self, count: int) -> list[GraphRequest]:
        return self.graph.sent[count:]


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    """One dev server for the module, sending as bridge@contoso.com to the fake Graph."""
    settings = write_settings(
        tmp_path_factory.mktemp("bridge") / "local.settings.json",
        {
            "MAIL_SENDER": "bridge@contoso.com",
            "MAIL_ROUTES": json.dumps(ROUTES),
            "HOOK_BEARER_TOKEN": BEARER_TOKEN,
            "GRAFANA_WEBHOOK_SECRET": GRAFANA_SECRET,
            "GRAFANA_WEBHOOK_TIMESTAMP_HEADER": "X-Grafana-Alerting-Timestamp",
        },
    )
    with FakeGraph() as graph, FakeManagedIdentity() as identity:
        identity.on_issue = graph.valid_tokens.add
        with devserver(settings, {"GRAPH_BASE_URL": graph.base_url, **identity.environment}) as base_url:
            yield Bridge(base_url, graph)


def wait_for(what: str, probe: Callable[[], T | None], timeout_s: float = _DELIVERY_TIMEOUT_S) -> T:
    deadline = time.monotonic() + timeout_s
    while (found := probe()) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.1)
    return found


def recipients(message: dict[str, Any], field: str) -> list[str]:
    return [r["emailAddress"]["address"] for r in message.get(field) or []]


def test_alertmanager_payload_through_the_dev_server(bridge: Bridge) -> None:
    before = len(bridge.graph.sent)
    body = (DATA / "alertmanager" / "firing-grouped.json").read_bytes()
    response = bridge.post("alertmanager", body, route="platform")
    assert response.status_code == 202, response.text
    [sent] = bridge.mails_since(before)
    message = sent.message
    assert sent.mailbox == "bridge@contoso.com"
    assert message["subject"] == "[platform] [FIRING:3] HighMemoryUsage (prod-eu)"
    assert (recipients(message, "toRecipients"), recipients(message, "ccRecipients")) == (
        ["platform@contoso.com"],
        ["sre@contoso.com"],
    )
    html = message["body"]["content"]
    assert ESCAPED_SCRIPT in html and "<script>" not in html
    assert "platform" not in html.replace("platform@contoso.com", ""), "the receiver is configuration, not news"


def test_grafana_payload_through_the_dev_server(bridge: Bridge) -> None:
    before = len(bridge.graph.sent)
    document = json.loads((DATA / "grafana" / "firing.json").read_text())
    document["alerts"][0]["labels"]["zone"] = "<script>alert(1)</script>"
    body = json.dumps(document).encode()
    timestamp = str(int(time.time()))
    signature = hmac.new(GRAFANA_SECRET.encode(), f"{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    signed = {"X-Grafana-Alerting-Signature": signature, "X-Grafana-Alerting-Timestamp": timestamp}

    forged = bridge.post("grafana", body.replace(b"High CPU", b"Low CPU"), **signed)
    assert (forged.status_code, forged.json()["code"]) == (401, "signature_invalid")
    assert bridge.mails_since(before) == []

    response = bridge.post("grafana", body, **signed)
    assert response.status_code == 202, response.text
    [sent] = bridge.mails_since(before)
    message = sent.message
    assert message["subject"] == "[FIRING:2] High CPU usage Platform (platform)"
    assert recipients(message, "toRecipients") == ["oncall@contoso.com"]
    html = message["body"]["content"]
    assert ESCAPED_SCRIPT in html and "<script>" not in html
    assert 'href="https://grafana.example.com/public/img/attachments/kU1mXqz7.png"' in html


def test_the_bearer_token_is_required(bridge: Bridge) -> None:
    before = len(bridge.graph.sent)
    body = (DATA / "alertmanager" / "resolved.json").read_bytes()
    response = bridge.post("alertmanager", body, Authorization="Bearer wrong")
    assert response.status_code == 401
    assert bridge.mails_since(before) == []


# --- a real Alertmanager ------------------------------------------------------------------------------


class WebhookRecorder(FakeHttpServer):
    """A second webhook receiver that keeps what Alertmanager sends, to check its format first-hand."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[HttpRequest] = []

    def _handle(self, request: HttpRequest) -> HttpAnswer:
        with self._lock:
            self.received.append(request)
        return HttpAnswer(status=200)


def alertmanager_config(bridge_url: str, recorder_url: str) -> dict[str, Any]:
    """Alertmanager's YAML configuration (as JSON, which YAML reads) sending every group to the bridge."""
    return {
        "route": {
            "receiver": "mailhook.e2e",  # the dot comes back regexp-quoted in the payload
            "group_by": ["alertname"],
            "group_wait": "200ms",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {
                "name": "mailhook.e2e",
                "webhook_configs": [
                    {
                        "url": f"{bridge_url}/api/hooks/alertmanager?route=platform",
                        "send_resolved": True,
                        "http_config": {"authorization": {"type": "Bearer", "credentials": BEARER_TOKEN}},
                    },
                    {"url": f"{recorder_url}/webhook", "send_resolved": True},
                ],
            }
        ],
    }


@pytest.fixture
def alertmanager(tmp_path: Path, bridge: Bridge) -> Iterator[tuple[str, WebhookRecorder]]:
    """A real Alertmanager on a free port, its webhook pointing at the dev server; yields its API URL."""
    if ALERTMANAGER is None:
        pytest.skip("no alertmanager binary on PATH (Debian: apt-get install -y prometheus-alertmanager)")
    with WebhookRecorder() as recorder:
        config = tmp_path / "alertmanager.yml"
        config.write_text(json.dumps(alertmanager_config(bridge.base_url, recorder.base_url), indent=2))
        if amtool := shutil.which("amtool"):
            check = subprocess.run([amtool, "check-config", str(config)], capture_output=True, text=True, check=False)
            assert check.returncode == 0, check.stdout + check.stderr
        external_url = "http://alertmanager.e2e.example:9093"
        with running_alertmanager(config, tmp_path, external_url=external_url) as api_url:
            yield api_url, recorder


def test_a_real_alertmanager_mails_through_the_bridge(
    bridge: Bridge, alertmanager: tuple[str, WebhookRecorder]
) -> None:
    api_url, recorder = alertmanager
    before = len(bridge.graph.sent)
    now = dt.datetime.now(dt.UTC)
    alert = {
        "labels": {
            "alertname": "E2EHighMemory",
            "env": "e2e",
            "instance": "<script>alert(1)</script>",
            "severity": "critical",
        },
        "annotations": {"summary": "Memory above 90%", "runbook_url": "https://runbooks.example.com/memory"},
        "generatorURL": "http://prometheus.e2e.example:9090/graph?g0.expr=up",
        "startsAt": now.isoformat(),
    }
    assert requests.post(f"{api_url}/api/v2/alerts", json=[alert], timeout=5).status_code == 200

    def mail(status: str) -> dict[str, Any] | None:
        for sent in bridge.mails_since(before):
            message: dict[str, Any] = sent.message
            if message["subject"].startswith(f"[platform] [{status}"):
                return message
        return None

    firing = wait_for("the firing mail", lambda: mail("FIRING"))
    assert firing["subject"] == "[platform] [FIRING:1] E2EHighMemory (e2e <script>alert(1)</script> critical)"
    assert recipients(firing, "toRecipients") == ["platform@contoso.com"]
    assert firing["importance"] == "high"
    html = firing["body"]["content"]
    assert ESCAPED_SCRIPT in html and "<script>" not in html
    assert "mailhook.e2e" not in html and "mailhook\\.e2e" not in html, "no receiver row"
    assert 'href="http://alertmanager.e2e.example:9093/#/silences/new?filter=%7Balertname%3D%22E2EHighMemory' in html
    assert 'href="https://runbooks.example.com/memory"' in html
    assert ", lasted " not in html

    resolved_alert = {**alert, "endsAt": dt.datetime.now(dt.UTC).isoformat()}
    assert requests.post(f"{api_url}/api/v2/alerts", json=[resolved_alert], timeout=5).status_code == 200
    resolved = wait_for("the resolved mail", lambda: mail("RESOLVED"))
    assert resolved["subject"] == "[platform] [RESOLVED] E2EHighMemory (e2e <script>alert(1)</script> critical)"
    assert ", lasted " in resolved["body"]["content"], "the summary row says when it ended"
    assert {h["name"]: h["value"] for h in resolved["internetMessageHeaders"]}["X-Mailhook-Status"] == "resolved"

    # What Alertmanager itself sent, to hold our reading of its format against the real thing.
    sent_payloads = [json.loads(request.body) for request in recorder.received]
    first = sent_payloads[0]
    assert (first["version"], first["status"], first["receiver"]) == ("4", "firing", "mailhook\\.e2e")
    assert first["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z", "a firing alert's end is Go's zero time"
    assert first["externalURL"] == "http://alertmanager.e2e.example:9093"
    assert {"groupKey", "truncatedAlerts", "fingerprint"} <= set(first) | set(first["alerts"][0])
    assert sent_payloads[-1]["status"] == "resolved"
