"""A caller's MIME message for /api/mail, read with the standard ``email`` package, before policy.

Two forms reach here:

1. ``Content-Type: text/plain``: the base64 of a whole RFC 5322 message, exactly what Graph's
   sendMail takes (https://learn.microsoft.com/graph/api/user-sendmail, example 4, and
   https://learn.microsoft.com/graph/outlook-send-mime-message). It is forwarded byte for byte.
2. ``Content-Type: message/rfc822``: the message itself (RFC 2046 §5.2.1), a convenience for
   ``curl --data-binary @mail.eml``; we base64 it for Graph, and the message is not touched.

Nothing is re-serialized: what policy reads here is what Exchange receives. So the header section
must read the same to every parser: one kind of line ending (CRLF or LF, never a bare CR, which
Python reads as a line break and others may not), no NUL, no header line the parser could not read
(the parser's defects list), at most one of each header RFC 5322 §3.6 allows once (From, To, ...:
a second To is one parser's recipient and another's nothing), and none of the reserved names
(``X-Mailhook-*``, ``X-MS-Exchange-*``, see ``shared.mail.draft``). An HTML part with a ``<script>``
is refused as in the JSON forms; otherwise the HTML is not sanitized, since it is not rewritten.
"""

from __future__ import annotations

import base64
import binascii
import email.errors
import email.policy
import re
from dataclasses import dataclass
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.parser import BytesParser
from typing import cast

from shared.addresses import check_address, check_display_name
from shared.mail.draft import RESERVED_HEADER_PREFIXES
from shared.mail.graph_message import MimeContent, has_script_element, is_message_id
from shared.problems import FieldError, Problem

BASE64_MEDIA_TYPE = "text/plain"
RAW_MEDIA_TYPE = "message/rfc822"
MIME_MEDIA_TYPES = (BASE64_MEDIA_TYPE, RAW_MEDIA_TYPE)

# RFC 5322 §3.6: the fields a message has at most once. Exchange and the allow-lists must agree on
# which one counts, so a second one is refused rather than guessed at.
SINGLE_HEADERS = ("From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Subject", "Message-ID", "Date")
ADDRESS_HEADERS = ("From", "Sender", "To", "Cc", "Bcc", "Reply-To")
RECIPIENT_HEADERS = ("To", "Cc", "Bcc")

# .NET's Convert.FromBase64String, which Exchange decodes with, skips these between characters.
_BASE64_WHITESPACE_RE = re.compile(rb"[ \t\r\n]+")
_HEADER_LINE_RE = re.compile(rb"[!-9;-~]+:")
# What the email package's header parser raises on some hostile values instead of recording a defect
# ("Cc: x=?a@b.com;\xff=?" gives AttributeError: 'Group' object has no attribute 'local_part'; other
# values an UnboundLocalError). Any of them means the same: a header no parser reads alike.
_PARSER_FAILURES = (
    email.errors.MessageError,
    AttributeError,
    IndexError,
    LookupError,
    NameError,
    TypeError,
    ValueError,
    RecursionError,
)
_HEADER_DEFECTS = (
    email.errors.MissingHeaderBodySeparatorDefect,
    email.errors.InvalidHeaderDefect,
    email.errors.HeaderMissingRequiredValue,
)


class InvalidMimeBase64(Problem):
    status = 400
    code = "invalid_mime_encoding"
    title = "The body is not base64 of a MIME message"


class InvalidMime(Problem):
    status = 400
    code = "invalid_mime"
    title = "The body is not a MIME message the bridge can forward"


@dataclass(frozen=True)
class MimeDraft:
    """What a MIME caller asked for, before policy: the message and the addresses read from it."""

    raw: bytes  # the RFC 5322 message, as sent
    graph_body: bytes  # Graph's request body: the caller's own base64, or ours of ``raw``
    from_address: str | None
    sender_address: str | None  # the Sender header: who sends on behalf of From
    recipients: dict[str, tuple[str, ...]]  # To, Cc, Bcc: the addresses of each header given
    reply_to: tuple[str, ...]
    subject: str
    message_id: str | None = None  # the Message-ID header, when it is a valid msg-id

    def recipient_addresses(self) -> tuple[str, ...]:
        return tuple(address for header in RECIPIENT_HEADERS for address in self.recipients.get(header, ()))

    def content(self) -> MimeContent:
        """What the delivery steps need of the message (``GraphSend.mime``)."""
        return MimeContent(
            raw=self.raw, recipients=self.recipient_addresses(), subject=self.subject, message_id=self.message_id
        )


def media_type_of(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def is_mime_media_type(content_type: str) -> bool:
    return media_type_of(content_type) in MIME_MEDIA_TYPES


def read_mime_request(content_type: str, body: bytes) -> MimeDraft:
    """The MIME draft of a /api/mail body sent as text/plain (base64) or message/rfc822 (raw)."""
    if media_type_of(content_type) == RAW_MEDIA_TYPE:
        return read_mime(body, base64.b64encode(body))
    return read_mime(decode_graph_mime(body), body)


def decode_graph_mime(graph_body: bytes) -> bytes:
    """The message in Graph's text/plain body; InvalidMimeBase64 as Graph's ErrorMimeContentInvalidBase64String."""
    compact = _BASE64_WHITESPACE_RE.sub(b"", graph_body)
    try:
        # Python forgives surplus padding ("QUJD="); .NET, which Graph decodes with, wants whole quads.
        if len(compact) % 4:
            raise ValueError("not a whole number of 4-character groups")
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidMimeBase64(
            "A text/plain body is the base64 of an RFC 5322 message, as Graph's sendMail takes it; this one is not "
            "valid base64 (Graph: ErrorMimeContentInvalidBase64String). Send a raw message as message/rfc822.",
            errors=[FieldError("body", "not valid base64")],
        ) from None
    if not raw:
        raise InvalidMimeBase64("The body is empty.", errors=[FieldError("body", "an RFC 5322 message is required")])
    return raw


def read_mime(raw: bytes, graph_body: bytes) -> MimeDraft:
    """Read and check the header section of ``raw``; ``graph_body`` is what Graph will be sent."""
    _check_header_section(raw)
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    problems = [
        FieldError("header section", f"unreadable header line ({type(defect).__name__})")
        for defect in message.defects
        if isinstance(defect, _HEADER_DEFECTS)
    ]
    names = message.keys()
    if not names:
        problems.append(FieldError("header section", "no header fields: not an RFC 5322 message"))
    lower_names = [name.lower() for name in names]
    for header in SINGLE_HEADERS:
        if lower_names.count(header.lower()) > 1:
            problems.append(FieldError(header, f"appears {lower_names.count(header.lower())} times; at most once"))
    for name in dict.fromkeys(names):
        if name.lower().startswith(RESERVED_HEADER_PREFIXES):
            reason = f"'{name[:64]}' is reserved: X-Mailhook-* are ours, X-MS-Exchange-* Exchange's"
            problems.append(FieldError(name[:64], reason))
    addresses: dict[str, tuple[str, ...]] = {}
    for header in ADDRESS_HEADERS:
        if header.lower() in lower_names:
            try:
                addresses[header] = _addresses(message, header, problems)
            except _PARSER_FAILURES as exc:
                problems.append(FieldError(header, f"unreadable address list ({type(exc).__name__})"))
    try:
        subject = _subject(message, problems)
    except _PARSER_FAILURES as exc:
        subject = ""
        problems.append(FieldError("Subject", f"unreadable ({type(exc).__name__})"))
    problems.extend(_script_parts(message))
    for header in ("From", "Sender"):
        if len(addresses.get(header, ())) > 1:
            problems.append(FieldError(header, "one mailbox only: it names the mailbox that sends"))
    if problems:
        raise InvalidMime(f"{len(problems)} problem(s) in the message's headers; see 'errors'.", errors=problems)
    return MimeDraft(
        raw=raw,
        graph_body=graph_body,
        from_address=next(iter(addresses.get("From", ())), None),
        sender_address=next(iter(addresses.get("Sender", ())), None),
        recipients={header: addresses[header] for header in RECIPIENT_HEADERS if header in addresses},
        reply_to=addresses.get("Reply-To", ()),
        subject=subject,
        message_id=message_id_of(message),
    )


def content_of(graph_body: bytes) -> MimeContent:
    """What the delivery steps need of a MIME send already approved (a queued or held one): read,
    not checked again; the checks above are for callers, and generated mail carries our own headers."""
    raw = decode_graph_mime(graph_body)
    message = BytesParser(policy=email.policy.default).parsebytes(raw, headersonly=True)
    recipients = tuple(
        address.addr_spec
        for header in RECIPIENT_HEADERS
        for value in message.get_all(header) or ()
        for address in getattr(value, "addresses", ())
    )
    return MimeContent(
        raw=raw, recipients=recipients, subject=str(message["Subject"] or ""), message_id=message_id_of(message)
    )


def message_id_of(message: EmailMessage) -> str | None:
    """The Message-ID header when it is one msg-id; None without one, or with one Exchange may replace."""
    try:
        value = message.get("Message-ID")
    except _PARSER_FAILURES:
        return None
    text = str(value).strip() if value is not None else ""
    return text if is_message_id(text) else None


def _check_header_section(raw: bytes) -> None:
    """One line ending throughout, no bare CR, no NUL, and a header field on the first line."""
    end = raw.find(b"\r\n\r\n")
    lf_end = raw.find(b"\n\n")
    header_end = min(i for i in (end, lf_end, len(raw)) if i >= 0)
    section = raw[:header_end]
    crlf = section.count(b"\r\n")
    if b"\x00" in section:
        _refuse("a NUL byte in the header section")
    if section.count(b"\r") != crlf:
        _refuse("a bare CR in the header section: parsers disagree on where its lines end")
    if crlf and section.count(b"\n") != crlf:
        _refuse("CRLF and bare LF line endings mixed in the header section: parsers disagree on where its lines end")
    if not _HEADER_LINE_RE.match(section):
        _refuse("the message does not start with a header field ('Name: value')")


def _refuse(reason: str) -> None:
    raise InvalidMime(f"Not forwarded: {reason}.", errors=[FieldError("header section", reason)])


def _addresses(message: EmailMessage, header: str, problems: list[FieldError]) -> tuple[str, ...]:
    value = message[header]
    header_defects = getattr(value, "defects", ())
    if header_defects:
        problems.append(FieldError(header, f"not a valid address list ({header_defects[0]})"))
        return ()
    found: list[str] = []
    for address in cast(tuple[HeaderAddress, ...], getattr(value, "addresses", ())):
        try:
            found.append(check_address(address.addr_spec))
            if address.display_name:
                check_display_name(address.display_name)
        except ValueError as exc:
            problems.append(FieldError(header, str(exc)))
    return tuple(found)


def _script_parts(message: EmailMessage) -> list[FieldError]:
    """HTML parts with a <script>, refused as in the JSON forms: mail clients never run scripts, and
    filters score mails that carry them as phishing. The HTML is not sanitized otherwise: the bytes
    are forwarded unchanged (a signed S/MIME message would break), so MIME is for callers who send
    what they mean."""
    problems = []
    for number, part in enumerate(message.walk()):
        if part.get_content_type() != "text/html":
            continue
        try:
            content = part.get_content()
        except _PARSER_FAILURES as exc:
            problems.append(FieldError(f"part {number}", f"text/html that cannot be decoded ({type(exc).__name__})"))
            continue
        if isinstance(content, str) and has_script_element(content):
            problems.append(FieldError(f"part {number}", "an HTML body must not contain <script> elements"))
    return problems


def _subject(message: EmailMessage, problems: list[FieldError]) -> str:
    value = message["Subject"]
    if value is None:
        return ""
    if getattr(value, "defects", ()):
        problems.append(FieldError("Subject", "not a readable header value"))
    return str(value)
