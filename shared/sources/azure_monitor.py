"""Azure Monitor action-group webhooks: the common alert schema, and a generic mail for the rest.

Formats, from learn.microsoft.com/azure/azure-monitor/alerts/:
- ``alerts-common-schema``: ``schemaId`` "azureMonitorCommonAlertSchema"; ``data.essentials`` (the
  same fields for every alert type), ``data.alertContext`` (what caused the alert, one shape per
  alert type) and ``data.customProperties`` (the rule's own key/value pairs, null when unset).
- ``alerts-payload-samples``: sample payloads of metric (static, dynamic, availability test), log
  search (V1 ``SearchQuery``..., V2 ``conditionType`` "LogQueryCriteria"), activity log, service
  health and resource health alerts.
- ``alerts-non-common-schema-definitions`` and ``alerts-webhooks``: the older per-type payloads
  (``"status": "Activated"`` + ``context``), which get a generic mail built from whatever they hold.

Parsing is lenient: every field may be missing, null or of another type (the samples themselves
send ``"level": 3`` and ``"level": "Informational"``), and unknown fields are ignored.

One Alert block per criterion is made only when a metric or log search rule has several
(``condition.allOf`` with more than one entry): each then gets its own value, threshold and
dimensions. A single criterion is shown as facts, which read better than a block of one.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, Literal

from shared.sources.base import HookRequest, parse_time, require_object, text_of
from shared.sources.notification import Alert, Link, Notification, Severity, Status, elapsed_text, time_text

COMMON_SCHEMA_ID = "azuremonitorcommonalertschema"  # compared lower-cased

# The alert's page in the portal, for payloads without ``essentials.investigationLink`` (added to
# the schema in 2024; older payloads and the documented samples do not carry it).
ALERT_PORTAL_URL = "https://portal.azure.com/#view/Microsoft_Azure_Monitoring_Alerts/AlertDetails.ReactView/alertId/"
# A resource's overview blade; the form the older payloads' ``portalLink`` uses.
RESOURCE_PORTAL_URL = "https://portal.azure.com/#resource"
# "https://app.azure.com/h/<trackingId>/<first and last three characters of the subscription id>"
# (service-health-alert-webhook-guide: "Creating a direct link to Azure service health").
SERVICE_HEALTH_URL = "https://app.azure.com/h/"

MAX_FACT_CHARS = 1000
MAX_LIST_ITEMS = 20  # dimensions, targets, custom properties
MAX_GENERIC_FACTS = 30
MAX_COMMUNICATION_CHARS = 20_000
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
# Never printed: a caller's whole token (activity log ``claims``), or HTML made for Azure's own mail.
_NOISY_KEYS = frozenset({"claims", "impactedservicestablerows", "defaultlanguagecontent", "httprequest", "hierarchy"})
_ISO_DURATION_RE = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?", re.IGNORECASE)
_WORD_BOUNDARY_RE = re.compile(r"(?<=[a-z])(?=[A-Z])")

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


def to_notification(request: HookRequest) -> Notification:
    payload = require_object(request.payload, "an Azure Monitor alert")
    data = payload.get("data")
    is_common = _lower(payload.get("schemaId")) in (COMMON_SCHEMA_ID, "")
    if is_common and isinstance(data, dict) and isinstance(data.get("essentials"), dict):
        return _common_schema(request.source, data)
    if isinstance(payload.get("essentials"), dict) and "schemaId" not in payload:
        return _common_schema(request.source, payload)  # a forwarder that posts only ``data``
    return _generic(request.source, payload)


# -- common alert schema -----------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceId:
    """The parts of an Azure Resource Manager id that a reader needs."""

    raw: str
    subscription: str | None
    resource_group: str | None
    resource_type: str | None  # "microsoft.compute/virtualmachines"
    name: str | None  # the last segment; None for a subscription or resource group id

    @classmethod
    def parse(cls, raw: str) -> ResourceId:
        parts = [part for part in raw.strip().split("/") if part]
        lowered = [part.lower() for part in parts]

        def after(key: str) -> str | None:
            if key in lowered and lowered.index(key) + 1 < len(parts):
                return parts[lowered.index(key) + 1]
            return None

        resource_type = name = None
        if "providers" in lowered:
            at = lowered.index("providers")
            tail = parts[at + 1 :]
            # namespace, then type/name pairs: Microsoft.Sql/servers/a/databases/b → type servers/databases
            if len(tail) >= 3:
                resource_type = "/".join([tail[0], *tail[1::2]])
                name = tail[-1]
        elif "resourcegroups" not in lowered and "subscriptions" not in lowered and parts:
            name = parts[-1]  # not an ARM id at all (a computer name, say): show it as it is
        return cls(raw, after("subscriptions"), after("resourcegroups"), resource_type, name)

    @property
    def display_name(self) -> str | None:
        return self.name or self.resource_group


def _common_schema(source: str, data: dict[str, Any]) -> Notification:
    essentials: dict[str, Any] = data["essentials"]
    context = _object(data.get("alertContext"))
    kind = _alert_kind(essentials, context)
    monitor_condition = _text(essentials.get("monitorCondition"))
    severity_text = _text(essentials.get("severity"))
    severity = Severity.parse(severity_text)
    fired_at = parse_time(essentials.get("firedDateTime"))
    resolved_at = parse_time(essentials.get("resolvedDateTime"))
    targets = [ResourceId.parse(t) for t in _texts(essentials.get("alertTargetIDs"))]
    configuration_items = _texts(essentials.get("configurationItems"))
    rule = _text(essentials.get("alertRule")) or _text(essentials.get("monitoringService")) or "Azure Monitor alert"
    description = _text(essentials.get("description"))
    alert_id = _text(essentials.get("alertId"))

    status = Status.RESOLVED if _lower(monitor_condition) == "resolved" else Status.FIRING
    # Activity log alerts are stateless: their monitor condition is always "Fired"
    # (alerts-overview, "Stateless alerts"). Service and resource health say in the event itself
    # that a problem is over, and a reader wants that mail marked resolved.
    if status is Status.FIRING and kind in ("service health", "resource health") and _event_says_resolved(context):
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
    add = _FactAdder(facts)
    add("Alert rule", rule)
    add("Severity", severity_text)
    add("Monitor condition", monitor_condition)
    add("Signal type", essentials.get("signalType"))
    add("Monitoring service", essentials.get("monitoringService"))
    _add_target_facts(add, targets, configuration_items)
    add("Fired", _when(fired_at) or essentials.get("firedDateTime"))
    if status is Status.RESOLVED:
        add("Resolved", _when(resolved_at) or essentials.get("resolvedDateTime"))
        if fired_at and resolved_at:
            add("Duration", elapsed_text(resolved_at - fired_at))
    if reading.headline and description:
        add("Rule description", description)  # the event's own title leads instead
    # The activity log repeats the target's id (authorization.scope, properties.entity); once is enough.
    target_ids = {t.raw.strip().lower() for t in targets}
    facts.extend(fact for fact in reading.facts if fact[1].lower() not in target_ids)
    custom = _custom_properties(data.get("customProperties"), context.get("properties") if kind in _RULES else None)
    for key, value in custom:
        if not _http_url(value):  # web addresses become links
            add(key, value)

    links = _portal_links(essentials, alert_id, targets)
    links.extend(reading.links)
    links.extend(Link(key, url) for key, value in custom if (url := _http_url(value)))
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
        links=_unique_links(links),
        event=_text(essentials.get("signalType")),
        # Issue 5 deduplicates Azure's retries on this: one alert instance, one state.
        dedup_key=f"{alert_id}|{monitor_condition or ''}" if alert_id else None,
    )


def _portal_links(essentials: dict[str, Any], alert_id: str | None, targets: list[ResourceId]) -> list[Link]:
    links = []
    if investigation := _http_url(essentials.get("investigationLink")):
        links.append(Link("Investigate in Azure portal", investigation))
    elif alert_id and "/providers/microsoft.alertsmanagement/alerts/" in alert_id.lower():
        # Cost alerts carry a Microsoft.CostManagement id, which this page cannot show.
        links.append(Link("Investigate in Azure portal", ALERT_PORTAL_URL + urllib.parse.quote(alert_id, safe="")))
    if resource := next((t for t in targets if t.resource_type), None):
        links.append(Link("Open resource in Azure portal", f"{RESOURCE_PORTAL_URL}/{resource.raw.strip().lstrip('/')}"))
    return links


def _service_health_link(context: dict[str, Any], targets: list[ResourceId], alert_id: str | None) -> list[Link]:
    subscription = next((t.subscription for t in targets if t.subscription), None) or _subscription_of(alert_id)
    tracking_id = _text(_object(context.get("properties")).get("trackingId"))
    if not tracking_id or not subscription or len(subscription) < 6:
        return []
    short = subscription[:3] + subscription[-3:]
    return [Link("Open in Service Health", f"{SERVICE_HEALTH_URL}{urllib.parse.quote(tracking_id)}/{short}")]


@dataclass
class _ContextReading:
    """What an alertContext adds to the mail."""

    facts: list[tuple[str, str]]
    links: list[Link]
    alerts: list[Alert]
    sentence: str | None = None  # what happened, in words, when the rule has no description
    headline: str | None = None  # an event's own title (service and resource health)
    description: str | None = None  # longer text: a service health communication


def _alert_kind(essentials: dict[str, Any], context: dict[str, Any]) -> AlertKind:
    condition_type = _lower(context.get("conditionType"))
    service = _lower(essentials.get("monitoringService")).replace(" ", "")
    operation = _lower(context.get("operationName"))
    event_source = _lower(context.get("eventSource"))
    if condition_type == "logquerycriteria" or "searchquery" in {key.lower() for key in context}:
        return "log"
    if condition_type in _METRIC_CONDITIONS or (
        _lower(essentials.get("signalType")) == "metric"
        and isinstance(_object(context.get("condition")).get("allOf"), list)
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
    if _lower(essentials.get("signalType")) == "activity log" or "operationname" in {key.lower() for key in context}:
        return "activity log"
    return "other"


def _event_says_resolved(context: dict[str, Any]) -> bool:
    properties = _object(context.get("properties"))
    operation = _lower(context.get("operationName"))
    return (
        _lower(context.get("status")) == "resolved"
        or _lower(properties.get("stage")) in ("resolved", "complete")
        or operation.endswith("/resolved/action")
        or _lower(properties.get("currentHealthStatus")) == "available"
    )


def _read_context(
    kind: AlertKind,
    context: dict[str, Any],
    status: Status,
    severity: Severity,
    fired_at: dt.datetime | None,
    resolved_at: dt.datetime | None,
) -> _ContextReading:
    if kind == "metric":
        return _read_criteria(context, status, severity, fired_at, resolved_at, log=False)
    if kind == "log" and _lower(context.get("conditionType")) == "logquerycriteria":
        return _read_criteria(context, status, severity, fired_at, resolved_at, log=True)
    if kind == "log":
        return _read_log_v1(context)
    if kind == "service health":
        return _read_service_health(context)
    if kind == "resource health":
        return _read_resource_health(context)
    if kind == "activity log":
        return _read_activity_log(context)
    facts: list[tuple[str, str]] = []
    _flatten(context, facts, limit=MAX_GENERIC_FACTS)
    return _ContextReading(facts=facts, links=_links_in(context), alerts=[])


def _read_criteria(
    context: dict[str, Any],
    status: Status,
    severity: Severity,
    fired_at: dt.datetime | None,
    resolved_at: dt.datetime | None,
    *,
    log: bool,
) -> _ContextReading:
    """Metric alerts and V2 log search alerts: ``condition.allOf`` lists one entry per criterion."""
    condition = _object(context.get("condition"))
    criteria = [c for c in _list(condition.get("allOf")) if isinstance(c, dict)][:MAX_LIST_ITEMS]
    window = _iso_duration_text(condition.get("windowSize"))
    facts: list[tuple[str, str]] = []
    add = _FactAdder(facts)
    links: list[Link] = []
    alerts: list[Alert] = []
    sentences = [_criterion_sentence(c, window, log=log) for c in criteria]
    if len(criteria) == 1:
        _add_criterion_facts(add, criteria[0], log=log)
        links.extend(_criterion_links(criteria[0]))
    add("Window", window)
    add("Evaluated", _span(condition.get("windowStartTime"), condition.get("windowEndTime")))
    add("Condition type", _label(context.get("conditionType")))
    if len(criteria) > 1:
        for criterion, sentence in zip(criteria, sentences, strict=True):
            values: list[tuple[str, str]] = []
            _add_criterion_facts(_FactAdder(values), criterion, log=log, with_name=False)
            name = _text(criterion.get("searchQuery")) if log else _metric_name(criterion)
            alerts.append(
                Alert(
                    status=status,
                    name=_clip(name or "condition", 120),
                    severity=severity,
                    summary=sentence,
                    labels=dict(_dimensions(criterion.get("dimensions"))),
                    values=dict(values),
                    starts_at=fired_at,
                    ends_at=resolved_at if status is Status.RESOLVED else None,
                    links=_criterion_links(criterion),
                )
            )
    return _ContextReading(
        facts=facts, links=links, alerts=alerts, sentence="; ".join(s for s in sentences if s) or None
    )


def _metric_name(criterion: dict[str, Any]) -> str | None:
    return _text(criterion.get("metricName")) or _text(criterion.get("webTestName"))


def _add_criterion_facts(add: _FactAdder, criterion: dict[str, Any], *, log: bool, with_name: bool = True) -> None:
    if log:
        if with_name:
            add("Query", criterion.get("searchQuery"))
        add("Measure column", criterion.get("metricMeasureColumn"))
    else:
        if with_name:
            add("Metric", _metric_name(criterion))
        add("Availability test", criterion.get("webTestName"))
    add("Value", _number(criterion.get("metricValue")))
    add("Operator", _label(criterion.get("operator")))
    add("Threshold", _number(criterion.get("threshold")))
    add("Aggregation", criterion.get("timeAggregation"))
    add("Sensitivity", criterion.get("alertSensitivity"))
    add("Failing periods", _failing_periods(criterion.get("failingPeriods")))
    if with_name:
        add("Dimensions", _dimensions_text(criterion.get("dimensions")))


def _criterion_sentence(criterion: dict[str, Any], window: str | None, *, log: bool) -> str | None:
    """'Average Percentage CPU was 31.11 (threshold: greater than 25, over 5 min) for ApiName = GetBlob'."""
    subject = "The query result" if log else _metric_name(criterion)
    value = _number(criterion.get("metricValue"))
    if not subject or value is None:
        return None
    aggregation = _text(criterion.get("timeAggregation"))
    if aggregation and not log:
        subject = f"{aggregation} {subject}"
    elif aggregation:
        subject = f"The query result ({aggregation.lower()})"
    test = " ".join(p for p in (_words(criterion.get("operator")), _number(criterion.get("threshold"))) if p)
    detail = ", ".join(p for p in (test, f"over {window}" if window else None) if p)
    dimensions = _dimensions_text(criterion.get("dimensions"))
    sentence = f"{subject} was {value}" + (f" (threshold: {detail})" if detail else "")
    return sentence + (f" for {dimensions}" if dimensions else "")


def _criterion_links(criterion: dict[str, Any]) -> list[Link]:
    # The *API links need a Log Analytics token; only the portal links open in a browser.
    filtered = _http_url(criterion.get("linkToFilteredSearchResultsUI"))
    plain = _http_url(criterion.get("linkToSearchResultsUI"))
    links = [Link("View filtered search results", filtered)] if filtered else []
    if plain and plain != filtered:
        links.append(Link("View search results", plain))
    return links


def _read_log_v1(context: dict[str, Any]) -> _ContextReading:
    """Log search alerts before API 2020-05-01 (Log Analytics / Application Insights)."""
    fields = {key.lower(): value for key, value in context.items()}
    facts: list[tuple[str, str]] = []
    add = _FactAdder(facts)
    count = _number(fields.get("resultcount"))
    add("Query", fields.get("searchquery"))
    add("Result count", count)
    add("Alert type", fields.get("alerttype"))
    add("Operator", _label(fields.get("operator")))
    add("Threshold", _number(fields.get("threshold")))
    add("Search interval", _span(fields.get("searchintervalstarttimeutc"), fields.get("searchintervalendtimeutc")))
    add("Dimensions", _dimensions_text(fields.get("dimensions")))
    add("Affected items", ", ".join(_texts(fields.get("affectedconfigurationitems"))[:MAX_LIST_ITEMS]))
    add("Workspace", fields.get("workspaceid"))
    add("Application", fields.get("applicationid"))
    if _lower(fields.get("includedsearchresults")) == "false":
        add("Search results", "too large to be included; open the link")
    links: list[Link] = []
    filtered = _http_url(fields.get("linktofilteredsearchresultsui"))
    plain = _http_url(fields.get("linktosearchresults"))
    if filtered:
        links.append(Link("View filtered search results", filtered))
    if plain and plain != filtered:
        links.append(Link("View search results", plain))
    sentence = None
    if count is not None:
        test = " ".join(p for p in (_words(fields.get("operator")), _number(fields.get("threshold"))) if p)
        sentence = f"The query returned {count} result{'' if count == '1' else 's'}" + (
            f" (threshold: {test})" if test else ""
        )
    return _ContextReading(facts=facts, links=links, alerts=[], sentence=sentence)


def _read_activity_log(context: dict[str, Any]) -> _ContextReading:
    facts: list[tuple[str, str]] = []
    add = _FactAdder(facts)
    properties = _object(context.get("properties"))
    authorization = _object(context.get("authorization"))
    operation = _text(context.get("operationName"))
    add("Operation", operation)
    if _text(authorization.get("action")) != operation:
        add("Action", authorization.get("action"))
    add("Scope", authorization.get("scope"))
    add("Caller", context.get("caller"))
    add("Status", " / ".join(_texts([context.get("status"), context.get("subStatus")])))
    add("Level", context.get("level"))
    add("Event source", context.get("eventSource"))
    add("Event time", _when(parse_time(context.get("eventTimestamp"))) or context.get("eventTimestamp"))
    add("Correlation ID", context.get("correlationId"))
    # Policy, autoscale and security events put their details in properties; claims never.
    _flatten(properties, facts, limit=len(facts) + 12, skip=("description", "message"), max_chars=300)
    description = _text(properties.get("description")) or _text(context.get("Activity Log Event Description"))
    sentence = None
    if operation:
        sentence = " ".join(p for p in (operation, _lower(context.get("status")) or None) if p)
        if caller := _text(context.get("caller")):
            sentence += f" by {caller}"
    return _ContextReading(facts=facts, links=[], alerts=[], sentence=sentence, description=description)


def _read_service_health(context: dict[str, Any]) -> _ContextReading:
    properties = _object(context.get("properties"))
    facts: list[tuple[str, str]] = []
    add = _FactAdder(facts)
    title = _text(properties.get("title")) or _text(properties.get("defaultLanguageTitle"))
    add("Event", title)
    add("Service", properties.get("service"))
    add("Region", properties.get("region"))
    add("Impacted services", _impacted_services(properties.get("impactedServices")))
    add("Incident type", _label(properties.get("incidentType")))
    add("Stage", properties.get("stage"))
    add("Tracking ID", properties.get("trackingId"))
    add("Impact start", _when(parse_time(properties.get("impactStartTime"))) or properties.get("impactStartTime"))
    add(
        "Impact mitigated",
        _when(parse_time(properties.get("impactMitigationTime"))) or properties.get("impactMitigationTime"),
    )
    add("Event time", _when(parse_time(context.get("eventTimestamp"))) or context.get("eventTimestamp"))
    communication = _text(properties.get("communication")) or _text(properties.get("defaultLanguageContent"))
    return _ContextReading(
        facts=facts,
        links=[],
        alerts=[],
        headline=title,
        description=(html_to_text(communication)[:MAX_COMMUNICATION_CHARS] or None) if communication else None,
    )


def _read_resource_health(context: dict[str, Any]) -> _ContextReading:
    properties = _object(context.get("properties"))
    facts: list[tuple[str, str]] = []
    add = _FactAdder(facts)
    title = _text(properties.get("title"))
    add("Event", title)
    add("Current health", properties.get("currentHealthStatus"))
    add("Previous health", properties.get("previousHealthStatus"))
    add("Cause", _label(properties.get("cause")))
    add("Type", properties.get("type"))
    add("Operation", context.get("operationName"))
    add("Event time", _when(parse_time(context.get("eventTimestamp"))) or context.get("eventTimestamp"))
    details = _text(properties.get("details"))
    return _ContextReading(
        facts=facts,
        links=[],
        alerts=[],
        headline=title,
        description=(html_to_text(details) or None) if details else None,
    )


# -- other Azure Monitor payloads ------------------------------------------------------------


def _generic(source: str, payload: dict[str, Any]) -> Notification:
    """Older per-type payloads, budgets, and whatever else an action group sends."""
    data = _object(payload.get("data")) or payload
    context = _object(data.get("context"))
    if isinstance(context.get("activityLog"), dict):
        context = context["activityLog"]  # Microsoft.Insights/activityLogs
    # Lower-cased keys: the V1 log payloads spell the same fields "AlertRuleName", "Description"...
    in_context, in_data, in_payload = (
        {str(key).lower(): value for key, value in place.items()} for place in (context, data, payload)
    )

    def first(keys: tuple[str, ...], *places: dict[str, Any]) -> str | None:
        for place in places or (in_context, in_data, in_payload):
            for key in keys:
                if text := _text(place.get(key)):
                    return text
        return None

    # The alert's state is in data (activity log: context.status is the operation's, "Succeeded").
    status_text = first(_GENERIC_STATUS_KEYS, in_data, in_payload, in_context)
    status = _GENERIC_STATUSES.get(_lower(status_text), Status.INFO)
    # An activity log event is best named by its title (service health), else by its operation.
    event_title = _text(_object(context.get("properties")).get("title"))
    name = first(_GENERIC_NAME_KEYS) or event_title or first(("operationname",))
    severity_text = first(("severity", "level"))
    severity = Severity.parse(f"sev{severity_text}" if severity_text and severity_text.isdigit() else severity_text)
    resource_id = first(("resourceid",))
    resource = first(("resourcename",)) or (ResourceId.parse(resource_id).display_name if resource_id else None)
    schema = _text(payload.get("schemaId"))

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
        _flatten(place, facts, limit=MAX_GENERIC_FACTS, skip=skip)
    return Notification(
        source=source,
        status=status,
        title=headline,
        severity=severity,
        summary=first(_GENERIC_DESCRIPTION_KEYS),
        facts=facts,
        links=_unique_links([link for place in (context, data, payload) for link in _links_in(place)]),
        event=schema,
    )


# -- service health HTML ------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    """Service health ``communication`` HTML as plain text: tags dropped, blocks become lines.

    Only text is kept, never markup, so nothing in it can act as HTML when the template shows it
    (escaped) again. A link keeps its text, plus its address when the text does not show it.
    """

    _BLOCKS = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table"})  # own paragraph
    _LINES = frozenset({"br", "li", "tr"})  # start a new line
    _HIDDEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._hidden_depth = 0
        self._href: str | None = None
        self._link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden_depth += 1
        elif tag in self._BLOCKS or tag in self._LINES:
            self.chunks.append("\n• " if tag == "li" else "\n")
        elif tag == "a":
            self._href = next((value for key, value in attrs if key == "href" and value), None)
            self._link_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in self._BLOCKS:
            self.chunks.append("\n")
        elif tag == "a" and self._href:
            shown = "".join(self._link_text).strip()
            url = _http_url(self._href)
            if url and url not in shown and urllib.parse.unquote(url) not in shown:
                self.chunks.append(f" ({url})")
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._hidden_depth:
            return
        self.chunks.append(data)
        if self._href is not None:
            self._link_text.append(data)


def html_to_text(markup: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(markup)
    extractor.close()
    text = "".join(extractor.chunks).replace("\xa0", " ")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    paragraphs: list[str] = []
    for line in lines:
        if line or (paragraphs and paragraphs[-1]):
            paragraphs.append(line)
    return "\n".join(paragraphs).strip()


# -- small readers ---------------------------------------------------------------------------------


class _FactAdder:
    def __init__(self, facts: list[tuple[str, str]]) -> None:
        self._facts = facts

    def __call__(self, name: str, value: Any) -> None:
        text = _text(value)
        if text:
            self._facts.append((name, _clip(text, MAX_FACT_CHARS)))


def _add_target_facts(add: _FactAdder, targets: list[ResourceId], configuration_items: list[str]) -> None:
    shown = targets[:MAX_LIST_ITEMS]
    more = f" (+{len(targets) - len(shown)} more)" if len(targets) > len(shown) else ""
    names = [t.display_name for t in shown if t.display_name]
    add("Resource" if len(names) == 1 else "Resources", ", ".join(names) + more if names else None)
    add("Resource type", ", ".join(_unique(t.resource_type for t in shown)))
    add("Resource group", ", ".join(_unique(t.resource_group for t in shown)))
    add("Subscription", ", ".join(_unique(t.subscription for t in shown)))
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
        for key, value in _object(source).items():
            text = _text(value)
            if text and str(key) not in seen and len(seen) < MAX_LIST_ITEMS:
                seen[str(key)] = _clip(text, MAX_FACT_CHARS)
    return list(seen.items())


def _impacted_services(value: Any) -> str | None:
    """The JSON string ``[{"ImpactedRegions":[{"RegionName":...}],"ServiceName":...}]`` as one line."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return _text(value)
    services = []
    for entry in _list(value)[:MAX_LIST_ITEMS]:
        entry = _object(entry)
        name = _text(entry.get("ServiceName"))
        regions = [_text(_object(region).get("RegionName")) for region in _list(entry.get("ImpactedRegions"))]
        region_names = ", ".join(r for r in regions if r)
        if name:
            services.append(f"{name} ({region_names})" if region_names else name)
    return "; ".join(services) or None


def _dimensions(value: Any) -> Iterator[tuple[str, str]]:
    for entry in _list(value)[:MAX_LIST_ITEMS]:
        entry = _object(entry)
        name, text = _text(entry.get("name")), _text(entry.get("value"))
        if name and text:
            yield name, text


def _dimensions_text(value: Any) -> str | None:
    return ", ".join(f"{name} = {text}" for name, text in _dimensions(value)) or None


def _failing_periods(value: Any) -> str | None:
    periods = _object(value)
    failing, total = _number(periods.get("minFailingPeriodsToAlert")), _number(periods.get("numberOfEvaluationPeriods"))
    return f"{failing} of {total}" if failing and total else None


def _flatten(
    value: dict[str, Any],
    facts: list[tuple[str, str]],
    *,
    limit: int,
    prefix: str = "",
    depth: int = 0,
    skip: tuple[str, ...] = (),
    max_chars: int = MAX_FACT_CHARS,
) -> None:
    """Scalars of an object (and of the objects in it, two levels down) as facts, up to ``limit``."""
    for key, raw in value.items():
        if len(facts) >= limit:
            return
        name = f"{prefix}{key}"
        if str(key).lower() in _NOISY_KEYS or key in skip:
            continue
        if isinstance(raw, dict):
            if depth < 2:
                _flatten(raw, facts, limit=limit, prefix=f"{name}.", depth=depth + 1, max_chars=max_chars)
        elif isinstance(raw, list):
            items = [text for item in raw[:MAX_LIST_ITEMS] if (text := _text(item))]
            if items:
                facts.append((name, _clip(", ".join(items), max_chars)))
        elif text := _text(raw):
            if text.startswith("<") and ">" in text:  # HTML made for Azure's own mail (a communication)
                text = html_to_text(text)
            if text:
                facts.append((name, _clip(text, max_chars)))


def _links_in(value: dict[str, Any]) -> list[Link]:
    """Top-level fields named like links (``portalLink``, ``LinkToSearchResults``) that hold a web address."""
    links = []
    for key, raw in value.items():
        lowered = str(key).lower()
        if ("link" in lowered or "url" in lowered) and "api" not in lowered and (url := _http_url(raw)):
            links.append(Link(_label(key) or str(key), url))
    return links


def _unique_links(links: list[Link]) -> list[Link]:
    seen: set[str] = set()
    unique = []
    for link in links:
        if link.url not in seen:
            seen.add(link.url)
            unique.append(link)
    return unique


def _unique(values: Any) -> list[str]:
    seen: dict[str, str] = {}
    for value in values:
        if value and value.lower() not in seen:
            seen[value.lower()] = value
    return list(seen.values())


def _subscription_of(resource_id: str | None) -> str | None:
    return ResourceId.parse(resource_id).subscription if resource_id else None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    if isinstance(value, float):
        return _number(value)
    return text_of(value)


def _texts(value: Any) -> list[str]:
    return [text for item in _list(value) if (text := _text(item))]


def _lower(value: Any) -> str:
    return (_text(value) or "").lower()


def _number(value: Any) -> str | None:
    """31.1105 → '31.1105', 3.0 → '3', '25' → '25'."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return text_of(value)


def _words(value: Any) -> str | None:
    """'GreaterThan' → 'greater than', 'UserInitiated' → 'user initiated', 'Less Than' → 'less than'."""
    text = _text(value)
    return _WORD_BOUNDARY_RE.sub(" ", text).lower() if text else None


def _label(value: Any) -> str | None:
    """'UserInitiated' → 'User initiated', 'LinkToSearchResults' → 'Link to search results'."""
    words = _words(value)
    return words[:1].upper() + words[1:] if words else None


def _http_url(value: Any) -> str | None:
    text = _text(value)
    return text if text and text.lower().startswith(("https://", "http://")) and " " not in text else None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _when(moment: dt.datetime | None) -> str | None:
    return time_text(moment) or None


def _span(start: Any, end: Any) -> str | None:
    """An evaluation window; the V1 log payloads print '3/22/2019 1:36:31 PM', shown as sent."""
    first = _when(parse_time(start)) or _text(start)
    last = _when(parse_time(end)) or _text(end)
    if first and last:
        return f"{first} to {last}"
    return first or last


def _iso_duration_text(value: Any) -> str | None:
    """'PT5M' → '5 min', 'PT1H30M' → '1 h 30 min', 'P1D' → '1 d'; anything else as sent."""
    text = _text(value)
    if not text:
        return None
    match = _ISO_DURATION_RE.fullmatch(text)
    if not match or not any(match.groups()):
        return text
    days, hours, minutes, seconds = match.groups()
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    parts.append(f"{seconds} s" if seconds else "")
    return " ".join(p for p in parts if p)
