"""Generated mail in Graph's MIME form: a webhook notification as the message mail clients thread.

Built with ``email.message.EmailMessage`` (never by joining strings: the package refuses a header
value with a line break, and encodes non-ASCII names and subjects as RFC 2047 words) from the JSON
request policy approved, so the recipients, the sender and MAIL_DEFAULT_TO are the JSON form's:

- ``multipart/alternative``: the plain-text rendering (the route's text template), then the HTML;
  a ``"format": "text"`` route's mail is the text alone;
- ``Auto-Submitted: auto-generated`` (RFC 3834 §5), which tells auto-responders not to answer, and
  ``X-Auto-Response-Suppress: All``, Exchange's own way of saying it ([MS-OXCMAIL] 2.2.3.2.14,
  https://learn.microsoft.com/openspecs/exchange_server_protocols/ms-oxcmail/ced68690-498a-4567-9d14-5c01f974d8b1);
- a ``Message-ID`` of its own, and ``In-Reply-To``, ``References``, ``Thread-Topic`` and
  ``Thread-Index`` of its conversation (``shared.mail.conversation``);
- ``Importance`` and ``X-Priority`` as Exchange writes Graph's ``importance``, and the
  ``X-Mailhook-*`` headers of the JSON form.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import uuid
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser

from shared.addresses import address_domain
from shared.mail.conversation import Conversation
from shared.mail.graph_message import (
    MAX_GRAPH_REQUEST_BYTES,
    EmailAddress,
    ItemBody,
    Message,
    MimeContent,
    Recipient,
    SendMailRequest,
)
from shared.mail.policy import MessageTooLarge

# RFC 5322 §2.1.1's hard line limit rather than its 78-character advice: Python folds a long header
# with non-ASCII words before the space instead of after it, so the reader would see two spaces
# ("(prod-eu)  — Checkout API") where the subject had one.
_POLICY = email.policy.SMTP.clone(max_line_length=998)
# How Exchange writes Graph's importance on the wire.
_IMPORTANCE_HEADERS = {"high": ("High", "1"), "low": ("Low", "5")}


@dataclass(frozen=True)
class GeneratedParts:
    """What a notification's MIME mail has beyond its JSON form (``MailDraft.generated``)."""

    text: str | None  # the plain-text alternative to an HTML body; None when the body is text
    conversation: Conversation
    created_at: dt.datetime  # the Date header


def generated_mime(mailbox: str, request: SendMailRequest, parts: GeneratedParts) -> MimeContent:
    """The approved request as a MIME message from ``mailbox``; MessageTooLarge past Graph's 4 MB."""
    message = request.message
    domain = address_domain(mailbox)
    mime = EmailMessage(policy=_POLICY)
    if message.from_ is not None and message.from_.email_address.address.lower() != mailbox.lower():
        # A route's `from` that is a list or group (MAIL_ALLOWED_FROM): the mail is from it, the
        # mailbox in the URL sends it, as the JSON form's from and sender say.
        mime["From"] = _address(message.from_)
        mime["Sender"] = Address(addr_spec=mailbox)
    else:
        mime["From"] = Address(addr_spec=mailbox)
    for header, recipients in (
        ("To", message.to_recipients),
        ("Cc", message.cc_recipients),
        ("Bcc", message.bcc_recipients),
    ):
        if recipients:
            mime[header] = [_address(recipient) for recipient in recipients]
    mime["Subject"] = message.subject or ""
    mime["Date"] = email.utils.format_datetime(parts.created_at.astimezone(dt.UTC))
    mime["Message-ID"] = f"<{uuid.uuid4().hex}.{parts.conversation.root}@{domain}>"
    root_id = parts.conversation.root_id(domain)
    mime["In-Reply-To"] = root_id
    mime["References"] = root_id
    mime["Thread-Topic"] = parts.conversation.topic
    mime["Thread-Index"] = parts.conversation.index_header
    mime["Auto-Submitted"] = "auto-generated"
    mime["X-Auto-Response-Suppress"] = "All"
    if message.importance in _IMPORTANCE_HEADERS:
        importance, priority = _IMPORTANCE_HEADERS[message.importance]
        mime["Importance"] = importance
        mime["X-Priority"] = priority
    for custom in message.internet_message_headers or ():
        mime[custom.name] = custom.value
    body = message.body or ItemBody(content_type="text", content="")
    if body.content_type == "html":
        mime.set_content(parts.text or "", subtype="plain")
        mime.add_alternative(body.content, subtype="html")
    else:
        mime.set_content(body.content, subtype="plain")
    raw = mime.as_bytes()
    # base64 makes it a third larger; Graph's limit counts the request, the base64.
    if (len(raw) + 2) // 3 * 4 >= MAX_GRAPH_REQUEST_BYTES:
        raise MessageTooLarge(
            f"The MIME mail of this notification would be {len(raw):,} bytes, over {MAX_GRAPH_REQUEST_BYTES:,} "
            "(4 MB) once base64-encoded for Graph. Nothing was sent."
        )
    addresses = tuple(r.email_address.address for r in message.recipients())
    return MimeContent(raw=raw, recipients=addresses, subject=message.subject or "", message_id=str(mime["Message-ID"]))


def request_of_generated(raw: bytes) -> SendMailRequest:
    """A generated MIME mail read back as the JSON form a storm digest is composed from: its
    subject, recipients and HTML (else text) body. Only for mail we built: nothing is checked."""
    parsed = BytesParser(policy=email.policy.default).parsebytes(raw)
    recipients = {
        header: [
            Recipient(email_address=EmailAddress(address=address.addr_spec, name=address.display_name or None))
            for value in parsed.get_all(header) or ()
            for address in getattr(value, "addresses", ())
        ]
        or None
        for header in ("To", "Cc", "Bcc")
    }
    part = parsed.get_body(preferencelist=("html", "plain"))
    content = part.get_content() if isinstance(part, EmailMessage) else ""
    is_html = isinstance(part, EmailMessage) and part.get_content_subtype() == "html"
    message = Message(
        subject=str(parsed["Subject"] or ""),
        body=ItemBody(content_type="html" if is_html else "text", content=content),
        to_recipients=recipients["To"],
        cc_recipients=recipients["Cc"],
        bcc_recipients=recipients["Bcc"],
    )
    return SendMailRequest(message=message)


def _address(recipient: Recipient) -> Address:
    return Address(display_name=recipient.email_address.name or "", addr_spec=recipient.email_address.address)
