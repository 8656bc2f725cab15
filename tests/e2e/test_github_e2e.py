"""A GitHub webhook as GitHub sends it, to scripts/devserver.py over HTTP, through to the fake Graph.

The hook is configured the way the repository settings page offers it: content type
``application/x-www-form-urlencoded`` (the body is ``payload=<url-encoded JSON>``) and a secret,
so every delivery carries ``X-Hub-Signature-256`` over the raw form body.
"""

from __future__ import annotations

import hashlib
import hmac
import urllib.parse
from pathlib import Path

import requests

from tests.fakes.graph import FakeGraph
from tests.fakes.identity import FakeManagedIdentity
from tests.helpers.app import DATA
from tests.helpers.devserver import devserver, write_settings

SECRET = "e2e-github-webhook-secret-9d41"


def delivery_headers(event: str, body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": "GitHub-Hookshot/5c1d0a3",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": "d2a4c3f0-1f6c-11ef-9a2b-0242ac120002",
        "X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
    }


def test_signed_form_delivery_is_mailed_and_a_forged_one_is_refused(tmp_path: Path) -> None:
    payload = (DATA / "github" / "workflow_run.completed.failure.json").read_text()
    body = urllib.parse.urlencode({"payload": payload}).encode()
    settings = write_settings(
        tmp_path / "local.settings.json", {"MAIL_SENDER": "bridge@contoso.com", "MAIL_DEFAULT_TO": "oncall@contoso.com"}
    )
    with FakeGraph() as graph, FakeManagedIdentity() as identity:
        identity.on_issue = graph.valid_tokens.add
        # Given in the environment, not the settings file, so that it wins over a developer's own
        # exported values (the real environment wins, as with Core Tools).
        environment = {
            "GRAPH_BASE_URL": graph.base_url,
            "GITHUB_WEBHOOK_SECRET": SECRET,
            **identity.environment,
        }
        with devserver(settings, environment) as base_url:
            url = f"{base_url}/api/hooks/github"
            signed = requests.post(url, data=body, headers=delivery_headers("workflow_run", body), timeout=30)
            assert signed.status_code == 202, signed.text
            assert signed.json()["status"] == "accepted"

            forged_body = body.replace(b"failure", b"success")
            forged = requests.post(url, data=forged_body, headers=delivery_headers("workflow_run", body), timeout=10)
            other_secret = requests.post(
                url, data=body, headers=delivery_headers("workflow_run", body, "guessed"), timeout=10
            )
            for refused in (forged, other_secret):
                assert refused.status_code == 401, refused.text
                assert refused.headers["Content-Type"] == "application/problem+json; charset=utf-8"
                assert refused.json()["code"] == "signature_invalid"

            ping_body = urllib.parse.urlencode({"payload": '{"zen": "Keep it logically awesome."}'}).encode()
            ping = requests.post(url, data=ping_body, headers=delivery_headers("ping", ping_body), timeout=10)
            assert (ping.status_code, ping.json()["status"]) == (200, "pong")

    [sent] = graph.sent
    message = sent.message
    assert sent.mailbox == "bridge@contoso.com"
    assert message["subject"] == "[failure] CI on main — contoso/webshop"
    assert message["toRecipients"] == [{"emailAddress": {"address": "oncall@contoso.com"}}]
    assert 'href="https://github.com/contoso/webshop/actions/runs/9104411221"' in message["body"]["content"]
