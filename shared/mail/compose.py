"""Compose: a Notification on a route becomes a MailDraft, or a Skip when the route does not want it.

This is the one place routes act on notifications, for every source: whether the route mails it
(``route_verdict``), then who receives it, from which mailbox, with which template
(``compose``). Recipients come from the route only: a webhook caller can never choose them.
"""

from __future__ import annotations

from shared.addresses import SimpleAddress
from shared.mail.draft import MailDraft
from shared.mail.graph_message import EmailAddress, InternetMessageHeader, ItemBody, Message, Recipient, SendMailRequest
from shared.mail.rendering import Renderer
from shared.settings.routes import Route
from shared.sources.base import Skip
from shared.sources.notification import Notification, Severity, Status


def route_verdict(notification: Notification, route: Route, route_name: str) -> Skip | None:
    """Why the route does not mail this notification, or None when it does."""
    if notification.status is Status.RESOLVED and not route.send_resolved:
        return Skip(f"route '{route_name}' does not send resolved notifications")
    return None


def compose(notification: Notification, route: Route, route_name: str, renderer: Renderer) -> MailDraft:
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
    return MailDraft(
        SendMailRequest(message=message), route.from_, recipients_field=f"route {route_name}", route_name=route_name
    )


def _recipients(addresses: list[SimpleAddress]) -> list[Recipient] | None:
    return [Recipient(email_address=EmailAddress(address=a.address, name=a.name)) for a in addresses] or None
