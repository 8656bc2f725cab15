"""What a caller asked to send, before policy: both /api/mail forms end as one MailDraft.

1. Graph's own sendMail body, detected by its top-level ``message`` key, validated as is.
2. The simplified payload (``shared.mail.simple``).
Webhook notifications become MailDrafts too, in ``shared.mail.compose``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from shared.mail.digest_line import DigestLine
from shared.mail.graph_message import SendMailRequest
from shared.mail.simple import SimpleMail
from shared.problems import FieldError, Problem, field_path


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
    # The route a webhook notification was composed for; None for /api/mail.
    route_name: str | None = None
    # The notification's line in a storm digest, when its route allows holding it (``GraphSend.digest``).
    digest: DigestLine | None = None


def parse_mail_request(payload: Any) -> MailDraft:
    """Validate either form into a MailDraft, or raise InvalidPayload naming each bad field."""
    if not isinstance(payload, dict):
        raise InvalidPayload("The body must be a JSON object.", errors=[FieldError("", "expected an object")])
    try:
        if "message" in payload:
            request = SendMailRequest.model_validate(payload)
            sender = request.message.from_
            return MailDraft(
                request,
                sender.email_address.address if sender else None,
                recipients_field="message.toRecipients",
                sender_field="message.from",
            )
        simple = SimpleMail.model_validate(payload)
        if errors := simple.field_errors():
            raise InvalidPayload(f"{len(errors)} field(s) are invalid; see 'errors'.", errors=errors)
        return MailDraft(simple.to_graph(), simple.from_)
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
