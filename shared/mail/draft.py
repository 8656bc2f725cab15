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

from shared.mail.graph_message import ItemAttachment, Message, SendMailRequest
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
    _refuse_reserved_headers(request, prefix)
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
    _refuse_reserved_headers(request, "", simple_headers=True)
    return MailDraft(_with_sanitized_html(request), simple.from_)


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


def _refuse_reserved_headers(request: SendMailRequest, prefix: str, simple_headers: bool = False) -> None:
    reserved = [
        FieldError(
            f"headers.{name}" if simple_headers else f"{prefix}{where}",
            f"'{name}' is reserved: X-Mailhook-* are ours, X-MS-Exchange-* Exchange's",
        )
        for name, _, where in request.message.custom_headers()
        if name.lower().startswith(RESERVED_HEADER_PREFIXES)
    ]
    if reserved:
        raise InvalidPayload(f"{len(reserved)} header name(s) are reserved; see 'errors'.", errors=reserved)


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
