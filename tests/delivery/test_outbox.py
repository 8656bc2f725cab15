import base64
import email
import email.policy
import json
from email.message import EmailMessage
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.delivery.transports.outbox import OutboxTransport, to_mime
from shared.mail.draft import parse_mail_request
from shared.mail.graph_message import _HEADER_NAME_RE, _MESSAGE_ID_RE
from shared.mail.policy import MailPolicy
from tests.helpers.app import settings_from


def send_to_outbox(tmp_path: Path, payload: dict[str, object], request_id: str = "req-1") -> tuple[EmailMessage, bytes]:
    mail = MailPolicy(settings_from().policy).approve(parse_mail_request(payload))
    OutboxTransport(tmp_path / "outbox").send(mail, request_id)
    [eml] = sorted((tmp_path / "outbox").glob(f"*-{request_id}.eml"))
    [graph_json] = sorted((tmp_path / "outbox").glob(f"*-{request_id}.json"))
    parsed = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    assert graph_json.read_bytes() == mail.body
    return parsed, graph_json.read_bytes()


def test_eml_parses_as_the_mail_recipients_would_get(tmp_path: Path) -> None:
    parsed, graph_json = send_to_outbox(
        tmp_path,
        {
            "to": [{"address": "ops@contoso.com", "name": "Ops Team"}],
            "cc": "dev@contoso.com",
            "bcc": "audit@contoso.com",
            "replyTo": "noc@contoso.com",
            "subject": "Disk full on db-1 — 93 %",
            "text": "Filesystem /var is 93% full.\n",
            "importance": "high",
            "headers": {"X-Alert-Id": "42"},
            "attachments": [
                {"name": "df.txt", "content": "Filesystem 93%"},
                {"name": "dump.bin", "contentBase64": base64.b64encode(b"\x00\x01\x02").decode()},
            ],
        },
    )
    assert parsed["From"] == "bridge@contoso.com"
    assert parsed["To"] == "Ops Team <ops@contoso.com>"
    assert parsed["Cc"] == "dev@contoso.com"
    assert parsed["Bcc"] == "audit@contoso.com"
    assert parsed["Reply-To"] == "noc@contoso.com"
    assert parsed["Subject"] == "Disk full on db-1 — 93 %"
    assert parsed["Importance"] == "High"
    assert parsed["X-Alert-Id"] == "42"
    assert parsed["X-Mailhook-Request-Id"] == "req-1"
    assert parsed["Message-ID"] and parsed["Date"]
    body = parsed.get_body(("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == "Filesystem /var is 93% full.\n"  # RFC 5322: CRLF
    attachments = {part.get_filename(): part.get_content() for part in parsed.iter_attachments()}
    assert attachments == {"df.txt": "Filesystem 93%", "dump.bin": b"\x00\x01\x02"}
    assert json.loads(graph_json)["message"]["subject"] == "Disk full on db-1 — 93 %"


def test_html_body_is_an_html_part(tmp_path: Path) -> None:
    parsed, _ = send_to_outbox(tmp_path, {"to": "a@contoso.com", "subject": "x", "html": "<p>hi</p>"})
    html = parsed.get_body(("html",))
    assert html is not None
    assert html.get_content().strip() == "<p>hi</p>"


def test_reference_example_lands_with_both_files(tmp_path: Path) -> None:
    payload = json.loads((Path(__file__).parents[1] / "data" / "reference-example-2.json").read_text())
    parsed, graph_json = send_to_outbox(tmp_path, payload, "req-2")
    assert parsed["x-custom-header-group-name"] == "Nevada"
    assert json.loads(graph_json)["message"]["internetMessageHeaders"][1] == {
        "name": "x-custom-header-group-id",
        "value": "NV001",
    }
    assert not list((tmp_path / "outbox").glob(".*.tmp")), "no temporary file is left behind"


def test_the_new_message_properties_show_in_the_eml(tmp_path: Path) -> None:
    message = {
        "subject": "On behalf, with an embedded message",
        "body": {"content": "See the attached alert."},
        "toRecipients": [{"emailAddress": {"address": "ops@contoso.com"}}],
        "from": {"emailAddress": {"address": "bridge@contoso.com"}},
        "sender": {"emailAddress": {"address": "bridge@contoso.com"}},
        "internetMessageId": "<alert-42@alerts.contoso.com>",
        "singleValueExtendedProperties": [
            {"id": "String {00020386-0000-0000-C000-000000000046} Name X-Ticket_Id", "value": "T-1"}
        ],
        "attachments": [
            {
                "@odata.type": "#microsoft.graph.itemAttachment",
                "name": "alert",
                "item": {
                    "@odata.type": "#microsoft.graph.message",
                    "subject": "Disk full",
                    "body": {"contentType": "HTML", "content": "<p>93%</p>"},
                },
            },
            {"@odata.type": "#microsoft.graph.referenceAttachment", "name": "Report"},
        ],
    }
    parsed, _ = send_to_outbox(tmp_path, {"message": message})
    assert parsed["Message-ID"] == "<alert-42@alerts.contoso.com>"
    assert parsed["X-Ticket_Id"] == "T-1"
    assert parsed["Sender"] is None, "Sender only when it is not the From"
    [embedded] = [part for part in parsed.iter_attachments() if part.get_content_type() == "message/rfc822"]
    inner = embedded.get_payload(0)
    assert isinstance(inner, EmailMessage)
    assert inner["Subject"] == "Disk full"
    html = inner.get_body(("html",))
    assert html is not None and "<p>93%</p>" in html.get_content()


@settings(max_examples=60, deadline=None)
@given(
    message_id=st.from_regex(_MESSAGE_ID_RE, fullmatch=True).filter(lambda text: len(text) <= 200),
    header_name=st.from_regex(_HEADER_NAME_RE, fullmatch=True).filter(lambda text: len(text) <= 60),
)
def test_any_message_id_and_header_name_the_model_takes_renders(message_id: str, header_name: str) -> None:
    """schemathesis found a message id the email package could not parse: what passes must render."""
    payload = {
        "message": {
            "subject": "s",
            "toRecipients": [{"emailAddress": {"address": "ops@contoso.com"}}],
            "internetMessageId": message_id,
            "internetMessageHeaders": [{"name": header_name, "value": "v"}],
        }
    }
    mail = MailPolicy(settings_from().policy).approve(parse_mail_request(payload))
    rendered = email.message_from_bytes(to_mime(mail, "req-1").as_bytes(), policy=email.policy.default)
    assert str(rendered["Message-ID"]).strip() == message_id  # a long one is folded onto its own line
