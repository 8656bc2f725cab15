"""What a caller asked to send, before policy: both /api/mail forms end as one MailDraft.

1. Graph's own sendMail body, detected by its top-level ``message`` key (or ``Message``, as Graph's
   $metadata and the kiota-based SDKs spell it), validated as is. A body with none but keys only a
   Graph message has (``toRecipients``, ``flag``, ...) is that message on its own, as the sendMail
   page's Example 5 prints it, and is sent wrapped in ``message``.
2. The simplified payload (``shared.mail.simple``).
Webhook notifications become MailDrafts too, in ``shared.mail.compose``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from shared.mail.graph_message import MAX_CUSTOM_HEADERS, ItemAttachment, Message, SendMailRequest
from shared.mail.simple import SimpleMail
from shared.problems import FieldError, Problem, field_path

if TYPE_CHECKING:
    from shared.mail.digest_line import DigestLine
    from shared.mail.mime_message import GeneratedParts


class InvalidPayload(Problem):
    status = 400
    code = "invalid_payload"
    title = "The request body is not a valid mail request"


@dataclass(frozen=True)
class MailDraft:
    """What the caller asked for, before policy: the Graph request and the addresses they named."""

    request: SendMailRequest
    # The address in `from`: the mailbox, distribution list or group the mail is from.
    from_address: str | None
    # The address in `sender`: the mailbox that sends (a delegate, or the one holding SendAs).
    sender_address: str | None = None
    # Where the caller wrote recipients and sender, so policy errors name the caller's own field.
    recipients_field: str = "to"
    from_field: str = "from"
    sender_field: str = "sender"
    reply_to_field: str = "replyTo"
    # The route a webhook notification was composed for; None for /api/mail.
    route_name: str | None = None
    # The notification's line in a storm digest, when its route allows holding it (``GraphSend.digest``).
    digest: DigestLine | None = None
    # A notification sent in Graph's MIME form (MAIL_MESSAGE_FORMAT=mime): its text part and thread.
    generated: GeneratedParts | None = None


# Header names that are ours (the trace headers compose.py sets on webhook mail) or Exchange's own
# (X-MS-Exchange-Organization-SCL and friends steer spam filtering and transport rules:
# https://learn.microsoft.com/exchange/antispam-and-antimalware/antispam-protection/antispam-stamps);
# a caller setting them would forge what mail rules and filters trust. Compared lower-cased.
RESERVED_HEADER_PREFIXES = ("x-mailhook-", "x-ms-exchange-")


# Keys only a Graph message has, not the simplified payload: without `message`, a body holding one of
# these (and none of the simplified payload's own keys) is a Graph message on its own.
MESSAGE_ONLY_KEYS = frozenset(field.alias for field in Message.model_fields.values() if field.alias is not None) - {
    "subject",
    "replyTo",
    "from",
    "importance",
    "attachments",
}
SIMPLE_ONLY_KEYS = frozenset({"to", "cc", "bcc", "text", "html", "headers"})


def parse_mail_request(payload: Any) -> MailDraft:
    """Validate either form into a MailDraft, or raise InvalidPayload naming each bad field.

    A caller's HTML body is sanitized here (shared/mail/html_sanitizer.py), for both forms.
    """
    if not isinstance(payload, dict):
        raise InvalidPayload("The body must be a JSON object.", errors=[FieldError("", "expected an object")])
    prefix = ""
    try:
        if "message" in payload or "Message" in payload:
            if "message" in payload and "Message" in payload:
                raise InvalidPayload(
                    "The message is given twice.",
                    errors=[FieldError("Message", "give the message once: as 'message' or as 'Message'")],
                )
            prefix = "message." if "message" in payload else "Message."
            request = SendMailRequest.model_validate(payload)
        elif payload.keys() & MESSAGE_ONLY_KEYS and not payload.keys() & SIMPLE_ONLY_KEYS:
            request = SendMailRequest(message=Message.model_validate(payload))
        else:
            return _parse_simple(payload)
    except ValidationError as exc:
        raise _invalid(exc, prefix if prefix == "Message." else "") from None
    _check_custom_headers(request, prefix)
    message = request.message
    return MailDraft(
        _with_sanitized_html(request),
        message.from_.email_address.address if message.from_ else None,
        message.sender.email_address.address if message.sender else None,
        recipients_field=f"{prefix}toRecipients",
        from_field=f"{prefix}from",
        sender_field=f"{prefix}sender",
        reply_to_field=f"{prefix}replyTo",
    )


def _parse_simple(payload: dict[str, Any]) -> MailDraft:
    try:
        simple = SimpleMail.model_validate(payload)
    except ValidationError as exc:
        raise _invalid(exc, "") from None
    if errors := simple.field_errors():
        raise InvalidPayload(f"{len(errors)} field(s) are invalid; see 'errors'.", errors=errors)
    request = simple.to_graph()
    _check_custom_headers(request, "", simple_headers=True)
    return MailDraft(_with_sanitized_html(request), simple.from_, simple.sender)


def _invalid(exc: ValidationError, parameter_spelling: str) -> InvalidPayload:
    errors = [error for raw in exc.errors() for error in _field_errors(raw, parameter_spelling)]
    return InvalidPayload(f"{len(errors)} field(s) are invalid; see 'errors'.", errors=errors)


# The tags of the attachment union (graph_message.Attachment), which pydantic puts in error locations.
_UNION_TAGS = frozenset({"file", "item", "reference"})


def _field_errors(error: Any, parameter_spelling: str) -> Iterator[FieldError]:
    location = tuple(
        part
        for index, part in enumerate(error["loc"])
        if not (part in _UNION_TAGS and index > 0 and isinstance(error["loc"][index - 1], int))
    )
    if parameter_spelling == "Message." and location[:1] == ("message",):
        location = ("Message", *location[1:])  # the spelling the caller used
    path = field_path(location)
    message = str(error["msg"])
    if error["type"] == "extra_forbidden":
        message = "unknown field: not a property the bridge accepts"
    yield FieldError(path, message.removeprefix("Value error, "))


def _check_custom_headers(request: SendMailRequest, prefix: str, simple_headers: bool = False) -> None:
    """The caller's internet headers, however written: none reserved, none twice, MAX_CUSTOM_HEADERS in all.

    A header is written in ``internetMessageHeaders`` or as a PS_INTERNET_HEADERS extended property;
    Exchange keeps both as named properties of that set, one per header name
    (https://learn.microsoft.com/office/client-developer/outlook/mapi/ps-internet-headers). The message
    resource says only "Add custom headers only when creating a message, and name them starting with
    'x-'" (https://learn.microsoft.com/graph/api/resources/message); Graph documents no number, and its answer past
    five in ``internetMessageHeaders`` is 400 InvalidInternetMessageHeaderCollection, "Maximum number of
    headers in one message should be less than or equal to 5"
    (https://learn.microsoft.com/answers/questions/762243), and each distinct name takes a slot of the
    mailbox's named-property quota for good
    (https://learn.microsoft.com/exchange/troubleshoot/administration/named-property-limit-reached). So
    one limit counts both ways together, and a name given twice (in any case: header names are
    case-insensitive, RFC 5322 section 1.2.2) is refused rather than one value silently kept.
    """
    headers = request.message.custom_headers()

    def field_of(name: str, where: str) -> str:
        return f"headers.{name}" if simple_headers else f"{prefix}{where}"

    reserved = [
        FieldError(field_of(name, where), f"'{name}' is reserved: X-Mailhook-* are ours, X-MS-Exchange-* Exchange's")
        for name, _, where in headers
        if name.lower().startswith(RESERVED_HEADER_PREFIXES)
    ]
    if reserved:
        raise InvalidPayload(f"{len(reserved)} header name(s) are reserved; see 'errors'.", errors=reserved)
    first_of: dict[str, str] = {}
    repeated = []
    for name, _, where in headers:
        if name.lower() in first_of:
            repeated.append(FieldError(field_of(name, where), f"'{name}' is already set, by {first_of[name.lower()]}"))
        else:
            first_of[name.lower()] = field_of(name, where)
    if repeated:
        raise InvalidPayload(f"{len(repeated)} header(s) are given twice; see 'errors'.", errors=repeated)
    if len(headers) > MAX_CUSTOM_HEADERS:
        raise InvalidPayload(
            f"{len(headers)} custom headers; Graph takes at most {MAX_CUSTOM_HEADERS}, in internetMessageHeaders "
            "and PS_INTERNET_HEADERS extended properties together.",
            errors=[
                FieldError(
                    field_of(name, where),
                    f"header {index} of {len(headers)}: at most {MAX_CUSTOM_HEADERS} custom headers in "
                    "internetMessageHeaders and PS_INTERNET_HEADERS extended properties together",
                )
                for index, (name, _, where) in enumerate(headers, 1)
                if index > MAX_CUSTOM_HEADERS
            ],
        )


def _with_sanitized_html(request: SendMailRequest) -> SendMailRequest:
    """The message's HTML body, and every HTML body of its item attachments' items, sanitized."""
    message = request.message
    body = message.body
    items = [index for index, a in enumerate(message.attachments or ()) if isinstance(a, ItemAttachment)]
    if (body is None or not body.is_html) and not items:
        return request
    from shared.mail.html_sanitizer import sanitize_embedded_html, sanitize_html

    update: dict[str, Any] = {}
    if body is not None and body.is_html:
        update["body"] = body.model_copy(update={"content": sanitize_html(body.content)})
    if items:
        attachments = list(message.attachments or ())
        for index in items:
            attachment = attachments[index]
            assert isinstance(attachment, ItemAttachment)
            attachments[index] = attachment.model_copy(update={"item": sanitize_embedded_html(attachment.item)})
        update["attachments"] = attachments
    return request.model_copy(update={"message": message.model_copy(update=update)})
