"""The simplified /api/mail payload, for scripts, and how it becomes a Graph sendMail request.

``to``/``cc``/``bcc``/``replyTo``, ``subject``, ``text`` or ``html``, ``importance``, ``headers``,
``attachments``, ``saveToSentItems``, ``from``, ``sender``; every other field is refused.
"""

from __future__ import annotations

import base64
import mimetypes
from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    StringConstraints,
    WithJsonSchema,
)

from shared.addresses import (
    SINGLE_LINE_JSON_SCHEMA,
    Address,
    AddressList,
    SimpleAddress,
    SingleLine,
    check_single_line,
)
from shared.mail.graph_message import (
    MAX_CUSTOM_HEADERS,
    MAX_REPLY_TO,
    AttachmentName,
    Base64Content,
    HeaderName,
    Importance,
    SendMailRequest,
    has_script_element,
)
from shared.problems import FieldError


class _Simple(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_alias=True, validate_by_name=True)


def _given(field: str) -> dict[str, Any]:
    """JSON Schema: ``field`` is present, as a string."""
    return {"required": [field], "properties": {field: {"type": "string"}}}


class SimpleAttachment(_Simple):
    # The rule across fields that SimpleMail.field_errors() checks, said in its JSON Schema.
    model_config = ConfigDict(json_schema_extra={"oneOf": [_given("content"), _given("contentBase64")]})

    name: AttachmentName
    content_type: SingleLine | None = Field(None, alias="contentType")
    content_base64: Base64Content | None = Field(None, alias="contentBase64")
    content: StrictStr | None = None

    def to_graph(self) -> dict[str, str]:
        """The Graph fileAttachment, as JSON."""
        if self.content is not None:
            content_bytes = base64.b64encode(self.content.encode()).decode()
            content_type = self.content_type or "text/plain"
        else:
            assert self.content_base64 is not None
            content_bytes = self.content_base64
            content_type = self.content_type or (mimetypes.guess_type(self.name)[0] or "application/octet-stream")
        return {
            "@odata.type": "#microsoft.graph.fileAttachment",
            "name": self.name,
            "contentType": content_type,
            "contentBytes": content_bytes,
        }


class SimpleMail(_Simple):
    model_config = ConfigDict(
        json_schema_extra={
            "description": (
                "The simplified payload. Recipients: `to`, `cc` and `bcc` together at most 500, duplicates dropped; "
                "without any, MAIL_DEFAULT_TO. `text` or `html`, not both. Header names `X-…`."
            ),
            # The rule across fields that field_errors() checks, said in its JSON Schema.
            "not": {
                "required": ["text", "html"],
                "properties": {"text": {"type": "string"}, "html": {"type": "string"}},
            },
        }
    )

    to: AddressList = []
    cc: AddressList = []
    bcc: AddressList = []
    reply_to: Annotated[AddressList, Field(max_length=MAX_REPLY_TO)] = Field([], alias="replyTo")
    subject: Annotated[
        StrictStr,
        StringConstraints(min_length=1),
        AfterValidator(check_single_line),
        WithJsonSchema({**SINGLE_LINE_JSON_SCHEMA, "minLength": 1}),
    ]
    text: StrictStr | None = None
    html: StrictStr | None = None
    importance: Importance | None = None
    # The schema's patternProperties say what matching names hold; the validator refuses every other name.
    headers: Annotated[
        dict[HeaderName, SingleLine],
        Field(max_length=MAX_CUSTOM_HEADERS, json_schema_extra={"additionalProperties": False}),
    ] = {}
    attachments: list[SimpleAttachment] = []
    save_to_sent_items: StrictBool | None = Field(None, alias="saveToSentItems")
    from_: Address | None = Field(None, alias="from")
    # The mailbox that sends when it is not `from` (a delegate): as the Graph form's `sender`, it is the
    # URL mailbox and must be in MAIL_ALLOWED_SENDERS (MailPolicy._sending_mailbox), and goes to Graph as given.
    sender: Address | None = None

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
        """The Graph request this payload stands for, validated by Graph's model in one call.

        Written as the JSON Graph takes and validated once: a cascade of model constructors
        (or ``model_construct``, which is slower still in Python) cost twice as much CPU.
        """
        seen: set[str] = set()
        message: dict[str, Any] = {
            "subject": self.subject,
            "body": {
                "contentType": "html" if self.html is not None else "text",
                "content": self.html or self.text or "",
            },
        }
        for key, field in (("toRecipients", self.to), ("ccRecipients", self.cc), ("bccRecipients", self.bcc)):
            if recipients := _recipients(field, seen):
                message[key] = recipients
        if reply_to := _recipients(self.reply_to, set()):
            message["replyTo"] = reply_to
        if self.sender is not None:
            message["sender"] = {"emailAddress": {"address": self.sender}}
        if self.importance is not None:
            message["importance"] = self.importance
        if self.headers:
            message["internetMessageHeaders"] = [{"name": name, "value": value} for name, value in self.headers.items()]
        if self.attachments:
            message["attachments"] = [attachment.to_graph() for attachment in self.attachments]
        return SendMailRequest.model_validate({"message": message, "saveToSentItems": self.save_to_sent_items})


def _recipients(addresses: Iterable[SimpleAddress], seen: set[str]) -> list[dict[str, Any]]:
    """Graph recipients in order, dropping any address already in ``seen`` (case-insensitive)."""
    recipients = []
    for item in addresses:
        key = item.address.lower()
        if key in seen:
            continue
        seen.add(key)
        email_address = {"address": item.address} if item.name is None else {"address": item.address, "name": item.name}
        recipients.append({"emailAddress": email_address})
    return recipients
