"""examples/alertmanager/alertmanager.yml: checked by amtool, then used by a real Alertmanager.

Debian's ``prometheus-alertmanager`` package installs both (the server as ``prometheus-alertmanager``;
upstream names it ``alertmanager``). CI installs it (``apt-get install -y prometheus-alertmanager``);
the tests skip, saying so, only where it is absent.
"""

from __future__ import annotations

import copy
import datetime as dt
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.helpers.alertmanager import ALERTMANAGER, AMTOOL, NOT_INSTALLED, running_alertmanager
from tests.integrations.support import (
    EXAMPLES,
    Bridge,
    example_routes,
    load_yaml,
    recipients,
    route_of,
    running_bridge,
    with_base_url,
)

EXAMPLE = EXAMPLES / "alertmanager" / "alertmanager.yml"
BEARER_TOKEN = "alertmanager-example-bearer-token"
_DELIVERY_TIMEOUT_S = 30.0


def webhook_configs(config: dict[str, Any]) -> list[dict[str, Any]]:
    return [webhook for receiver in config["receivers"] for webhook in receiver.get("webhook_configs", [])]


def test_amtool_accepts_the_example() -> None:
    if AMTOOL is None:
        pytest.skip(f"amtool {NOT_INSTALLED}")
    check = subprocess.run([AMTOOL, "check-config", str(EXAMPLE)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS" in check.stdout


def test_every_webhook_posts_to_the_bridge_with_bearer_token_and_resolved_alerts() -> None:
    config = load_yaml(EXAMPLE)
    webhooks = webhook_configs(config)
    assert len(webhooks) == len(config["receivers"]) == 2
    routes = example_routes()
    for webhook in webhooks:
        url = webhook["url"]
        assert url.startswith("https://") and "/api/hooks/alertmanager?" in url, url
        assert "code=" in url, "the function key: Alertmanager 0.25 cannot send it as a header"
        assert route_of(url) in routes, f"{url}: no such route in examples/routes.json"
        assert webhook["send_resolved"] is True
        assert webhook["http_config"]["authorization"]["type"] == "Bearer"
        # The token is read from a file, so the configuration can be shared without it.
        assert set(webhook["http_config"]["authorization"]) == {"type", "credentials_file"}


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[tuple[str, Bridge]]:
    """A real Alertmanager running the example, its URLs pointed at a dev server; yields its API URL."""
    if ALERTMANAGER is None:
        pytest.skip(f"Alertmanager {NOT_INSTALLED}")
    with running_bridge(tmp_path / "bridge", HOOK_BEARER_TOKEN=BEARER_TOKEN) as bridge:
        token_file = tmp_path / "mailhook-token"
        token_file.write_text(BEARER_TOKEN + "\n")  # a file as an operator writes it, newline and all
        config = copy.deepcopy(load_yaml(EXAMPLE))
        for webhook in webhook_configs(config):
            webhook["url"] = with_base_url(webhook["url"], bridge.base_url)
            webhook["http_config"]["authorization"]["credentials_file"] = str(token_file)
        # Only the waits change, so the test does not sit through the example's 30 s.
        config["route"].update({"group_wait": "100ms", "group_interval": "1s"})
        config_file = tmp_path / "alertmanager.yml"
        config_file.write_text(yaml.safe_dump(config))
        with running_alertmanager(config_file, tmp_path) as api_url:
            yield api_url, bridge


def wait_for_mails(bridge: Bridge, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + _DELIVERY_TIMEOUT_S
    while len(mails := [sent["message"] for sent in bridge.all_sent()]) < count:
        assert time.monotonic() < deadline, f"{len(mails)} of {count} mails after {_DELIVERY_TIMEOUT_S:.0f} s"
        time.sleep(0.1)
    return mails


def test_a_real_alertmanager_with_the_example_mails_each_route(alertmanager: tuple[str, Bridge]) -> None:
    api_url, bridge = alertmanager
    now = dt.datetime.now(dt.UTC).isoformat()
    alerts = [
        {"labels": {"alertname": "DiskFull", "cluster": "prod-eu", "team": "database"}, "startsAt": now},
        {"labels": {"alertname": "HighLatency", "cluster": "prod-eu"}, "startsAt": now},
    ]
    assert requests.post(f"{api_url}/api/v2/alerts", json=alerts, timeout=5).status_code == 200
    # Subjects as Alertmanager's own: the group labels (alertname, cluster), then the other common labels.
    by_subject = {message["subject"]: message for message in wait_for_mails(bridge, 2)}
    database = by_subject["[DB] [FIRING:1] DiskFull prod-eu (database)"]
    assert (recipients(database, "toRecipients"), recipients(database, "ccRecipients")) == (
        ["dba@contoso.com"],
        ["oncall@contoso.com"],
    )
    assert recipients(by_subject["[FIRING:1] HighLatency prod-eu"], "toRecipients") == ["oncall@contoso.com"]

    # send_resolved: the group's end is mailed too.
    resolved = [{**alerts[1], "endsAt": dt.datetime.now(dt.UTC).isoformat()}]
    assert requests.post(f"{api_url}/api/v2/alerts", json=resolved, timeout=5).status_code == 200
    assert "[RESOLVED] HighLatency prod-eu" in {message["subject"] for message in wait_for_mails(bridge, 3)}
