"""The two bodies POST /api/mail accepts, turned into one Graph sendMail request.

1. Graph's own sendMail body, detected by its top-level ``message`` key, validated as is.
2. The simplified payload: ``to``/``cc``/``bcc``/``replyTo``, ``subject``, ``text`` or ``html``,
   ``importance``, ``headers``, ``attachments``, ``saveToSentItems``, ``from``.
"""

from __future__ import annotations

import base64
import mimetypes
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    StringConstraints,
    ValidationError,
)

from shared.mail.addresses import check_single_line
from shared.mail.graph_message import (
    MAX_CUSTOM_HEADERS,
    Address,
    AttachmentName,
    Base64Content,
    DisplayName,
    EmailAddress,
    FileAttachment,
    HeaderName,
    Importance,
    InternetMessageHeader,
    ItemBody,
    Message,
    Recipient,
    SendMailRequest,
    SingleLine,
    has_script_element,
)
from shared.problems import FieldError, Problem


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


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str | dict) else value


def _address_object(value: Any) -> Any:
    return {"address": value} if isinstance(value, str) else value


class _Simple(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_alias=True, validate_by_name=True)


class SimpleAddress(_Simple):
    address: Address
    name: DisplayName | None = None


AddressList = Annotated[list[Annotated[SimpleAddress, BeforeValidator(_address_object)]], BeforeValidator(_one_or_many)]


class SimpleAttachment(_Simple):
    name: AttachmentName
    content_type: SingleLine | None = Field(None, alias="contentType")
    content_base64: Base64Content | None = Field(None, alias="contentBase64")
    content: StrictStr | None = None

    def to_graph(self) -> FileAttachment:
        if self.content is not None:
            content_bytes = base64.b64encode(self.content.encode()).decode()
            content_type = self.content_type or "text/plain"
        else:
            assert self.content_base64 is not None
            content_bytes = self.content_base64
            content_type = self.content_type or (mimetypes.guess_type(self.name)[0] or "application/octet-stream")
        return FileAttachment(name=self.name, content_type=content_type, content_bytes=content_bytes)


class SimpleMail(_Simple):
    to: AddressList = []
    cc: AddressList = []
    bcc: AddressList = []
    reply_to: AddressList = Field([], alias="replyTo")
    subject: Annotated[StrictStr, StringConstraints(min_length=1), AfterValidator(check_single_line)]
    text: StrictStr | None = None
    html: StrictStr | None = None
    importance: Importance | None = None
    headers: Annotated[dict[HeaderName, SingleLine], Field(max_length=MAX_CUSTOM_HEADERS)] = {}
    attachments: list[SimpleAttachment] = []
    save_to_sent_items: StrictBool | None = Field(None, alias="saveToSentItems")
    from_: Address | None = Field(None, alias="from")

    def field_errors(self) -> list[FieldError]:
        """Rules across fields, which pydantic would report without a field name."""
        errors = []
        if self.text is not None and self.html is not None:
            errors.append(FieldError("html", "give 'text' or 'html', not both"))
        if self.html is not None and has_script_element(self.html):
            errors.append(FieldError("html", "an HTML body must not contain <script> elements"))
        for index, attachment in enumerate(self.attachments):
            if (attachment.content_base64 is None) == (attachment.content is None):
                errors.append(
                    FieldError(
                        f"attachments[{index}]",
                        "give exactly one of 'contentBase64' (binary) or 'content' (text)",
                    )
                )
        return errors

    def to_graph(self) -> SendMailRequest:
        seen: set[str] = set()
        to, cc, bcc = (_recipients(field, seen) for field in (self.to, self.cc, self.bcc))
        reply_to = _recipients(self.reply_to, set())
        body_type: Literal["text", "html"] = "html" if self.html is not None else "text"
        message = Message(
            subject=self.subject,
            body=ItemBody(content_type=body_type, content=self.html or self.text or ""),
            to_recipients=to or None,
            cc_recipients=cc or None,
            bcc_recipients=bcc or None,
            reply_to=reply_to or None,
            importance=self.importance,
            internet_message_headers=[
                InternetMessageHeader(name=name, value=value) for name, value in self.headers.items()
            ]
            or None,
            attachments=[attachment.to_graph() for attachment in self.attachments] or None,
        )
        return SendMailRequest(message=message, save_to_sent_items=self.save_to_sent_items)


def _recipients(addresses: Iterable[SimpleAddress], seen: set[str]) -> list[Recipient]:
    """Recipients in order, dropping any address already in ``seen`` (case-insensitive)."""
    recipients = []
    for item in addresses:
        key = item.address.lower()
        if key in seen:
            continue
        seen.add(key)
        recipients.append(Recipient(email_address=EmailAddress(address=item.address, name=item.name)))
    return recipients


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


def field_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "[key]" or part.startswith(("function-", "json-or-python")):
            continue  # pydantic's internal validator names, meaningless to a caller
        else:
            path += f".{part}" if path else part
    return path


def _message(error: Any) -> str:
    message = str(error["msg"])
    if error["type"] == "extra_forbidden":
        return "unknown field: not a property the bridge accepts"
    return message.removeprefix("Value error, ")
