"""The outbox transport: each message becomes an .eml file plus the exact Graph request body.

It lets the bridge run with no Azure account: open the .eml in any mail client to see what
recipients would get; POST the .json to /users/{sender}/sendMail to send it for real. A message in
Graph's MIME form is written as it goes out: the .eml holds its bytes unchanged, and the .txt its
base64, which is the request body (``Content-Type: text/plain``).
"""

from __future__ import annotations

import base64
import datetime as dt
import email.policy
import email.utils
import os
import tempfile
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path

from shared.logs import get_logger
from shared.mail.graph_message import GraphSend, Message, Recipient
from shared.problems import RetryLater

log = get_logger(__name__)

# Exchange maps Graph's importance to these headers on the wire.
_IMPORTANCE_HEADERS = {"high": ("High", "1"), "low": ("Low", "5")}


class OutboxWriteFailed(RetryLater):
    status = 503
    code = "outbox_unwritable"
    title = "The outbox folder cannot be written"


class OutboxTransport:
    name = "outbox"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, mail: GraphSend, request_id: str) -> None:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        stem = f"{stamp}-{request_id}"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # The request first: a finished .eml is the signal that both files are complete.
            if mail.mime is not None:
                _write_atomically(self.directory / f"{stem}.txt", mail.body)
                _write_atomically(self.directory / f"{stem}.eml", mail.mime.raw)
            else:
                _write_atomically(self.directory / f"{stem}.json", mail.body)
                _write_atomically(self.directory / f"{stem}.eml", to_mime(mail, request_id).as_bytes())
        except OSError as exc:
            log.error("outbox write failed: %s", exc.strerror)
            raise OutboxWriteFailed(f"Could not write to MAIL_OUTBOX_DIR ({exc.strerror}).") from None
        log.info("message written to the outbox as %s.eml", stem)


def to_mime(mail: GraphSend, request_id: str) -> EmailMessage:
    """The RFC 5322 message Exchange would build from this Graph request, near enough to review."""
    assert mail.request is not None, "a MIME message is written as it is"
    message: Message = mail.request.message
    mime = EmailMessage(policy=email.policy.SMTP)
    mime["From"] = _address(message.from_) if message.from_ else Address(addr_spec=mail.mailbox)
    for header, recipients in (
        ("To", message.to_recipients),
        ("Cc", message.cc_recipients),
        ("Bcc", message.bcc_recipients),
        ("Reply-To", message.reply_to),
    ):
        if recipients:
            mime[header] = [_address(r) for r in recipients]
    mime["Subject"] = message.subject or ""
    mime["Date"] = email.utils.formatdate(localtime=False)
    mime["Message-ID"] = email.utils.make_msgid(idstring=request_id, domain="mailhook.local")
    if message.importance in _IMPORTANCE_HEADERS:
        importance, priority = _IMPORTANCE_HEADERS[message.importance]
        mime["Importance"] = importance
        mime["X-Priority"] = priority
    for custom_header in message.internet_message_headers or ():
        mime[custom_header.name] = custom_header.value
    mime["X-Mailhook-Request-Id"] = request_id

    body = message.body
    mime.set_content(body.content if body else "", subtype="html" if body and body.content_type == "html" else "plain")
    for attachment in message.attachments or ():
        maintype, _, subtype = (attachment.content_type or "application/octet-stream").partition(";")[0].partition("/")
        mime.add_attachment(
            base64.b64decode(attachment.content_bytes),
            maintype=maintype.strip() or "application",
            subtype=subtype.strip() or "octet-stream",
            filename=attachment.name,
            disposition="inline" if attachment.is_inline else "attachment",
            cid=f"<{attachment.content_id}>" if attachment.content_id else None,
        )
    return mime


def _address(recipient: Recipient) -> Address:
    email_address = recipient.email_address
    return Address(display_name=email_address.name or "", addr_spec=email_address.address)


def _write_atomically(path: Path, content: bytes) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink()
        raise
