"""The older per-type payloads (alerts-non-common-schema-definitions, alerts-webhooks) and anything else."""

from __future__ import annotations

from typing import Any

from shared.sources.azure_monitor.facts import MAX_GENERIC_FACTS, flatten, links_in
from shared.sources.azure_monitor.resource_id import ResourceId
from shared.sources.azure_monitor.values import as_object, as_text, lower_text, unique_links
from shared.sources.notification import Notification, Severity, Status

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
