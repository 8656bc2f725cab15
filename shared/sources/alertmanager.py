"""Prometheus Alertmanager's webhook (payload ``"version": "4"``) → Notification.

What Alertmanager POSTs, per its webhook_config docs
(https://prometheus.io/docs/alerting/latest/configuration/#webhook_config) and the code that builds
it (notify/webhook/webhook.go: a Message wrapping template.Data from template/template.go):

- ``version`` "4"; ``groupKey``, the group's identity; ``truncatedAlerts``, alerts left out by
  ``max_alerts``; ``status`` "firing" while any alert of the group fires, else "resolved";
  ``receiver``; ``groupLabels``, ``commonLabels``, ``commonAnnotations`` (string maps);
  ``externalURL``, the Alertmanager's own address.
- ``alerts[]``: ``status``, ``labels``, ``annotations``, ``startsAt``, ``endsAt`` (Go's zero time
  ``0001-01-01T00:00:00Z`` while still firing), ``generatorURL``, ``fingerprint``.

Grafana's webhook sends the same document with extras per alert, so grafana.py reads it with the
functions here (read_group, read_alert, notification_from) and adds only what differs. Parsing is
lenient: unknown fields are ignored and missing ones tolerated; only a body without alerts is refused.
"""

from __future__ import annotations

import collections
import hashlib
import json
import re
import string
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.problems import FieldError
from shared.sources.auth import BearerTokenSource
from shared.sources.base import HookRequest, InvalidHookPayload
from shared.sources.notification import Alert, Link, Notification, Severity, Status
from shared.sources.readers import parse_time, require_object, string_map, text_of

if TYPE_CHECKING:
    from shared.sources.base import SourceSettings

ALERTNAME = "alertname"
# Annotations shown in their own place rather than in the annotations table. "message" is what
# older kube-prometheus rules used instead of "description".
SUMMARY, DESCRIPTION, MESSAGE, RUNBOOK_URL = "summary", "description", "message", "runbook_url"
# Alerts shown in full in one mail; the others are counted, the way Alertmanager's own max_alerts
# counts what it leaves out in truncatedAlerts (notify/webhook/webhook.go). A 6 MB body holds two
# million empty alerts: reading and rendering every one took 35 s and 2.6 GiB before the mail was
# refused as too large, while a person reads the first screenfuls of a storm and its count.
MAX_ALERTS_SHOWN = 100
# Worst first; Severity's members are declared in that order.
_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(Severity)}
# Alert names a subject lists when the group is not by alertname; the rest are counted.
_NAMES_IN_SUBJECT = 2
# template.Data quotes the receiver name with Go's regexp.QuoteMeta (template/template.go), so a
# receiver "ops.pager" arrives as "ops\\.pager"; every backslash in it was added by that quoting.
_QUOTED_CHAR_RE = re.compile(r"\\(.)", re.DOTALL)
# Each byte of UTF-8 text (read as Latin-1) → itself if RFC 3986 leaves it unreserved, else %XX.
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_PERCENT_ENCODING = {byte: chr(byte) if chr(byte) in _UNRESERVED else f"%{byte:02X}" for byte in range(256)}


@dataclass(frozen=True)
class AlertGroup:
    """The group-level fields Alertmanager and Grafana share, read leniently."""

    status: Status
    receiver: str | None
    group_key: str | None
    group_labels: dict[str, str]
    common_labels: dict[str, str]
    common_annotations: dict[str, str]
    external_url: str | None
    truncated_alerts: int  # left out by the sender (truncatedAlerts) and by us (past MAX_ALERTS_SHOWN)
    alerts: list[dict[str, Any]]  # the raw alert objects shown (at most MAX_ALERTS_SHOWN), for read_alert
    firing_count: int  # of all the alerts sent, shown or not
    sender_truncated_alerts: int  # left out by the sender alone (truncatedAlerts)
    sent_count: int  # alert objects sent, shown or not


def build(settings: SourceSettings) -> BearerTokenSource:
    """/api/hooks/alertmanager: the bearer token when set (Alertmanager's ``http_config.authorization``)."""
    return BearerTokenSource("alertmanager", to_notification, settings.hook_auth.bearer_token)


def to_notification(request: HookRequest) -> Notification:
    group = read_group(request.payload, "an Alertmanager webhook")
    alerts = [read_alert(raw, alertmanager_url=group.external_url) for raw in group.alerts]
    links = [Link("Alertmanager", group.external_url)] if group.external_url else []
    return notification_from(group, alerts, source=request.source, links=links)


def read_group(payload: Any, what: str) -> AlertGroup:
    """The group fields of an Alertmanager-shaped payload; refused only when it holds no alert object."""
    document = require_object(payload, what)
    raw_alerts = document.get("alerts")
    alerts = [alert for alert in raw_alerts if isinstance(alert, dict)] if isinstance(raw_alerts, list) else []
    if not alerts:
        raise InvalidHookPayload(
            f"Expected {what}: a JSON object with a non-empty 'alerts' list.",
            errors=[FieldError("alerts", "expected a non-empty list of alert objects")],
        )
    # Every alert's status is counted, shown or not, by its distinct values: a call of _status per
    # alert would cost more than the rest of the reading for two million of them.
    statuses = collections.Counter(value if isinstance(value, str) else None for value in _statuses(alerts))
    firing_count = sum(count for value, count in statuses.items() if _status(value) is Status.FIRING)
    truncated = document.get("truncatedAlerts")
    sender_truncated = truncated if type(truncated) is int and truncated > 0 else 0  # not a bool
    external_url = text_of(document.get("externalURL"))
    receiver = text_of(document.get("receiver"))
    return AlertGroup(
        status=_status(document.get("status"), Status.FIRING if firing_count else Status.RESOLVED),
        receiver=_QUOTED_CHAR_RE.sub(r"\1", receiver) if receiver else None,
        group_key=text_of(document.get("groupKey")),
        group_labels=string_map(document.get("groupLabels")),
        common_labels=string_map(document.get("commonLabels")),
        common_annotations=string_map(document.get("commonAnnotations")),
        external_url=external_url.rstrip("/") if external_url else None,
        truncated_alerts=sender_truncated + max(0, len(alerts) - MAX_ALERTS_SHOWN),
        alerts=alerts[:MAX_ALERTS_SHOWN],
        firing_count=firing_count,
        sender_truncated_alerts=sender_truncated,
        sent_count=len(alerts),
    )


def _statuses(alerts: list[dict[str, Any]]) -> list[Any]:
    return [alert.get("status") for alert in alerts]


def read_alert(raw: dict[str, Any], *, alertmanager_url: str | None = None) -> Alert:
    """One alert: summary, description and runbook out of the annotations, alertname out of the labels.

    With ``alertmanager_url``, the alert links to that Alertmanager's silence form for it.
    """
    labels = string_map(raw.get("labels"))
    silence = silence_link(alertmanager_url, labels) if alertmanager_url else None
    annotations = string_map(raw.get("annotations"))
    status = _status(raw.get("status"))
    summary = annotations.pop(SUMMARY, None)
    description = annotations.pop(DESCRIPTION, None) or annotations.pop(MESSAGE, None)
    links = [Link("Runbook", url)] if (url := annotations.pop(RUNBOOK_URL, None)) else []
    if source_url := text_of(raw.get("generatorURL")):
        links.append(Link("Source", source_url))
    if silence is not None:
        links.append(silence)
    return Alert(
        status=status,
        name=labels.pop(ALERTNAME, "") or summary or "Alert",
        severity=Severity.parse(labels.get("severity")),
        summary=summary,
        description=description,
        labels=labels,
        annotations=annotations,
        starts_at=parse_time(raw.get("startsAt")),
        # A firing alert has no end yet: Alertmanager sends the zero time; other senders may send
        # the time it would expire without news, which is not an end either.
        ends_at=parse_time(raw.get("endsAt")) if status is Status.RESOLVED else None,
        links=links,
    )


def silence_link(alertmanager_url: str, labels: dict[str, str]) -> Link:
    """Alertmanager's "new silence" form, pre-filled with one matcher per label of the alert.

    The UI reads ``#/silences/new?filter={name="value",...}`` (the form the UI's own "Silence"
    button opens; Robust Perception, "Pre-populated silence URLs"). Values are quoted as in
    PromQL matchers, so a quote or backslash in a value cannot end the matcher early.
    """
    matchers = ",".join(f'{name}="{_matcher_value(value)}"' for name, value in sorted_pairs(labels))
    return Link("Silence", f"{alertmanager_url}/#/silences/new?filter={_percent_encoded('{' + matchers + '}')}")


def notification_from(
    group: AlertGroup,
    alerts: list[Alert],
    *,
    source: str,
    links: list[Link],
    summary: str | None = None,
    description: str | None = None,
) -> Notification:
    """The notification for a group whose alerts the caller has read (with read_alert, plus extras)."""
    common = group.common_annotations
    firing = [alert for alert in alerts if alert.status is Status.FIRING]
    # The receiver is left out: it names the route's configuration, which the reader of this mail
    # already is; it was a row of noise in every mail.
    return Notification(
        source=source,
        status=group.status,
        title=subject(group, alerts),
        # The worst severity that is still burning; a resolved group keeps the worst it had.
        severity=min((alert.severity for alert in firing or alerts), key=_SEVERITY_RANK.__getitem__),
        summary=common.get(SUMMARY) or summary,
        description=common.get(DESCRIPTION) or common.get(MESSAGE) or description,
        facts=sorted_pairs(group.group_labels),
        alerts=alerts,
        links=links,
        truncated_alerts=group.truncated_alerts,
        dedup_key=dedup_key(group),
        thread_key=f"group:{group.group_key}" if group.group_key else None,
        repeats=True,
    )


def subject(group: AlertGroup, alerts: list[Alert]) -> str:
    """Alertmanager's default subject (template "__subject" in template/default.tmpl), naming the alerts.

    ``[FIRING:<n>] <group label values> (<values of the other common labels>)``, or
    ``[RESOLVED] ...``; values in label order, alertname first (template.KV.SortedPairs).
    Two changes: the count includes the alerts ``max_alerts`` left out (``truncatedAlerts``; the
    webhook keeps the first ones, notify/webhook/webhook.go truncateAlerts), unless resolved ones
    were sent, when nobody can say how many of the others fire; and when the group is not by
    ``alertname`` (Grafana's default policy, ``group_by: [...]``), the alert names lead, or a
    subject reads ``[FIRING:2] (blue)``.
    """
    if group.status is Status.FIRING:
        # Every alert sent counts, shown or not (past MAX_ALERTS_SHOWN); the sender's cut ones too
        # unless resolved ones were sent.
        resolved_sent = group.firing_count < group.sent_count
        firing = group.firing_count if resolved_sent else group.firing_count + group.sender_truncated_alerts
        status = f"FIRING:{firing}"
    else:
        status = group.status.value.upper()
    grouped = " ".join(value for _, value in sorted_pairs(group.group_labels))
    if ALERTNAME not in group.group_labels:
        grouped = " ".join(p for p in (_alert_names(group, alerts), grouped) if p)
    others = {k: v for k, v in group.common_labels.items() if k not in group.group_labels and k != ALERTNAME}
    # The template prints the parentheses when there are more common than group labels, even if
    # the group labels are not all common ones; it then shows whatever remains, possibly nothing.
    extra = (
        " (" + " ".join(v for _, v in sorted_pairs(others)) + ")"
        if len(group.common_labels) > len(group.group_labels) and others
        else ""
    )
    return f"[{status}] {grouped}{extra}".strip()


def _alert_names(group: AlertGroup, alerts: list[Alert]) -> str:
    """'HighCPU', 'HighCPU, DiskFull', 'HighCPU, DiskFull +2 more': the firing ones first."""
    if name := group.common_labels.get(ALERTNAME):
        return name
    ordered = [a for a in alerts if a.status is Status.FIRING] + [a for a in alerts if a.status is not Status.FIRING]
    names = list(dict.fromkeys(alert.name for alert in ordered if alert.name))
    shown = ", ".join(names[:_NAMES_IN_SUBJECT])
    return shown + (f" +{len(names) - _NAMES_IN_SUBJECT} more" if len(names) > _NAMES_IN_SUBJECT else "")


def dedup_key(group: AlertGroup) -> str:
    """The same for a redelivery of this payload; different when an alert joins, leaves, fires anew or resolves.

    Built from what identifies a delivery: the group key and status, and each alert's fingerprint
    (a hash of its labels; the labels themselves when a sender leaves it out), start and status.
    Annotations are left out on purpose: Alertmanager does not notify again when only they change.
    Past MAX_ALERTS_SHOWN, the alerts not shown count by number and firing count only.
    """
    alerts = sorted(
        [
            text_of(raw.get("fingerprint")) or json.dumps(string_map(raw.get("labels")), sort_keys=True),
            text_of(raw.get("startsAt")) or "",
            _status(raw.get("status")).value,
        ]
        for raw in group.alerts
    )
    counts = [group.sent_count, group.firing_count] if group.sent_count > len(group.alerts) else []
    identity = json.dumps([group.group_key, group.status.value, alerts, *counts], separators=(",", ":"))
    return hashlib.sha256(identity.encode()).hexdigest()


def sorted_pairs(labels: dict[str, str]) -> list[tuple[str, str]]:
    """Labels in Alertmanager's display order: alertname first, then by name (template.KV.SortedPairs)."""
    return sorted(labels.items(), key=lambda pair: (pair[0] != ALERTNAME, pair[0]))


def _status(text: Any, default: Status = Status.FIRING) -> Status:
    value = text.strip().lower() if isinstance(text, str) else ""
    return Status.RESOLVED if value == "resolved" else Status.FIRING if value == "firing" else default


def _percent_encoded(text: str) -> str:
    """``urllib.parse.quote(text, safe="")`` in one C call: quote costs a Python call per byte,
    about 10 µs per silence link, a third of this source's reading time for a ten-alert group."""
    return text.encode().decode("latin-1").translate(_PERCENT_ENCODING)


def _matcher_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
