"""Graph's own sendMail examples, and one message per writable property, reach the fake Graph unchanged.

The examples are stored byte for byte as printed: tests/data/graph-sendmail-example-{1,2,3,5}.json are the JSON
examples of https://learn.microsoft.com/graph/api/user-sendmail (microsoftgraph/microsoft-graph-docs-contrib,
api-reference/v1.0/api/user-sendmail.md; 4 is the MIME one), graph-send-from-other-user-example-1.json is Example 1
of https://learn.microsoft.com/graph/outlook-send-mail-from-other-user.

"Unchanged" is byte for byte: the body the fake Graph receives is the caller's JSON written compactly
(``faithful``), with only the changes the README names: a real boolean for Example 1's
``"saveToSentItems": "false"``, the reference page's spelling of the two parameters for the $metadata
one, and the ``message`` wrapper Example 5 is printed without. The model declares the properties in
the order Graph's examples write them (``@odata.type`` first, as the SDKs write it; other annotations
after the properties), so these bodies keep the caller's order; JSON gives the order no meaning.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.endpoints.mail import handle_mail
from tests.conftest import RuntimeFactory
from tests.fakes.graph import FakeGraph
from tests.helpers.app import DATA, SENDER, mail_request, response_json

CARD = {"type": "AdaptiveCard", "version": "1.0", "body": [{"type": "TextBlock", "text": "Approve?"}]}


def faithful(body: Any) -> bytes:
    """The caller's JSON as Graph should get it: the same value, written compactly."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def example(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def sent_body(runtime_factory: RuntimeFactory, graph: FakeGraph, body: Any, **settings: str) -> bytes:
    response = handle_mail(mail_request(body), runtime_factory(**settings))
    assert response.status_code == 202, response_json(response)
    return graph.sent[-1].body


@pytest.mark.parametrize("path", sorted(DATA.glob("graph-sendmail-example-*.json")), ids=lambda path: path.stem)
def test_every_json_example_of_the_sendmail_page_reaches_graph_as_printed(
    path: Path, mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    printed = json.loads(path.read_text())
    expected = printed if "message" in printed else {"message": printed}  # Example 5 has no wrapper
    if expected.get("saveToSentItems") == "false":
        expected = {**expected, "saveToSentItems": False}  # Example 1: a real boolean, Graph's declared type
    assert sent_body(mi_runtime, graph, printed) == faithful(expected)
    assert graph.sent[-1].path == f"/v1.0/users/{SENDER}/sendMail"


def test_the_metadata_spelling_of_the_parameters_is_sent_as_the_reference_page_spells_them(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    printed = example("graph-sendmail-example-1.json")
    kiota = {"Message": printed["message"], "SaveToSentItems": False}
    assert sent_body(mi_runtime, graph, kiota) == faithful({"message": printed["message"], "saveToSentItems": False})


def test_sending_from_another_user_keeps_from_and_sends_through_that_mailbox(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    printed = example("graph-send-from-other-user-example-1.json")
    body = sent_body(mi_runtime, graph, printed, MAIL_ALLOWED_SENDERS="AllanD@contoso.com")
    assert body == faithful(printed)
    assert graph.sent[-1].path == "/v1.0/users/AllanD@contoso.com/sendMail"


def test_from_a_distribution_list_is_sent_through_the_sending_mailbox(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    message = {
        "subject": "January sales report",
        "toRecipients": [{"emailAddress": {"address": "MeganB@contoso.com"}}],
        "from": {"emailAddress": {"address": "sales@contoso.com"}},
    }
    body = sent_body(mi_runtime, graph, {"message": message}, MAIL_ALLOWED_FROM="sales@contoso.com")
    assert body == faithful({"message": message})
    assert graph.sent[-1].path == f"/v1.0/users/{SENDER}/sendMail", "a list has no mailbox: MAIL_SENDER sends"


def test_a_delegate_sender_is_the_mailbox_in_the_url(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    message = {
        "subject": "On behalf",
        "toRecipients": [{"emailAddress": {"address": "MeganB@contoso.com"}}],
        "from": {"emailAddress": {"address": "ceo@contoso.com"}},
        "sender": {"emailAddress": {"address": "assistant@contoso.com"}},
    }
    body = sent_body(
        mi_runtime, graph, {"message": message}, MAIL_ALLOWED_SENDERS="assistant@contoso.com,ceo@contoso.com"
    )
    assert body == faithful({"message": message})
    assert graph.sent[-1].path == "/v1.0/users/assistant@contoso.com/sendMail"


@pytest.mark.parametrize(
    ("simple", "mailbox"),
    [
        ({"from": "ceo@contoso.com", "sender": "assistant@contoso.com"}, "assistant@contoso.com"),
        ({"from": "sales@contoso.com", "sender": "assistant@contoso.com"}, "assistant@contoso.com"),
        ({"sender": "assistant@contoso.com"}, "assistant@contoso.com"),
    ],
    ids=["on behalf of a mailbox", "through a delegate for a list", "sender alone"],
)
def test_the_simplified_sender_chooses_the_mailbox_as_the_graph_forms_does(
    mi_runtime: RuntimeFactory, graph: FakeGraph, simple: dict[str, str], mailbox: str
) -> None:
    settings = {
        "MAIL_ALLOWED_SENDERS": "assistant@contoso.com,ceo@contoso.com",
        "MAIL_ALLOWED_FROM": "sales@contoso.com",
    }
    base = {"to": "meganb@contoso.com", "subject": "On behalf", "text": "x"}
    json_form = {
        "message": {
            "subject": "On behalf",
            "body": {"contentType": "text", "content": "x"},
            "toRecipients": [RECIPIENT],
            **{field: {"emailAddress": {"address": address}} for field, address in simple.items()},
        }
    }
    as_json = sent_body(mi_runtime, graph, json_form, **settings)
    assert graph.sent[-1].path == f"/v1.0/users/{mailbox}/sendMail"
    assert sent_body(mi_runtime, graph, {**base, **simple}, **settings) == as_json, "the same Graph request"
    assert graph.sent[-1].path == f"/v1.0/users/{mailbox}/sendMail"


@pytest.mark.parametrize(
    ("simple", "refused"),
    [
        ({"sender": "intruder@contoso.com"}, ["sender"]),
        ({"sender": "sales@contoso.com"}, ["sender"]),  # a list is no mailbox: it cannot send
        ({"sender": "assistant@contoso.com", "from": "cfo@contoso.com"}, ["from"]),
        ({"sender": "intruder@contoso.com", "from": "cfo@contoso.com"}, ["sender", "from"]),
    ],
)
def test_the_simplified_sender_obeys_the_sender_allow_list(
    mi_runtime: RuntimeFactory, graph: FakeGraph, simple: dict[str, str], refused: list[str]
) -> None:
    runtime = mi_runtime(MAIL_ALLOWED_SENDERS="assistant@contoso.com", MAIL_ALLOWED_FROM="sales@contoso.com")
    response = handle_mail(mail_request({"to": "meganb@contoso.com", "subject": "x", **simple}), runtime)
    assert response.status_code == 403, response.get_body()
    document = response_json(response)
    assert (document["code"], [error["field"] for error in document["errors"]]) == ("sender_not_allowed", refused)
    assert graph.sent == []


RECIPIENT = {"emailAddress": {"address": "meganb@contoso.com"}}
# One message per writable property (and annotation) the bridge passes on, each as Graph documents it.
WRITABLE: dict[str, dict[str, Any]] = {
    "odata-annotations": {
        "@odata.type": "#microsoft.graph.message",
        "body": {"@odata.type": "#microsoft.graph.itemBody", "contentType": "text", "content": "x"},
        "toRecipients": [
            {"@odata.type": "#microsoft.graph.recipient", "emailAddress": {"address": "meganb@contoso.com"}}
        ],
        "categories": ["Red category"],
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('x')/messages/$entity",
        "categories@odata.type": "#Collection(String)",
        "@contoso.traceId": {"id": 7},
    },
    "body-without-content-type": {"body": {"content": "<b>shown as text</b>"}, "toRecipients": [RECIPIENT]},
    "adaptive-card": {
        "body": {
            "contentType": "HTML",
            "content": f'<html><head><script type="application/adaptivecard+json">{json.dumps(CARD)}</script>'
            "</head><body><p>Approve?</p></body></html>",
        },
        "toRecipients": [RECIPIENT],
    },
    "header-names-with-dot-and-underscore": {
        "toRecipients": [RECIPIENT],
        "internetMessageHeaders": [{"name": "x-app.version", "value": "2"}, {"name": "X-Trace_Id", "value": "t"}],
    },
    "inference-classification": {"toRecipients": [RECIPIENT], "inferenceClassification": "other"},
    "internet-message-id": {"toRecipients": [RECIPIENT], "internetMessageId": "<alert-42@alerts.contoso.com>"},
    "receipts-read-categories": {
        "toRecipients": [RECIPIENT],
        "isDeliveryReceiptRequested": True,
        "isReadReceiptRequested": True,
        "isRead": True,
        "categories": ["Alerts"],
    },
    "item-attachment": {
        "toRecipients": [RECIPIENT],
        "attachments": [
            {
                "@odata.type": "#microsoft.graph.itemAttachment",
                "name": "Original alert",
                "item": {
                    "@odata.type": "microsoft.graph.message",
                    "subject": "Disk full",
                    "body": {"contentType": "text", "content": "line one\nline two"},
                    "from": {"emailAddress": {"address": "anyone@elsewhere.example"}},
                    "toRecipients": [{"emailAddress": {"address": "someone@elsewhere.example"}}],
                },
            }
        ],
    },
    "reference-attachment": {
        "toRecipients": [RECIPIENT],
        "attachments": [{"@odata.type": "#microsoft.graph.referenceAttachment", "name": "Report", "isInline": False}],
    },
    "extended-properties": {
        "toRecipients": [RECIPIENT],
        "singleValueExtendedProperties": [
            {"id": "String {66f5a359-4659-4830-9070-00040ec6ac6e} Name Color", "value": "Green"},
            {"id": "String {00020386-0000-0000-C000-000000000046} Name X-Ticket-Id", "value": "T-1"},
            {"id": "Integer 0x0036", "value": "3"},
        ],
        "multiValueExtendedProperties": [
            {"id": "StringArray {66f5a359-4659-4830-9070-00040ec6ac6e} Name Palette", "value": ["Green", "Red"]}
        ],
    },
    "open-extension": {
        "toRecipients": [RECIPIENT],
        "extensions": [
            {"@odata.type": "microsoft.graph.openTypeExtension", "extensionName": "Com.Contoso.Alert", "id": 42}
        ],
    },
}


@pytest.mark.parametrize("name", list(WRITABLE))
def test_each_writable_property_reaches_graph_unchanged(
    name: str, mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    given = WRITABLE[name]
    message = {**{key: given[key] for key in ("@odata.type",) if key in given}, "subject": name, **given}
    assert sent_body(mi_runtime, graph, {"message": message}) == faithful({"message": message})
