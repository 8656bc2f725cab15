import base64
import json
from typing import Any

import pytest

from shared.mail.draft import InvalidPayload, parse_mail_request
from tests.helpers.app import reference_example


def graph_body(payload: Any) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(parse_mail_request(payload).request.to_json_bytes())
    return result


def errors_of(payload: Any) -> dict[str, str]:
    with pytest.raises(InvalidPayload) as caught:
        parse_mail_request(payload)
    return {error.field: error.message for error in caught.value.errors}


def test_reference_example_1_is_sent_with_a_real_boolean() -> None:
    body = graph_body(json.loads(reference_example(1)))
    assert body == {
        "message": {
            "subject": "Meet for lunch?",
            "body": {"contentType": "Text", "content": "The new cafeteria is open."},
            "toRecipients": [{"emailAddress": {"address": "fannyd@contoso.onmicrosoft.com"}}],
            "ccRecipients": [{"emailAddress": {"address": "danas@contoso.onmicrosoft.com"}}],
        },
        "saveToSentItems": False,
    }


def test_reference_example_2_keeps_its_custom_headers() -> None:
    body = graph_body(json.loads(reference_example(2)))
    assert body["message"]["internetMessageHeaders"] == [
        {"name": "x-custom-header-group-name", "value": "Nevada"},
        {"name": "x-custom-header-group-id", "value": "NV001"},
    ]
    assert body["message"]["body"] == {"contentType": "HTML", "content": "The group represents Nevada."}
    assert "saveToSentItems" not in body


def test_graph_form_refuses_properties_it_does_not_model_each_with_its_reason() -> None:
    payload = json.loads(reference_example(1))
    payload["message"]["mentions"] = [{"mentioned": {}}]
    payload["message"]["bodyPreview"] = "set by Exchange"
    payload["message"]["colour"] = "blue"
    assert errors_of(payload) == {
        "message.mentions": "only in Graph's beta API: /v1.0 messages have no mentions",
        "message.bodyPreview": "read-only: Exchange sets it when it stores the message",
        "message.colour": "unknown field: not a property the bridge accepts",
    }
    nested = json.loads(reference_example(1))
    nested["message"]["toRecipients"][0]["emailAddress"]["routing"] = "x"
    assert errors_of(nested) == {
        "message.toRecipients[0].emailAddress.routing": "unknown field: not a property the bridge accepts"
    }


def test_graph_form_applies_graph_rules() -> None:
    payload = {
        "message": {
            "subject": "a\r\nBcc: victim@example.com",
            "toRecipients": [{"emailAddress": {"address": "a@b.com; c@d.com"}}],
            "internetMessageHeaders": [{"name": "Reply-To", "value": "x"}],
            "attachments": [{"@odata.type": "#microsoft.graph.fileAttachment", "name": "a", "contentBytes": "!!"}],
        }
    }
    assert set(errors_of(payload)) == {
        "message.subject",
        "message.toRecipients[0].emailAddress.address",
        "message.internetMessageHeaders[0].name",
        "message.attachments[0].contentBytes",
    }


def test_graph_form_from_and_sender_are_the_requested_addresses() -> None:
    payload = json.loads(reference_example(1))
    payload["message"]["from"] = {"emailAddress": {"address": "sales@contoso.com"}}
    payload["message"]["sender"] = {"emailAddress": {"address": "alerts@contoso.com"}}
    draft = parse_mail_request(payload)
    assert (draft.from_address, draft.sender_address) == ("sales@contoso.com", "alerts@contoso.com")
    assert (draft.from_field, draft.sender_field) == ("message.from", "message.sender")


def test_simplified_payload_maps_every_field() -> None:
    body = graph_body(
        {
            "to": "ops@contoso.com",
            "cc": ["a@contoso.com", {"address": "b@contoso.com", "name": "B, Team"}],
            "bcc": [{"address": "audit@contoso.com"}],
            "replyTo": "noc@contoso.com",
            "subject": "Disk full on db-1",
            "html": "<p>93%</p>",
            "importance": "High",
            "headers": {"X-Alert-Id": "42", "x-source": "test"},
            "attachments": [
                {"name": "df.txt", "content": "Filesystem 93%"},
                {"name": "graph.png", "contentBase64": base64.b64encode(b"\x89PNG").decode()},
                {"name": "data.bin", "contentType": "application/x-custom", "contentBase64": "AAEC"},
            ],
            "saveToSentItems": False,
        }
    )
    assert body == {
        "message": {
            "subject": "Disk full on db-1",
            "body": {"contentType": "html", "content": "<p>93%</p>"},
            "toRecipients": [{"emailAddress": {"address": "ops@contoso.com"}}],
            "ccRecipients": [
                {"emailAddress": {"address": "a@contoso.com"}},
                {"emailAddress": {"address": "b@contoso.com", "name": "B, Team"}},
            ],
            "bccRecipients": [{"emailAddress": {"address": "audit@contoso.com"}}],
            "replyTo": [{"emailAddress": {"address": "noc@contoso.com"}}],
            "importance": "High",  # as written: Graph takes its enums in any case
            "internetMessageHeaders": [{"name": "X-Alert-Id", "value": "42"}, {"name": "x-source", "value": "test"}],
            "attachments": [
                {
                    "@odata.type": "#microsoft.graph.fileAttachment",
                    "name": "df.txt",
                    "contentType": "text/plain",
                    "contentBytes": base64.b64encode(b"Filesystem 93%").decode(),
                },
                {
                    "@odata.type": "#microsoft.graph.fileAttachment",
                    "name": "graph.png",
                    "contentType": "image/png",
                    "contentBytes": base64.b64encode(b"\x89PNG").decode(),
                },
                {
                    "@odata.type": "#microsoft.graph.fileAttachment",
                    "name": "data.bin",
                    "contentType": "application/x-custom",
                    "contentBytes": "AAEC",
                },
            ],
        },
        "saveToSentItems": False,
    }


def test_simplified_minimal_payload_is_a_text_mail() -> None:
    body = graph_body({"to": "ops@contoso.com", "subject": "ping"})
    assert body == {
        "message": {
            "subject": "ping",
            "body": {"contentType": "text", "content": ""},
            "toRecipients": [{"emailAddress": {"address": "ops@contoso.com"}}],
        }
    }


def test_duplicate_recipients_are_dropped_case_insensitively_across_lists() -> None:
    body = graph_body(
        {"to": ["Ops@Contoso.com", "ops@contoso.com"], "cc": ["OPS@contoso.com", "b@contoso.com"], "subject": "x"}
    )
    assert body["message"]["toRecipients"] == [{"emailAddress": {"address": "Ops@Contoso.com"}}]
    assert body["message"]["ccRecipients"] == [{"emailAddress": {"address": "b@contoso.com"}}]


def test_wrapped_base64_is_accepted_and_sent_compact() -> None:
    wrapped = base64.encodebytes(bytes(range(256)) * 2).decode()
    assert "\n" in wrapped
    body = graph_body({"to": "a@contoso.com", "subject": "x", "attachments": [{"name": "b", "contentBase64": wrapped}]})
    assert body["message"]["attachments"][0]["contentBytes"] == base64.b64encode(bytes(range(256)) * 2).decode()


@pytest.mark.parametrize(
    ("payload", "field", "message_part"),
    [
        ({"to": "a@contoso.com"}, "subject", "Field required"),
        ({"to": "a@contoso.com", "subject": ""}, "subject", "at least 1 character"),
        ({"to": "a@contoso.com", "subject": "a\nb"}, "subject", "single line"),
        ({"to": "a@contoso.com", "subject": "a\u2028b"}, "subject", "single line"),
        ({"to": "not an address", "subject": "x"}, "to[0].address", "not a valid email address"),
        ({"to": '"ceo@contoso.com" <x@evil.example>', "subject": "x"}, "to[0].address", "not a valid email"),
        ({"to": [{"address": "a@contoso.com", "name": "A\r\nBcc: x"}], "subject": "x"}, "to[0].name", "single line"),
        ({"to": 42, "subject": "x"}, "to", "valid list"),
        ({"to": "a@contoso.com", "subject": "x", "text": "t", "html": "h"}, "html", "not both"),
        ({"to": "a@contoso.com", "subject": "x", "importance": "urgent"}, "importance", "'low', 'normal' or 'high'"),
        ({"to": "a@contoso.com", "subject": "x", "headers": {"Subject": "y"}}, "headers.Subject", "start with 'x-'"),
        ({"to": "a@contoso.com", "subject": "x", "headers": {"X-A": "1\r\n2"}}, "headers.X-A", "single line"),
        (
            {"to": "a@contoso.com", "subject": "x", "headers": {f"X-{i}": "v" for i in range(6)}},
            "headers",
            "at most 5",
        ),
        ({"to": "a@contoso.com", "subject": "x", "attachments": [{"name": "a"}]}, "attachments[0]", "exactly one"),
        (
            {"to": "a@contoso.com", "subject": "x", "attachments": [{"name": "../etc/passwd", "content": "x"}]},
            "attachments[0].name",
            "path separators",
        ),
        (
            {"to": "a@contoso.com", "subject": "x", "attachments": [{"name": "a", "contentBase64": "abc"}]},
            "attachments[0].contentBase64",
            "not valid base64",
        ),
        ({"to": "a@contoso.com", "subject": "x", "saveToSentItems": "false"}, "saveToSentItems", "valid boolean"),
        ({"to": "a@contoso.com", "subject": "x", "from": "nobody"}, "from", "not a valid email"),
        ({"to": "a@contoso.com", "subject": "x", "body": "hi"}, "body", "unknown field"),
    ],
)
def test_simplified_payload_errors_name_the_field(payload: Any, field: str, message_part: str) -> None:
    errors = errors_of(payload)
    assert field in errors, errors
    assert message_part in errors[field]


@pytest.mark.parametrize("payload", [[], "text", 3, None])
def test_the_body_must_be_an_object(payload: Any) -> None:
    assert errors_of(payload) == {"": "expected an object"}
