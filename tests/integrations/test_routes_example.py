"""examples/routes.json: the MAIL_ROUTES every sender example names, accepted by the bridge's settings."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from shared.settings import load_settings
from tests.infra.test_bicep import INFRA_DIR, parse_bicep
from tests.integrations.support import (
    ALLOWED_DOMAINS,
    EXAMPLES,
    ROUTES_FILE,
    SENDER,
    example_routes,
    load_yaml,
    route_of,
)


def routes_named_by_the_examples() -> dict[str, set[str]]:
    """Route name → the example files that send to it."""
    used: dict[str, set[str]] = {}

    def add(route: str, example: str) -> None:
        used.setdefault(route, set()).add(example)

    alertmanager = load_yaml(EXAMPLES / "alertmanager" / "alertmanager.yml")
    for receiver in alertmanager["receivers"]:
        for webhook in receiver["webhook_configs"]:
            add(route_of(webhook["url"]), "alertmanager.yml")
    grafana = load_yaml(EXAMPLES / "grafana" / "contact-points.yaml")
    for contact_point in grafana["contactPoints"]:
        for receiver in contact_point["receivers"]:
            add(route_of(receiver["settings"]["url"]), "contact-points.yaml")
    for block in re.findall(r"```json\n(.*?)```", (EXAMPLES / "github" / "webhook.md").read_text(), re.DOTALL):
        hook: Any = json.loads(block)
        if "config" in hook:
            add(route_of(hook["config"]["url"]), "webhook.md")
    for block in re.findall(
        r"```json\n(.*?)```", (EXAMPLES / "pagerduty" / "webhook-subscription.md").read_text(), re.DOTALL
    ):
        subscription: Any = json.loads(block)
        if "webhook_subscription" in subscription:
            add(route_of(subscription["webhook_subscription"]["delivery_method"]["url"]), "webhook-subscription.md")
    sentry = (EXAMPLES / "sentry" / "internal-integration.md").read_text()
    [webhook_url] = re.findall(r"^ *\| Webhook URL \| `(.*?)` \|$", sentry, re.MULTILINE)
    add(route_of(webhook_url), "internal-integration.md")
    uptime_kuma = (EXAMPLES / "generic" / "uptime-kuma.md").read_text()
    [post_url] = re.findall(r"^ *\| Post URL \| `(.*?)` \|$", uptime_kuma, re.MULTILINE)
    add(route_of(post_url), "uptime-kuma.md")
    action_group = parse_bicep(INFRA_DIR / "examples" / "action-group.bicep")
    add(action_group["parameters"]["mailRoute"]["default"], "action-group.bicep")
    return used


@pytest.mark.parametrize("setting", ["MAIL_ROUTES_FILE", "MAIL_ROUTES"])
def test_the_bridge_accepts_the_routes(setting: str) -> None:
    value = str(ROUTES_FILE) if setting == "MAIL_ROUTES_FILE" else ROUTES_FILE.read_text()
    settings = load_settings(
        {"MAIL_SENDER": SENDER, "MAIL_ALLOWED_RECIPIENT_DOMAINS": ALLOWED_DOMAINS, setting: value}
    )  # raises SettingsError naming every problem
    assert set(settings.routes) == set(example_routes())


def test_every_route_is_used_by_an_example_and_every_example_route_exists() -> None:
    used = routes_named_by_the_examples()
    assert set(used) == set(example_routes()), {"missing": set(used) - set(example_routes()), "unused": used}
    assert len(used) == 8, used
