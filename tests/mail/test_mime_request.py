"""A caller's MIME message: read with the email package, checked, and approved by the same policy as JSON."""

from __future__ import annotations

import base64
import contextlib
import random
from email.message import EmailMessage

import pytest

from shared.mail.draft import InvalidPayload
from shared.mail.graph_message import MAX_GRAPH_REQUEST_BYTES, MIME_CONTENT_TYPE, GraphSend
from shared.mail.mime_request import InvalidMime, InvalidMimeBase64, read_mime_request
from shared.mail.policy import MailPolicy, MessageTooLarge, RecipientNotAllowed, SenderNotAllowed
from shared.problems import Problem
from tests.helpers.app import SENDER, settings_from


def message(**headers: str) -> bytes:
    """An RFC 5322 message built by the email package, as a caller's mail library would."""
    mime = EmailMessage()
    for name, value in headers.items():
        mime[name.replace("_", "-")] = value
    mime.set_content("Disk 93% full on db-1.")
    return mime.as_bytes()


def approve_raw(raw: bytes, **settings: str) -> GraphSend:
    policy = MailPolicy(settings_from(**settings).policy)
    return policy.approve_mime(read_mime_request("message/rfc822", raw))


def refusal(raw: bytes, **settings: str) -> Problem:
    with pytest.raises(Problem) as caught:
        approve_raw(raw, **settings)
    return caught.value


def test_the_base64_form_is_forwarded_byte_for_byte() -> None:
    raw = message(From=SENDER, To="ops@contoso.com", Subject="Disk full")
    graph_body = base64.encodebytes(raw)  # wrapped at 76 characters, as `base64` prints it
    policy = MailPolicy(settings_from().policy)
    mail = policy.approve_mime(read_mime_request("text/plain; charset=us-ascii", graph_body))
    assert mail.body == graph_body, "the caller's own base64 goes to Graph, not ours"
    assert mail.content_type == MIME_CONTENT_TYPE
    assert mail.mime is not None and mail.mime.raw == raw
    assert (mail.mailbox, mail.recipient_addresses(), mail.subject) == (SENDER, ["ops@contoso.com"], "Disk full")


def test_the_raw_form_is_base64ed_and_never_rewritten() -> None:
    raw = b"From: bridge@contoso.com\nTo: ops@contoso.com\nSubject: unusual   spacing\n\nbody\n"
    mail = approve_raw(raw)
    assert base64.b64decode(mail.body) == raw


def test_from_picks_the_mailbox_and_must_be_allowed() -> None:
    mail = approve_raw(
        message(From="alerts@contoso.com", To="ops@contoso.com"), MAIL_ALLOWED_SENDERS="alerts@contoso.com"
    )
    assert mail.mailbox == "alerts@contoso.com"
    assert approve_raw(message(To="ops@contoso.com")).mailbox == SENDER
    problem = refusal(message(From="ceo@contoso.com", To="ops@contoso.com"))
    assert isinstance(problem, SenderNotAllowed) and problem.errors[0].field == "From"


def test_a_sender_header_must_be_allowed_too() -> None:
    problem = refusal(message(From=SENDER, Sender="intruder@contoso.com", To="ops@contoso.com"))
    assert isinstance(problem, SenderNotAllowed) and problem.errors[0].field == "Sender"


def test_from_a_list_and_sender_pick_the_mailbox_as_in_the_json_form() -> None:
    settings = {"MAIL_ALLOWED_FROM": "sales@contoso.com", "MAIL_ALLOWED_SENDERS": "alerts@contoso.com"}
    assert approve_raw(message(From="sales@contoso.com", To="ops@contoso.com"), **settings).mailbox == SENDER
    on_behalf = message(From="sales@contoso.com", Sender="alerts@contoso.com", To="ops@contoso.com")
    assert approve_raw(on_behalf, **settings).mailbox == "alerts@contoso.com", "the Sender sends"
    problem = refusal(message(From="SENDER@contoso.com", Sender="sales@contoso.com", To="ops@contoso.com"), **settings)
    assert isinstance(problem, SenderNotAllowed), "a list is no mailbox to send through"


@pytest.mark.parametrize("header", ["To", "Cc", "Bcc", "Reply-To"])
def test_every_address_header_obeys_the_domain_allow_list(header: str) -> None:
    headers = {"To": "ops@contoso.com", header: "x@evil.example"}
    problem = refusal(message(**headers), MAIL_ALLOWED_RECIPIENT_DOMAINS="contoso.com")
    assert isinstance(problem, RecipientNotAllowed)
    assert [(e.field, e.message) for e in problem.errors] == [(header, "x@evil.example is not in an allowed domain")]


def test_without_recipients_it_is_refused_even_with_a_default_to() -> None:
    problem = refusal(message(From=SENDER, Subject="x"), MAIL_DEFAULT_TO="oncall@contoso.com")
    assert isinstance(problem, InvalidPayload) and problem.errors[0].field == "To"
    assert "MAIL_DEFAULT_TO" in problem.detail


def test_at_most_500_recipients() -> None:
    to = ", ".join(f"u{i}@contoso.com" for i in range(300))
    cc = ", ".join(f"c{i}@contoso.com" for i in range(200))
    assert len(approve_raw(message(To=to, Cc=cc)).recipient_addresses()) == 500
    problem = refusal(message(To=to, Cc=cc, Bcc="one-more@contoso.com"))
    assert isinstance(problem, InvalidPayload) and "at most 500" in problem.errors[0].message


def test_the_4_mb_graph_limit_counts_the_base64() -> None:
    # 3.1 MB of message is 4.2 MB of base64: over Graph's limit although the message is under it.
    raw = message(To="ops@contoso.com") + b"A" * (MAX_GRAPH_REQUEST_BYTES * 3 // 4)
    problem = refusal(raw)
    assert isinstance(problem, MessageTooLarge) and problem.status == 413


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        # A second To: one parser's recipient is another's nothing, and the allow-list read one.
        (b"From: bridge@contoso.com\r\nTo: ops@contoso.com\r\nTo: x@evil.example\r\n\r\nbody", "To"),
        (b"From: bridge@contoso.com\r\nFrom: ceo@contoso.com\r\nTo: ops@contoso.com\r\n\r\nbody", "From"),
        # A bare CR: Python splits the line there and reads a Bcc; Exchange may not.
        (b"From: bridge@contoso.com\nTo: ops@contoso.com\nSubject: hi\rBcc: x@evil.example\n\nbody", "header section"),
        (b"From: bridge@contoso.com\r\nTo: ops@contoso.com\nBcc: x@evil.example\r\n\r\nbody", "header section"),
        (b"From: bridge@contoso.com\r\nTo: ops@contoso.com\x00\r\n\r\nbody", "header section"),
        (
            b"From: bridge@contoso.com\r\nX-Mailhook-Status: resolved\r\nTo: ops@contoso.com\r\n\r\nbody",
            "X-Mailhook-Status",
        ),
        (b"From: bridge@contoso.com\r\nx-ms-exchange-organization-scl: -1\r\nTo: ops@contoso.com\r\n\r\nx", None),
        (b"From: bridge@contoso.com\r\nTo: ops@contoso.com\r\nthis is no header\r\n\r\nbody", "header section"),
        (b"just some text, no headers", "header section"),
        (b"From: bridge@contoso.com\r\nTo: <<not an address>>\r\n\r\nbody", "To"),
        (b'From: "ceo@contoso.com" <bridge@contoso.com>\r\nTo: ops@contoso.com\r\n\r\nbody', "From"),
        (b"From: bridge@contoso.com, other@contoso.com\r\nTo: ops@contoso.com\r\n\r\nbody", "From"),
    ],
)
def test_unsafe_header_sections_are_refused_naming_the_header(raw: bytes, field: str | None) -> None:
    with pytest.raises(InvalidMime) as caught:
        read_mime_request("message/rfc822", raw)
    assert caught.value.status == 400 and caught.value.code == "invalid_mime"
    assert caught.value.errors
    if field is not None:
        assert caught.value.errors[0].field == field


@pytest.mark.parametrize("body", [b"not base64!", b"QUJD=", b"QUJ"])
def test_bad_base64_is_refused_as_graph_does(body: bytes) -> None:
    with pytest.raises(InvalidMimeBase64) as caught:
        read_mime_request("text/plain", body)
    assert (caught.value.status, caught.value.code) == (400, "invalid_mime_encoding")
    assert "ErrorMimeContentInvalidBase64String" in caught.value.detail
    assert caught.value.errors[0].field == "body"


@pytest.mark.parametrize("body", [b"", b"   \r\n"])
def test_an_empty_body_is_no_message(body: bytes) -> None:
    with pytest.raises(InvalidMimeBase64) as caught:
        read_mime_request("text/plain", body)
    assert caught.value.errors[0].message == "an RFC 5322 message is required"


def test_lf_only_messages_are_fine() -> None:
    raw = b"From: bridge@contoso.com\nTo: ops@contoso.com\nSubject: Unix line endings\n\nbody\n"
    assert approve_raw(raw).subject == "Unix line endings"


@pytest.mark.parametrize(
    "headers",
    [
        # The email package raises on these instead of recording a defect (AttributeError, UnboundLocalError).
        b"Cc: xReply-To: ;])\t@\xff\xc3\xa9>group:Sender: Sender: @\xc3\xa9Subject: x<From: ;",
        b"Bcc: group:\\=?utf-8?q?\\@[\r\n \r\n",
        b"Reply-To: ?=@(>group:=?Cc: =?utf-8?q?Subject: Sender: \r\n Cc: x)[\r\n \r\n\xff\xc3\xa9:Cc: From: =?utf-8?q?",
    ],
)
def test_headers_the_parser_chokes_on_are_refused_not_a_500(headers: bytes) -> None:
    with pytest.raises(InvalidMime):
        read_mime_request("message/rfc822", b"From: bridge@contoso.com\r\n" + headers + b"\r\n\r\nbody")


def test_random_header_soup_is_always_a_problem_document_or_a_message() -> None:
    pieces = [b"To: ", b"Cc: ", b"Subject: ", b"Sender: ", b"Reply-To: ", b"=?utf-8?q?", b"?=", b"<", b">", b'"']
    pieces += [b"(", b")", b",", b";", b":", b"@", b"a@contoso.com", b"\r\n", b"\r\n ", b" ", b"\\", b"[", b"\xff"]
    generator = random.Random(7)
    for _ in range(3000):
        soup = b"".join(generator.choice(pieces) for _ in range(generator.randint(1, 30)))
        with contextlib.suppress(Problem):  # a problem document; anything else fails the test
            read_mime_request("message/rfc822", b"From: bridge@contoso.com\r\n" + soup + b"\r\n\r\nbody")


def test_an_html_part_with_a_script_is_refused_as_in_json() -> None:
    mime = EmailMessage()
    mime["From"], mime["To"] = SENDER, "ops@contoso.com"
    mime.set_content("plain")
    mime.add_alternative('<p>hi</p><SCRIPT src="https://evil.example/x.js"></SCRIPT>', subtype="html", cte="base64")
    with pytest.raises(InvalidMime) as caught:
        read_mime_request("message/rfc822", mime.as_bytes())
    assert caught.value.errors[0].message == "an HTML body must not contain <script> elements"
    assert caught.value.errors[0].field.startswith("part ")
