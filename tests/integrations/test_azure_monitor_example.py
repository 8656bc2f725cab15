"""infra/examples/: the action group and metric alert Bicep, checked like infra/, and the webhook they set up, sent.

tests/infra parses every file under infra/ with pycep 0.5.1 and runs checkov on the folder, examples
included; these tests reuse its helpers and its one checkov run, and add what is particular to them.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.helpers.app import DATA
from tests.infra.test_bicep import INFRA_DIR, dotted, one_resource, parse_bicep
from tests.integrations.support import Bridge, example_routes, recipients, route_of, running_bridge

EXAMPLES_DIR = INFRA_DIR / "examples"
ACTION_GROUP = EXAMPLES_DIR / "action-group.bicep"
METRIC_ALERT = EXAMPLES_DIR / "metric-alert.bicep"
FUNCTION_KEY = "azure-monitor+key/with==padding"  # characters a query string would change


@pytest.fixture(scope="module")
def action_group() -> dict[str, Any]:
    return parse_bicep(ACTION_GROUP)


@pytest.fixture(scope="module")
def metric_alert() -> dict[str, Any]:
    return parse_bicep(METRIC_ALERT)


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    with running_bridge(tmp_path_factory.mktemp("azure-monitor")) as running:
        yield running


def webhook_receiver(action_group: dict[str, Any]) -> dict[str, Any]:
    properties = one_resource(action_group, "Microsoft.Insights/actionGroups")["properties"]
    [receiver] = properties["webhookReceivers"]
    return dict(receiver)


def service_uri(action_group: dict[str, Any], base_url: str) -> str:
    """The receiver's serviceUri as Azure would deploy it with these parameters."""
    parameters = action_group["parameters"]
    values: dict[str, str] = {
        "functionBaseUrl": base_url,
        "mailRoute": str(parameters["mailRoute"]["default"]),
        "uriComponent(functionKey)": urllib.parse.quote(FUNCTION_KEY, safe=""),
    }

    def value(match: re.Match[str]) -> str:
        assert match.group(1) in values, f"the test does not know the expression {match.group(1)}"
        return values[match.group(1)]

    return re.sub(r"\$\{([^}]+)\}", value, str(webhook_receiver(action_group)["serviceUri"]))


def test_the_action_group_posts_the_common_schema_to_a_route(action_group: dict[str, Any]) -> None:
    group = one_resource(action_group, "Microsoft.Insights/actionGroups")
    assert group["location"] == "global"
    assert group["properties"]["enabled"] is True
    short_name = action_group["parameters"]["groupShortName"]
    assert {"type": "max_length", "argument": 12} in short_name["decorators"]
    assert len(short_name["default"]) <= 12
    receiver = webhook_receiver(action_group)
    assert receiver["useCommonAlertSchema"] is True
    assert receiver["useAadAuth"] is False  # Entra-secured webhooks are not checked by the bridge yet
    url = service_uri(action_group, "https://func-mailhook-abc123.azurewebsites.net")
    assert url.startswith("https://func-mailhook-abc123.azurewebsites.net/api/hooks/azure-monitor?")
    assert route_of(url) in example_routes()
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["code"] == [FUNCTION_KEY], "the key arrives intact"
    key = action_group["parameters"]["functionKey"]
    assert {"type": "secure"} in key["decorators"] and not key.get("default")


def test_the_metric_alert_uses_the_action_group(metric_alert: dict[str, Any]) -> None:
    module = metric_alert["modules"]["mailhook"]
    assert (EXAMPLES_DIR / module["detail"]["path"]) == ACTION_GROUP
    assert set(module["config"]["params"]) == {"functionBaseUrl", "functionKey"}
    alert = one_resource(metric_alert, "Microsoft.Insights/metricAlerts")
    properties = alert["properties"]
    [action] = properties["actions"]
    assert dotted(action["actionGroupId"]) == "mailhook.outputs.actionGroupId"
    assert properties["autoMitigate"] is True, "a resolved alert is mailed too"
    criteria = properties["criteria"]
    assert criteria["'odata.type'"] == "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria"
    [criterion] = criteria["allOf"]
    assert criterion["criterionType"] == "StaticThresholdCriterion"
    key = metric_alert["parameters"]["functionKey"]
    assert {"type": "secure"} in key["decorators"] and not key.get("default")


def test_checkov_checked_the_examples_and_found_nothing(checkov_report: dict[str, Any]) -> None:
    assert checkov_report["summary"]["parsing_errors"] == 0
    results = checkov_report["results"]
    in_examples = [check for key in ("passed_checks", "failed_checks") for check in results[key]]
    in_examples = [check for check in in_examples if check["file_path"].startswith("/examples/")]
    # checkov has no checks for action groups or metric alerts; its secure-parameter check shows
    # that it read both files.
    assert {(check["file_path"], check["check_id"]) for check in in_examples} == {
        ("/examples/action-group.bicep", "CKV_AZURE_131"),
        ("/examples/metric-alert.bicep", "CKV_AZURE_131"),
    }
    assert not [check for check in results["failed_checks"] if check["file_path"].startswith("/examples/")]


@pytest.mark.parametrize("sample", ["metric-static-fired.json", "metric-static-resolved.json"])
def test_an_alert_sent_to_the_service_uri_is_mailed_to_the_route(
    action_group: dict[str, Any], bridge: Bridge, sample: str
) -> None:
    body = (DATA / "azure-monitor" / sample).read_bytes()
    response = requests.post(
        service_uri(action_group, bridge.base_url), data=body, headers={"Content-Type": "application/json"}, timeout=30
    )
    assert response.status_code == 202, response.text
    message = bridge.sent(response.json()["requestId"])["message"]
    condition = "Fired" if "fired" in sample else "Resolved"
    assert message["subject"].startswith(f"[Azure] [{condition}] Sev"), message["subject"]
    assert recipients(message, "toRecipients") == ["cloud-ops@contoso.com"]
