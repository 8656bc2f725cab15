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
import json
import os
import tempfile
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from shared.logs import get_logger
from shared.mail.graph_message import FileAttachment, GraphSend, ItemAttachment, Message, Recipient
from shared.mail.odata import type_name
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
    # Exchange names the mailbox that sent in Sender when it is not the From (send on behalf).
    if message.sender and message.sender.email_address.address.lower() != _from_address(message, mail).lower():
        mime["Sender"] = _address(message.sender)
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
    mime["Message-ID"] = message.internet_message_id or email.utils.make_msgid(
        idstring=request_id, domain="mailhook.local"
    )
    if message.importance and message.importance.lower() in _IMPORTANCE_HEADERS:
        importance, priority = _IMPORTANCE_HEADERS[message.importance.lower()]
        mime["Importance"] = importance
        mime["X-Priority"] = priority
    for name, value, _ in message.custom_headers():
        mime[name] = value
    mime["X-Mailhook-Request-Id"] = request_id

    body = message.body
    mime.set_content(body.content if body else "", subtype="html" if body and body.is_html else "plain")
    for attachment in message.attachments or ():
        if isinstance(attachment, ItemAttachment):
            _add_item(mime, attachment)
            continue
        if not isinstance(attachment, FileAttachment):
            continue  # a reference attachment is a link Exchange resolves; v1.0 gives us no URL to show
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


def _from_address(message: Message, mail: GraphSend) -> str:
    return message.from_.email_address.address if message.from_ else mail.mailbox


def _add_item(mime: EmailMessage, attachment: ItemAttachment) -> None:
    """An embedded message as message/rfc822 (subject and body); an event or contact as its JSON."""
    item = attachment.item
    if type_name(str(item["@odata.type"])) != "microsoft.graph.message":
        mime.add_attachment(
            json.dumps(item, indent=1).encode(), maintype="application", subtype="json",
            filename=f"{attachment.name or 'item'}.json",
        )  # fmt: skip
        return
    embedded = EmailMessage(policy=email.policy.SMTP)
    embedded["Subject"] = str(item.get("subject") or "")
    given_body = item.get("body")
    body: dict[str, Any] = given_body if isinstance(given_body, dict) else {}
    is_html = str(body.get("contentType", "")).lower() == "html"
    embedded.set_content(str(body.get("content", "")), subtype="html" if is_html else "plain")
    mime.add_attachment(embedded, filename=f"{attachment.name or 'message'}.eml")


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
