"""An Azure Monitor action group posting to scripts/devserver.py, which mails through the fake Graph."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from tests.fakes.graph import FakeGraph
from tests.fakes.identity import FakeManagedIdentity
from tests.helpers.app import DATA
from tests.helpers.devserver import devserver, write_settings

ROUTES = {
    "default": {"to": "nobody@contoso.com"},
    "azure": {"to": ["oncall@contoso.com", "noc@contoso.com"], "cc": "lead@contoso.com", "subjectPrefix": "[Azure]"},
    "quiet": {"to": "oncall@contoso.com", "sendResolved": False},
}


def post(base_url: str, fixture: str, route: str) -> requests.Response:
    return requests.post(
        f"{base_url}/api/hooks/azure-monitor",
        params={"route": route},
        # Action groups post JSON with this content type (and no charset).
        data=(DATA / "azure-monitor" / f"{fixture}.json").read_bytes(),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )


def test_common_schema_alert_reaches_the_route_recipients(tmp_path: Path) -> None:
    settings = write_settings(
        tmp_path / "local.settings.json",
        {"MAIL_SENDER": "bridge@contoso.com", "MAIL_ROUTES": json.dumps(ROUTES)},
    )
    with FakeGraph() as graph, FakeManagedIdentity() as identity:
        identity.on_issue = graph.valid_tokens.add
        with devserver(settings, {"GRAPH_BASE_URL": graph.base_url, **identity.environment}) as base_url:
            fired = post(base_url, "metric-static-fired", "azure")
            assert fired.status_code == 202, fired.text
            assert fired.json()["status"] == "accepted"
            # A service health resolution on a route that does not want resolutions: nothing sent.
            ignored = post(base_url, "service-health-resolved", "quiet")
            assert (ignored.status_code, ignored.json()["status"]) == (202, "ignored"), ignored.text

    [sent] = graph.sent
    message = sent.message
    assert sent.mailbox == "bridge@contoso.com"
    assert message["subject"] == "[Azure] [Fired] Sev2 test-metricAlertRule on test-storageAccount"
    assert [r["emailAddress"]["address"] for r in message["toRecipients"]] == [
        "oncall@contoso.com",
        "noc@contoso.com",
    ]
    assert [r["emailAddress"]["address"] for r in message["ccRecipients"]] == ["lead@contoso.com"]
    assert message["body"]["contentType"] == "html"
    body = message["body"]["content"]
    assert "Investigation.ReactView" in body and "Transactions" in body and "ApiName = GetBlob" in body
    headers = {h["name"]: h["value"] for h in message["internetMessageHeaders"]}
    assert headers == {"X-Mailhook-Source": "azure-monitor", "X-Mailhook-Status": "firing"}
