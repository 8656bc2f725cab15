"""What a caller asked to send, before policy: both /api/mail forms end as one MailDraft.

1. Graph's own sendMail body, detected by its top-level ``message`` key, validated as is.
2. The simplified payload (``shared.mail.simple``).
Webhook notifications become MailDrafts too, in ``shared.mail.compose``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from shared.mail.graph_message import SendMailRequest
from shared.mail.simple import SimpleMail
from shared.problems import FieldError, Problem, field_path

if TYPE_CHECKING:
    from shared.mail.digest_line import DigestLine


class InvalidPayload(Problem):
    status = 400
    code = "invalid_payload"
    title = "The request body is not a valid mail request"


@dataclass(frozen=True)
class MailDraft:
    """What the caller asked for, before policy: the Graph request and the mailbox they named."""

    request: SendMailRequest
    requested_sender: str | None
    # Where the caller wrote recipients and sender, so policy errors name the caller's own field.
    recipients_field: str = "to"
    sender_field: str = "from"
    reply_to_field: str = "replyTo"
    # The route a webhook notification was composed for; None for /api/mail.
    route_name: str | None = None
    # The notification's line in a storm digest, when its route allows holding it (``GraphSend.digest``).
    digest: DigestLine | None = None


# Header names that are ours (the trace headers compose.py sets on webhook mail) or Exchange's own
# (X-MS-Exchange-Organization-SCL and friends steer spam filtering and transport rules:
# https://learn.microsoft.com/exchange/antispam-and-antimalware/antispam-protection/antispam-stamps);
# a caller setting them would forge what mail rules and filters trust. Compared lower-cased.
RESERVED_HEADER_PREFIXES = ("x-mailhook-", "x-ms-exchange-")


def parse_mail_request(payload: Any) -> MailDraft:
    """Validate either form into a MailDraft, or raise InvalidPayload naming each bad field.

    A caller's HTML body is sanitized here (shared/mail/html_sanitizer.py), for both forms.
    """
    if not isinstance(payload, dict):
        raise InvalidPayload("The body must be a JSON object.", errors=[FieldError("", "expected an object")])
    try:
        if "message" in payload:
            request = SendMailRequest.model_validate(payload)
            _refuse_reserved_headers(request, lambda index, _: f"message.internetMessageHeaders[{index}].name")
            sender = request.message.from_
            return MailDraft(
                _with_sanitized_html(request),
                sender.email_address.address if sender else None,
                recipients_field="message.toRecipients",
                sender_field="message.from",
                reply_to_field="message.replyTo",
            )
        simple = SimpleMail.model_validate(payload)
        if errors := simple.field_errors():
            raise InvalidPayload(f"{len(errors)} field(s) are invalid; see 'errors'.", errors=errors)
        request = simple.to_graph()
        _refuse_reserved_headers(request, lambda _, name: f"headers.{name}")
        return MailDraft(_with_sanitized_html(request), simple.from_)
    except ValidationError as exc:
        raise InvalidPayload(
            f"{exc.error_count()} field(s) are invalid; see 'errors'.",
            errors=[FieldError(field_path(e["loc"]), _message(e)) for e in exc.errors()],
        ) from None


def _message(error: Any) -> str:
    message = str(error["msg"])
    if error["type"] == "extra_forbidden":
        return "unknown field: not a property the bridge accepts"
    return message.removeprefix("Value error, ")


def _refuse_reserved_headers(request: SendMailRequest, field_of: Callable[[int, str], str]) -> None:
    reserved = [
        FieldError(
            field_of(index, header.name),
            f"'{header.name}' is reserved: X-Mailhook-* are ours, X-MS-Exchange-* Exchange's",
        )
        for index, header in enumerate(request.message.internet_message_headers or ())
        if header.name.lower().startswith(RESERVED_HEADER_PREFIXES)
    ]
    if reserved:
        raise InvalidPayload(f"{len(reserved)} header name(s) are reserved; see 'errors'.", errors=reserved)


def _with_sanitized_html(request: SendMailRequest) -> SendMailRequest:
    body = request.message.body
    if body is None or body.content_type != "html":
        return request
    from shared.mail.html_sanitizer import sanitize_html

    sanitized = body.model_copy(update={"content": sanitize_html(body.content)})
    return request.model_copy(update={"message": request.message.model_copy(update={"body": sanitized})})
