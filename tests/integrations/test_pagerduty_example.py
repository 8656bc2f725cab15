"""examples/pagerduty/webhook-subscription.md: the subscription it describes, held against the route, and its
events delivered to the dev server as PagerDuty delivers them (headers per PagerDuty's "Webhooks Overview" and
"Verifying Signatures": the subscription's custom headers, ``X-Webhook-Id``, ``X-PagerDuty-Signature``).
"""

from __future__ import annotations

import hashlib
import hmac
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
    recipients,
    route_of,
    running_bridge,
    with_base_url,
)

EXAMPLE = EXAMPLES / "pagerduty" / "webhook-subscription.md"
SECRET = "pd-example-subscription-secret-9c1e"
ROTATED = "pd-example-subscription-secret-next-44a0"


def json_blocks() -> list[Any]:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", EXAMPLE.read_text(), re.DOTALL)]


def subscription() -> dict[str, Any]:
    [document] = [block for block in json_blocks() if "webhook_subscription" in block]
    described: dict[str, Any] = document["webhook_subscription"]
    return described


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    with running_bridge(tmp_path_factory.mktemp("pagerduty"), PAGERDUTY_WEBHOOK_SECRET=SECRET) as running:
        yield running


def deliver(bridge: Bridge, raw: bytes, *secrets: str, webhook_id: str | None = None) -> requests.Response:
    delivery = subscription()["delivery_method"]
    signatures = ",".join("v1=" + hmac.new(s.encode(), raw, hashlib.sha256).hexdigest() for s in secrets)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "PagerDuty-Webhook/V3.0",
        "X-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Webhook-Subscription": "PSUB123",
        "X-PagerDuty-Signature": signatures,
        **{header["name"]: header["value"] for header in delivery["custom_headers"]},
    }
    return requests.post(with_base_url(delivery["url"], bridge.base_url), data=raw, headers=headers, timeout=30)


def test_the_subscription_matches_its_route() -> None:
    described = subscription()
    delivery = described["delivery_method"]
    assert (described["type"], delivery["type"]) == ("webhook_subscription", "http_delivery_method")
    assert delivery["url"].startswith("https://") and "/api/hooks/pagerduty?" in delivery["url"]
    assert "code=" not in delivery["url"], "the key travels in a header"
    assert [header["name"] for header in delivery["custom_headers"]] == ["x-functions-key"]
    assert all(event.startswith("incident.") for event in described["events"]), "only incident events are mailed"
    route_name = route_of(delivery["url"])
    [routes_shown] = [block for block in json_blocks() if "webhook_subscription" not in block]
    assert routes_shown == {route_name: example_routes()[route_name]}, "the MAIL_ROUTES entry is the one in routes.json"


def test_an_incident_is_mailed_to_the_route_once(bridge: Bridge) -> None:
    raw = (DATA / "pagerduty" / "incident.triggered.json").read_bytes()
    webhook_id = str(uuid.uuid4())
    response = deliver(bridge, raw, SECRET, webhook_id=webhook_id)
    assert response.status_code == 202, response.text
    message = bridge.sent(response.json()["requestId"])["message"]
    assert message["subject"] == (
        "[PagerDuty] [TRIGGERED] #4711 Checkout p99 latency above 2 s (prod-eu) — Checkout API"
    )
    assert recipients(message, "toRecipients") == ["oncall@contoso.com"]
    assert "https://contoso.pagerduty.com/incidents/Q2K7L0S9ZDRX4T" in message["body"]["content"]
    # A retry after a timeout, signed again during a secret rotation: the same event, not mailed again.
    again = deliver(bridge, raw, ROTATED, SECRET, webhook_id=webhook_id)
    assert (again.status_code, again.json()["status"]) == (202, "duplicate"), again.text


def test_the_test_event_and_other_events_are_answered_not_mailed(bridge: Bridge) -> None:
    ping = deliver(bridge, (DATA / "pagerduty" / "pagey.ping.json").read_bytes(), SECRET)
    assert (ping.status_code, ping.json()["status"]) == (200, "pong")
    service = deliver(bridge, (DATA / "pagerduty" / "service.updated.json").read_bytes(), SECRET)
    assert (service.status_code, service.json()["status"]) == (202, "ignored")


def test_a_delivery_signed_with_another_secret_is_refused(bridge: Bridge) -> None:
    refused = deliver(bridge, (DATA / "pagerduty" / "incident.resolved.json").read_bytes(), ROTATED)
    assert (refused.status_code, refused.json()["code"]) == (401, "signature_invalid")
