"""examples/generic/uptime-kuma.md: the notification it describes, held against the route, and Uptime Kuma's
webhook bodies (tests/data/generic; its webhook provider posts ``{"heartbeat", "monitor", "msg"}``, both null for
the Test button) delivered to the dev server, with the headers the example adds.
"""

from __future__ import annotations

import json
import re
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

EXAMPLE = EXAMPLES / "generic" / "uptime-kuma.md"
TOKEN = "uptime-example-bearer-token-71c2"


def fields() -> dict[str, str]:
    rows = re.findall(r"^ *\| (.+?) \| (.+?) \|$", EXAMPLE.read_text(), re.MULTILINE)
    return {name: value.strip("`") for name, value in rows if name not in ("field", "---")}


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    with running_bridge(tmp_path_factory.mktemp("uptime-kuma"), HOOK_BEARER_TOKEN=TOKEN) as running:
        yield running


def deliver(bridge: Bridge, body: Any, *, token: str = TOKEN) -> requests.Response:
    form = fields()
    headers = json.loads(form["Additional Headers"].replace("<token>", token))
    headers["Content-Type"] = "application/json"
    url = with_base_url(form["Post URL"], bridge.base_url)
    return requests.post(url, data=json.dumps(body).encode(), headers=headers, timeout=30)


def test_the_notification_matches_its_route() -> None:
    form = fields()
    assert (form["Notification Type"], form["Request Body"]) == ("Webhook", "Preset - application/json")
    assert "/api/hooks/generic?" in form["Post URL"] and "code=" not in form["Post URL"]
    assert set(json.loads(form["Additional Headers"])) == {"x-functions-key", "Authorization"}
    route_name = route_of(form["Post URL"])
    [routes_shown] = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", EXAMPLE.read_text(), re.DOTALL)]
    assert routes_shown == {route_name: example_routes()[route_name]}, "the MAIL_ROUTES entry is the one in routes.json"


def test_down_then_up_is_mailed_once_each(bridge: Bridge) -> None:
    sent = []
    for name in ("uptime-kuma.down", "uptime-kuma.up"):
        response = deliver(bridge, json.loads((DATA / "generic" / f"{name}.json").read_text()))
        assert response.status_code == 202, response.text
        sent.append(bridge.sent(response.json()["requestId"])["message"])
    assert [message["subject"] for message in sent] == [
        "[Uptime] Webshop checkout is down",
        "[Uptime] Webshop checkout is up",
    ]
    assert recipients(sent[0], "toRecipients") == ["oncall@contoso.com"]
    assert sent[0]["importance"] == "high"
    assert "Request failed with status code 503" in sent[0]["body"]["content"]
    again = deliver(bridge, json.loads((DATA / "generic" / "uptime-kuma.down.json").read_text()))
    assert (again.status_code, again.json()["status"]) == (202, "duplicate"), "the same heartbeat twice"


def test_the_test_button_mails_its_message(bridge: Bridge) -> None:
    response = deliver(bridge, {"heartbeat": None, "monitor": None, "msg": "Mailhook Testing"})
    assert response.status_code == 202, response.text
    assert bridge.sent(response.json()["requestId"])["message"]["subject"] == "[Uptime] Mailhook Testing"


def test_without_the_token_nothing_is_mailed(bridge: Bridge) -> None:
    refused = deliver(bridge, json.loads((DATA / "generic" / "uptime-kuma.up.json").read_text()), token="guessed")
    assert (refused.status_code, refused.json()["code"]) == (401, "unauthorized")
