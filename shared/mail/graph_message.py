"""The Microsoft Graph sendMail request as pydantic models: what we accept and what we send.

Both /api/mail forms end up here. The models carry Graph's own rules (header names and count,
base64 attachments, single-line subject and names), so a body that validates is one Graph takes.
They hold every property of a message Graph lets a caller set when sending, and what they do not
check is passed on as written (an item attachment's item, an open extension's data, annotations);
any other key is refused, named, with its reason (read-only, beta-only, unknown).
Each constrained type says its rule in JSON Schema too (``WithJsonSchema``), for the OpenAPI document.
References: https://learn.microsoft.com/graph/api/user-sendmail (the request),
https://learn.microsoft.com/graph/api/resources/message (its properties) and
https://learn.microsoft.com/graph/api/resources/internetmessageheader (custom headers).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    GetJsonSchemaHandler,
    StrictStr,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from shared.addresses import (
    MAX_RECIPIENTS,
    Address,
    DisplayName,
    SingleLine,
    check_no_bidi_controls,
    check_single_line,
    whole_text_pattern,
)
from shared.mail.extended_properties import check_property_id, internet_header_name
from shared.mail.odata import ANNOTATION_JSON_SCHEMA_PATTERN, annotation_problem, type_name

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
# A header line is at most 998 characters (RFC 5322, section 2.1.1); "Message-ID: " takes 12, the
# line's end 2 (kept under 998 - 12 + 2, the rest folded: there is no folding inside a msg-id).
MAX_MESSAGE_ID_CHARS = 995
READ_ONLY = "read-only: Exchange sets it when it stores the message"
_MESSAGE_READ_ONLY = (
    "id", "createdDateTime", "lastModifiedDateTime", "changeKey", "bodyPreview", "conversationId", "conversationIndex",
    "hasAttachments", "isDraft", "parentFolderId", "receivedDateTime", "sentDateTime", "webLink", "uniqueBody",
)  # fmt: skip
# Graph properties that are not sent, each with its reason: read-only ones (on a message or an
# attachment) and those /v1.0 has not got. Any other unknown key is refused as unknown.
REFUSED_PROPERTIES = {
    **dict.fromkeys((*_MESSAGE_READ_ONLY, "size"), READ_ONLY),
    "mentions": "only in Graph's beta API: /v1.0 messages have no mentions",
    "contentLocation": "Graph documents it as not supported on attachments: do not set it",
}


def _check_annotation_key(name: str) -> str:
    problem = REFUSED_PROPERTIES.get(name) or annotation_problem(name)
    if problem is not None:
        raise PydanticCustomError("unknown_property", problem)
    return name


AnnotationKey = Annotated[str, AfterValidator(_check_annotation_key)]

# Custom header names start with "x-" (https://learn.microsoft.com/graph/api/resources/message,
# internetMessageHeaders); the rest is RFC 5322's field name, printable ASCII but ':'
# (https://www.rfc-editor.org/rfc/rfc5322#section-3.6.8): "x-custom_id" and "X-App.Version" are
# header names Graph takes. No CR/LF, blank, ':' or non-ASCII: nothing that could end the name early.
_HEADER_NAME_RE = re.compile(r"[Xx]-[\x21-\x39\x3b-\x7e]+")
_BASE64_WHITESPACE_RE = re.compile(r"\s+")


def check_header_name(name: str) -> str:
    if not _HEADER_NAME_RE.fullmatch(name):
        raise ValueError("custom header names must start with 'x-' and hold printable ASCII but ':' (RFC 5322)")
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


def is_message_id(value: str) -> bool:
    """Whether ``value`` is an RFC 5322 msg-id, '<left@right>' with dot-atom text (or a domain literal) on each side."""
    return _MESSAGE_ID_RE.fullmatch(value) is not None


def _check_message_id(value: str) -> str:
    if not is_message_id(value):
        raise ValueError("must be an RFC 5322 message id, '<left@right>', each side dot-atom text")
    return value


def _check_attachment_name(name: str) -> str:
    check_single_line(name)
    check_no_bidi_controls(name)  # "invoice\u202efdp.exe" shows as "invoiceexe.pdf"
    if not name.strip() or "/" in name or "\\" in name or name.strip() in {".", ".."}:
        raise ValueError("must be a plain file name, without path separators")
    return name


def _any_case_json_schema(names: tuple[str, ...]) -> dict[str, Any]:
    """The JSON Schema of one of ``names``, in any case."""
    # JSON Schema patterns are ECMA-262 regexes, which have no inline (?i) flag.
    alternatives = "|".join("".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in w) for w in names)
    return {
        "type": "string",
        "pattern": f"^(?:{alternatives})$",
        "description": f"one of {', '.join(names)}, in any case",
    }


def _any_case_check(names: tuple[str, ...]) -> Callable[[str], str]:
    """One of ``names`` in any case, passed on as the caller wrote it.

    Graph treats its enums case-insensitively (its own examples send "Text" and "HTML"), so "HTML"
    reaches Graph as "HTML", the way the caller and Graph's page wrote it.
    """
    folded = frozenset(name.lower() for name in names)
    quoted = [f"'{name}'" for name in names]
    expected = f"{', '.join(quoted[:-1])} or {quoted[-1]}"

    def check(value: str) -> str:
        if value.lower() not in folded:
            raise ValueError(f"Input should be {expected}, in any case")
        return value

    return check


_BODY_TYPES = ("text", "html")
_IMPORTANCES = ("low", "normal", "high")
_INFERENCE_CLASSIFICATIONS = ("focused", "other")
_FLAG_STATUSES = ("notFlagged", "complete", "flagged")


HeaderName = Annotated[
    StrictStr,
    AfterValidator(check_header_name),
    WithJsonSchema({"type": "string", "pattern": whole_text_pattern(_HEADER_NAME_RE)}),
]
Base64Content = Annotated[
    StrictStr, AfterValidator(_check_base64), WithJsonSchema({"type": "string", "contentEncoding": "base64"})
]
AttachmentName = Annotated[StrictStr, Field(max_length=255), AfterValidator(_check_attachment_name)]
BodyType = Annotated[
    StrictStr, AfterValidator(_any_case_check(_BODY_TYPES)), WithJsonSchema(_any_case_json_schema(_BODY_TYPES))
]
Importance = Annotated[
    StrictStr, AfterValidator(_any_case_check(_IMPORTANCES)), WithJsonSchema(_any_case_json_schema(_IMPORTANCES))
]
InferenceClassification = Annotated[
    StrictStr,
    AfterValidator(_any_case_check(_INFERENCE_CLASSIFICATIONS)),
    WithJsonSchema(_any_case_json_schema(_INFERENCE_CLASSIFICATIONS)),
]
FlagStatus = Annotated[
    StrictStr, AfterValidator(_any_case_check(_FLAG_STATUSES)), WithJsonSchema(_any_case_json_schema(_FLAG_STATUSES))
]
# RFC 5322 msg-id (https://www.rfc-editor.org/rfc/rfc5322#section-3.6.4): "<" dot-atom-text "@"
# (dot-atom-text / "[" dtext "]") ">". Exchange writes it as the Message-ID header and every mail
# client parses it: its grammar, not just printable text (a '"' or '\\' in it breaks parsers).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM_TEXT = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_MESSAGE_ID_RE = re.compile(rf"<{_DOT_ATOM_TEXT}@(?:{_DOT_ATOM_TEXT}|\[[\x21-\x5a\x5e-\x7e]*\])>")
InternetMessageId = Annotated[
    StrictStr,
    Field(max_length=MAX_MESSAGE_ID_CHARS),
    AfterValidator(lambda value: _check_message_id(value)),
    WithJsonSchema({"type": "string", "pattern": whole_text_pattern(_MESSAGE_ID_RE), "maxLength": 995}),
]
# pydantic's lax booleans: Graph's own sendMail example sends "saveToSentItems": "false". The schema
# names the two strings a caller would send, not every one pydantic takes ("yes", "1", ...).
LaxBool = Annotated[
    bool, WithJsonSchema({"anyOf": [{"type": "boolean"}, {"type": "string", "enum": ["true", "false"]}]})
]


class GraphModel(BaseModel):
    """A Graph object: its declared properties, its ``@odata.type``, and OData annotations passed on.

    Keys that are neither a declared property nor an annotation ``shared.mail.odata`` passes on are
    refused, each named; Graph properties a message cannot be sent with get their own reason
    (``REFUSED_PROPERTIES``).
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="allow",
        frozen=True,
    )
    # The OData types this object may say it is (lower-cased, without '#'); empty: it has none.
    odata_types: ClassVar[tuple[str, ...]] = ()
    # Keys that are no declared property: each checked by pydantic-core as it reads it (so an object
    # without any costs nothing), and refused with its reason unless it is an annotation we pass on.
    __pydantic_extra__: dict[AnnotationKey, Any] = Field(init=False)

    odata_type: SingleLine | None = Field(None, alias="@odata.type")

    @field_validator("odata_type")
    @classmethod
    def _names_this_type(cls, value: str | None) -> str | None:
        if value is not None and type_name(value) not in cls.odata_types:
            if not cls.odata_types:
                raise ValueError("this object has no OData type to name")
            raise ValueError(f"must be #{cls.odata_types[0]} (the type Graph declares here)")
        return value

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        json_schema = handler.resolve_ref_schema(handler(core_schema))
        # What _annotations_only lets through, said in JSON Schema; nothing else.
        json_schema["patternProperties"] = {ANNOTATION_JSON_SCHEMA_PATTERN: {}}
        json_schema["additionalProperties"] = False
        return json_schema


class EmailAddress(GraphModel):
    odata_types = ("microsoft.graph.emailaddress",)

    address: Address
    name: DisplayName | None = None


class Recipient(GraphModel):
    odata_types = ("microsoft.graph.recipient",)

    email_address: EmailAddress


# An opening <script ...> tag, with its attributes (up to the first '>', as an HTML tokenizer reads it).
_SCRIPT_TAG_RE = re.compile(r"<\s*script\b([^>]*)>?", re.IGNORECASE)
# Outlook Actionable Messages: the card is a data block, `<script type="application/adaptivecard+json">`,
# which no mail client or browser runs (https://learn.microsoft.com/outlook/actionable-messages/adaptive-card).
ADAPTIVE_CARD_TYPE = "application/adaptivecard+json"
ADAPTIVE_CARD_ATTRIBUTES_RE = re.compile(
    r"\s*type\s*=\s*(?:\"application/adaptivecard\+json\"|'application/adaptivecard\+json'|application/adaptivecard\+json)\s*",
    re.IGNORECASE,
)


def has_script_element(html: str) -> bool:
    """Whether the HTML has a script element, other than an adaptive card (a data block, never run)."""
    return any(ADAPTIVE_CARD_ATTRIBUTES_RE.fullmatch(match[1]) is None for match in _SCRIPT_TAG_RE.finditer(html))


class ItemBody(GraphModel):
    odata_types = ("microsoft.graph.itembody",)

    # Without it Graph takes the content as text (https://learn.microsoft.com/graph/api/resources/itembody).
    content_type: BodyType | None = None
    content: StrictStr

    @property
    def is_html(self) -> bool:
        return self.content_type is not None and self.content_type.lower() == "html"

    @model_validator(mode="after")
    def _no_script(self) -> ItemBody:
        # Mail clients never run scripts, and filters score mails that carry them as phishing.
        if self.is_html and has_script_element(self.content):
            raise ValueError("an HTML body must not contain <script> elements (but adaptive cards)")
        return self


class InternetMessageHeader(GraphModel):
    odata_types = ("microsoft.graph.internetmessageheader",)

    name: HeaderName
    value: SingleLine


class FileAttachment(GraphModel):
    odata_types = ("microsoft.graph.fileattachment",)

    odata_type: SingleLine | None = Field("#microsoft.graph.fileAttachment", alias="@odata.type")
    name: AttachmentName
    content_type: SingleLine | None = None
    content_bytes: Base64Content
    is_inline: LaxBool | None = None
    content_id: SingleLine | None = None


# The types an embedded item may be (https://learn.microsoft.com/graph/api/resources/itemattachment).
_EMBEDDED_ITEM_TYPES = ("microsoft.graph.message", "microsoft.graph.event", "microsoft.graph.contact")
# An embedded message can hold item attachments itself; a few levels are what mail clients make.
MAX_EMBEDDED_DEPTH = 16


def _check_embedded_item(item: dict[str, Any]) -> dict[str, Any]:
    """An item attachment's item: its own type, no line breaks in any text but a body's content.

    Its recipients and sender are not mailed (it is an attachment), so the allow-lists do not apply;
    its subject, names and headers become header lines of the embedded MIME part, so CR/LF does.
    """
    kind = item.get("@odata.type")
    if not isinstance(kind, str) or type_name(kind) not in _EMBEDDED_ITEM_TYPES:
        raise ValueError(
            "needs @odata.type #microsoft.graph.message, #microsoft.graph.event or #microsoft.graph.contact"
        )
    _check_one_line_text(item, "", 0)
    return item


def _check_one_line_text(value: Any, path: str, depth: int) -> None:
    """No line breaks in any text of a JSON value (``path`` names where), but an itemBody's content."""
    if depth > MAX_EMBEDDED_DEPTH:
        raise ValueError(f"{path or 'it'}: nested more than {MAX_EMBEDDED_DEPTH} levels deep")
    if isinstance(value, str):
        try:
            check_single_line(value)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}" if path else str(exc)) from None
    elif isinstance(value, list):
        for index, element in enumerate(value):
            _check_one_line_text(element, f"{path}[{index}]", depth + 1)
    elif isinstance(value, dict):
        # An itemBody: its content is the one multi-line text; HTML without scripts, as in a message
        # (and sanitized as a message's is, by shared.mail.draft, with the same is_html_item_body).
        is_body = is_item_body(value)
        for key, element in value.items():
            if is_body and key == "content":
                if is_html_item_body(value) and has_script_element(element):
                    raise ValueError(f"{_join(path, key)}: an HTML body must not contain <script> elements")
                continue
            _check_one_line_text(element, _join(path, key), depth + 1)


def is_item_body(value: dict[str, Any]) -> bool:
    """Whether a JSON object in an embedded item is an itemBody: its content, with a contentType."""
    return isinstance(value.get("content"), str) and "contentType" in value


def is_html_item_body(value: dict[str, Any]) -> bool:
    content_type = value.get("contentType")
    return is_item_body(value) and isinstance(content_type, str) and content_type.lower() == "html"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


EmbeddedItem = Annotated[dict[str, Any], AfterValidator(_check_embedded_item)]


class ItemAttachment(GraphModel):
    """A message, event or contact attached as an item (https://learn.microsoft.com/graph/api/resources/itemattachment)."""

    odata_types = ("microsoft.graph.itemattachment",)

    odata_type: SingleLine = Field(alias="@odata.type")
    name: AttachmentName | None = None
    content_type: SingleLine | None = None
    is_inline: LaxBool | None = None
    item: EmbeddedItem


class ReferenceAttachment(GraphModel):
    """A link to a file (https://learn.microsoft.com/graph/api/resources/referenceattachment): v1.0 has only
    the properties every attachment has."""

    odata_types = ("microsoft.graph.referenceattachment",)

    odata_type: SingleLine = Field(alias="@odata.type")
    name: AttachmentName | None = None
    content_type: SingleLine | None = None
    is_inline: LaxBool | None = None


def _attachment_kind(value: Any) -> str | None:
    """Graph tells attachments apart by @odata.type; without one, a file attachment (as before)."""
    kind = value.get("@odata.type") if isinstance(value, dict) else getattr(value, "odata_type", None)
    if kind is None:
        return "file"
    return _ATTACHMENT_KINDS.get(type_name(kind)) if isinstance(kind, str) else None


_ATTACHMENT_KINDS = {
    "microsoft.graph.fileattachment": "file",
    "microsoft.graph.itemattachment": "item",
    "microsoft.graph.referenceattachment": "reference",
}
# The attachment models, for code that takes any of them (the union below is what validates).
AnyAttachment = FileAttachment | ItemAttachment | ReferenceAttachment
Attachment = Annotated[
    Annotated[FileAttachment, Tag("file")] | Annotated[ItemAttachment, Tag("item")]
    | Annotated[ReferenceAttachment, Tag("reference")],
    Discriminator(
        _attachment_kind,
        custom_error_type="attachment_type",
        custom_error_message=(
            "@odata.type must be #microsoft.graph.fileAttachment, #microsoft.graph.itemAttachment "
            "or #microsoft.graph.referenceAttachment"
        ),
    ),
]  # fmt: skip


def _check_flag(flag: dict[str, Any]) -> dict[str, Any]:
    """A followupFlag (https://learn.microsoft.com/graph/api/resources/followupflag), passed on as written.

    Graph checks its dates itself (and wants both start and due when either is given:
    microsoftgraph/microsoft-graph-docs#5976); we check what is cheap to say early: the status, and
    one-line text. A property bag, not a model: nothing in it matters to policy.
    """
    status = flag.get("flagStatus")
    if status is not None and (not isinstance(status, str) or status.lower() not in _FLAG_STATUS_NAMES):
        raise ValueError("flagStatus: Input should be 'notFlagged', 'complete' or 'flagged', in any case")
    _check_one_line_text(flag, "", 0)
    return flag


_FLAG_STATUS_NAMES = frozenset(name.lower() for name in _FLAG_STATUSES)
FollowupFlag = Annotated[
    dict[str, Any],
    AfterValidator(_check_flag),
    WithJsonSchema(
        {
            "type": "object",
            "description": "followupFlag: flagStatus, startDateTime, dueDateTime, completedDateTime",
            "properties": {"flagStatus": _any_case_json_schema(_FLAG_STATUSES)},
        }
    ),
]


class SingleValueExtendedProperty(GraphModel):
    odata_types = ("microsoft.graph.singlevaluelegacyextendedproperty",)

    id: Annotated[StrictStr, AfterValidator(lambda value: check_property_id(value, multi_valued=False))]
    value: StrictStr

    @model_validator(mode="after")
    def _internet_header_rules(self) -> SingleValueExtendedProperty:
        header = internet_header_name(self.id)
        if header is not None:
            try:
                check_header_name(header)
                check_single_line(self.value)
            except ValueError as exc:
                raise ValueError(f"an internet header (PS_INTERNET_HEADERS) '{header[:80]}': {exc}") from None
        return self


class MultiValueExtendedProperty(GraphModel):
    odata_types = ("microsoft.graph.multivaluelegacyextendedproperty",)

    id: Annotated[StrictStr, AfterValidator(lambda value: check_property_id(value, multi_valued=True))]
    value: list[StrictStr]


def _check_open_extension(extension: dict[str, Any]) -> dict[str, Any]:
    """App data on the message (https://learn.microsoft.com/graph/api/resources/opentypeextension): its
    own properties are the app's, passed on as they are."""
    kind, name = extension.get("@odata.type"), extension.get("extensionName")
    if not isinstance(kind, str) or type_name(kind) != "microsoft.graph.opentypeextension":
        raise ValueError("needs @odata.type #microsoft.graph.openTypeExtension")
    if not isinstance(name, str) or not name:
        raise ValueError("needs its extensionName")
    check_single_line(name)
    return extension


OpenTypeExtension = Annotated[
    dict[str, Any],
    AfterValidator(_check_open_extension),
    WithJsonSchema({"type": "object", "required": ["@odata.type", "extensionName"]}),
]


# Bounded before the items are read: pydantic stops at the first one past max_length.
Recipients = Annotated[list[Recipient], Field(max_length=MAX_RECIPIENTS)]
# Each distinct named property takes a slot of the mailbox's named-property quota for good: a bound per
# message keeps one request from spending many (https://learn.microsoft.com/exchange/troubleshoot/
# administration/named-property-limit-reached).
MAX_EXTENDED_PROPERTIES = 32


class Message(GraphModel):
    """The writable properties of https://learn.microsoft.com/graph/api/resources/message for a message
    being sent, in the order Graph's own examples write them."""

    odata_types = ("microsoft.graph.message",)

    subject: SingleLine | None = None
    body: ItemBody | None = None
    to_recipients: Recipients | None = None
    cc_recipients: Recipients | None = None
    bcc_recipients: Recipients | None = None
    reply_to: Annotated[list[Recipient], Field(max_length=MAX_REPLY_TO)] | None = None
    from_: Recipient | None = Field(None, alias="from")
    sender: Recipient | None = None
    importance: Importance | None = None
    inference_classification: InferenceClassification | None = None
    internet_message_headers: Annotated[list[InternetMessageHeader], Field(max_length=MAX_CUSTOM_HEADERS)] | None = None
    internet_message_id: InternetMessageId | None = None
    attachments: list[Attachment] | None = None
    flag: FollowupFlag | None = None
    is_delivery_receipt_requested: LaxBool | None = None
    is_read_receipt_requested: LaxBool | None = None
    is_read: LaxBool | None = None
    categories: list[SingleLine] | None = None
    single_value_extended_properties: (
        Annotated[list[SingleValueExtendedProperty], Field(max_length=MAX_EXTENDED_PROPERTIES)] | None
    ) = None
    multi_value_extended_properties: (
        Annotated[list[MultiValueExtendedProperty], Field(max_length=MAX_EXTENDED_PROPERTIES)] | None
    ) = None
    extensions: Annotated[list[OpenTypeExtension], Field(max_length=MAX_EXTENDED_PROPERTIES)] | None = None

    def recipients(self) -> list[Recipient]:
        """To, Cc and Bcc together: the ones Exchange delivers to and counts."""
        return [*(self.to_recipients or ()), *(self.cc_recipients or ()), *(self.bcc_recipients or ())]

    def custom_headers(self) -> list[tuple[str, str, str]]:
        """Every internet header the caller sets: (name, value, where), from internetMessageHeaders
        and from PS_INTERNET_HEADERS extended properties."""
        headers = [
            (header.name, header.value, f"internetMessageHeaders[{index}].name")
            for index, header in enumerate(self.internet_message_headers or ())
        ]
        for index, prop in enumerate(self.single_value_extended_properties or ()):
            name = internet_header_name(prop.id)
            if name is not None:
                headers.append((name, prop.value, f"singleValueExtendedProperties[{index}].id"))
        return headers


# The action's parameters as Graph's $metadata spells them, and so the kiota-based SDKs
# (msgraph-sdk-python's SendMailPostRequestBody writes "Message" and "SaveToSentItems"); the reference
# page spells them "message" and "saveToSentItems". Both reach Graph spelled as on the reference page.
_PARAMETER_SPELLINGS = {"message": "Message", "saveToSentItems": "SaveToSentItems"}


def _sendmail_json_schema(schema: dict[str, Any]) -> None:
    properties = schema["properties"]
    for name, pascal in _PARAMETER_SPELLINGS.items():
        properties[pascal] = properties[name]
    schema.pop("required", None)
    # One message, in either spelling (parse_mail_request refuses both at once).
    schema["oneOf"] = [
        {"required": ["message"], "not": {"required": ["Message"]}},
        {"required": ["Message"], "not": {"required": ["message"]}},
    ]
    schema["not"] = {"required": ["saveToSentItems", "SaveToSentItems"]}


class SendMailRequest(GraphModel):
    model_config = ConfigDict(
        json_schema_extra={
            "description": (
                "Graph's own sendMail body, as on its reference page (or spelled as its $metadata: `Message`, "
                "`SaveToSentItems`); recognised by its top-level `message`."
            )
        }
    )

    message: Message = Field(validation_alias=AliasChoices("message", "Message"))
    # Graph's own example sends the string "false"; lax bool parsing takes it and we emit a real
    # boolean (https://learn.microsoft.com/graph/api/user-sendmail, "Request body").
    save_to_sent_items: LaxBool | None = Field(
        None, validation_alias=AliasChoices("saveToSentItems", "SaveToSentItems")
    )

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        json_schema = super().__get_pydantic_json_schema__(core_schema, handler)
        _sendmail_json_schema(json_schema)
        return json_schema

    def to_json_bytes(self) -> bytes:
        # pydantic-core writes bytes; model_dump_json() would decode them to str for us to encode
        # again: two more copies of a body that can be 4 MB.
        return self.__pydantic_serializer__.to_json(self, exclude_none=True)


_CONTENT_BYTES_MEMBER = '"contentBytes":"",'


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
    # Its Message-ID when it has one in RFC 5322's msg-id form: what a draft made of it is found by
    # again (MAIL_SEND_METHOD=draft); None, and it can only go by sendMail.
    message_id: str | None = None


# Files up to this much base64 are counted by building the body; larger ones without it (a copy
# the draft method would never send).
_COUNT_WITHOUT_BUILDING_BYTES = 1024 * 1024


@dataclass(frozen=True)
class GraphSend:
    """A sendMail call ready to go: the mailbox in the URL and the exact request body.

    Exactly one of ``request`` (the JSON form) and ``mime`` (the MIME form, ``body`` then being the
    base64 of ``mime.raw``) is set; ``content_type`` is the one that goes with ``body``. A JSON-form
    body is built from ``request`` the first time something reads it (sendMail, the outbox, the queue,
    a held notification): the draft method sends a draft's own JSON instead, and for a large message
    the body would be a second copy of it. ``body_bytes`` is its length, without building it.
    """

    mailbox: str
    request: SendMailRequest | None
    # The body when it is at hand already (the MIME form's base64, a queued or held request); None
    # for a JSON-form request just approved, whose body is built on first read.
    prepared_body: bytes | None = field(default=None, repr=False)
    # A webhook notification's line in a storm digest: set when its route allows holding it for one
    # (past the mailbox's pace or budget) instead of refusing it; None for /api/mail and digests.
    digest: DigestLine | None = None
    mime: MimeContent | None = None

    def __post_init__(self) -> None:
        if self.prepared_body is None and self.request is None:
            raise ValueError("a GraphSend needs its request or its body")

    @cached_property
    def body(self) -> bytes:
        """The exact sendMail request body."""
        if self.prepared_body is not None:
            return self.prepared_body
        assert self.request is not None
        return self.request.to_json_bytes()

    @cached_property
    def body_bytes(self) -> int:
        """``len(body)``, counted without building it: the request serialized without its files'
        contentBytes, plus those (base64 text, which JSON writes as it is, validated: no escapes)."""
        if self.prepared_body is not None or "body" in self.__dict__:
            return len(self.body)
        assert self.request is not None
        request = self.request
        files = [a for a in request.message.attachments or () if isinstance(a, FileAttachment)]
        if sum(len(a.content_bytes) for a in files) < _COUNT_WITHOUT_BUILDING_BYTES:
            # Nothing large to leave out: the body is the count, and sendMail (the default method)
            # sends it next, so building it now is no extra work; counting around it would be.
            return len(self.body)
        without_files = request.__pydantic_serializer__.to_json(
            request, exclude_none=True, exclude={"message": {"attachments": {"__all__": {"content_bytes"}}}}
        )
        # Each file loses '"contentBytes":"…"' and the comma beside it (a file always has a name too).
        return len(without_files) + sum(len(_CONTENT_BYTES_MEMBER) + len(a.content_bytes) for a in files)

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
