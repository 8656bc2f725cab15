"""examples/grafana/contact-points.yaml: parsed, and a delivery signed as it configures Grafana, sent to the bridge.

No Grafana runs here, so the test does Grafana's part from its source: the webhook notifier puts
``authorization_scheme`` + ``authorization_credentials`` in ``Authorization`` and ``headers`` as they
are (grafana/alerting receivers/webhook/v1), and signs the body with ``hmacConfig`` (http/hmac.go:
hex HMAC-SHA256 of ``"<unix seconds>:" + body`` when ``timestampHeader`` is set, in ``header``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import yaml

from tests.helpers.app import DATA
from tests.integrations.support import (
    EXAMPLES,
    Bridge,
    example_routes,
    grafana_signature,
    load_yaml,
    recipients,
    route_of,
    running_bridge,
)

EXAMPLE = EXAMPLES / "grafana" / "contact-points.yaml"
SECRET = "grafana-example-hmac-secret"
BEARER_TOKEN = "grafana-example-bearer-token"
FUNCTION_KEY = "grafana-example-function-key"
# What the provisioning file reads from Grafana's environment, in the order its comment lists them.
ENVIRONMENT = {
    "MAILHOOK_URL": "",  # the bridge under test, filled in by the fixture
    "MAILHOOK_GRAFANA_KEY": FUNCTION_KEY,
    "MAILHOOK_BEARER_TOKEN": BEARER_TOKEN,
    "MAILHOOK_GRAFANA_SECRET": SECRET,
}


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    settings = {
        "HOOK_BEARER_TOKEN": BEARER_TOKEN,
        "GRAFANA_WEBHOOK_SECRET": SECRET,
        "GRAFANA_WEBHOOK_TIMESTAMP_HEADER": webhook_receiver()["settings"]["hmacConfig"]["timestampHeader"],
    }
    with running_bridge(tmp_path_factory.mktemp("grafana"), **settings) as running:
        yield running


def webhook_receiver() -> dict[str, Any]:
    document = load_yaml(EXAMPLE)
    assert document["apiVersion"] == 1
    [contact_point] = document["contactPoints"]
    [receiver] = contact_point["receivers"]
    assert receiver["type"] == "webhook"
    return dict(receiver)


def provisioned_settings(base_url: str) -> dict[str, Any]:
    """The webhook settings as Grafana reads the file: ``${NAME}`` from its environment."""
    environment = {**ENVIRONMENT, "MAILHOOK_URL": base_url}
    text = "\n".join(
        line for line in EXAMPLE.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("#")
    )
    assert set(re.findall(r"\$\{(\w+)\}", text)) == set(environment), "the variables the comment documents"
    expanded = re.sub(r"\$\{(\w+)\}", lambda match: environment[match.group(1)], text)
    [contact_point] = yaml.safe_load(expanded)["contactPoints"]
    settings: dict[str, Any] = contact_point["receivers"][0]["settings"]
    return settings


def grafana_delivery(settings: dict[str, Any], body: bytes, *, timestamp: str) -> dict[str, str]:
    """The headers Grafana's webhook notifier sends with ``settings``."""
    hmac_config = settings["hmacConfig"]
    return {
        "Content-Type": "application/json",
        **settings["headers"],
        "Authorization": f"{settings['authorization_scheme']} {settings['authorization_credentials']}",
        hmac_config["timestampHeader"]: timestamp,
        hmac_config["header"]: grafana_signature(hmac_config["secret"], body, timestamp),
    }


def test_the_contact_point_is_a_signed_webhook_to_a_route() -> None:
    receiver = webhook_receiver()
    settings = receiver["settings"]
    assert receiver["disableResolveMessage"] is False
    assert settings["url"].startswith("${MAILHOOK_URL}/api/hooks/grafana?")
    assert route_of(settings["url"]) in example_routes()
    assert "code=" not in settings["url"], "the key goes in a header, not the URL Grafana shows in plain text"
    assert {name.lower() for name in settings["headers"]} == {"x-functions-key"}
    assert settings["httpMethod"] == "POST"
    # The signature header the bridge reads (shared/sources/grafana.py), and a timestamp header that the
    # file tells the operator to name in the bridge's setting too; the tests below prove both end to end.
    assert settings["hmacConfig"]["header"] == "X-Grafana-Alerting-Signature"
    timestamp_header = settings["hmacConfig"]["timestampHeader"]
    assert f"GRAFANA_WEBHOOK_TIMESTAMP_HEADER={timestamp_header}" in EXAMPLE.read_text(encoding="utf-8")


def test_a_delivery_signed_as_configured_is_mailed_to_the_route(bridge: Bridge) -> None:
    settings = provisioned_settings(bridge.base_url)
    body = (DATA / "grafana" / "firing.json").read_bytes()
    headers = grafana_delivery(settings, body, timestamp=str(int(time.time())))
    response = requests.post(settings["url"], data=body, headers=headers, timeout=30)
    # Accepted only if the bridge read the timestamp from the header this file names: the signature
    # covers "<timestamp>:" + body, so a bridge that missed it would compute another one.
    assert response.status_code == 202, response.text
    message = bridge.sent(response.json()["requestId"])["message"]
    assert message["subject"].startswith("[Grafana] [FIRING:")
    assert recipients(message, "toRecipients") == ["oncall@contoso.com"]


def test_a_forged_or_replayed_delivery_is_refused(bridge: Bridge) -> None:
    settings = provisioned_settings(bridge.base_url)
    body = (DATA / "grafana" / "firing.json").read_bytes()
    forged = grafana_delivery(settings, body, timestamp=str(int(time.time())))
    tampered = requests.post(settings["url"], data=body.replace(b"firing", b"resolved"), headers=forged, timeout=10)
    stale = grafana_delivery(settings, body, timestamp=str(int(time.time()) - 3600))
    replayed = requests.post(settings["url"], data=body, headers=stale, timeout=10)
    for refused in (tampered, replayed):
        assert (refused.status_code, refused.json()["code"]) == (401, "signature_invalid"), refused.text


def test_the_bearer_token_is_sent_and_required(bridge: Bridge) -> None:
    settings = provisioned_settings(bridge.base_url)
    body = (DATA / "grafana" / "firing.json").read_bytes()
    headers = grafana_delivery(settings, body, timestamp=str(int(time.time())))
    assert headers["Authorization"] == f"Bearer {BEARER_TOKEN}"
    without_token = {name: value for name, value in headers.items() if name != "Authorization"}
    refused = requests.post(settings["url"], data=body, headers=without_token, timeout=10)
    assert (refused.status_code, refused.json()["code"]) == (401, "unauthorized")
