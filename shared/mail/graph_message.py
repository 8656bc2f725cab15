"""The Microsoft Graph sendMail request as pydantic models: what we accept and what we send.

Both /api/mail forms end up here. The models carry Graph's own rules (header names and count,
base64 attachments, single-line subject and names), so a body that validates is one Graph takes.
Properties we do not model are refused (``extra="forbid"``) rather than passed on blindly.
Each constrained type says its rule in JSON Schema too (``WithJsonSchema``), for the OpenAPI document.
References: https://learn.microsoft.com/graph/api/user-sendmail (the request),
https://learn.microsoft.com/graph/api/resources/message (its properties) and
https://learn.microsoft.com/graph/api/resources/internetmessageheader (custom headers).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel

from shared.addresses import (
    MAX_RECIPIENTS,
    Address,
    DisplayName,
    SingleLine,
    check_no_bidi_controls,
    check_single_line,
    whole_text_pattern,
)

if TYPE_CHECKING:
    from shared.mail.digest_line import DigestLine

# Graph refuses a request body over 4 MB ("The maximum request length supported is 4MB"):
# https://github.com/microsoftgraph/microsoft-graph-docs-contrib/issues/682
MAX_GRAPH_REQUEST_BYTES = 4 * 1024 * 1024
# InvalidInternetMessageHeaderCollection above 5 custom headers ("Maximum number of headers in one
# message should be less than or equal to 5"): https://learn.microsoft.com/answers/questions/762243
MAX_CUSTOM_HEADERS = 5
# Reply-To addresses per message: Graph documents no limit; answers go to a team's address or two,
# and a long list is only a way to fan replies out to many addresses from our mailbox.
MAX_REPLY_TO = 10

# Custom header names start with "x-" (https://learn.microsoft.com/graph/api/resources/message,
# internetMessageHeaders).

_HEADER_NAME_RE = re.compile(r"[Xx]-[A-Za-z0-9-]+")
_BASE64_WHITESPACE_RE = re.compile(r"\s+")


def check_header_name(name: str) -> str:
    if not _HEADER_NAME_RE.fullmatch(name):
        raise ValueError("custom header names must start with 'x-' and contain only letters, digits and '-'")
    return name


def _check_base64(text: str) -> str:
    if _is_base64(text):
        return text
    # Wrapped base64 (as `base64` prints it) is common in scripts: drop the line breaks. Only such
    # text pays for the copy; attachments can be 100 MB.
    compact = _BASE64_WHITESPACE_RE.sub("", text)
    if compact is text or not _is_base64(compact):
        raise ValueError("is not valid base64")
    return compact


_BASE64_CHECK_CHARS = 4 * 1024 * 1024  # a multiple of 4: whole base64 quanta per slice


def _is_base64(text: str) -> bool:
    """Decoded a slice at a time, so checking a large attachment holds no whole decoded copy."""
    if len(text) % 4:
        return False
    try:
        for start in range(0, len(text), _BASE64_CHECK_CHARS):
            part = text[start : start + _BASE64_CHECK_CHARS]
            last = start + _BASE64_CHECK_CHARS >= len(text)
            if "=" in (part[:-2] if last else part):
                return False  # padding only at the very end
            base64.b64decode(part, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _check_attachment_name(name: str) -> str:
    check_single_line(name)
    check_no_bidi_controls(name)  # "invoice\u202efdp.exe" shows as "invoiceexe.pdf"
    if not name.strip() or "/" in name or "\\" in name or name.strip() in {".", ".."}:
        raise ValueError("must be a plain file name, without path separators")
    return name


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _any_case_json_schema(words: Any) -> dict[str, Any]:
    """The JSON Schema of a Literal of lowercase words, taken in any case (after ``_lower``)."""
    names = [str(word) for word in get_args(words)]
    # JSON Schema patterns are ECMA-262 regexes, which have no inline (?i) flag.
    alternatives = "|".join("".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in w) for w in names)
    return {
        "type": "string",
        "pattern": f"^(?:{alternatives})$",
        "description": f"one of {', '.join(names)}, in any case",
    }


HeaderName = Annotated[
    StrictStr,
    AfterValidator(check_header_name),
    WithJsonSchema({"type": "string", "pattern": whole_text_pattern(_HEADER_NAME_RE)}),
]
Base64Content = Annotated[
    StrictStr, AfterValidator(_check_base64), WithJsonSchema({"type": "string", "contentEncoding": "base64"})
]
AttachmentName = Annotated[StrictStr, Field(max_length=255), AfterValidator(_check_attachment_name)]
# Graph treats these enums case-insensitively (its own examples send "Text" and "HTML").
_BodyTypes = Literal["text", "html"]
BodyType = Annotated[_BodyTypes, BeforeValidator(_lower), WithJsonSchema(_any_case_json_schema(_BodyTypes))]
_Importances = Literal["low", "normal", "high"]
Importance = Annotated[_Importances, BeforeValidator(_lower), WithJsonSchema(_any_case_json_schema(_Importances))]
# pydantic's lax booleans: Graph's own sendMail example sends "saveToSentItems": "false". The schema
# names the two strings a caller would send, not every one pydantic takes ("yes", "1", ...).
LaxBool = Annotated[
    bool, WithJsonSchema({"anyOf": [{"type": "boolean"}, {"type": "string", "enum": ["true", "false"]}]})
]


class GraphModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        frozen=True,
    )


class EmailAddress(GraphModel):
    address: Address
    name: DisplayName | None = None


class Recipient(GraphModel):
    email_address: EmailAddress


_SCRIPT_RE = re.compile(r"<\s*script", re.IGNORECASE)


def has_script_element(html: str) -> bool:
    return _SCRIPT_RE.search(html) is not None


class ItemBody(GraphModel):
    content_type: BodyType
    content: StrictStr

    @model_validator(mode="after")
    def _no_script(self) -> ItemBody:
        # Mail clients never run scripts, and filters score mails that carry them as phishing.
        if self.content_type == "html" and has_script_element(self.content):
            raise ValueError("an HTML body must not contain <script> elements")
        return self


class InternetMessageHeader(GraphModel):
    name: HeaderName
    value: SingleLine


class FileAttachment(GraphModel):
    odata_type: Literal["#microsoft.graph.fileAttachment"] = Field(
        "#microsoft.graph.fileAttachment", alias="@odata.type"
    )
    name: AttachmentName
    content_type: SingleLine | None = None
    content_bytes: Base64Content
    is_inline: LaxBool | None = None
    content_id: SingleLine | None = None


# Bounded before the items are read: pydantic stops at the first one past max_length.
Recipients = Annotated[list[Recipient], Field(max_length=MAX_RECIPIENTS)]


class Message(GraphModel):
    subject: SingleLine | None = None
    body: ItemBody | None = None
    to_recipients: Recipients | None = None
    cc_recipients: Recipients | None = None
    bcc_recipients: Recipients | None = None
    reply_to: Annotated[list[Recipient], Field(max_length=MAX_REPLY_TO)] | None = None
    from_: Recipient | None = Field(None, alias="from")
    importance: Importance | None = None
    internet_message_headers: Annotated[list[InternetMessageHeader], Field(max_length=MAX_CUSTOM_HEADERS)] | None = None
    attachments: list[FileAttachment] | None = None
    is_delivery_receipt_requested: LaxBool | None = None
    is_read_receipt_requested: LaxBool | None = None
    categories: list[SingleLine] | None = None

    def recipients(self) -> list[Recipient]:
        """To, Cc and Bcc together: the ones Exchange delivers to and counts."""
        return [*(self.to_recipients or ()), *(self.cc_recipients or ()), *(self.bcc_recipients or ())]


class SendMailRequest(GraphModel):
    model_config = ConfigDict(
        json_schema_extra={
            "description": "Graph's own sendMail body, as on its reference page; recognised by its top-level `message`."
        }
    )

    message: Message
    # Graph's own example sends the string "false"; lax bool parsing takes it and we emit a real
    # boolean (https://learn.microsoft.com/graph/api/user-sendmail, "Request body").
    save_to_sent_items: LaxBool | None = None

    def to_json_bytes(self) -> bytes:
        # pydantic-core writes bytes; model_dump_json() would decode them to str for us to encode
        # again: two more copies of a body that can be 4 MB.
        return self.__pydantic_serializer__.to_json(self, exclude_none=True)


# sendMail's two wire forms (https://learn.microsoft.com/graph/api/user-sendmail, "Request headers"):
# a JSON object, or the base64 of a whole RFC 5322 message as text/plain (example 4).
JSON_CONTENT_TYPE = "application/json"
MIME_CONTENT_TYPE = "text/plain"


@dataclass(frozen=True)
class MimeContent:
    """A message sent in Graph's MIME form: the RFC 5322 bytes, and what policy read from them."""

    raw: bytes  # the message exactly as it goes out (a caller's bytes are never re-serialized)
    recipients: tuple[str, ...]  # the To, Cc and Bcc addresses, which Exchange delivers to and counts
    subject: str  # for logs and the digest; "" without a Subject


@dataclass(frozen=True)
class GraphSend:
    """A sendMail call ready to go: the mailbox in the URL and the exact request body.

    Exactly one of ``request`` (the JSON form) and ``mime`` (the MIME form, ``body`` then being the
    base64 of ``mime.raw``) is set; ``content_type`` is the one that goes with ``body``.
    """

    mailbox: str
    request: SendMailRequest | None
    body: bytes
    # A webhook notification's line in a storm digest: set when its route allows holding it for one
    # (past the mailbox's pace or budget) instead of refusing it; None for /api/mail and digests.
    digest: DigestLine | None = None
    mime: MimeContent | None = None

    @property
    def content_type(self) -> str:
        return MIME_CONTENT_TYPE if self.mime is not None else JSON_CONTENT_TYPE

    def recipient_addresses(self) -> list[str]:
        """To, Cc and Bcc addresses together, in either form: what the mailbox's limits count."""
        if self.mime is not None:
            return list(self.mime.recipients)
        assert self.request is not None
        return [r.email_address.address for r in self.request.message.recipients()]

    @property
    def subject(self) -> str:
        if self.mime is not None:
            return self.mime.subject
        assert self.request is not None
        return self.request.message.subject or ""
