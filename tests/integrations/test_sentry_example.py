"""examples/sentry/internal-integration.md: the integration it describes, held against the route, and Sentry's
webhooks delivered to the dev server as Sentry sends them (headers per Sentry's "Webhooks" page: ``Request-ID``,
``Sentry-Hook-Resource``, ``Sentry-Hook-Timestamp``, ``Sentry-Hook-Signature``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Iterator

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

EXAMPLE = EXAMPLES / "sentry" / "internal-integration.md"
SECRET = "sentry-example-client-secret-5b7e0a"


def fields() -> dict[str, str]:
    """The integration form's fields, from the example's table."""
    rows = re.findall(r"^ *\| (.+?) \| (.+?) \|$", EXAMPLE.read_text(), re.MULTILINE)
    return {name: value.strip("`") for name, value in rows if name not in ("field", "---")}


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    with running_bridge(tmp_path_factory.mktemp("sentry"), SENTRY_CLIENT_SECRET=SECRET) as running:
        yield running


def deliver(bridge: Bridge, name: str, secret: str = SECRET) -> requests.Response:
    raw = (DATA / "sentry" / f"{name}.json").read_bytes()
    headers = {
        "Content-Type": "application/json",
        "Request-ID": str(uuid.uuid4()),
        "Sentry-Hook-Resource": name.split(".")[0],
        "Sentry-Hook-Timestamp": str(int(time.time())),
        "Sentry-Hook-Signature": hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest(),
    }
    return requests.post(with_base_url(fields()["Webhook URL"], bridge.base_url), data=raw, headers=headers, timeout=30)


def test_the_integration_matches_its_route() -> None:
    form = fields()
    url = form["Webhook URL"]
    assert url.startswith("https://") and "/api/hooks/sentry?" in url and "code=" in url
    assert (form["Alert Rule Action"], form["Webhooks"]) == ("on", "issue")
    route_name = route_of(url)
    [routes_shown] = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", EXAMPLE.read_text(), re.DOTALL)]
    assert routes_shown == {route_name: example_routes()[route_name]}, "the MAIL_ROUTES entry is the one in routes.json"


def test_alerts_and_issues_are_mailed_to_the_route(bridge: Bridge) -> None:
    subjects = []
    for name in ("event_alert.triggered", "metric_alert.critical", "issue.unresolved", "metric_alert.resolved"):
        response = deliver(bridge, name)
        assert response.status_code == 202, response.text
        message = bridge.sent(response.json()["requestId"])["message"]
        assert recipients(message, "toRecipients") == ["dev@contoso.com"]
        subjects.append(message["subject"])
    assert subjects == [
        "[Sentry] [ERROR] GatewayTimeout: payment gateway did not answer within 10 s",
        "[Sentry] [CRITICAL] Checkout error rate",
        "[Sentry] [REGRESSED] CHECKOUT-3F GatewayTimeout: payment gateway did not answer within 10 s",
        "[Sentry] [RESOLVED] Checkout error rate",
    ]
    replayed = deliver(bridge, "event_alert.triggered")
    assert (replayed.status_code, replayed.json()["status"]) == (202, "duplicate"), "a replayed signed body"


def test_the_installation_and_assignments_are_answered_not_mailed(bridge: Bridge) -> None:
    for name in ("installation.created", "issue.assigned"):
        answered = deliver(bridge, name)
        assert (answered.status_code, answered.json()["status"]) == (202, "ignored"), name


def test_a_delivery_signed_with_another_secret_is_refused(bridge: Bridge) -> None:
    refused = deliver(bridge, "issue.created", secret="another-integrations-secret")
    assert (refused.status_code, refused.json()["code"]) == (401, "signature_invalid")
