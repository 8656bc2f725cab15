"""The common alert schema (alerts-common-schema): essentials, alertContext and customProperties."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import Any, Literal

from shared.sources.azure_monitor.activity_log import (
    event_says_resolved,
    read_activity_log,
    read_resource_health,
    read_service_health,
)
from shared.sources.azure_monitor.facts import MAX_GENERIC_FACTS, ContextReading, FactAdder, flatten, links_in
from shared.sources.azure_monitor.metric_log import read_criteria, read_log_v1
from shared.sources.azure_monitor.resource_id import ResourceId, subscription_of
from shared.sources.azure_monitor.values import (
    MAX_FACT_CHARS,
    MAX_LIST_ITEMS,
    as_object,
    as_text,
    as_texts,
    clip,
    http_url,
    lower_text,
    moment_text,
    unique_links,
    unique_texts,
)
from shared.sources.notification import Link, Notification, Severity, Status, elapsed_text
from shared.sources.readers import parse_time

# The alert's page in the portal, for payloads without ``essentials.investigationLink`` (added to
# the schema in 2024; older payloads and the documented samples do not carry it).
ALERT_PORTAL_URL = "https://portal.azure.com/#view/Microsoft_Azure_Monitoring_Alerts/AlertDetails.ReactView/alertId/"


# A resource's overview blade; the form the older payloads' ``portalLink`` uses.
RESOURCE_PORTAL_URL = "https://portal.azure.com/#resource"


# "https://app.azure.com/h/<trackingId>/<first and last three characters of the subscription id>"
# (service-health-alert-webhook-guide: "Creating a direct link to Azure service health").
SERVICE_HEALTH_URL = "https://app.azure.com/h/"


AlertKind = Literal["metric", "log", "activity log", "service health", "resource health", "other"]


# Kinds whose alertContext.properties are the rule's custom properties (for the activity log kinds
# they are the event's own properties).
_RULES: tuple[AlertKind, ...] = ("metric", "log")


_METRIC_CONDITIONS = frozenset(
    {
        "singleresourcemultiplemetriccriteria",
        "multipleresourcemultiplemetriccriteria",
        "dynamicthresholdcriteria",
        "webtestlocationavailabilitycriteria",
    }
)


def read_common_schema(source: str, data: dict[str, Any]) -> Notification:
    essentials: dict[str, Any] = data["essentials"]
    context = as_object(data.get("alertContext"))
    kind = _alert_kind(essentials, context)
    monitor_condition = as_text(essentials.get("monitorCondition"))
    severity_text = as_text(essentials.get("severity"))
    severity = Severity.parse(severity_text)
    fired_at = parse_time(essentials.get("firedDateTime"))
    resolved_at = parse_time(essentials.get("resolvedDateTime"))
    targets = [ResourceId.parse(t) for t in as_texts(essentials.get("alertTargetIDs"))]
    configuration_items = as_texts(essentials.get("configurationItems"))
    rule = as_text(essentials.get("alertRule")) or as_text(essentials.get("monitoringService")) or "Azure Monitor alert"
    description = as_text(essentials.get("description"))
    alert_id = as_text(essentials.get("alertId"))

    status = Status.RESOLVED if lower_text(monitor_condition) == "resolved" else Status.FIRING
    # Activity log alerts are stateless: their monitor condition is always "Fired"
    # (alerts-overview, "Stateless alerts"). Service and resource health say in the event itself
    # that a problem is over, and a reader wants that mail marked resolved.
    resolved_by_event = (
        status is Status.FIRING and kind in ("service health", "resource health") and event_says_resolved(context)
    )
    if resolved_by_event:
        status = Status.RESOLVED
    reading = _read_context(kind, context, status, severity, fired_at, resolved_at)

    # "[Fired] Sev2 <alertRule> on <target resource name>"
    target_name = _target_name(targets, configuration_items)
    condition_label = "[Resolved]" if status is Status.RESOLVED else f"[{monitor_condition or 'Fired'}]"
    headline = " ".join(part for part in (condition_label, severity_text, rule) if part)
    if target_name:
        headline += f" on {target_name}"
    elif kind == "service health" and reading.headline:
        headline += f": {reading.headline}"  # the target is a subscription; the event's title says more

    facts: list[tuple[str, str]] = []
    add = FactAdder(facts)
    add("Alert rule", rule)
    add("Severity", severity_text)
    if not resolved_by_event:
        # A stateless alert's "Fired" next to a green Resolved header reads as a contradiction;
        # the event's own stage or health (below) says what happened.
        add("Monitor condition", monitor_condition)
    add("Signal type", essentials.get("signalType"))
    add("Monitoring service", essentials.get("monitoringService"))
    _add_target_facts(add, targets, configuration_items)
    add("Fired", moment_text(fired_at) or essentials.get("firedDateTime"))
    if status is Status.RESOLVED:
        add("Resolved", moment_text(resolved_at) or essentials.get("resolvedDateTime"))
        if fired_at and resolved_at:
            add("Duration", elapsed_text(resolved_at - fired_at))
    if reading.headline and description:
        add("Rule description", description)  # the event's own title leads instead
    # The activity log repeats the target's id (authorization.scope, properties.entity); once is enough.
    target_ids = {t.raw.strip().lower() for t in targets}
    facts.extend(fact for fact in reading.facts if fact[1].lower() not in target_ids)
    custom = _custom_properties(data.get("customProperties"), context.get("properties") if kind in _RULES else None)
    for key, value in custom:
        if not http_url(value):  # web addresses become links
            add(key, value)

    links = _portal_links(essentials, alert_id, targets)
    links.extend(reading.links)
    links.extend(Link(key, url) for key, value in custom if (url := http_url(value)))
    if kind == "service health":
        links.extend(_service_health_link(context, targets, alert_id))

    return Notification(
        source=source,
        status=status,
        title=headline,
        severity=severity,
        summary=reading.headline or description or reading.sentence,
        description=reading.description,
        facts=facts,
        alerts=reading.alerts,
        links=unique_links(links),
        event=as_text(essentials.get("signalType")),
        # Action groups retry a webhook that fails (learn.microsoft.com/azure/azure-monitor/alerts/
        # action-groups); the retries are deduplicated on this: one alert instance, one state.
        dedup_key=f"{alert_id}|{monitor_condition or ''}" if alert_id else None,
        thread_key=f"alert:{alert_id}" if alert_id else None,  # the same alert fired and resolved
    )


def _portal_links(essentials: dict[str, Any], alert_id: str | None, targets: list[ResourceId]) -> list[Link]:
    links = []
    if investigation := http_url(essentials.get("investigationLink")):
        links.append(Link("Investigate in Azure portal", investigation))
    elif alert_id and "/providers/microsoft.alertsmanagement/alerts/" in alert_id.lower():
        # Cost alerts carry a Microsoft.CostManagement id, which this page cannot show.
        links.append(Link("Investigate in Azure portal", ALERT_PORTAL_URL + urllib.parse.quote(alert_id, safe="")))
    if resource := next((t for t in targets if t.resource_type), None):
        links.append(Link("Open resource in Azure portal", f"{RESOURCE_PORTAL_URL}/{resource.raw.strip().lstrip('/')}"))
    return links


def _service_health_link(context: dict[str, Any], targets: list[ResourceId], alert_id: str | None) -> list[Link]:
    subscription = next((t.subscription for t in targets if t.subscription), None) or subscription_of(alert_id)
    tracking_id = as_text(as_object(context.get("properties")).get("trackingId"))
    if not tracking_id or not subscription or len(subscription) < 6:
        return []
    short = subscription[:3] + subscription[-3:]
    return [Link("Open in Service Health", f"{SERVICE_HEALTH_URL}{urllib.parse.quote(tracking_id)}/{short}")]


def _alert_kind(essentials: dict[str, Any], context: dict[str, Any]) -> AlertKind:
    condition_type = lower_text(context.get("conditionType"))
    service = lower_text(essentials.get("monitoringService")).replace(" ", "")
    operation = lower_text(context.get("operationName"))
    event_source = lower_text(context.get("eventSource"))
    if condition_type == "logquerycriteria" or "searchquery" in {key.lower() for key in context}:
        return "log"
    if condition_type in _METRIC_CONDITIONS or (
        lower_text(essentials.get("signalType")) == "metric"
        and isinstance(as_object(context.get("condition")).get("allOf"), list)
    ):
        return "metric"
    if service == "servicehealth" or operation.startswith("microsoft.servicehealth/"):
        return "service health"
    if (
        service == "resourcehealth"
        or event_source == "resourcehealth"
        or operation.startswith("microsoft.resourcehealth/")
    ):
        return "resource health"
    if lower_text(essentials.get("signalType")) == "activity log" or "operationname" in {
        key.lower() for key in context
    }:
        return "activity log"
    return "other"


def _read_context(
    kind: AlertKind,
    context: dict[str, Any],
    status: Status,
    severity: Severity,
    fired_at: dt.datetime | None,
    resolved_at: dt.datetime | None,
) -> ContextReading:
    if kind == "metric":
        return read_criteria(context, status, severity, fired_at, resolved_at, log=False)
    if kind == "log" and lower_text(context.get("conditionType")) == "logquerycriteria":
        return read_criteria(context, status, severity, fired_at, resolved_at, log=True)
    if kind == "log":
        return read_log_v1(context)
    if kind == "service health":
        return read_service_health(context)
    if kind == "resource health":
        return read_resource_health(context)
    if kind == "activity log":
        return read_activity_log(context)
    facts: list[tuple[str, str]] = []
    flatten(context, facts, limit=MAX_GENERIC_FACTS)
    return ContextReading(facts=facts, links=links_in(context), alerts=[])


def _add_target_facts(add: FactAdder, targets: list[ResourceId], configuration_items: list[str]) -> None:
    shown = targets[:MAX_LIST_ITEMS]
    more = f" (+{len(targets) - len(shown)} more)" if len(targets) > len(shown) else ""
    names = [t.display_name for t in shown if t.display_name]
    add("Resource" if len(names) == 1 else "Resources", ", ".join(names) + more if names else None)
    add("Resource type", ", ".join(unique_texts(t.resource_type for t in shown)))
    add("Resource group", ", ".join(unique_texts(t.resource_group for t in shown)))
    add("Subscription", ", ".join(unique_texts(t.subscription for t in shown)))
    items = [item for item in configuration_items if item.lower() not in {n.lower() for n in names}]
    add("Configuration items", ", ".join(items[:MAX_LIST_ITEMS]))


def _target_name(targets: list[ResourceId], configuration_items: list[str]) -> str | None:
    name = next((t.display_name for t in targets if t.display_name), None)
    count = len(targets)
    if name is None and configuration_items:
        name, count = configuration_items[0], len(configuration_items)
    if name and count > 1:
        return f"{name} (+{count - 1} more)"
    return name


def _custom_properties(*sources: Any) -> list[tuple[str, str]]:
    """``customProperties`` and the alertContext ``properties`` of metric and log rules (often the same)."""
    seen: dict[str, str] = {}
    for source in sources:
        for key, value in as_object(source).items():
            text = as_text(value)
            if text and str(key) not in seen and len(seen) < MAX_LIST_ITEMS:
                seen[str(key)] = clip(text, MAX_FACT_CHARS)
    return list(seen.items())
