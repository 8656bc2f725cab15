"""The Graph message model: what it takes as Graph does, and what it refuses, each with the field named."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.mail.draft import InvalidPayload, parse_mail_request
from shared.mail.html_sanitizer import sanitize_html

RECIPIENT = {"emailAddress": {"address": "meganb@contoso.com"}}
INTERNET_HEADERS = "{00020386-0000-0000-C000-000000000046}"
HEADER_NAME = "message.internetMessageHeaders[0].name"
EXTENDED_ID = "message.singleValueExtendedProperties[0].id"


def header(name: str) -> dict[str, Any]:
    return {"internetMessageHeaders": [{"name": name, "value": "v"}]}


def item_attachment(**item: Any) -> dict[str, Any]:
    embedded = {"@odata.type": "#microsoft.graph.message", **item}
    return {"attachments": [{"@odata.type": "#microsoft.graph.itemAttachment", "item": embedded}]}


def errors_of(payload: Any) -> dict[str, str]:
    with pytest.raises(InvalidPayload) as caught:
        parse_mail_request(payload)
    return {error.field: error.message for error in caught.value.errors}


def message(**properties: Any) -> dict[str, Any]:
    return {"message": {"subject": "s", "toRecipients": [RECIPIENT], **properties}}


def sent(payload: Any) -> Any:
    return json.loads(parse_mail_request(payload).request.to_json_bytes())


def test_the_metadata_spelling_is_taken_and_its_errors_name_the_caller_spelling() -> None:
    assert sent({"Message": {"subject": "s"}, "SaveToSentItems": "false"}) == {
        "message": {"subject": "s"},
        "saveToSentItems": False,
    }
    assert errors_of({"Message": {"subject": "a\nb"}}) == {
        "Message.subject": "must be a single line: line breaks and control characters are not allowed"
    }
    assert errors_of({"message": {"subject": "s"}, "Message": {"subject": "t"}}) == {
        "Message": "give the message once: as 'message' or as 'Message'"
    }
    assert parse_mail_request({"Message": {"from": {"emailAddress": {"address": "a@contoso.com"}}}}).from_field == (
        "Message.from"
    )


def test_a_bare_message_is_taken_as_the_message_and_its_errors_name_its_own_fields() -> None:
    assert sent({"subject": "s", "toRecipients": [RECIPIENT]}) == {
        "message": {"subject": "s", "toRecipients": [RECIPIENT]}
    }
    assert set(errors_of({"subject": "s", "toRecipients": [{"emailAddress": {"address": "x"}}]})) == {
        "toRecipients[0].emailAddress.address"
    }
    # The simplified payload's own keys keep a body the simplified payload.
    assert errors_of({"to": "a@contoso.com", "subject": "s", "body": "hi"}) == {
        "body": "unknown field: not a property the bridge accepts"
    }


@pytest.mark.parametrize(
    ("properties", "field", "reason"),
    [
        ({"@odata.type": "#microsoft.graph.eventMessage"}, "message.@odata.type", "must be #microsoft.graph.message"),
        (
            {"toRecipients": [{"@odata.type": "#microsoft.graph.attendee", **RECIPIENT}]},
            "message.toRecipients[0].@odata.type",
            "must be #microsoft.graph.recipient",
        ),
        ({"attachments@odata.bind": ["x"]}, "message.attachments@odata.bind", "OData control information"),
        ({"@odata.id": "users('x')/messages('y')"}, "message.@odata.id", "OData control information"),
        ({"@odata.etag": "W/1"}, "message.@odata.etag", "OData control information"),
        ({"isDraft": False}, "message.isDraft", "read-only"),
        ({"uniqueBody": {"content": "x"}}, "message.uniqueBody", "read-only"),
        ({"mentions": []}, "message.mentions", "beta"),
        ({"colour": "blue"}, "message.colour", "unknown field"),
        (header("x-a:b"), HEADER_NAME, "':'"),
        (header("x-é"), HEADER_NAME, "ASCII"),
        (header("x-a\r\nb"), HEADER_NAME, "x-"),
        (
            {"internetMessageHeaders": [{"name": "X-MS-Exchange-Organization-SCL", "value": "-1"}]},
            "message.internetMessageHeaders[0].name",
            "reserved",
        ),
        ({"internetMessageId": "<a@b>\r\nBcc: x@evil.example"}, "message.internetMessageId", "RFC 5322 message id"),
        ({"internetMessageId": "no-brackets@contoso.com"}, "message.internetMessageId", "RFC 5322 message id"),
        # Found by schemathesis: the email package's own parser failed on it in the outbox.
        ({"internetMessageId": '<)tvs~tMSH\\"@\\u[b>'}, "message.internetMessageId", "RFC 5322 message id"),
        ({"inferenceClassification": "spam"}, "message.inferenceClassification", "'focused' or 'other'"),
        ({"flag": {"flagStatus": "red"}}, "message.flag", "flagStatus: Input should be 'notFlagged', 'complete' or"),
        ({"flag": {"dueDateTime": {"dateTime": "2023\n"}}}, "message.flag", "dueDateTime.dateTime: must be a single"),
        ({"body": {"contentType": "HTML", "content": "<script>alert(1)</script>"}}, "message.body", "<script>"),
        (
            {"body": {"contentType": "HTML", "content": '<script type="text/javascript">x</script>'}},
            "message.body",
            "<script>",
        ),
        (
            {"attachments": [{"@odata.type": "#microsoft.graph.fileAttachment", "name": "a", "contentBytes": "eA==",
                              "size": 1}]},
            "message.attachments[0].size",
            "read-only",
        ),
        ({"attachments": [{"@odata.type": "#microsoft.graph.driveItem"}]}, "message.attachments[0]", "@odata.type"),
        (
            {"attachments": [{"@odata.type": "#microsoft.graph.itemAttachment", "item": {"subject": "x"}}]},
            "message.attachments[0].item",
            "#microsoft.graph.message",
        ),
        (
            item_attachment(subject="a\r\nBcc: x@evil.example"),
            "message.attachments[0].item",
            "subject: must be a single line",
        ),
        (
            item_attachment(toRecipients=[{"emailAddress": {"name": "A\nB", "address": "a@b.example"}}]),
            "message.attachments[0].item",
            "toRecipients[0].emailAddress.name: must be a single line",
        ),
        (
            item_attachment(body={"contentType": "html", "content": "<script>x</script>"}),
            "message.attachments[0].item",
            "<script>",
        ),
        (
            {"singleValueExtendedProperties": [{"id": f"String {INTERNET_HEADERS} Name Bcc", "value": "x"}]},
            "message.singleValueExtendedProperties[0]",
            "start with 'x-'",
        ),
        (
            {"singleValueExtendedProperties": [{"id": f"String {INTERNET_HEADERS} Name X-A", "value": "1\r\nBcc: x"}]},
            "message.singleValueExtendedProperties[0]",
            "single line",
        ),
        (
            {"singleValueExtendedProperties": [{"id": f"String {INTERNET_HEADERS} Name X-Mailhook-A", "value": "x"}]},
            EXTENDED_ID,
            "reserved",
        ),
        (
            {"singleValueExtendedProperties": [{"id": f"String {INTERNET_HEADERS} Id 0x8001", "value": "x"}]},
            "message.singleValueExtendedProperties[0].id",
            "named by its header name",
        ),
        (
            {"multiValueExtendedProperties": [{"id": f"StringArray {INTERNET_HEADERS} Name X-A", "value": ["x"]}]},
            "message.multiValueExtendedProperties[0].id",
            "named by its header name",
        ),
        (
            {"singleValueExtendedProperties": [{"id": "String 0x0065", "value": "ceo@contoso.com"}]},
            "message.singleValueExtendedProperties[0].id",
            "MAPI property 0x0065",
        ),
        (
            {"singleValueExtendedProperties": [{"id": "String 0x007D", "value": "Bcc: x@evil.example"}]},
            "message.singleValueExtendedProperties[0].id",
            "MAPI property 0x007D",
        ),
        (
            {"singleValueExtendedProperties": [{"id": "String 0x1013", "value": "<script>x</script>"}]},
            "message.singleValueExtendedProperties[0].id",
            "MAPI property 0x1013",
        ),
        (
            {"singleValueExtendedProperties": [{"id": "StringArray {66f5a359-4659-4830-9070-00040ec6ac6e} Name A",
                                                "value": "x"}]},
            "message.singleValueExtendedProperties[0].id",
            "single-value type",
        ),
        (
            {"singleValueExtendedProperties": [{"id": "Color", "value": "x"}]},
            "message.singleValueExtendedProperties[0].id",
            "not an extended property id",
        ),
        ({"extensions": [{"@odata.type": "microsoft.graph.openTypeExtension"}]}, "message.extensions[0]",
         "needs its extensionName"),
        ({"extensions": [{"extensionName": "Com.Contoso.A"}]}, "message.extensions[0]", "openTypeExtension"),
    ],
)  # fmt: skip
def test_what_graph_would_refuse_or_that_would_pass_our_checks_is_refused_naming_the_field(
    properties: dict[str, Any], field: str, reason: str
) -> None:
    errors = errors_of(message(**properties))
    assert field in errors, errors
    assert reason in errors[field], errors[field]


def test_header_names_take_what_rfc_5322_allows_after_x() -> None:
    body = sent(message(internetMessageHeaders=[{"name": "x-a.b_c!~", "value": "v"}]))
    assert body["message"]["internetMessageHeaders"] == [{"name": "x-a.b_c!~", "value": "v"}]


def test_a_body_without_content_type_is_text_and_not_sanitized() -> None:
    body = sent(message(body={"content": "<img src=x onerror=alert(1)>"}))
    assert body["message"]["body"] == {"content": "<img src=x onerror=alert(1)>"}, "Graph shows it as text"


def test_the_sanitizer_keeps_an_adaptive_card_and_nothing_it_could_hide() -> None:
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "body": [{"type": "TextBlock", "text": "</script><img src=x onerror=alert(1)>"}],
    }
    html = (
        f"<p>Hi</p><script type='application/adaptivecard+json'>{json.dumps(card)}</script>"
        '<script type="application/adaptivecard+json">not json</script><img src="javascript:alert(1)">'
    )
    # The JSON ends at its first "</script" as a browser reads it: this card is cut there and is no JSON.
    assert "adaptivecard" not in sanitize_html(html)
    card["body"][0]["text"] = "<img src=x onerror=alert(1)>"
    html = f"<p>Hi</p><script type='application/adaptivecard+json'>{json.dumps(card)}</script>"
    cleaned = sanitize_html(html)
    assert cleaned == (
        '<html><head><script type="application/adaptivecard+json">'
        + json.dumps(card).replace("<", "\\u003c")
        + "</script></head><body><p>Hi</p></body></html>"
    )
    inside = cleaned.removeprefix('<html><head><script type="application/adaptivecard+json">').split("</script>")[0]
    assert "<" not in inside and json.loads(inside) == card, "the same card, with no '<' that could open an element"


def test_annotations_in_other_namespaces_and_property_types_pass_unchanged() -> None:
    body = sent(message(**{"@contoso.trace": [1, {"a": None}], "subject@odata.type": "String"}))
    assert body["message"]["@contoso.trace"] == [1, {"a": None}]
    assert body["message"]["subject@odata.type"] == "String"
