"""Azure Monitor alerts, from the documented sample payloads in tests/data/azure-monitor.

The fixtures are the samples of learn.microsoft.com/azure/azure-monitor/alerts/alerts-payload-samples
(common schema) and alerts-non-common-schema-definitions / alerts-webhooks (older schemas), with
the ``<subscription ID>`` placeholders filled in. The ``*-resolved`` ones the docs do not print are
the fired sample with the fields a resolution changes (monitorCondition, resolvedDateTime; for
resource health the ``healthevent/Resolved/action`` operation).
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from shared.mail.rendering import Renderer
from shared.settings.routes import Route
from shared.sources.azure_monitor import MAX_GENERIC_FACTS, html_to_text, to_notification
from shared.sources.base import HookRequest, InvalidHookPayload
from shared.sources.notification import Link, Notification, Severity, Status
from tests.helpers.app import DATA

FIXTURES = DATA / "azure-monitor"
SUBSCRIPTION = "11111111-1111-1111-1111-111111111111"
ALERTS = f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.AlertsManagement/alerts/"


def load(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return payload


def adapt(payload: Any) -> Notification:
    result = to_notification(HookRequest(source="azure-monitor", payload=payload, headers={}))
    assert isinstance(result, Notification)
    return result


def facts_of(notification: Notification) -> dict[str, str]:
    return dict(notification.facts)


def render(notification: Notification, route: Route | None = None) -> str:
    return Renderer(None).render(notification, route or Route()).body


@pytest.mark.parametrize(
    ("fixture", "title", "status", "severity", "event"),
    [
        (
            "metric-static-fired",
            "[Fired] Sev2 test-metricAlertRule on test-storageAccount",
            Status.FIRING,
            Severity.WARNING,
            "Metric",
        ),
        (
            "metric-static-resolved",
            "[Resolved] Sev3 WCUS-R2-Gen2 on wcus-r2-gen2",
            Status.RESOLVED,
            Severity.INFO,
            "Metric",
        ),
        (
            "metric-dynamic-fired",
            "[Fired] Sev1 storage-egress-anomaly on test-storageAccount",
            Status.FIRING,
            Severity.ERROR,
            "Metric",
        ),
        (
            "metric-multi-criteria-fired",
            "[Fired] Sev0 vm-cpu-and-memory on web-1 (+1 more)",
            Status.FIRING,
            Severity.CRITICAL,
            "Metric",
        ),
        (
            "metric-webtest-fired",
            "[Fired] Sev1 myAvailabilityTest-myApplication on myAvailabilityTest-myApplication (+1 more)",
            Status.FIRING,
            Severity.ERROR,
            "Metric",
        ),
        (
            "log-v1-fired",
            "[Fired] Sev3 test-logAlertRule-v1-numResults on test-logAnalyticsWorkspace",
            Status.FIRING,
            Severity.INFO,
            "Log",
        ),
        (
            "log-v2-fired",
            "[Fired] Sev2 test-logAlertRule-v2 on test-logAnalyticsWorkspace",
            Status.FIRING,
            Severity.WARNING,
            "Log",
        ),
        (
            "log-v2-resolved",
            "[Resolved] Sev2 test-logAlertRule-v2 on test-logAnalyticsWorkspace",
            Status.RESOLVED,
            Severity.WARNING,
            "Log",
        ),
        (
            "activity-log-fired",
            "[Fired] Sev4 test-activityLogAlertRule on test-VM",
            Status.FIRING,
            Severity.INFO,
            "Activity Log",
        ),
        (
            "service-health-fired",
            "[Fired] Sev4 test-ServiceHealthAlertRule: Test Action Group - Test Service Health Alert",
            Status.FIRING,
            Severity.INFO,
            "Activity Log",
        ),
        (
            "service-health-resolved",
            "[Resolved] Sev4 test-ServiceHealthAlertRule: Test Action Group - Test Service Health Alert",
            Status.RESOLVED,
            Severity.INFO,
            "Activity Log",
        ),
        (
            "resource-health-fired",
            "[Fired] Sev4 test-ResourceHealthAlertRule on test-VM",
            Status.FIRING,
            Severity.INFO,
            "Activity Log",
        ),
        (
            "resource-health-resolved",
            "[Resolved] Sev4 test-ResourceHealthAlertRule on test-VM",
            Status.RESOLVED,
            Severity.INFO,
            "Activity Log",
        ),
    ],
)
def test_subject_status_severity_and_event(
    fixture: str, title: str, status: Status, severity: Severity, event: str
) -> None:
    notification = adapt(load(fixture))
    assert (notification.title, notification.status, notification.severity, notification.event) == (
        title,
        status,
        severity,
        event,
    )
    assert notification.source == "azure-monitor"
    subject = Renderer(None).render(notification, Route(subject_prefix="[Azure]")).subject
    assert subject == f"[Azure] {title}"


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ("Sev0", Severity.CRITICAL),
        ("Sev1", Severity.ERROR),
        ("Sev2", Severity.WARNING),
        ("Sev3", Severity.INFO),
        ("Sev4", Severity.INFO),
        (None, Severity.UNKNOWN),
    ],
)
def test_severity_scale(severity: str | None, expected: Severity) -> None:
    payload = load("metric-static-fired")
    payload["data"]["essentials"]["severity"] = severity
    notification = adapt(payload)
    assert notification.severity is expected
    assert notification.title.startswith(f"[Fired] {severity} test-" if severity else "[Fired] test-")


def test_dedup_key_is_alert_id_and_monitor_condition() -> None:
    fired, resolved = adapt(load("log-v2-fired")), adapt(load("log-v2-resolved"))
    alert_id = f"{ALERTS}52345678-1234-1234-1234-1234567890ab"
    assert fired.dedup_key == f"{alert_id}|Fired"
    assert resolved.dedup_key == f"{alert_id}|Resolved"
    # Activity log alerts are stateless; a service health resolution is a new alert instance.
    assert adapt(load("service-health-resolved")).dedup_key == f"{ALERTS}{'1234abcd5678efgh' * 3}1234abcd5678efgi|Fired"


def test_metric_alert_facts_and_links() -> None:
    notification = adapt(load("metric-static-fired"))
    facts = facts_of(notification)
    assert notification.summary == "Alert rule description"
    assert {key: facts[key] for key in list(facts)[:10]} == {
        "Alert rule": "test-metricAlertRule",
        "Severity": "Sev2",
        "Monitor condition": "Fired",
        "Signal type": "Metric",
        "Monitoring service": "Platform",
        "Resource": "test-storageAccount",
        "Resource type": "Microsoft.Storage/storageAccounts",
        "Resource group": "test-RG",
        "Subscription": SUBSCRIPTION,
        "Fired": "2021-11-15 09:35:24 UTC",
    }
    assert facts["Metric"] == "Transactions"
    assert (facts["Value"], facts["Operator"], facts["Threshold"]) == ("100", "Greater than", "0")
    assert (facts["Aggregation"], facts["Window"]) == ("Total", "5 min")
    assert facts["Dimensions"] == "ApiName = GetBlob"
    assert facts["Evaluated"] == "2021-11-15 09:30:03 UTC to 2021-11-15 09:35:03 UTC"
    # customProperties and the context's properties hold the same pairs: shown once.
    assert [key for key, _ in notification.facts].count("customKey1") == 1
    assert "Resolved" not in facts
    assert notification.alerts == []
    investigation, resource = notification.links
    assert investigation == Link(
        "Investigate in Azure portal", load("metric-static-fired")["data"]["essentials"]["investigationLink"]
    )
    assert resource == Link(
        "Open resource in Azure portal",
        f"https://portal.azure.com/#resource/subscriptions/{SUBSCRIPTION}/resourcegroups/test-RG"
        "/providers/Microsoft.Storage/storageAccounts/test-storageAccount",
    )


def test_portal_link_is_built_from_the_alert_id_without_investigation_link() -> None:
    notification = adapt(load("metric-static-resolved"))
    alert_id = f"{ALERTS}b9569717-bc32-442f-add5-83a997729330"
    assert notification.links[0] == Link(
        "Investigate in Azure portal",
        "https://portal.azure.com/#view/Microsoft_Azure_Monitoring_Alerts/AlertDetails.ReactView/alertId/"
        + urllib.parse.quote(alert_id, safe=""),
    )
    assert "%2Fsubscriptions%2F11111111-" in notification.links[0].url


def test_resolved_metric_alert_says_when_and_how_long() -> None:
    notification = adapt(load("metric-static-resolved"))
    facts = facts_of(notification)
    assert (facts["Fired"], facts["Resolved"], facts["Duration"]) == (
        "2019-03-22 13:58:24 UTC",
        "2019-03-22 14:03:16 UTC",
        "4 min 51 s",
    )
    # The rule has no description (""): the condition says what happened.
    assert notification.summary == (
        "Average Percentage CPU was 7.727 (threshold: greater than 25, over 5 min)"
        " for ResourceId = 3efad9dc-3d50-4eac-9c87-8b3fd6f97e4e"
    )


def test_dynamic_threshold_and_availability_test_facts() -> None:
    dynamic = facts_of(adapt(load("metric-dynamic-fired")))
    assert (dynamic["Sensitivity"], dynamic["Failing periods"]) == ("High", "3 of 4")
    assert dynamic["Condition type"] == "Dynamic threshold criteria"
    webtest = adapt(load("metric-webtest-fired"))
    assert facts_of(webtest)["Availability test"] == "myAvailabilityTest-myApplication"
    assert facts_of(webtest)["Resources"] == "myAvailabilityTest-myApplication, myApplication"
    assert webtest.summary == "Sum Failed Location was 5 (threshold: greater than 2, over 5 min)"


def test_one_alert_block_per_criterion_when_there_are_several() -> None:
    notification = adapt(load("metric-multi-criteria-fired"))
    cpu, memory = notification.alerts
    assert (cpu.name, cpu.status, cpu.severity) == ("Percentage CPU", Status.FIRING, Severity.CRITICAL)
    assert cpu.values == {"Value": "97.25", "Operator": "Greater than", "Threshold": "90", "Aggregation": "Average"}
    assert cpu.labels == {"Resource": "web-1"}, "the resource id dimension by its name"
    assert cpu.summary is not None and cpu.summary.endswith(" for Resource = web-1")
    assert (
        memory.summary
        == "Average Available Memory Bytes was 480142950.4 (threshold: less than 1073741824, over 15 min)"
    )
    assert memory.starts_at is not None and memory.starts_at.isoformat() == "2024-06-25T03:01:54.764734+00:00"
    facts = facts_of(notification)
    assert "Metric" not in facts and "Value" not in facts  # in the blocks, not the table
    assert (facts["Resources"], facts["Resource group"]) == ("web-1, web-2", "prod-RG")
    # A custom property holding a web address is a link, not a fact.
    assert Link("runbook", "https://wiki.contoso.com/runbooks/web-tier") in notification.links
    assert "runbook" not in facts
    html = render(notification)
    assert html.count("Percentage CPU") >= 1 and "Available Memory Bytes" in html


def test_log_search_v2_facts_and_result_links() -> None:
    notification = adapt(load("log-v2-fired"))
    facts = facts_of(notification)
    assert (facts["Query"], facts["Value"], facts["Threshold"], facts["Aggregation"]) == (
        "Heartbeat",
        "3",
        "0",
        "Count",
    )
    assert (facts["Failing periods"], facts["Window"]) == ("1 of 1", "1 h")
    assert facts["Configuration items"] == "test-computer"
    assert notification.summary == (
        "The query result (count) was 3 (threshold: greater than 0, over 1 h) for Computer = test-computer"
    )
    condition = load("log-v2-fired")["data"]["alertContext"]["condition"]["allOf"][0]
    assert [link.title for link in notification.links] == [
        "Investigate in Azure portal",
        "Open resource in Azure portal",
        "View filtered search results",
        "View search results",
    ]
    assert notification.links[2].url == condition["linkToFilteredSearchResultsUI"]
    # The API links need a Log Analytics token: no use in a mail.
    assert not any("api.loganalytics.io" in link.url for link in notification.links)


def test_log_search_v1_facts() -> None:
    notification = adapt(load("log-v1-fired"))
    facts = facts_of(notification)
    assert (facts["Query"], facts["Result count"], facts["Alert type"]) == ("Heartbeat", "1", "Number of results")
    assert (facts["Operator"], facts["Threshold"]) == ("Greater than", "0")
    assert facts["Search interval"] == "2021-11-15 15:15:24 UTC to 2021-11-16 15:15:24 UTC"
    assert notification.summary == "Alert rule description"
    search = load("log-v1-fired")["data"]["alertContext"]["LinkToFilteredSearchResultsUI"]
    assert Link("View filtered search results", search) in notification.links
    payload = load("log-v1-fired")
    payload["data"]["essentials"]["description"] = None
    assert adapt(payload).summary == "The query returned 1 result (threshold: greater than 0)"


def test_activity_log_facts_without_claims() -> None:
    payload = load("activity-log-fired")
    notification = adapt(payload)
    facts = facts_of(notification)
    assert facts["Operation"] == "Microsoft.Compute/virtualMachines/restart/action"
    assert (facts["Caller"], facts["Status"], facts["Level"]) == ("user-email@domain.com", "Succeeded", "Informational")
    assert facts["Event time"] == "2021-11-16 08:27:36 UTC"
    claims = payload["data"]["alertContext"]["claims"]
    rendered = render(notification) + render(notification, Route(format="text"))
    assert "e9a02282-074f-45cf-93b0-50568e0e7e50" in claims
    assert "e9a02282-074f-45cf-93b0-50568e0e7e50" not in rendered
    # authorization.scope and properties.entity only repeat the target.
    assert "Scope" not in facts and "entity" not in facts
    payload["data"]["essentials"]["description"] = ""
    assert (
        adapt(payload).summary == "Microsoft.Compute/virtualMachines/restart/action succeeded by user-email@domain.com"
    )


def test_service_health_communication_becomes_plain_text() -> None:
    notification = adapt(load("service-health-fired"))
    assert notification.summary == "Test Action Group - Test Service Health Alert"
    assert notification.description == (
        "Summary of impact: This is the impact summary.\n\n"
        "Preliminary Root Cause: This is the preliminary root cause.\n\n"
        "Mitigation: Mitigation description.\n\n"
        "Next steps: These are the next steps.\n\n"
        "Stay informed about Azure service issues by creating custom service health alerts: "
        "https://aka.ms/ash-videos for video tutorials and https://aka.ms/ash-alerts for how-to documentation."
    )
    facts = facts_of(notification)
    assert {key: facts[key] for key in ("Service", "Region", "Incident type", "Tracking ID", "Stage")} == {
        "Service": "Azure Service Name",
        "Region": "Global",
        "Incident type": "Incident",
        "Tracking ID": "ABC1-DEF",
        "Stage": "Active",
    }
    assert facts["Impacted services"] == "Azure Service Name (Global)"
    assert facts["Rule description"] == "Alert rule description"
    assert "Resource" not in facts  # the target is the subscription itself
    # service-health-alert-webhook-guide: app.azure.com/h/<trackingId>/<first and last 3 of the subscription>
    assert Link("Open in Service Health", "https://app.azure.com/h/ABC1-DEF/111111") in notification.links
    html = render(notification)
    assert "<strong>" not in html and "impactedServicesTableRows" not in html
    assert "Summary of impact: This is the impact summary." in html


def test_service_health_resolution_is_a_resolved_mail() -> None:
    notification = adapt(load("service-health-resolved"))
    assert notification.status is Status.RESOLVED
    facts = facts_of(notification)
    assert facts["Stage"] == "Resolved"
    assert "Monitor condition" not in facts, "a stateless alert's 'Fired' contradicts the Resolved header"
    assert facts["Impact mitigated"] == "2021-11-17 01:00:00 UTC"


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("<p>a</p><p><br></p><p>b&nbsp;&amp; c</p>", "a\n\nb & c"),
        ("<script>alert(1)</script><style>p{}</style><p>kept</p>", "kept"),
        ('<img src=x onerror="alert(1)">text', "text"),
        ("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>", "<script>alert(1)</script>"),
        ('<a href="javascript:alert(1)">click</a>', "click"),
        ('<a href="https://status.example/1">details</a>', "details (https://status.example/1)"),
        ("<ul><li>one</li><li>two</li></ul>", "• one\n• two"),
        ("<p>unclosed <b>tags", "unclosed tags"),
    ],
)
def test_html_to_text(markup: str, text: str) -> None:
    assert html_to_text(markup) == text


def test_communication_html_cannot_reach_the_mail_as_markup() -> None:
    payload = load("service-health-fired")
    payload["data"]["alertContext"]["properties"]["communication"] = (
        '<p onclick="x()">Impact &lt;b&gt;</p><script>steal()</script><iframe src="https://evil.example"></iframe>'
    )
    notification = adapt(payload)
    assert notification.description == "Impact <b>"
    html = render(notification)
    assert "Impact &lt;b&gt;" in html
    assert "steal()" not in html and "<iframe" not in html and "onclick" not in html


def test_resource_health_facts() -> None:
    fired, resolved = adapt(load("resource-health-fired")), adapt(load("resource-health-resolved"))
    assert fired.summary == "Rebooted by user"
    assert {key: facts_of(fired)[key] for key in ("Current health", "Previous health", "Cause", "Type")} == {
        "Current health": "Unavailable",
        "Previous health": "Available",
        "Cause": "User initiated",
        "Type": "Downtime",
    }
    assert fired.description is None  # "details": null
    assert (resolved.status, facts_of(resolved)["Current health"]) == (Status.RESOLVED, "Available")
    assert resolved.description == "The restart you requested has finished."


def test_payload_values_are_escaped_in_the_html() -> None:
    payload = load("metric-static-fired")
    payload["data"]["essentials"]["alertRule"] = "<script>alert('rule')</script>"
    payload["data"]["essentials"]["description"] = '<img src=x onerror="alert(1)">'
    payload["data"]["alertContext"]["condition"]["allOf"][0]["dimensions"][0]["value"] = "<b>GetBlob</b>"
    payload["data"]["essentials"]["investigationLink"] = "javascript:alert(1)"
    notification = adapt(payload)
    assert notification.title == "[Fired] Sev2 <script>alert('rule')</script> on test-storageAccount"
    html = render(notification)
    assert "&lt;script&gt;alert(&#39;rule&#39;)&lt;/script&gt;" in html
    assert "<script>" not in html and "<img" not in html and "<b>GetBlob" not in html
    assert "ApiName = &lt;b&gt;GetBlob&lt;/b&gt;" in html
    assert "javascript:" not in html  # not a web address: the link is built from the alert id instead


@pytest.mark.parametrize(
    ("fixture", "title", "status", "severity"),
    [
        ("legacy-classic-metric", "[Activated] ruleName1 on mysite1", Status.FIRING, Severity.UNKNOWN),
        (
            "legacy-metric-alert",
            "[Activated] Sev3 test-metricAlertRule on test-storageAccount",
            Status.FIRING,
            Severity.INFO,
        ),
        (
            "legacy-activity-log",
            "[Activated] Microsoft.Compute/virtualMachines/restart/action on test-VM",
            Status.FIRING,
            Severity.INFO,
        ),
        (
            "legacy-log-search",
            "Sev3 test-logAlertRule-v1-numResults on test-logAnalyticsWorkspace",
            Status.FIRING,
            Severity.INFO,
        ),
        ("legacy-budget", "test-budgetName (AIP Budget Notification)", Status.INFO, Severity.UNKNOWN),
        (
            "legacy-service-health",
            "[Activated] Test Action Group - Test Service Health Alert",
            Status.FIRING,
            Severity.WARNING,
        ),
    ],
)
def test_payloads_without_the_common_schema_get_a_generic_mail(
    fixture: str, title: str, status: Status, severity: Severity
) -> None:
    payload = load(fixture)
    notification = adapt(payload)
    assert (notification.title, notification.status, notification.severity) == (title, status, severity)
    assert 0 < len(notification.facts) <= MAX_GENERIC_FACTS
    assert notification.dedup_key is None
    assert all("claims" not in key for key, _ in notification.facts)
    assert render(notification)


def test_generic_mail_reads_the_older_metric_alert() -> None:
    notification = adapt(load("legacy-classic-metric"))
    facts = facts_of(notification)
    assert notification.summary == "Average Requests was 10 (threshold: greater than or equal 10, over 15 min)"
    assert facts["Rule description"] == "some description"
    assert (facts["Metric"], facts["Value"], facts["Threshold"], facts["Operator"], facts["Window"]) == (
        "Requests",
        "10",
        "10",
        "Greater than or equal",
        "15 min",
    )
    assert facts["key1"] == "value1"
    assert notification.links == [
        Link(
            "Open resource in Azure portal",
            "https://portal.azure.com/#resource/subscriptions/s1/resourceGroups/useast/providers/microsoft.foo/sites/mysite1",
        )
    ]
    # The activity log's own state ("Succeeded") is not the alert's ("Activated").
    assert adapt(load("legacy-activity-log")).title.startswith("[Activated] ")


def test_the_older_metric_alert_says_its_metric_operator_threshold_value_and_severity() -> None:
    notification = adapt(load("legacy-metric-alert"))
    facts = facts_of(notification)
    assert (facts["Metric"], facts["Operator"], facts["Threshold"], facts["Value"]) == (
        "Transactions",
        "Greater than",
        "0",
        "100",
    )
    assert (facts["Severity"], facts["Aggregation"], facts["Dimensions"]) == ("Sev3", "Total", "ApiName = GetBlob")
    assert facts["customKey1"] == "value1"
    assert notification.summary == (
        "Total Transactions was 100 (threshold: greater than 0, over 5 min) for ApiName = GetBlob"
    )
    assert facts["Rule description"] == "Alert rule description"
    assert "condition.windowSize" not in facts and "portalLink" not in facts, "no raw key dump"
    assert notification.links[0].title == "Open resource in Azure portal"


def test_the_older_log_search_alert_says_its_query_result_count_and_threshold() -> None:
    notification = adapt(load("legacy-log-search"))
    facts = facts_of(notification)
    assert notification.summary == "The query returned 1 result (threshold: greater than 0)"
    assert (facts["Query"], facts["Result count"], facts["Operator"], facts["Threshold"]) == (
        "Heartbeat",
        "1",
        "Greater than",
        "0",
    )
    assert (facts["Severity"], facts["Rule description"]) == ("Sev3", "Alert rule description")
    assert "SearchResult" not in str(facts) and "AlertThresholdOperator" not in facts, "no raw key dump"
    assert [link.title for link in notification.links] == ["View search results"], "the API link needs a token"


def test_generic_mail_shows_html_values_as_text() -> None:
    facts = facts_of(adapt(load("legacy-service-health")))
    assert facts["properties.communication"].startswith("Summary of impact: This is the impact summary.\n\n")
    assert "impactedServicesTableRows" not in str(facts)


def test_generic_mail_is_bounded() -> None:
    context = {"condition": {}, **{f"field{i}": "x" * 5000 for i in range(200)}}
    payload = {"status": "Activated", "context": context}
    notification = adapt(payload)
    assert len(notification.facts) == MAX_GENERIC_FACTS
    assert all(len(value) <= 1000 for _, value in notification.facts)
    assert notification.title == "[Activated] Azure Monitor notification"


def test_schema_is_recognised_by_its_id_and_shape() -> None:
    common = load("metric-static-fired")
    assert adapt(common["data"]).title == adapt(common).title  # a forwarder that posts only "data"
    del common["schemaId"]
    assert adapt(common).title.startswith("[Fired] Sev2 ")
    other = load("metric-static-fired")
    other["schemaId"] = "SomethingElse"
    with pytest.raises(InvalidHookPayload) as refused:
        adapt(other)
    assert refused.value.errors[0].field == "schemaId"


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"data": {}},
        {"schemaId": "azureMonitorCommonAlertSchema", "data": {"alertContext": {}}},
        {"schemaId": "AzureMonitorMetricAlert"},
        {"status": "Activated"},
        {"status": "Activated", "context": {"name": "no condition"}},
        # What another sender posts to the wrong URL: it became a key-dump mail.
        json.loads((DATA / "alertmanager" / "firing-single.json").read_text()),
        {"version": "4", "status": "firing", "alerts": [{"labels": {"alertname": "X"}}]},
    ],
    ids=[
        "empty",
        "empty data",
        "common without essentials",
        "legacy id without data",
        "status alone",
        "context without condition",
        "alertmanager",
        "alertmanager minimal",
    ],
)
def test_what_is_no_azure_monitor_schema_is_refused(payload: Any) -> None:
    with pytest.raises(InvalidHookPayload):
        adapt(payload)


@pytest.mark.parametrize("payload", [[], "alert", 3, None])
def test_a_payload_that_is_not_an_object_is_refused(payload: Any) -> None:
    with pytest.raises(InvalidHookPayload):
        to_notification(HookRequest(source="azure-monitor", payload=payload, headers={}))


SCHEMA_KEYS = {"schemaId", "data", "essentials", "context", "condition", "status", "AlertRuleName"}


def _places(value: Any) -> Iterator[tuple[Any, Any]]:
    """Every (container, key) in a payload, depth first; lists up to three items."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield value, key
            yield from _places(child)
    elif isinstance(value, list):
        for index, child in enumerate(value[:3]):
            yield value, index
            yield from _places(child)


@pytest.mark.parametrize("fixture", sorted(path.stem for path in FIXTURES.glob("*.json")))
def test_any_field_of_any_type_still_makes_a_mail(fixture: str) -> None:
    """Lenient parsing: each field replaced by null, a number, a list, an object... never raises."""
    payload = load(fixture)
    renderer = Renderer(None)
    junk: list[Any] = [None, 2.5, "<b>x</b>", [None, 1], {"a": None}]
    for count, (container, key) in enumerate(list(_places(payload))):
        original = container[key]
        for replacement in junk:
            container[key] = replacement  # in place, put back below: copying each time is slow
            try:
                notification = adapt(payload)
            except InvalidHookPayload:
                # Only what says which schema this is may make it no Azure Monitor payload at all.
                assert key in SCHEMA_KEYS, (key, replacement)
                continue
            assert notification.title, (key, replacement)
            if count % 10 == 0:  # rendering is slower; a sample shows the templates cope too
                renderer.render(notification, Route())
        container[key] = original
