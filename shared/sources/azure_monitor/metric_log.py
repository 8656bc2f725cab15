"""Metric and log search alertContexts (alerts-payload-samples: static, dynamic, availability test; log V1 and V2)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from shared.sources.azure_monitor.facts import ContextReading, FactAdder
from shared.sources.azure_monitor.resource_id import ResourceId
from shared.sources.azure_monitor.values import (
    MAX_LIST_ITEMS,
    as_list,
    as_object,
    as_text,
    as_texts,
    clip,
    http_url,
    iso_duration_text,
    label_of,
    lower_text,
    number_text,
    span_text,
    words_of,
)
from shared.sources.notification import Alert, Link, Severity, Status

# The dimension multi-resource metric rules split by (alerts-metric-multiple-time-series-single-rule).
RESOURCE_ID_DIMENSION = "microsoft.resourceid"  # compared lower-cased


def read_criteria(
    context: dict[str, Any],
    status: Status,
    severity: Severity,
    fired_at: dt.datetime | None,
    resolved_at: dt.datetime | None,
    *,
    log: bool,
) -> ContextReading:
    """Metric alerts and V2 log search alerts: ``condition.allOf`` lists one entry per criterion."""
    condition = as_object(context.get("condition"))
    criteria = [c for c in as_list(condition.get("allOf")) if isinstance(c, dict)][:MAX_LIST_ITEMS]
    window = iso_duration_text(condition.get("windowSize"))
    facts: list[tuple[str, str]] = []
    add = FactAdder(facts)
    links: list[Link] = []
    alerts: list[Alert] = []
    sentences = [_criterion_sentence(c, window, log=log) for c in criteria]
    if len(criteria) == 1:
        _add_criterion_facts(add, criteria[0], log=log)
        links.extend(_criterion_links(criteria[0]))
    add("Window", window)
    add("Evaluated", span_text(condition.get("windowStartTime"), condition.get("windowEndTime")))
    add("Condition type", label_of(context.get("conditionType")))
    if len(criteria) > 1:
        for criterion, sentence in zip(criteria, sentences, strict=True):
            values: list[tuple[str, str]] = []
            _add_criterion_facts(FactAdder(values), criterion, log=log, with_name=False)
            name = as_text(criterion.get("searchQuery")) if log else _metric_name(criterion)
            alerts.append(
                Alert(
                    status=status,
                    name=clip(name or "condition", 120),
                    severity=severity,
                    summary=sentence,
                    labels=dict(dimension_pairs(criterion.get("dimensions"))),
                    values=dict(values),
                    starts_at=fired_at,
                    ends_at=resolved_at if status is Status.RESOLVED else None,
                    links=_criterion_links(criterion),
                )
            )
    return ContextReading(
        facts=facts, links=links, alerts=alerts, sentence="; ".join(s for s in sentences if s) or None
    )


def _metric_name(criterion: dict[str, Any]) -> str | None:
    return as_text(criterion.get("metricName")) or as_text(criterion.get("webTestName"))


def _add_criterion_facts(add: FactAdder, criterion: dict[str, Any], *, log: bool, with_name: bool = True) -> None:
    if log:
        if with_name:
            add("Query", criterion.get("searchQuery"))
        add("Measure column", criterion.get("metricMeasureColumn"))
    else:
        if with_name:
            add("Metric", _metric_name(criterion))
        add("Availability test", criterion.get("webTestName"))
    add("Value", number_text(criterion.get("metricValue")))
    add("Operator", label_of(criterion.get("operator")))
    add("Threshold", number_text(criterion.get("threshold")))
    add("Aggregation", criterion.get("timeAggregation"))
    add("Sensitivity", criterion.get("alertSensitivity"))
    add("Failing periods", _failing_periods(criterion.get("failingPeriods")))
    if with_name:
        add("Dimensions", dimensions_text(criterion.get("dimensions")))


def _criterion_sentence(criterion: dict[str, Any], window: str | None, *, log: bool) -> str | None:
    """'Average Percentage CPU was 31.11 (threshold: greater than 25, over 5 min) for ApiName = GetBlob'."""
    subject = "The query result" if log else _metric_name(criterion)
    value = number_text(criterion.get("metricValue"))
    if not subject or value is None:
        return None
    aggregation = as_text(criterion.get("timeAggregation"))
    if aggregation and not log:
        subject = f"{aggregation} {subject}"
    elif aggregation:
        subject = f"The query result ({aggregation.lower()})"
    test = " ".join(p for p in (words_of(criterion.get("operator")), number_text(criterion.get("threshold"))) if p)
    detail = ", ".join(p for p in (test, f"over {window}" if window else None) if p)
    dimensions = dimensions_text(criterion.get("dimensions"))
    sentence = f"{subject} was {value}" + (f" (threshold: {detail})" if detail else "")
    return sentence + (f" for {dimensions}" if dimensions else "")


def _criterion_links(criterion: dict[str, Any]) -> list[Link]:
    # The *API links need a Log Analytics token; only the portal links open in a browser.
    filtered = http_url(criterion.get("linkToFilteredSearchResultsUI"))
    plain = http_url(criterion.get("linkToSearchResultsUI"))
    links = [Link("View filtered search results", filtered)] if filtered else []
    if plain and plain != filtered:
        links.append(Link("View search results", plain))
    return links


def read_log_v1(context: dict[str, Any]) -> ContextReading:
    """Log search alerts before API 2020-05-01 (Log Analytics / Application Insights)."""
    fields = {key.lower(): value for key, value in context.items()}
    facts: list[tuple[str, str]] = []
    add = FactAdder(facts)
    count = number_text(fields.get("resultcount"))
    add("Query", fields.get("searchquery"))
    add("Result count", count)
    add("Alert type", fields.get("alerttype"))
    add("Operator", label_of(fields.get("operator")))
    add("Threshold", number_text(fields.get("threshold")))
    add("Search interval", span_text(fields.get("searchintervalstarttimeutc"), fields.get("searchintervalendtimeutc")))
    add("Dimensions", dimensions_text(fields.get("dimensions")))
    add("Affected items", ", ".join(as_texts(fields.get("affectedconfigurationitems"))[:MAX_LIST_ITEMS]))
    add("Workspace", fields.get("workspaceid"))
    add("Application", fields.get("applicationid"))
    if lower_text(fields.get("includedsearchresults")) == "false":
        add("Search results", "too large to be included; open the link")
    links: list[Link] = []
    filtered = http_url(fields.get("linktofilteredsearchresultsui"))
    plain = http_url(fields.get("linktosearchresults"))
    if filtered:
        links.append(Link("View filtered search results", filtered))
    if plain and plain != filtered:
        links.append(Link("View search results", plain))
    sentence = None
    if count is not None:
        test = " ".join(p for p in (words_of(fields.get("operator")), number_text(fields.get("threshold"))) if p)
        sentence = f"The query returned {count} result{'' if count == '1' else 's'}" + (
            f" (threshold: {test})" if test else ""
        )
    return ContextReading(facts=facts, links=links, alerts=[], sentence=sentence)


def dimension_pairs(value: Any) -> Iterator[tuple[str, str]]:
    for entry in as_list(value)[:MAX_LIST_ITEMS]:
        entry = as_object(entry)
        name, text = as_text(entry.get("name")), as_text(entry.get("value"))
        if name and text:
            if name.lower() == RESOURCE_ID_DIMENSION:
                # A multi-resource rule splits by the resource's full id, 130 characters of which
                # the last segment is what a reader looks for (the id is in the resource link).
                name, text = "Resource", ResourceId.parse(text).display_name or text
            yield name, text


def dimensions_text(value: Any) -> str | None:
    return ", ".join(f"{name} = {text}" for name, text in dimension_pairs(value)) or None


def _failing_periods(value: Any) -> str | None:
    periods = as_object(value)
    failing, total = (
        number_text(periods.get("minFailingPeriodsToAlert")),
        number_text(periods.get("numberOfEvaluationPeriods")),
    )
    return f"{failing} of {total}" if failing and total else None
