"""Webhook mail in Graph's MIME form: both parts, Auto-Submitted, and one thread per route and group.

Over the real path: /api/hooks → compose → policy → the Graph transport → the fake Graph (loopback),
which decodes the MIME it was sent; the unit tests of the conversation itself are at the end.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import json
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from shared.endpoints.hooks import handle_hook
from shared.mail.compose import compose
from shared.mail.conversation import conversation_of, thread_index
from shared.mail.policy import MailPolicy
from shared.mail.rendering import Renderer
from shared.settings import SettingsError
from shared.settings.message_format import MessageFormat, MessageFormatSettings, ThreadByDate
from shared.settings.routes import Route
from shared.sources.notification import Notification, Status
from tests.conftest import RuntimeFactory
from tests.fakes.graph import FakeGraph
from tests.helpers.app import hook_request, settings_from

DATA = Path(__file__).resolve().parents[1] / "data" / "alertmanager"
ROUTES = json.dumps(
    {
        "default": {"to": ["oncall@contoso.com"]},
        "db": {"to": ["dba@contoso.com"]},
        "text": {"to": ["oncall@contoso.com"], "format": "text"},
        "daily": {"to": ["oncall@contoso.com"], "threadByDate": "daily"},
    }
)


def fixture(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((DATA / name).read_text())
    return document


def post(runtime_factory: RuntimeFactory, body: dict[str, Any], route: str | None = None, **settings: str) -> None:
    runtime = runtime_factory(MAIL_ROUTES=ROUTES, **settings)
    response = handle_hook(hook_request("alertmanager", body, route=route), runtime)
    assert response.status_code == 202, response.get_body()


def sent_mime(graph: FakeGraph) -> list[EmailMessage]:
    assert all(request.headers["content-type"] == "text/plain" for request in graph.sent)
    return [request.mime for request in graph.sent if request.mime is not None]


def test_a_notification_is_multipart_alternative_with_a_readable_text_part(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    post(mi_runtime, fixture("firing-single.json"))
    [mime] = sent_mime(graph)
    assert mime.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in mime.iter_parts()] == ["text/plain", "text/html"]
    text = mime.get_body(("plain",))
    html = mime.get_body(("html",))
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    plain = text.get_content()
    assert plain.startswith("FIRING · 1 alert · critical") and "DiskWillFillIn4Hours" in plain
    assert "<" not in plain.replace("<http", ""), "the text part is written as text, not HTML with tags"
    assert "<table" in html.get_content()
    assert mime["Auto-Submitted"] == "auto-generated"
    assert mime["X-Auto-Response-Suppress"] == "All"
    assert (mime["X-Mailhook-Source"], mime["X-Mailhook-Status"]) == ("alertmanager", "firing")
    assert mime["From"] == "bridge@contoso.com" and mime["To"] == "oncall@contoso.com"
    assert mime["Date"] is not None and mime["Message-ID"].endswith("@contoso.com>")


def test_a_critical_firing_mail_is_marked_important(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    post(mi_runtime, fixture("firing-single.json"))  # severity critical
    [mime] = sent_mime(graph)
    assert (mime["Importance"], mime["X-Priority"]) == ("High", "1")


def test_firing_and_resolved_of_one_group_are_one_thread(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    post(mi_runtime, fixture("firing-grouped.json"))
    post(mi_runtime, fixture("resolved.json"))
    firing, resolved = sent_mime(graph)
    assert firing["X-Mailhook-Status"] == "firing" and resolved["X-Mailhook-Status"] == "resolved"
    for header in ("In-Reply-To", "References", "Thread-Topic", "Thread-Index"):
        assert firing[header] == resolved[header], header
    assert firing["In-Reply-To"] == firing["References"]
    assert firing["Message-ID"] != resolved["Message-ID"]
    assert firing["Message-ID"] != firing["In-Reply-To"], "the root is no mail's own id"
    assert firing["Thread-Topic"] == "HighMemoryUsage"
    index = base64.b64decode(firing["Thread-Index"])
    assert len(index) == 22 and index[0] == 1


def test_other_groups_and_other_routes_are_other_threads(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    post(mi_runtime, fixture("firing-single.json"))
    post(mi_runtime, fixture("firing-grouped.json"))
    post(mi_runtime, fixture("firing-single.json"), route="db")
    roots = [mime["In-Reply-To"] for mime in sent_mime(graph)]
    indexes = [base64.b64decode(mime["Thread-Index"])[6:] for mime in sent_mime(graph)]
    assert len(set(roots)) == 3 and len(set(indexes)) == 3


def test_a_text_route_sends_text_alone(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    post(mi_runtime, fixture("firing-single.json"), route="text")
    [mime] = sent_mime(graph)
    assert mime.get_content_type() == "text/plain"
    assert "DiskWillFillIn4Hours" in mime.get_content()


def test_the_json_form_stays_for_tenants_who_want_it(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    post(mi_runtime, fixture("firing-single.json"), MAIL_MESSAGE_FORMAT="json")
    [request] = graph.sent
    assert request.headers["content-type"] == "application/json" and request.mime is None
    assert request.json["message"]["internetMessageHeaders"][0] == {
        "name": "X-Mailhook-Source",
        "value": "alertmanager",
    }


def test_with_the_draft_method_webhook_mail_is_a_mime_draft_and_json_when_asked(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    # A MIME notification is made a draft of its own bytes, found again by its Message-ID (README, "Send methods").
    post(mi_runtime, fixture("firing-single.json"), MAIL_SEND_METHOD="draft")
    [mail] = graph.mails
    assert mail.via == "draft" and mail.mime is not None
    assert mail.internet_message_id == str(email.message_from_bytes(mail.mime)["Message-ID"])
    # The JSON form, asked for, carries our property instead.
    post(mi_runtime, fixture("firing-single.json"), MAIL_SEND_METHOD="draft", MAIL_MESSAGE_FORMAT="json")
    assert [mail.via for mail in graph.mails] == ["draft", "draft"]
    assert graph.mails[1].mime is None
    assert graph.mails[1].message["singleValueExtendedProperties"], "found again by our property if an answer is lost"


def approved_mime(notification: Notification, route_name: str, now: dt.datetime, by_date: ThreadByDate) -> EmailMessage:
    from email.parser import BytesParser
    from email.policy import default

    settings = settings_from(MAIL_DEFAULT_TO="oncall@contoso.com")
    draft = compose(
        notification,
        Route(),
        route_name,
        Renderer(None),
        MessageFormatSettings(MessageFormat.MIME, by_date),
        now=now,
    )
    mail = MailPolicy(settings.policy).approve(draft)
    assert mail.mime is not None and base64.b64decode(mail.body) == mail.mime.raw
    return BytesParser(policy=default).parsebytes(mail.mime.raw)


def test_daily_threads_change_with_the_utc_day() -> None:
    firing = Notification(source="alertmanager", status=Status.FIRING, title="[FIRING:1] DiskFull", thread_key="g")
    resolved = Notification(source="alertmanager", status=Status.RESOLVED, title="[RESOLVED] DiskFull", thread_key="g")
    morning = dt.datetime(2026, 12, 1, 0, 5, tzinfo=dt.UTC)
    evening = dt.datetime(2026, 12, 1, 23, 55, tzinfo=dt.UTC)
    next_day = dt.datetime(2026, 12, 2, 0, 5, tzinfo=dt.UTC)
    daily = [approved_mime(n, "default", t, ThreadByDate.DAILY) for n, t in ((firing, morning), (resolved, evening))]
    assert daily[0]["In-Reply-To"] == daily[1]["In-Reply-To"]
    assert "-2026-12-01@contoso.com>" in daily[0]["In-Reply-To"]
    tomorrow = approved_mime(firing, "default", next_day, ThreadByDate.DAILY)
    assert tomorrow["In-Reply-To"] != daily[0]["In-Reply-To"]
    assert tomorrow["Thread-Index"] != daily[0]["Thread-Index"]
    undated = [approved_mime(firing, "default", t, ThreadByDate.NONE) for t in (morning, next_day)]
    assert undated[0]["In-Reply-To"] == undated[1]["In-Reply-To"]
    assert undated[0]["Thread-Index"] == undated[1]["Thread-Index"]


def test_without_a_thread_key_the_title_without_its_status_tag_is_the_thread() -> None:
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    firing = Notification(source="grafana", status=Status.FIRING, title="[FIRING:2] High CPU (platform)")
    resolved = Notification(source="grafana", status=Status.RESOLVED, title="[RESOLVED] High CPU (platform)")
    other = Notification(source="grafana", status=Status.FIRING, title="[FIRING:1] Disk full (platform)")
    roots = [conversation_of(n, "default", ThreadByDate.NONE, now).root for n in (firing, resolved, other)]
    assert roots[0] == roots[1] != roots[2]


def test_thread_index_is_the_documented_header_block() -> None:
    digest = bytes(range(32))
    index = thread_index(digest, dt.date(2026, 12, 1))
    assert len(index) == 22 and index[0] == 0x01
    assert index[6:] == digest[:16], "the GUID, Data1-3 big-endian as [MS-OXOMSG] 2.2.1.3 stores them"
    # The 40 high bits of the day's FILETIME, big-endian.
    filetime = (
        int((dt.datetime(2026, 12, 1, tzinfo=dt.UTC) - dt.datetime(1601, 1, 1, tzinfo=dt.UTC)).total_seconds()) * 10**7
    )
    assert int.from_bytes(index[1:6], "big") == filetime >> 24


def test_the_format_settings_are_checked_at_start() -> None:
    with pytest.raises(SettingsError) as caught:
        settings_from(MAIL_MESSAGE_FORMAT="xml", MAIL_THREAD_BY_DATE="weekly")
    assert {problem.setting for problem in caught.value.problems} == {"MAIL_MESSAGE_FORMAT", "MAIL_THREAD_BY_DATE"}
    assert settings_from().message_format == MessageFormatSettings(MessageFormat.MIME, ThreadByDate.NONE)
    # The draft method makes drafts of MIME too: the default does not change with it.
    assert settings_from(MAIL_SEND_METHOD="draft").message_format.format is MessageFormat.MIME
    # Blank, as the Bicep template's default sets it, is unset.
    assert settings_from(MAIL_MESSAGE_FORMAT="", MAIL_SEND_METHOD="draft").message_format.format is MessageFormat.MIME
    assert (
        settings_from(MAIL_MESSAGE_FORMAT="json", MAIL_SEND_METHOD="draft").message_format.format is MessageFormat.JSON
    )
    asked = settings_from(MAIL_MESSAGE_FORMAT="mime", MAIL_SEND_METHOD="draft")
    assert asked.message_format.format is MessageFormat.MIME


def test_a_route_from_a_list_is_from_the_list_and_sent_by_the_mailbox(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    routes = json.dumps({"default": {"to": ["oncall@contoso.com"], "from": "alerts-list@contoso.com"}})
    runtime = mi_runtime(MAIL_ROUTES=routes, MAIL_ALLOWED_FROM="alerts-list@contoso.com")
    response = handle_hook(hook_request("alertmanager", fixture("firing-single.json")), runtime)
    assert response.status_code == 202, response.get_body()
    [request] = graph.sent
    assert request.path == "/v1.0/users/bridge@contoso.com/sendMail"
    assert request.mime is not None
    assert (request.mime["From"], request.mime["Sender"]) == ("alerts-list@contoso.com", "bridge@contoso.com")
