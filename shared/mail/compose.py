"""Compose: a Notification on a route becomes a MailDraft, or a Skip when the route does not want it.

This is the one place routes act on notifications, for every source: whether the route mails it
(``route_verdict``), then who receives it, from which mailbox, with which template
(``compose``). Recipients come from the route only: a webhook caller can never choose them.
"""

from __future__ import annotations

import datetime as dt

from shared.addresses import SimpleAddress
from shared.mail.digest_line import digest_line
from shared.mail.draft import MailDraft
from shared.mail.graph_message import EmailAddress, InternetMessageHeader, ItemBody, Message, Recipient, SendMailRequest
from shared.mail.rendering import Renderer
from shared.settings.message_format import MessageFormat, MessageFormatSettings, ThreadByDate
from shared.settings.routes import Route
from shared.sources.base import Skip
from shared.sources.notification import EventFacts, Notification, Severity, Status


def route_verdict(notification: Notification, route: Route, route_name: str) -> Skip | None:
    """Why the route does not mail this notification, or None when it does.

    ``sendResolved: false`` drops resolved notifications. ``events`` acts on notifications whose
    source names its events (``Notification.event_facts``: GitHub's ``X-GitHub-Event``, PagerDuty's
    and Sentry's event types):

    - Without ``events`` on the route, the source's defaults apply (for GitHub: failing runs and
      checks, failed deployments, published releases; see shared/sources/github.py).
    - A route's ``events`` list replaces those defaults: only what it lists is mailed.
    - A bare event name (``"workflow_run"``, ``"deployment_status"``, ``"release"``) keeps the default
      outcome filter: failing runs and checks only, failed deployments only, published releases only.
      Someone who routes CI mail to a team wants the red builds, not one mail per green build. Events
      without a default (``"push"``, ``"issues"``, ``"pull_request"``, ...) are mailed for every action.
    - ``"<event>.<action>"`` (``"workflow_run.completed"``, ``"pull_request.opened"``,
      ``"release.prereleased"``, ``"deployment_status.created"``) mails exactly that action, whatever
      the outcome: ``workflow_run.completed`` mails every finished run, green ones included.

    Names are matched case-insensitively; a skip reason says how to ask for what was not mailed.
    """
    if notification.event_facts is not None:
        reason = _events_verdict(notification.event_facts, route.events)
        if reason is not None:
            return Skip(reason)
    if notification.status is Status.RESOLVED and not route.send_resolved:
        return Skip(f"route '{route_name}' does not send resolved notifications")
    return None


def _events_verdict(facts: EventFacts, wanted: list[str] | None) -> str | None:
    """Why the route's ``events`` (None: the source's defaults) leave this event out, or None to mail it."""
    event, action = facts.name, facts.action
    qualified = f"{event}.{action}" if action else event
    if wanted is None:
        if facts.default_skip is None:
            return None
        if facts.outcome_filtered:
            return f"{facts.default_skip}; list '{qualified}' in the route's events to get every one."
        return f"{facts.default_skip}; list '{event}' in the route's events to get it."
    wanted_names = {name.lower() for name in wanted}
    if action and qualified in wanted_names:
        return None
    if event not in wanted_names:
        names = f"'{event}' or '{qualified}'" if qualified != event else f"'{event}'"
        return f"{facts.described}: the route's events ({', '.join(wanted)}) do not include {names}."
    if facts.outcome_filtered and facts.default_skip is not None:
        return f"{facts.default_skip}; list '{qualified}' in the route's events to get every one."
    return None


def compose(
    notification: Notification,
    route: Route,
    route_name: str,
    renderer: Renderer,
    message_format: MessageFormatSettings | None = None,
    *,
    now: dt.datetime | None = None,
) -> MailDraft:
    """The notification's mail on this route; in the MIME form (the default) with its plain-text
    part and its conversation (``shared.mail.mime_message``), else Graph's JSON form."""
    message_format = message_format or MessageFormatSettings()
    rendered = renderer.render(notification, route)
    message = Message(
        subject=rendered.subject,
        body=ItemBody(content_type=rendered.content_type, content=rendered.body),
        to_recipients=_recipients(route.to),
        cc_recipients=_recipients(route.cc),
        bcc_recipients=_recipients(route.bcc),
        importance="high"
        if notification.status is Status.FIRING and notification.severity is Severity.CRITICAL
        else None,
        # Mail rules can sort on these without parsing subjects.
        internet_message_headers=[
            InternetMessageHeader(name="X-Mailhook-Source", value=notification.source),
            InternetMessageHeader(name="X-Mailhook-Status", value=notification.status.value),
        ],
    )
    generated = None
    if message_format.format is MessageFormat.MIME:
        from shared.mail.conversation import conversation_of
        from shared.mail.mime_message import GeneratedParts

        now = now or dt.datetime.now(dt.UTC)
        by_date = ThreadByDate(route.thread_by_date) if route.thread_by_date else message_format.thread_by_date
        generated = GeneratedParts(
            text=renderer.render_text(notification, route) if rendered.content_type == "html" else None,
            conversation=conversation_of(notification, route_name, by_date, now),
            created_at=now,
        )
    return MailDraft(
        SendMailRequest(message=message),
        from_address=route.from_,
        recipients_field=f"route {route_name}",
        route_name=route_name,
        digest=digest_line(notification, route_name) if route.digest else None,
        generated=generated,
    )


def _recipients(addresses: list[SimpleAddress]) -> list[Recipient] | None:
    return [Recipient(email_address=EmailAddress(address=a.address, name=a.name)) for a in addresses] or None
