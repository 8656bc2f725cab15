"""The older per-type payloads (alerts-non-common-schema-definitions, alerts-webhooks) and anything else."""

from __future__ import annotations

from typing import Any

from shared.sources.azure_monitor.facts import MAX_GENERIC_FACTS, FactAdder, flatten, links_in
from shared.sources.azure_monitor.metric_log import read_criteria, read_log_v1
from shared.sources.azure_monitor.resource_id import ResourceId
from shared.sources.azure_monitor.values import (
    as_list,
    as_object,
    as_text,
    http_url,
    lower_text,
    moment_text,
    unique_links,
)
from shared.sources.notification import Link, Notification, Severity, Status
from shared.sources.readers import parse_time

# The metric alert webhook before the common schema (alerts-webhooks, "AzureMonitorMetricAlert").
METRIC_ALERT_SCHEMA = "azuremonitormetricalert"  # compared lower-cased

# The fields of the older payloads that name the alert, best first.
_GENERIC_NAME_KEYS = ("name", "alertrulename", "alertrule", "rulename", "title", "budgetname")


_GENERIC_STATUSES = {
    "activated": Status.FIRING,
    "fired": Status.FIRING,
    "resolved": Status.RESOLVED,
    "deactivated": Status.RESOLVED,
}


_GENERIC_DESCRIPTION_KEYS = ("description", "message", "detectionsummary")


_GENERIC_STATUS_KEYS = ("status", "monitorcondition")


def read_legacy(source: str, payload: dict[str, Any]) -> Notification:
    """Older per-type payloads, budgets, and whatever else an action group sends."""
    data = as_object(payload.get("data")) or payload
    context = as_object(data.get("context"))
    condition = as_object(context.get("condition"))
    if lower_text(payload.get("schemaId")) == METRIC_ALERT_SCHEMA or as_list(condition.get("allOf")):
        return read_metric_alert(source, payload, data, context)
    if as_text(condition.get("metricName")) and "allOf" not in condition:
        # A classic metric alert (alerts-webhooks, "classic metric alerts"): one criterion, the
        # window in minutes. Read as the newer payload's single criterion is.
        window = as_text(condition.get("windowSize"))
        single = {
            **context,
            "condition": {
                "allOf": [condition],
                "windowSize": f"PT{window}M" if window and window.isdigit() else window,
            },
        }
        return read_metric_alert(source, payload, data, single)
    if {"searchquery", "alertrulename"} <= {str(key).lower() for key in data}:
        return read_log_search(source, payload, data)
    if isinstance(context.get("activityLog"), dict):
        context = context["activityLog"]  # Microsoft.Insights/activityLogs
    # Lower-cased keys: the V1 log payloads spell the same fields "AlertRuleName", "Description"...
    in_context, in_data, in_payload = (
        {str(key).lower(): value for key, value in place.items()} for place in (context, data, payload)
    )

    def first(keys: tuple[str, ...], *places: dict[str, Any]) -> str | None:
        for place in places or (in_context, in_data, in_payload):
            for key in keys:
                if text := as_text(place.get(key)):
                    return text
        return None

    # The alert's state is in data (activity log: context.status is the operation's, "Succeeded").
    status_text = first(_GENERIC_STATUS_KEYS, in_data, in_payload, in_context)
    status = _GENERIC_STATUSES.get(lower_text(status_text), Status.INFO)
    # An activity log event is best named by its title (service health), else by its operation.
    event_title = as_text(as_object(context.get("properties")).get("title"))
    name = first(_GENERIC_NAME_KEYS) or event_title or first(("operationname",))
    severity_text = first(("severity", "level"))
    severity = Severity.parse(f"sev{severity_text}" if severity_text and severity_text.isdigit() else severity_text)
    resource_id = first(("resourceid",))
    resource = first(("resourcename",)) or (ResourceId.parse(resource_id).display_name if resource_id else None)
    schema = as_text(payload.get("schemaId"))

    headline = " ".join(
        p for p in (f"[{status_text}]" if status_text else None, name or "Azure Monitor notification") if p
    )
    if resource and resource != name:
        headline += f" on {resource}"
    if schema and not (name and status_text):
        headline += f" ({schema})"

    facts: list[tuple[str, str]] = []
    for place in (context, data if data is not payload else {}, payload):
        skip = ("context", "data") if place is not context else ()
        flatten(place, facts, limit=MAX_GENERIC_FACTS, skip=skip)
    return Notification(
        source=source,
        status=status,
        title=headline,
        severity=severity,
        summary=first(_GENERIC_DESCRIPTION_KEYS),
        facts=facts,
        links=unique_links([link for place in (context, data, payload) for link in links_in(place)]),
        event=schema,
    )


def read_metric_alert(
    source: str, payload: dict[str, Any], data: dict[str, Any], context: dict[str, Any]
) -> Notification:
    """The pre-common-schema metric alert: its criteria read as the common schema's are, so the mail
    says which metric, compared how, with which threshold and value, and at which severity
    (``context.severity`` "3" is Sev3; alerts-webhooks, "Metric alerts"; alerts-overview, severities)."""
    status_text = as_text(data.get("status"))
    status = _GENERIC_STATUSES.get(lower_text(status_text), Status.INFO)
    severity_text = as_text(context.get("severity"))
    severity_label = f"Sev{severity_text}" if severity_text and severity_text.isdigit() else severity_text
    at = parse_time(context.get("timestamp"))
    reading = read_criteria(
        context, status, Severity.parse(severity_label), at, at if status is Status.RESOLVED else None, log=False
    )
    name = as_text(context.get("name")) or "Azure Monitor metric alert"
    resource_id = as_text(context.get("resourceId"))
    parsed = ResourceId.parse(resource_id) if resource_id else None
    resource = as_text(context.get("resourceName")) or (parsed.display_name if parsed else None)
    headline = " ".join(p for p in (f"[{status_text}]" if status_text else None, severity_label, name) if p)
    if resource and resource != name:
        headline += f" on {resource}"

    facts: list[tuple[str, str]] = []
    add = FactAdder(facts)
    add("Alert rule", name)
    add("Severity", severity_label)
    add("Status", status_text)
    add("Resource", resource)
    add("Resource type", context.get("resourceType") or (parsed.resource_type if parsed else None))
    add("Resource group", context.get("resourceGroupName") or (parsed.resource_group if parsed else None))
    add("Subscription", context.get("subscriptionId") or (parsed.subscription if parsed else None))
    add("Resolved" if status is Status.RESOLVED else "Fired", moment_text(at) or context.get("timestamp"))
    description = as_text(context.get("description"))
    if description and reading.sentence:
        add("Rule description", description)
    facts.extend(reading.facts)
    links = [Link("Open resource in Azure portal", url)] if (url := http_url(context.get("portalLink"))) else []
    links.extend(reading.links)
    for key, value in as_object(data.get("properties")).items():
        if url := http_url(value):
            links.append(Link(str(key), url))
        else:
            add(str(key), value)
    return Notification(
        source=source,
        status=status,
        title=headline,
        severity=Severity.parse(severity_label),
        summary=reading.sentence or description,
        facts=facts,
        alerts=reading.alerts,
        links=unique_links(links),
        event=as_text(payload.get("schemaId")),
    )


def read_log_search(source: str, payload: dict[str, Any], data: dict[str, Any]) -> Notification:
    """The log search alert webhook before the common schema (alerts-log-webhook): the query, its
    result count against the threshold, the severity ("3" is Sev3) and the portal link.

    It names the threshold ``AlertThresholdOperator``/``AlertThresholdValue`` where the common
    schema's V1 context says ``Operator``/``Threshold``; otherwise read_log_v1 reads it. Such an
    alert is sent when the query met its threshold and never resolves: it fires.
    """
    fields = {str(key).lower(): value for key, value in data.items()}
    reading = read_log_v1(
        {**data, "Operator": fields.get("alertthresholdoperator"), "Threshold": fields.get("alertthresholdvalue")}
    )
    name = as_text(fields.get("alertrulename")) or "Azure Monitor log search alert"
    severity_text = as_text(fields.get("severity"))
    severity_label = f"Sev{severity_text}" if severity_text and severity_text.isdigit() else severity_text
    resource_id = as_text(fields.get("resourceid"))
    resource = ResourceId.parse(resource_id).display_name if resource_id else None
    headline = " ".join(p for p in (severity_label, name) if p)
    if resource and resource != name:
        headline += f" on {resource}"
    facts: list[tuple[str, str]] = []
    add = FactAdder(facts)
    add("Alert rule", name)
    add("Severity", severity_label)
    add("Resource", resource)
    description = as_text(fields.get("description"))
    if description and reading.sentence:
        add("Rule description", description)
    facts.extend(reading.facts)
    return Notification(
        source=source,
        status=Status.FIRING,
        title=headline,
        severity=Severity.parse(severity_label),
        summary=reading.sentence or description,
        facts=facts,
        links=reading.links,
        event=as_text(payload.get("schemaId")),
    )
