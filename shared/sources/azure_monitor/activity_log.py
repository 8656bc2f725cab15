"""Activity log alertContexts: administrative events, service health and resource health."""

from __future__ import annotations

import json
from typing import Any

from shared.sources.azure_monitor.facts import ContextReading, FactAdder, flatten
from shared.sources.azure_monitor.html_text import html_to_text
from shared.sources.azure_monitor.values import (
    MAX_LIST_ITEMS,
    as_list,
    as_object,
    as_text,
    as_texts,
    label_of,
    lower_text,
    moment_text,
)
from shared.sources.readers import parse_time

MAX_COMMUNICATION_CHARS = 20_000


def event_says_resolved(context: dict[str, Any]) -> bool:
    properties = as_object(context.get("properties"))
    operation = lower_text(context.get("operationName"))
    return (
        lower_text(context.get("status")) == "resolved"
        or lower_text(properties.get("stage")) in ("resolved", "complete")
        or operation.endswith("/resolved/action")
        or lower_text(properties.get("currentHealthStatus")) == "available"
    )


def read_activity_log(context: dict[str, Any]) -> ContextReading:
    facts: list[tuple[str, str]] = []
    add = FactAdder(facts)
    properties = as_object(context.get("properties"))
    authorization = as_object(context.get("authorization"))
    operation = as_text(context.get("operationName"))
    add("Operation", operation)
    if as_text(authorization.get("action")) != operation:
        add("Action", authorization.get("action"))
    add("Scope", authorization.get("scope"))
    add("Caller", context.get("caller"))
    add("Status", " / ".join(as_texts([context.get("status"), context.get("subStatus")])))
    add("Level", context.get("level"))
    add("Event source", context.get("eventSource"))
    add("Event time", moment_text(parse_time(context.get("eventTimestamp"))) or context.get("eventTimestamp"))
    add("Correlation ID", context.get("correlationId"))
    # Policy, autoscale and security events put their details in properties; claims never.
    flatten(properties, facts, limit=len(facts) + 12, skip=("description", "message"), max_chars=300)
    description = as_text(properties.get("description")) or as_text(context.get("Activity Log Event Description"))
    sentence = None
    if operation:
        sentence = " ".join(p for p in (operation, lower_text(context.get("status")) or None) if p)
        if caller := as_text(context.get("caller")):
            sentence += f" by {caller}"
    return ContextReading(facts=facts, links=[], alerts=[], sentence=sentence, description=description)


def read_service_health(context: dict[str, Any]) -> ContextReading:
    properties = as_object(context.get("properties"))
    facts: list[tuple[str, str]] = []
    add = FactAdder(facts)
    title = as_text(properties.get("title")) or as_text(properties.get("defaultLanguageTitle"))
    add("Event", title)
    add("Service", properties.get("service"))
    add("Region", properties.get("region"))
    add("Impacted services", _impacted_services(properties.get("impactedServices")))
    add("Incident type", label_of(properties.get("incidentType")))
    add("Stage", properties.get("stage"))
    add("Tracking ID", properties.get("trackingId"))
    add("Impact start", moment_text(parse_time(properties.get("impactStartTime"))) or properties.get("impactStartTime"))
    add(
        "Impact mitigated",
        moment_text(parse_time(properties.get("impactMitigationTime"))) or properties.get("impactMitigationTime"),
    )
    add("Event time", moment_text(parse_time(context.get("eventTimestamp"))) or context.get("eventTimestamp"))
    communication = as_text(properties.get("communication")) or as_text(properties.get("defaultLanguageContent"))
    return ContextReading(
        facts=facts,
        links=[],
        alerts=[],
        headline=title,
        description=(html_to_text(communication)[:MAX_COMMUNICATION_CHARS] or None) if communication else None,
    )


def read_resource_health(context: dict[str, Any]) -> ContextReading:
    properties = as_object(context.get("properties"))
    facts: list[tuple[str, str]] = []
    add = FactAdder(facts)
    title = as_text(properties.get("title"))
    add("Event", title)
    add("Current health", properties.get("currentHealthStatus"))
    add("Previous health", properties.get("previousHealthStatus"))
    add("Cause", label_of(properties.get("cause")))
    add("Type", properties.get("type"))
    add("Operation", context.get("operationName"))
    add("Event time", moment_text(parse_time(context.get("eventTimestamp"))) or context.get("eventTimestamp"))
    details = as_text(properties.get("details"))
    return ContextReading(
        facts=facts,
        links=[],
        alerts=[],
        headline=title,
        description=(html_to_text(details) or None) if details else None,
    )


def _impacted_services(value: Any) -> str | None:
    """The JSON string ``[{"ImpactedRegions":[{"RegionName":...}],"ServiceName":...}]`` as one line."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return as_text(value)
    services = []
    for entry in as_list(value)[:MAX_LIST_ITEMS]:
        entry = as_object(entry)
        name = as_text(entry.get("ServiceName"))
        regions = [as_text(as_object(region).get("RegionName")) for region in as_list(entry.get("ImpactedRegions"))]
        region_names = ", ".join(r for r in regions if r)
        if name:
            services.append(f"{name} ({region_names})" if region_names else name)
    return "; ".join(services) or None
