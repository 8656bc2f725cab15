"""Sentry integration-platform webhooks (an internal integration's webhook URL) → Notification.

What Sentry POSTs, per its docs (Integration Platform, "Webhooks",
https://docs.sentry.io/organization/integrations/integration-platform/webhooks/ and its pages
per resource): ``{"action", "actor", "data", "installation"}``, with the resource named in the
``Sentry-Hook-Resource`` header:

- ``event_alert`` (an issue alert rule whose action is this integration): ``action``
  ``triggered``; ``data.event`` is the event (title, level, culprit, web_url, tags, release ...)
  and ``data.triggered_rule`` the rule's name. Mailed as FIRING, severity from the level.
- ``metric_alert`` (a metric alert rule's trigger action): ``action`` ``critical``, ``warning``
  or ``resolved``; ``data.metric_alert`` the incident with its ``alert_rule``,
  ``data.description_title``/``description_text`` Sentry's own words, ``data.web_url``.
- ``issue`` (the integration subscribed to issue webhooks): ``action`` ``created``,
  ``resolved``, ``assigned``, ``archived`` or ``unresolved``; ``data.issue`` the issue. Created
  and unresolved (regressed, escalating) issues are mailed as FIRING, resolved as RESOLVED;
  assigned and archived are not mailed unless a route lists them in ``events``
  (``"issue.assigned"``, or ``"issue"`` for every action).
- ``installation`` (sent when the integration is installed) and the resources not read here
  (``error``, ``comment``, ...) answer 202 ``ignored`` with the reason.

``verify`` checks ``Sentry-Hook-Signature`` when SENTRY_CLIENT_SECRET is set: hex HMAC-SHA256 of
the raw body with the integration's Client Secret (same page, "Verifying the Signature"). Sentry
signs no timestamp, so the dedup key is the digest of the signed body: a replayed or repeated
delivery is the same key, while each new alert or state change is a new body.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import TYPE_CHECKING, Any

from shared.problems import FieldError
from shared.sources.auth import SignatureInvalid, equal, verify_bearer_token
from shared.sources.base import HookRequest, InvalidHookPayload, Skip
from shared.sources.notification import EventFacts, Link, Notification, Severity, Status, time_text
from shared.sources.readers import parse_time, require_object, text_of

if TYPE_CHECKING:
    from shared.settings import HookAuthSettings
    from shared.sources.base import SourceSettings

RESOURCE_HEADER = "Sentry-Hook-Resource"
SIGNATURE_HEADER = "Sentry-Hook-Signature"
# Event levels (Sentry's "level" attribute: fatal, error, warning, info, debug).
_LEVELS = {
    "fatal": Severity.CRITICAL,
    "error": Severity.ERROR,
    "warning": Severity.WARNING,
    "info": Severity.INFO,
    "debug": Severity.INFO,
}
_METRIC_ACTIONS = {"critical": Severity.CRITICAL, "warning": Severity.WARNING}
# Issue actions mailed without ``events`` on the route, and the word in their subject.
_ISSUE_LABELS = {"created": "NEW ISSUE", "unresolved": "UNRESOLVED", "resolved": "RESOLVED"}
# An unresolved issue's substatus says why it came back (issues page, "substatus").
_SUBSTATUS_LABELS = {"regressed": "REGRESSED", "escalating": "ESCALATING"}
# .../issues/<id>/events/<event id>/: the event's page; the issue's page is the part before /events/.
_EVENT_URL_RE = re.compile(r"(?P<issue>https://[^?#]+/issues/[^/?#]+/)events/[^/?#]+/?$")
MAX_TEXT_CHARS = 3000


class SentrySource:
    """/api/hooks/sentry: the signature when SENTRY_CLIENT_SECRET is set, else the bearer token."""

    name = "sentry"

    def __init__(self, hook_auth: HookAuthSettings) -> None:
        self._secret = hook_auth.sentry_client_secret
        self._bearer_token = hook_auth.bearer_token

    def verify(self, request: HookRequest) -> bool:
        # Sentry cannot add an Authorization header; its signature proves it instead.
        if self._secret is not None:
            verify_signature(request.headers.get(SIGNATURE_HEADER), request.body, self._secret)
            return True  # the body is signed: an Idempotency-Key added to a replay is not
        verify_bearer_token(request, self._bearer_token)
        return False

    def read(self, request: HookRequest) -> Notification | Skip:
        return to_notification(request)


def build(settings: SourceSettings) -> SentrySource:
    return SentrySource(settings.hook_auth)


def verify_signature(signature: str | None, body: bytes, secret: str) -> None:
    """Sentry-Hook-Signature: hex HMAC-SHA256 of the raw body with the Client Secret."""
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not signature or not equal(signature.strip().lower(), expected):
        raise SignatureInvalid(f"{SIGNATURE_HEADER} is missing or does not match SENTRY_CLIENT_SECRET.")


def to_notification(request: HookRequest) -> Notification | Skip:
    resource = (request.header(RESOURCE_HEADER) or "").lower()
    if not resource:
        raise InvalidHookPayload(
            f"The {RESOURCE_HEADER} header is missing; Sentry names the resource of every webhook in it.",
            errors=[FieldError(RESOURCE_HEADER, "required header")],
        )
    document = require_object(request.payload, "a Sentry webhook")
    action = text_of(document.get("action"))
    reader = _READERS.get(resource)
    if reader is None:
        what = f"Sentry {resource}" + (f" {action}" if action else "")
        return Skip(f"{what} webhooks are not mailed: only event_alert, metric_alert and issue are")
    data = document.get("data")
    if not isinstance(data, dict):
        raise InvalidHookPayload(
            f"A Sentry {resource} webhook carries its content in 'data'.",
            errors=[FieldError("data", "expected an object")],
        )
    dedup_key = "sentry:" + hashlib.sha256(request.body).hexdigest()
    return reader(data, (action or "").lower(), dedup_key)


def _object(value: Any, field: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidHookPayload(
            f"A Sentry {what} webhook has no '{field}' object.", errors=[FieldError(field, "expected an object")]
        )
    return value


# --- issue alerts ----------------------------------------------------------------------------------


def _event_alert(data: dict[str, Any], action: str, dedup_key: str) -> Notification:
    event = _object(data.get("event"), "data.event", "event_alert")
    level = (text_of(event.get("level")) or "").lower()
    tags = _tags(event.get("tags"))
    metadata = _dict(event.get("metadata"))
    title = text_of(event.get("title")) or text_of(metadata.get("value")) or "Sentry event"
    rule = text_of(data.get("triggered_rule"))
    message = text_of(event.get("message"))
    web_url = text_of(event.get("web_url"))
    issue_page = _EVENT_URL_RE.match(web_url) if web_url else None
    request = _dict(event.get("request"))
    facts = [
        ("Alert rule", rule),
        ("Culprit", text_of(event.get("culprit"))),
        ("Level", level or None),
        ("Environment", tags.get("environment") or text_of(event.get("environment"))),
        ("Release", text_of(event.get("release")) or tags.get("release")),
        ("Handled", tags.get("handled")),
        ("URL", text_of(request.get("url"))),
        ("Platform", text_of(event.get("platform"))),
        ("Seen", time_text(parse_time(event.get("datetime"))) or None),
    ]
    links = [
        Link("Issue", issue_page.group("issue")) if issue_page else None,
        Link("Event", web_url) if web_url else None,
    ]
    return Notification(
        source="sentry",
        status=Status.FIRING,
        title=f"[{level.upper() or 'ALERT'}] {title}",
        severity=_LEVELS.get(level, Severity.UNKNOWN),
        summary=_clip(message) if message and message not in title else None,
        facts=[(key, value) for key, value in facts if value],
        links=[link for link in links if link is not None],
        event="event_alert",
        event_facts=EventFacts("event_alert", action or None, "Sentry event_alert"),
        dedup_key=dedup_key,
    )


# --- metric alerts ---------------------------------------------------------------------------------


def _metric_alert(data: dict[str, Any], action: str, dedup_key: str) -> Notification:
    incident = _object(data.get("metric_alert"), "data.metric_alert", "metric_alert")
    rule = _dict(incident.get("alert_rule"))
    name = text_of(rule.get("name")) or text_of(data.get("description_title")) or "Sentry metric alert"
    status = Status.RESOLVED if action == "resolved" else Status.FIRING
    window = text_of(rule.get("time_window"))
    facts = [
        ("Alert rule", text_of(rule.get("name"))),
        ("Metric", text_of(rule.get("aggregate"))),
        ("Query", text_of(rule.get("query"))),
        ("Dataset", text_of(rule.get("dataset"))),
        ("Environment", text_of(rule.get("environment"))),
        ("Projects", _joined(rule.get("projects")) or _joined(incident.get("projects"))),
        ("Time window", f"{window} min" if window else None),
        *_thresholds(rule.get("triggers")),
        ("Started", time_text(parse_time(incident.get("date_started"))) or None),
        ("Closed", time_text(parse_time(incident.get("date_closed"))) or None),
    ]
    web_url = text_of(data.get("web_url"))
    return Notification(
        source="sentry",
        status=status,
        title=f"[{(action or 'alert').upper()}] {name}",
        severity=_METRIC_ACTIONS.get(action, Severity.UNKNOWN),
        summary=_clip(text_of(data.get("description_text"))),
        facts=[(key, value) for key, value in facts if value],
        links=[Link("Alert", web_url)] if web_url else [],
        event="metric_alert",
        event_facts=EventFacts("metric_alert", action or None, "Sentry metric_alert"),
        dedup_key=dedup_key,
    )


def _thresholds(triggers: Any) -> list[tuple[str, str | None]]:
    """One fact per trigger: "critical threshold": "1000"."""
    if not isinstance(triggers, list):
        return []
    return [
        (f"{label} threshold", threshold)
        for trigger in triggers
        if isinstance(trigger, dict)
        and (label := text_of(trigger.get("label")))
        and (threshold := text_of(trigger.get("alert_threshold")))
    ]


# --- issues ----------------------------------------------------------------------------------------


def _issue(data: dict[str, Any], action: str, dedup_key: str) -> Notification:
    issue = _object(data.get("issue"), "data.issue", "issue")
    level = (text_of(issue.get("level")) or "").lower()
    substatus = (text_of(issue.get("substatus")) or "").lower()
    label = _ISSUE_LABELS.get(action) or (action or "issue").upper()
    if action == "unresolved" and substatus in _SUBSTATUS_LABELS:
        label = _SUBSTATUS_LABELS[substatus]
    status = Status.RESOLVED if action == "resolved" else Status.FIRING if action in _ISSUE_LABELS else Status.INFO
    short_id = text_of(issue.get("shortId"))
    title = text_of(issue.get("title")) or "Sentry issue"
    project = _dict(issue.get("project"))
    state = text_of(issue.get("status"))
    facts = [
        ("Project", text_of(project.get("name")) or text_of(project.get("slug"))),
        ("Culprit", text_of(issue.get("culprit"))),
        ("Level", level or None),
        ("Status", f"{state} ({substatus})" if state and substatus else state),
        ("Assigned to", _assignee(issue.get("assignedTo"))),
        ("Events", text_of(issue.get("count"))),
        ("Users", text_of(issue.get("userCount"))),
        ("First seen", time_text(parse_time(issue.get("firstSeen"))) or None),
        ("Last seen", time_text(parse_time(issue.get("lastSeen"))) or None),
    ]
    url = text_of(issue.get("web_url")) or text_of(issue.get("permalink"))
    what = f"Sentry issue {action}" if action else "Sentry issue"
    return Notification(
        source="sentry",
        status=status,
        title=f"[{label}] " + (f"{short_id} " if short_id else "") + title,
        severity=_LEVELS.get(level, Severity.UNKNOWN),
        facts=[(key, value) for key, value in facts if value],
        links=[Link("Issue", url)] if url else [],
        event="issue",
        event_facts=EventFacts(
            "issue",
            action or None,
            what,
            default_skip=None if action in _ISSUE_LABELS else f"{what} is not mailed by default",
        ),
        dedup_key=dedup_key,
    )


def _assignee(value: Any) -> str | None:
    if isinstance(value, dict):
        return text_of(value.get("name")) or text_of(value.get("email"))
    return text_of(value)


_READERS = {"event_alert": _event_alert, "metric_alert": _metric_alert, "issue": _issue}


# --- values ----------------------------------------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _tags(value: Any) -> dict[str, str]:
    """An event's tags, sent as [key, value] pairs (or {"key", "value"} objects)."""
    tags: dict[str, str] = {}
    for tag in value if isinstance(value, list) else []:
        if isinstance(tag, list) and len(tag) == 2:
            key, text = text_of(tag[0]), text_of(tag[1])
        elif isinstance(tag, dict):
            key, text = text_of(tag.get("key")), text_of(tag.get("value"))
        else:
            continue
        if key and text:
            tags[key] = text
    return tags


def _joined(values: Any) -> str | None:
    if not isinstance(values, list):
        return None
    return ", ".join(text for value in values if (text := text_of(value))) or None


def _clip(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_TEXT_CHARS:
        return text
    return text[:MAX_TEXT_CHARS].rstrip() + " …"
