import json
from typing import Any

import pytest

from shared.mail import graph_message as graph_message_module
from shared.mail.draft import InvalidPayload, parse_mail_request
from shared.mail.graph_message import MAX_GRAPH_REQUEST_BYTES, GraphSend
from shared.mail.policy import MailPolicy, MessageTooLarge, RecipientNotAllowed, SenderNotAllowed
from shared.settings import Settings
from tests.helpers.app import SENDER, settings_from


def approve(payload: Any, settings: Settings | None = None) -> GraphSend:
    return MailPolicy((settings or settings_from()).policy).approve(parse_mail_request(payload))


def test_the_configured_sender_is_the_default_mailbox() -> None:
    assert approve({"to": "a@contoso.com", "subject": "x"}).mailbox == SENDER


def test_from_must_be_an_allowed_sender() -> None:
    settings = settings_from(MAIL_ALLOWED_SENDERS="alerts@contoso.com")
    assert approve({"to": "a@contoso.com", "subject": "x", "from": "Alerts@Contoso.com"}, settings).mailbox == (
        "Alerts@Contoso.com"
    )
    assert approve({"to": "a@contoso.com", "subject": "x", "from": SENDER}, settings).mailbox == SENDER
    with pytest.raises(SenderNotAllowed) as caught:
        approve({"to": "a@contoso.com", "subject": "x", "from": "ceo@contoso.com"}, settings)
    assert caught.value.status == 403
    assert caught.value.errors[0].field == "from"


def test_graph_form_from_obeys_the_same_allow_list() -> None:
    payload = {
        "message": {
            "subject": "x",
            "toRecipients": [{"emailAddress": {"address": "a@contoso.com"}}],
            "from": {"emailAddress": {"address": "ceo@contoso.com"}},
        }
    }
    with pytest.raises(SenderNotAllowed) as caught:
        approve(payload)
    assert caught.value.errors[0].field == "message.from"


def graph_message(**addresses: str) -> dict[str, Any]:
    return {
        "message": {
            "subject": "x",
            "toRecipients": [{"emailAddress": {"address": "a@contoso.com"}}],
            **{field: {"emailAddress": {"address": address}} for field, address in addresses.items()},
        }
    }


def test_sender_is_the_sending_mailbox_and_obeys_the_sender_allow_list() -> None:
    settings = settings_from(MAIL_ALLOWED_SENDERS="assistant@contoso.com,ceo@contoso.com")
    on_behalf = approve(graph_message(sender="assistant@contoso.com", **{"from": "ceo@contoso.com"}), settings)
    assert on_behalf.mailbox == "assistant@contoso.com", "the delegate sends; its Sent Items keep the copy"
    assert json.loads(on_behalf.body)["message"]["sender"] == {"emailAddress": {"address": "assistant@contoso.com"}}
    with pytest.raises(SenderNotAllowed) as caught:
        approve(graph_message(sender="intruder@contoso.com", **{"from": "ceo@contoso.com"}), settings)
    assert [(e.field, e.message) for e in caught.value.errors] == [
        ("message.sender", "intruder@contoso.com is not a sending mailbox in MAIL_ALLOWED_SENDERS")
    ]
    with pytest.raises(SenderNotAllowed) as caught:
        approve(graph_message(sender="assistant@contoso.com", **{"from": "cfo@contoso.com"}), settings)
    assert [e.field for e in caught.value.errors] == ["message.from"]


def test_from_a_list_or_group_is_sent_through_the_sending_mailbox() -> None:
    settings = settings_from(MAIL_ALLOWED_FROM="sales@contoso.com", MAIL_ALLOWED_SENDERS="alerts@contoso.com")
    assert approve(graph_message(**{"from": "Sales@Contoso.com"}), settings).mailbox == SENDER
    through = approve(graph_message(sender="alerts@contoso.com", **{"from": "sales@contoso.com"}), settings)
    assert through.mailbox == "alerts@contoso.com"
    # A list is no mailbox: it may not be the sender, nor be from without the allow-list.
    with pytest.raises(SenderNotAllowed):
        approve(graph_message(sender="sales@contoso.com"), settings)
    with pytest.raises(SenderNotAllowed):
        approve(graph_message(**{"from": "sales@contoso.com"}))


def test_the_simplified_from_a_list_is_written_into_the_message() -> None:
    settings = settings_from(MAIL_ALLOWED_FROM="sales@contoso.com")
    sent = approve({"to": "a@contoso.com", "subject": "x", "from": "sales@contoso.com"}, settings)
    assert sent.mailbox == SENDER
    assert json.loads(sent.body)["message"]["from"] == {"emailAddress": {"address": "sales@contoso.com"}}
    own = approve({"to": "a@contoso.com", "subject": "x", "from": SENDER}, settings)
    assert "from" not in json.loads(own.body)["message"], "the mailbox itself: the URL says it"


def test_no_recipients_is_an_error_without_a_default() -> None:
    with pytest.raises(InvalidPayload) as caught:
        approve({"subject": "x"})
    assert caught.value.errors[0].field == "to"


def test_default_to_fills_in_when_no_recipient_is_given() -> None:
    settings = settings_from(MAIL_DEFAULT_TO="oncall@contoso.com,noc@contoso.com")
    sent = approve({"subject": "x"}, settings)
    assert json.loads(sent.body)["message"]["toRecipients"] == [
        {"emailAddress": {"address": "oncall@contoso.com"}},
        {"emailAddress": {"address": "noc@contoso.com"}},
    ]
    assert approve({"cc": "a@contoso.com", "subject": "x"}, settings).recipient_addresses() == ["a@contoso.com"]


def test_recipients_outside_allowed_domains_refuse_the_whole_message() -> None:
    settings = settings_from(MAIL_ALLOWED_RECIPIENT_DOMAINS="contoso.com")
    with pytest.raises(RecipientNotAllowed) as caught:
        approve({"to": "a@contoso.com", "bcc": ["x@evil.example", "y@evil.example"], "subject": "x"}, settings)
    assert caught.value.status == 403
    assert [e.message for e in caught.value.errors] == [
        "x@evil.example is not in an allowed domain",
        "y@evil.example is not in an allowed domain",
    ]


def test_at_most_500_recipients_in_all() -> None:
    to = [f"user{i}@contoso.com" for i in range(300)]
    cc = [f"other{i}@contoso.com" for i in range(200)]
    assert len(approve({"to": to, "cc": cc, "subject": "x"}).recipient_addresses()) == 500
    with pytest.raises(InvalidPayload) as caught:
        approve({"to": to, "cc": cc, "bcc": "one-more@contoso.com", "subject": "x"})
    assert "at most 500" in caught.value.errors[0].message


def test_attachments_may_make_a_message_larger_than_4_mb_but_the_rest_may_not() -> None:
    # Large attachments go through a draft and its upload sessions; the message itself is one request.
    big_attachment = "A" * (2 * MAX_GRAPH_REQUEST_BYTES)
    sent = approve(
        {"to": "a@contoso.com", "subject": "x", "attachments": [{"name": "a", "contentBase64": big_attachment}]}
    )
    assert len(sent.body) > MAX_GRAPH_REQUEST_BYTES
    with pytest.raises(MessageTooLarge) as caught:
        approve({"to": "a@contoso.com", "subject": "x", "text": "A" * MAX_GRAPH_REQUEST_BYTES})
    assert caught.value.status == 413
    assert "4 MB" in caught.value.detail


def test_an_attachment_over_150_mb_is_413(monkeypatch: pytest.MonkeyPatch) -> None:
    import shared.mail.policy

    # The limit is 150 MB; a test body of that size is not worth its memory, so the limit is lowered.
    monkeypatch.setattr(shared.mail.policy, "MAX_ATTACHMENT_BYTES", 3 * 1024 * 1024)
    file = "A" * (4 * 1024 * 1024 + 4)  # 3 MiB + 3 bytes decoded
    with pytest.raises(MessageTooLarge) as caught:
        approve({"to": "a@contoso.com", "subject": "x", "attachments": [{"name": "a.bin", "contentBase64": file}]})
    assert "a.bin" in caught.value.detail


def test_the_body_sent_is_exactly_the_serialized_request() -> None:
    sent = approve({"to": "a@contoso.com", "subject": "x", "text": "hello"})
    assert sent.request is not None and sent.body == sent.request.to_json_bytes()
    assert b" " not in sent.body.replace(b"hello", b"")  # compact JSON, nothing wasted toward the 4 MB


def test_more_than_250_attachments_are_refused_naming_the_field() -> None:
    # Exchange Online's limit per message; the draft path makes one request per attachment.
    attachments = [{"name": f"a{i}.txt", "content": "x"} for i in range(251)]
    with pytest.raises(InvalidPayload) as caught:
        approve({"to": "a@contoso.com", "subject": "x", "attachments": attachments})
    assert caught.value.errors[0].field == "attachments"
    approve({"to": "a@contoso.com", "subject": "x", "attachments": attachments[:250]})


def test_an_item_attachment_travels_as_json_so_it_stays_under_3_mb() -> None:
    body = {"contentType": "text", "content": "x" * (2 * 1024 * 1024)}
    item = {"@odata.type": "#microsoft.graph.message", "subject": "big", "body": body}
    payload = graph_message()
    payload["message"]["attachments"] = [
        {"@odata.type": "#microsoft.graph.itemAttachment", "name": "big", "item": item}
    ]
    sent = approve(payload).request
    assert sent is not None and sent.message.attachments, "under 3 MB: sent"
    body["content"] = "x" * (4 * 1024 * 1024)
    with pytest.raises(MessageTooLarge) as caught:
        approve(payload)
    assert "attachment 1 (big)" in caught.value.detail


def test_an_approved_message_holds_no_serialized_copy_until_its_body_is_read() -> None:
    # The draft method sends a draft's own JSON: building the sendMail body too would be a second
    # copy of a message that can be 100 MB. It is built when read, and counted without building it.
    import tracemalloc

    file = "QUJD" * (10 * 1024 * 1024)  # 40 MiB of base64
    payload = {"to": "a@contoso.com", "subject": "x", "attachments": [{"name": "core.bin", "contentBase64": file}]}
    draft = parse_mail_request(payload)
    tracemalloc.start()
    try:
        sent = MailPolicy(settings_from().policy).approve(draft)
        counted = sent.body_bytes
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak_bytes < 1024 * 1024, f"approving allocated {peak_bytes:,} bytes"
    assert counted == len(sent.body) > len(file)


def test_a_small_message_is_counted_by_building_the_body_sendmail_sends_next() -> None:
    # Counting around the files would be a second serialization of a body sendMail builds anyway.
    sent = approve({"to": "a@contoso.com", "subject": "x", "attachments": [{"name": "a.txt", "content": "hello"}]})
    counted = sent.body_bytes
    assert "body" in sent.__dict__, "built once, and kept for the send"
    assert counted == len(sent.body)


@pytest.mark.parametrize(
    "attachments",
    [
        [],
        [{"name": "a.txt", "content": "hello"}],
        [{"name": "é ü.bin", "contentBase64": "AAEC", "contentType": "application/octet-stream"}],
        [{"name": "a", "content": "x"}, {"name": "b", "contentBase64": "QUJDRA=="}],
    ],
)
def test_the_counted_body_size_is_the_built_body_size(
    attachments: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(graph_message_module, "_COUNT_WITHOUT_BUILDING_BYTES", 0)  # count around every file
    payload = {"to": "a@contoso.com", "subject": "Ünïcode \u2603", "html": '<p>"quoted" & \\ </p>'}
    for sent in (
        approve({**payload, "attachments": attachments}),
        approve({**payload, "attachments": attachments, "saveToSentItems": False}),
    ):
        counted = sent.body_bytes
        assert counted == len(sent.body)


@pytest.mark.parametrize(
    "name", ["reference-example-1.json", "reference-example-2.json", "graph-sendmail-example-3.json"]
)
def test_the_counted_size_of_graph_form_examples_is_their_built_size(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    monkeypatch.setattr(graph_message_module, "_COUNT_WITHOUT_BUILDING_BYTES", 0)  # count around every file

    payload = json.loads((Path(__file__).parents[1] / "data" / name).read_text())
    payload.setdefault("message", {}).setdefault("toRecipients", [{"emailAddress": {"address": "a@contoso.com"}}])
    file = {"@odata.type": "#microsoft.graph.fileAttachment", "name": "i.png", "contentBytes": "iVBO"}
    item = {"@odata.type": "#microsoft.graph.message", "body": {"contentType": "text", "content": "y"}}
    with_both = [
        file | {"isInline": True, "contentId": "logo"},
        {"@odata.type": "#microsoft.graph.itemAttachment", "name": "m", "item": item},
    ]
    for attachments in (payload["message"].get("attachments", []), [], with_both):
        sent = approve({**payload, "message": {**payload["message"], "attachments": attachments}})
        counted = sent.body_bytes
        assert counted == len(sent.body)
