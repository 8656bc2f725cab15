"""examples/github/webhook.md: the hook it describes, held against the route, and its deliveries sent.

Deliveries are GitHub's documented payloads (tests/data/github) with the headers GitHub sends for a
hook with content type ``application/json`` and a secret.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.helpers.app import DATA
from tests.integrations.support import (
    EXAMPLES,
    Bridge,
    example_routes,
    github_signature,
    recipients,
    route_of,
    running_bridge,
    with_base_url,
)

EXAMPLE = EXAMPLES / "github" / "webhook.md"
SECRET = "github-example-webhook-secret"
# The settings page's event names for the REST API's event names (GitHub Docs, "Webhook events and payloads").
EVENT_LABELS = {"workflow_run": "Workflow runs", "deployment_status": "Deployment statuses", "release": "Releases"}


def json_blocks() -> list[Any]:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", EXAMPLE.read_text(), re.DOTALL)]


def hook() -> dict[str, Any]:
    [document] = [block for block in json_blocks() if isinstance(block, dict) and "config" in block]
    return dict(document)


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    with running_bridge(tmp_path_factory.mktemp("github"), GITHUB_WEBHOOK_SECRET=SECRET) as running:
        yield running


def deliver(bridge: Bridge, event: str, payload: bytes) -> requests.Response:
    url = with_base_url(hook()["config"]["url"], bridge.base_url)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/044aadd",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": github_signature(SECRET, payload),
    }
    return requests.post(url, data=payload, headers=headers, timeout=30)


def test_the_hook_matches_its_route_and_the_settings_table() -> None:
    described = hook()
    config = described["config"]
    assert (described["name"], described["active"]) == ("web", True)
    assert (config["content_type"], config["insecure_ssl"]) == ("json", "0")
    assert config["url"].startswith("https://") and "/api/hooks/github?" in config["url"]
    route_name = route_of(config["url"])
    route = example_routes()[route_name]
    assert described["events"] == route["events"], "the route mails what the hook sends"
    text = EXAMPLE.read_text()
    for event in described["events"]:
        assert f"**{EVENT_LABELS[event]}**" in text, f"the settings table does not pick {EVENT_LABELS[event]}"
    [routes_shown] = [block for block in json_blocks() if "config" not in block]
    assert routes_shown == {route_name: route}, "the MAIL_ROUTES entry shown is the one in routes.json"


def test_a_failed_run_is_mailed_to_the_route(bridge: Bridge) -> None:
    response = deliver(bridge, "workflow_run", (DATA / "github" / "workflow_run.completed.failure.json").read_bytes())
    assert response.status_code == 202, response.text
    message = bridge.sent(response.json()["requestId"])["message"]
    assert message["subject"] == "[CI] [failure] CI on main — contoso/webshop"
    assert recipients(message, "toRecipients") == ["dev@contoso.com"]


def test_what_the_route_does_not_want_is_answered_not_mailed(bridge: Bridge) -> None:
    ping = deliver(bridge, "ping", (DATA / "github" / "ping.json").read_bytes())
    assert (ping.status_code, ping.json()["status"]) == (200, "pong")
    green = deliver(bridge, "workflow_run", (DATA / "github" / "workflow_run.completed.success.json").read_bytes())
    push = deliver(bridge, "push", (DATA / "github" / "push.json").read_bytes())
    for ignored in (green, push):
        assert (ignored.status_code, ignored.json()["status"]) == (202, "ignored"), ignored.text


def test_a_delivery_signed_with_another_secret_is_refused(bridge: Bridge) -> None:
    payload = (DATA / "github" / "release.published.json").read_bytes()
    url = with_base_url(hook()["config"]["url"], bridge.base_url)
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "release"}
    headers["X-Hub-Signature-256"] = github_signature("not-the-secret", payload)
    refused = requests.post(url, data=payload, headers=headers, timeout=10)
    assert (refused.status_code, refused.json()["code"]) == (401, "signature_invalid")
