"""The neutral notification model every webhook source is turned into.

A source (``shared/sources/<name>.py``) knows its sender's payload and nothing else; it hands back
a Notification. Templates, routes and policy know Notifications and no sender.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from dataclasses import dataclass, field


class Status(enum.StrEnum):
    FIRING = "firing"  # a problem is happening (an alert fired, a workflow failed)
    RESOLVED = "resolved"  # the problem is over
    INFO = "info"  # an event with no problem state (a release was published, a chat message)


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, text: str | None) -> Severity:
        """Map the many spellings senders use (Sev0..Sev4, P1, crit, warn, ...) to one scale."""
        if not text:
            return cls.UNKNOWN
        key = text.strip().lower()
        return _SEVERITY_SPELLINGS.get(key, cls.UNKNOWN)


_SEVERITY_SPELLINGS = {
    **dict.fromkeys(["critical", "crit", "fatal", "emergency", "page", "sev0", "p1", "disaster"], Severity.CRITICAL),
    **dict.fromkeys(["error", "err", "high", "major", "sev1", "p2", "failure", "failed"], Severity.ERROR),
    **dict.fromkeys(["warning", "warn", "medium", "minor", "sev2", "p3", "average"], Severity.WARNING),
    **dict.fromkeys(["info", "informational", "information", "low", "none", "sev3", "sev4", "p4", "p5"], Severity.INFO),
}


@dataclass(frozen=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True)
class Alert:
    """One alert (or one check, one job) inside a notification."""

    status: Status
    name: str
    severity: Severity = Severity.UNKNOWN
    summary: str | None = None
    description: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)  # the ones not shown as summary/description
    values: dict[str, str] = field(default_factory=dict)  # measured values, e.g. Grafana's "B0": "93.2"
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None  # None while still firing
    links: list[Link] = field(default_factory=list)


@dataclass(frozen=True)
class EventFacts:
    """What a route's ``events`` list is matched against, for senders that name their events (GitHub).

    The source states facts, never route decisions: which event and action this is, and whether its
    own defaults would mail it. shared/mail/compose.py::route_verdict decides with the route.
    """

    name: str  # "workflow_run", lower-cased
    action: str | None  # "completed", as sent
    described: str  # how a skip reason names the delivery: "GitHub workflow_run completed"
    # Why the source's defaults do not mail it ("GitHub push is not mailed by default"), None when they do.
    default_skip: str | None = None
    # The default is a filter on the outcome (failed runs, failed deployments, published releases),
    # which a route that lists the bare event name keeps; False: the event is not mailed by default at all.
    outcome_filtered: bool = False


@dataclass(frozen=True)
class Notification:
    """What one webhook delivery says, independent of who sent it."""

    source: str  # the source name in the URL: "alertmanager", "github", ...
    status: Status
    title: str  # the subject without route prefix, e.g. "[FIRING:3] HighMemoryUsage (prod-eu)"
    severity: Severity = Severity.UNKNOWN
    summary: str | None = None
    description: str | None = None
    facts: list[tuple[str, str]] = field(default_factory=list)  # shown as a table: group labels, essentials
    alerts: list[Alert] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    truncated_alerts: int = 0  # alerts of this delivery not in ``alerts``: left out by the sender, or past our cap
    event: str | None = None  # the sender's event kind, shown in the mail (GitHub's X-GitHub-Event)
    event_facts: EventFacts | None = None  # set by sources whose events a route may filter
    # What makes this delivery the same as an earlier one (group key + status + fingerprints, a
    # delivery id...), for deduplicating sender retries; None when the payload has no such thing.
    dedup_key: str | None = None
    # What makes deliveries one conversation, whatever their status: the same alert group firing and
    # then resolving (Alertmanager's groupKey, Azure Monitor's alert id). None: the title without
    # its status tag stands for it (shared/mail/conversation.py).
    thread_key: str | None = None
    # True when the sender repeats an unchanged notification on purpose (Alertmanager's
    # repeat_interval), so the dedup key must expire before the reminder comes.
    repeats: bool = False
    # Who wrote the payload, when it says so and it is not the source itself: a Slack-format body
    # names its sender ("Alertmanager") in ``username``. The mail's footer credits it.
    sender: str | None = None

    @property
    def firing_count(self) -> int:
        return sum(1 for alert in self.alerts if alert.status is Status.FIRING)

    @property
    def resolved_count(self) -> int:
        return sum(1 for alert in self.alerts if alert.status is Status.RESOLVED)

    @property
    def alert_count(self) -> int:
        """Every alert of the group, the ones the sender left out of this delivery included."""
        return len(self.alerts) + self.truncated_alerts

    @property
    def alerts_in_order(self) -> list[Alert]:
        """Firing before resolved, each part in the sender's order (Alertmanager's own email has a
        Firing and a Resolved part: template/email.tmpl)."""
        return [a for a in self.alerts if a.status is not Status.RESOLVED] + [
            a for a in self.alerts if a.status is Status.RESOLVED
        ]

    @functools.cached_property  # read once per alert by distinct_labels; a frozen dataclass allows it
    def common_labels(self) -> dict[str, str]:
        """The labels every alert has with the same value: shown once, not once per alert."""
        if not self.alerts:
            return {}
        first, *others = self.alerts
        return {k: v for k, v in first.labels.items() if all(other.labels.get(k) == v for other in others)}

    def distinct_labels(self, alert: Alert) -> dict[str, str]:
        """The labels that tell this alert from the others of the group (none for a lone alert)."""
        common = self.common_labels
        return {k: v for k, v in alert.labels.items() if k not in common}


def time_text(moment: object) -> str:
    """A moment as every mail shows it: '2026-11-25 19:13:05 UTC'; '' for anything else."""
    if not isinstance(moment, dt.datetime):
        return ""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration_text(start: object, end: object = None) -> str:
    """How long from start to end (or to now), as a person says it: '2 d 3 h', '4 min 12 s'."""
    if not isinstance(start, dt.datetime):
        return ""
    finish = end if isinstance(end, dt.datetime) else dt.datetime.now(dt.UTC)
    return elapsed_text(finish - start)


def elapsed_text(elapsed: dt.timedelta) -> str:
    """A span of time as a person says it: '2 d 3 h', '4 min 12 s', '42 s'."""
    seconds = max(0, int(elapsed.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    return f"{seconds} s"
