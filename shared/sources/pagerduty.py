"""PagerDuty v3 webhook subscriptions → Notification.

What PagerDuty POSTs, per its developer docs (Webhooks "Overview",
https://developer.pagerduty.com/docs/webhooks-overview): one event per request,
``{"event": {id, event_type, resource_type, occurred_at, agent, client, data}}``. ``data`` is an
``incident`` for most ``incident.*`` events (id, number, title, status, urgency, priority,
service, assignees, escalation_policy, teams, html_url, incident_key, conference_bridge), and an
object holding an ``incident`` reference for the others: ``incident_note`` (annotated),
``incident_responder`` (responder.added, responder.replied), ``incident_status_update``.

- ``incident.*`` events are mailed. The incident's own ``status`` says FIRING (triggered,
  acknowledged) or RESOLVED; events about an incident that carry no status (a note, a responder,
  a status update) are INFO. Severity comes from the priority when it reads as one (P1..P5),
  else from the urgency (high → critical, low → warning).
- ``pagey.ping`` (the subscription's test event) answers 200 ``pong``; any other event type
  (``service.updated``, ...) answers 202 ``ignored`` with the reason.
- A body that is no v3 event (no ``event`` object with an ``event_type``; a v1/v2 ``messages``
  list) is refused 400: PagerDuty drops a delivery answered 4xx without retrying ("Behavior").

``verify`` checks ``X-PagerDuty-Signature`` when PAGERDUTY_WEBHOOK_SECRET is set: ``v1=`` + hex
HMAC-SHA256 of the raw body, one value per active secret, comma-separated while a secret rotates;
one match is enough ("Verifying Signatures",
https://developer.pagerduty.com/docs/webhooks-signatures). Without a secret, the bearer token
(a subscription's ``custom_headers`` can carry it).

The event id is the dedup key: PagerDuty delivers at least once and repeats a delivery with the
same body, and a captured signed body sent again is a repeat too.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.problems import FieldError
from shared.sources.auth import SignatureInvalid, equal, verify_bearer_token
from shared.sources.base import HookRequest, InvalidHookPayload, Skip
from shared.sources.notification import EventFacts, Link, Notification, Severity, Status, time_text
from shared.sources.readers import parse_time, require_object, text_of

if TYPE_CHECKING:
    from shared.settings import HookAuthSettings
    from shared.sources.base import SourceSettings

SIGNATURE_HEADER = "X-PagerDuty-Signature"
# "unique to the webhook but repeated for each delivery attempt" (Webhooks "Behavior").
WEBHOOK_ID_HEADER = "X-Webhook-Id"
PING_EVENT = "pagey.ping"
# One signature per active secret; a header with more than this is no rotation, and each
# candidate costs an HMAC comparison.
MAX_SIGNATURES = 8
MAX_NOTE_CHARS = 3000

# The word in the subject for each incident event (event type without "incident.").
_LABELS = {
    "triggered": "TRIGGERED",
    "acknowledged": "ACKNOWLEDGED",
    "unacknowledged": "UNACKNOWLEDGED",
    "resolved": "RESOLVED",
    "reopened": "REOPENED",
    "reassigned": "REASSIGNED",
    "escalated": "ESCALATED",
    "delegated": "DELEGATED",
    "priority_updated": "PRIORITY",
    "annotated": "NOTE",
    "responder.added": "RESPONDER ADDED",
    "responder.replied": "RESPONDER REPLIED",
    "status_update_published": "STATUS UPDATE",
}
# How the summary says who did it: "Acknowledged by Tenex Engineer".
_VERBS = {
    "acknowledged": "Acknowledged",
    "unacknowledged": "Unacknowledged",
    "resolved": "Resolved",
    "reopened": "Reopened",
    "reassigned": "Reassigned",
    "escalated": "Escalated",
    "delegated": "Delegated",
    "priority_updated": "Priority changed",
}
_URGENCY_SEVERITY = {"high": Severity.CRITICAL, "low": Severity.WARNING}


class PagerDutySource:
    """/api/hooks/pagerduty: the signature when PAGERDUTY_WEBHOOK_SECRET is set, else the bearer token."""

    name = "pagerduty"

    def __init__(self, hook_auth: HookAuthSettings) -> None:
        self._secrets = hook_auth.pagerduty_secrets
        self._bearer_token = hook_auth.bearer_token

    def verify(self, request: HookRequest) -> bool:
        if self._secrets:
            verify_signature(request.headers.get(SIGNATURE_HEADER), request.body, self._secrets)
            return True  # the body is signed: an Idempotency-Key added to a replay is not
        verify_bearer_token(request, self._bearer_token)
        return False

    def read(self, request: HookRequest) -> Notification | Skip:
        return to_notification(request)


def build(settings: SourceSettings) -> PagerDutySource:
    return PagerDutySource(settings.hook_auth)


def verify_signature(header: str | None, body: bytes, secrets: tuple[str, ...]) -> None:
    """Accept when any ``v1=`` value of the header is the HMAC of the body with any of our secrets."""
    offered = [
        part.strip().removeprefix("v1=").lower()
        for part in (header or "").split(",")[:MAX_SIGNATURES]
        if part.strip().startswith("v1=")
    ]
    expected = [hmac.new(secret.encode(), body, hashlib.sha256).hexdigest() for secret in secrets]
    if not any(equal(given, wanted) for given in offered for wanted in expected):
        raise SignatureInvalid(f"{SIGNATURE_HEADER} is missing or matches no PAGERDUTY_WEBHOOK_SECRET.")


@dataclass(frozen=True)
class _Event:
    event_type: str  # "incident.triggered", lower-cased
    kind: str  # "triggered", "responder.added": the event type without "incident."
    data: dict[str, Any]
    incident: dict[str, Any]  # the incident itself, or the reference a note or responder carries
    full_incident: bool  # data is the incident (it has a status), not an object about one
    agent: str | None
    occurred_at: str | None
    dedup_key: str


def to_notification(request: HookRequest) -> Notification | Skip:
    document = require_object(request.payload, "a PagerDuty v3 webhook")
    event = document.get("event")
    event_type = event.get("event_type") if isinstance(event, dict) else None
    if not isinstance(event, dict) or not isinstance(event_type, str) or not event_type.strip():
        if "messages" in document:
            raise InvalidHookPayload(
                "This is a PagerDuty v1/v2 webhook ('messages'); create a v3 webhook subscription instead.",
                errors=[FieldError("messages", "v1/v2 webhooks are not read; only v3 events")],
            )
        raise InvalidHookPayload(
            'Expected a PagerDuty v3 webhook: {"event": {"event_type": ..., "data": {...}}}.',
            errors=[FieldError("event.event_type", "required: a v3 event with its type")],
        )
    event_type = event_type.strip().lower()
    if event_type == PING_EVENT:
        return Skip("ping", status="pong", http_status=200)
    if not event_type.startswith("incident."):
        return Skip(f"PagerDuty {event_type} is not mailed: only incident events are")
    data = event.get("data")
    if not isinstance(data, dict):
        raise InvalidHookPayload(
            f"A PagerDuty {event_type} event carries its incident in 'event.data'.",
            errors=[FieldError("event.data", "expected an object")],
        )
    full_incident = text_of(data.get("type")) == "incident" or "status" in data
    reference = data.get("incident")
    event_id = text_of(event.get("id")) or request.header(WEBHOOK_ID_HEADER)
    parsed = _Event(
        event_type=event_type,
        kind=event_type.removeprefix("incident."),
        data=data,
        incident=data if full_incident else reference if isinstance(reference, dict) else {},
        full_incident=full_incident,
        agent=_summary(event.get("agent")),
        occurred_at=text_of(event.get("occurred_at")),
        dedup_key=f"pagerduty:{event_id}" if event_id else "pagerduty:" + hashlib.sha256(request.body).hexdigest(),
    )
    return _notification(parsed)


def _notification(event: _Event) -> Notification:
    incident = event.incident
    status = _status(event)
    service = _summary(incident.get("service"))
    priority = _summary(incident.get("priority"))
    urgency = text_of(incident.get("urgency"))
    label = _LABELS.get(event.kind) or event.kind.replace(".", " ").replace("_", " ").upper()
    if event.kind == "priority_updated" and priority:
        label = f"PRIORITY {priority}"
    number = text_of(incident.get("number"))
    name = text_of(incident.get("title")) or text_of(incident.get("summary")) or "PagerDuty incident"
    title = f"[{label}] " + (f"#{number} " if number else "") + name + (f" — {service}" if service else "")
    occurred = parse_time(event.occurred_at)
    facts: list[tuple[str, str | None]] = [
        ("Service", service),
        ("Status", text_of(incident.get("status"))),
        ("Urgency", urgency),
        ("Priority", priority),
        ("Assigned to", _summaries(incident.get("assignees"))),
        ("Escalation policy", _summary(incident.get("escalation_policy"))),
        ("Teams", _summaries(incident.get("teams"))),
        *_responder_facts(event),
        ("By", event.agent),
        ("Occurred", time_text(occurred) or None),
        ("Incident key", text_of(incident.get("incident_key"))),
        ("Conference number", _conference(incident, "conference_number")),
    ]
    links = [
        Link("Incident", url) if (url := text_of(incident.get("html_url"))) else None,
        Link("Service", url) if (url := _html_url(incident.get("service"))) else None,
        Link("Conference bridge", url) if (url := _conference(incident, "conference_url")) else None,
    ]
    return Notification(
        source="pagerduty",
        status=status,
        title=title,
        severity=_severity(priority, urgency) if event.full_incident else Severity.INFO,
        summary=_summary_text(event),
        description=_description(event),
        facts=[(key, value) for key, value in facts if value],
        links=[link for link in links if link is not None],
        event=event.event_type,
        event_facts=EventFacts(event.event_type, None, f"PagerDuty {event.event_type}"),
        dedup_key=event.dedup_key,
    )


def _status(event: _Event) -> Status:
    if not event.full_incident:
        return Status.INFO  # a note, a responder, a status update: news about an incident, not its state
    status = (text_of(event.incident.get("status")) or "").lower()
    if status == "resolved" or (not status and event.kind == "resolved"):
        return Status.RESOLVED
    return Status.FIRING


def _severity(priority: str | None, urgency: str | None) -> Severity:
    """P1..P5 when the account's priorities are named so; else the urgency; else unknown."""
    from_priority = Severity.parse(priority)
    if from_priority is not Severity.UNKNOWN:
        return from_priority
    return _URGENCY_SEVERITY.get((urgency or "").lower(), Severity.UNKNOWN)


def _summary_text(event: _Event) -> str | None:
    data = event.data
    if event.kind == "annotated":
        return _clip(text_of(data.get("content")))
    if event.kind in ("status_update_published", "responder.added", "responder.replied"):
        return _clip(text_of(data.get("message")))
    if event.kind == "resolved" and (reason := _resolve_reason(data)):
        return f"Resolved: {reason}"
    verb = _VERBS.get(event.kind)
    return f"{verb} by {event.agent}" if verb and event.agent else None


def _description(event: _Event) -> str | None:
    # An incident created through the REST API or an email carries its body here.
    body = event.data.get("body") if event.full_incident else None
    return _clip(text_of(body.get("details"))) if isinstance(body, dict) else None


def _responder_facts(event: _Event) -> list[tuple[str, str | None]]:
    if not event.kind.startswith("responder."):
        return []
    return [("Responder", _summary(event.data.get("user"))), ("Request", text_of(event.data.get("state")))]


def _resolve_reason(data: dict[str, Any]) -> str | None:
    reason = data.get("resolve_reason")
    if isinstance(reason, dict):
        # The one documented kind: merged into another incident (the reference names it).
        if (into := _summary(reason.get("incident"))) is not None:
            return f"merged into {into}"
        return text_of(reason.get("type"))
    return text_of(reason)


def _summary(reference: Any) -> str | None:
    """A PagerDuty reference object's display name (``summary``), as every reference carries one."""
    return text_of(reference.get("summary")) if isinstance(reference, dict) else None


def _summaries(references: Any) -> str | None:
    if not isinstance(references, list):
        return None
    names = [name for reference in references if (name := _summary(reference))]
    return ", ".join(names) or None


def _html_url(reference: Any) -> str | None:
    return text_of(reference.get("html_url")) if isinstance(reference, dict) else None


def _conference(incident: dict[str, Any], key: str) -> str | None:
    bridge = incident.get("conference_bridge")
    return text_of(bridge.get(key)) if isinstance(bridge, dict) else None


def _clip(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_NOTE_CHARS:
        return text
    return text[:MAX_NOTE_CHARS].rstrip() + " …"
