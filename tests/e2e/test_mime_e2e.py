"""MIME through /api/mail over real HTTP: the dev server, the fake Graph, Azurite for queue mode, the outbox.

What Graph receives must be the caller's bytes: the same base64 for text/plain, the base64 of the
same message for message/rfc822, with ``Content-Type: text/plain`` on the sendMail request.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
import requests

from tests.fakes.graph import FakeGraph
from tests.fakes.identity import FakeManagedIdentity
from tests.helpers.devserver import devserver, write_settings
from tests.helpers.processes import wait_until

SENDER = "bridge@contoso.com"


def mime_message(subject: str = "Disk full", to: str = "ops@contoso.com") -> bytes:
    mime = EmailMessage()
    mime["From"] = SENDER
    mime["To"] = to
    mime["Subject"] = subject
    mime["In-Reply-To"] = "<alert-root@contoso.com>"  # what only the MIME form can carry
    mime.set_content("Disk 93% full on db-1.")
    mime.add_alternative("<p>Disk <b>93%</b> full on db-1.</p>", subtype="html")
    return mime.as_bytes()


@pytest.fixture
def graph_server(tmp_path: Path) -> Iterator[tuple[str, FakeGraph]]:
    """The dev server sending directly to the fake Graph."""
    settings = write_settings(
        tmp_path / "local.settings.json",
        {
            "MAIL_SENDER": SENDER,
            "MAIL_ALLOWED_RECIPIENT_DOMAINS": "contoso.com",
            "MAIL_DEFAULT_TO": "oncall@contoso.com",
        },
    )
    with FakeGraph() as graph, FakeManagedIdentity() as identity:
        identity.on_issue = graph.valid_tokens.add
        with devserver(settings, {"GRAPH_BASE_URL": graph.base_url, **identity.environment}) as base_url:
            yield base_url, graph


def post(base_url: str, body: bytes, content_type: str, **headers: str) -> requests.Response:
    return requests.post(
        f"{base_url}/api/mail", data=body, headers={"Content-Type": content_type, **headers}, timeout=15
    )


def test_graphs_own_mime_form_reaches_graph_byte_for_byte(graph_server: tuple[str, FakeGraph]) -> None:
    base_url, graph = graph_server
    raw = mime_message()
    graph_body = base64.encodebytes(raw)  # line-wrapped, as scripts produce it
    answer = post(base_url, graph_body, "text/plain")
    assert answer.status_code == 202, answer.text
    [sent] = graph.sent
    assert sent.body == graph_body
    assert sent.headers["content-type"] == "text/plain"
    assert sent.path == f"/v1.0/users/{SENDER}/sendMail"
    assert sent.mime is not None and sent.mime["In-Reply-To"] == "<alert-root@contoso.com>"
    assert sent.mime.get_body(("html",)) is not None


def test_a_raw_message_is_base64ed_for_graph(graph_server: tuple[str, FakeGraph]) -> None:
    base_url, graph = graph_server
    raw = mime_message(subject="raw")
    answer = post(base_url, raw, "message/rfc822", **{"Idempotency-Key": "k1"})
    assert answer.status_code == 202, answer.text
    assert post(base_url, raw, "message/rfc822", **{"Idempotency-Key": "k1"}).json()["status"] == "duplicate"
    [sent] = graph.sent
    assert base64.b64decode(sent.body) == raw


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"%%% not base64 %%%", "text/plain", 400, "invalid_mime_encoding"),
        (base64.b64encode(b"no header here"), "text/plain", 400, "invalid_mime"),
        (mime_message(to="x@evil.example"), "message/rfc822", 403, "recipient_not_allowed"),
        (mime_message().replace(b"From: bridge@", b"From: ceo@"), "message/rfc822", 403, "sender_not_allowed"),
        (b"From: bridge@contoso.com\r\nSubject: nobody\r\n\r\nx", "message/rfc822", 400, "invalid_payload"),
    ],
)
def test_refusals_name_the_problem_and_nothing_reaches_graph(
    graph_server: tuple[str, FakeGraph], body: bytes, content_type: str, status: int, code: str
) -> None:
    base_url, graph = graph_server
    answer = post(base_url, body, content_type)
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert answer.json()["code"] == code
    assert graph.requests == []


def test_fake_graph_is_as_strict_as_graph_about_mime(graph: FakeGraph) -> None:
    url = f"{graph.base_url}/v1.0/users/{SENDER}/sendMail"
    headers = {"Authorization": "Bearer t", "Content-Type": "text/plain"}
    bad = requests.post(url, data=b"not base64!", headers=headers, timeout=5)
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "ErrorMimeContentInvalidBase64String")
    nobody = requests.post(url, data=base64.b64encode(b"Subject: x\r\n\r\nbody"), headers=headers, timeout=5)
    assert (nobody.status_code, nobody.json()["error"]["code"]) == (400, "ErrorInvalidRecipients")
    too_big = requests.post(url, data=b"A" * (4 * 1024 * 1024 + 4), headers=headers, timeout=10)
    assert too_big.status_code == 413
    good = requests.post(url, data=base64.b64encode(mime_message()), headers=headers, timeout=5)
    assert good.status_code == 202
    assert graph.sent[0].mime is not None and graph.sent[0].mime["Subject"] == "Disk full"


def test_queue_mode_carries_the_mime_form_to_graph(tmp_path: Path, azurite: str) -> None:
    settings = write_settings(tmp_path / "local.settings.json", {"MAIL_SENDER": SENDER})
    with FakeGraph() as graph, FakeManagedIdentity() as identity:
        identity.on_issue = graph.valid_tokens.add
        environment = {
            "GRAPH_BASE_URL": graph.base_url,
            "MAIL_DELIVERY": "queue",
            "MAIL_QUEUE_NAME": f"mime-{uuid.uuid4().hex[:10]}",
            "AzureWebJobsStorage": azurite,
            **identity.environment,
        }
        small = mime_message(subject="small")
        # Past a queue message's inline limit: the claim-check blob carries it.
        large = mime_message(subject="large").replace(b"Disk 93%", b"Disk 93% " + b"x" * 120_000)
        with devserver(settings, environment) as base_url:
            assert post(base_url, base64.b64encode(small), "text/plain").status_code == 202
            assert post(base_url, large, "message/rfc822").status_code == 202
            assert wait_until(lambda: len(graph.sent) == 2, timeout_s=90), "the queue function sent both"
        sent = {request.mime["Subject"]: request for request in graph.sent if request.mime is not None}
        assert sent["small"].body == base64.b64encode(small)
        assert base64.b64decode(sent["large"].body) == large
        assert {request.headers["content-type"] for request in graph.sent} == {"text/plain"}


def test_the_outbox_keeps_the_callers_message_and_the_graph_request(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    settings = write_settings(
        tmp_path / "local.settings.json",
        {"MAIL_TRANSPORT": "outbox", "MAIL_OUTBOX_DIR": str(outbox), "MAIL_SENDER": SENDER},
    )
    raw = mime_message()
    graph_body = base64.encodebytes(raw)
    with devserver(settings, {}) as base_url:
        answer = post(base_url, graph_body, "text/plain")
        assert answer.status_code == 202, answer.text
    request_id = answer.json()["requestId"]
    [eml] = outbox.glob(f"*-{request_id}.eml")
    assert eml.read_bytes() == raw
    assert eml.with_suffix(".txt").read_bytes() == graph_body
    assert not eml.with_suffix(".json").exists()


def test_with_the_draft_method_a_mime_message_still_goes_by_send_mail(tmp_path: Path) -> None:
    """Drafts are made of the JSON form; a MIME message is one sendMail request, under 4 MB by policy."""
    settings = write_settings(tmp_path / "local.settings.json", {"MAIL_SENDER": SENDER, "MAIL_SEND_METHOD": "draft"})
    with FakeGraph() as graph, FakeManagedIdentity() as identity:
        identity.on_issue = graph.valid_tokens.add
        with devserver(settings, {"GRAPH_BASE_URL": graph.base_url, **identity.environment}) as base_url:
            answer = post(base_url, mime_message(), "message/rfc822")
            assert answer.status_code == 202, answer.text
        assert [request.path for request in graph.requests] == [f"/v1.0/users/{SENDER}/sendMail"]
        assert graph.requests[0].mime is not None


def test_a_webhooks_mime_mail_is_in_the_outbox_exactly_as_sent(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    settings = write_settings(
        tmp_path / "local.settings.json",
        {
            "MAIL_TRANSPORT": "outbox",
            "MAIL_OUTBOX_DIR": str(outbox),
            "MAIL_SENDER": SENDER,
            "MAIL_DEFAULT_TO": "oncall@contoso.com",
        },
    )
    body = (Path(__file__).resolve().parents[1] / "data" / "alertmanager" / "firing-single.json").read_bytes()
    with devserver(settings, {}) as base_url:
        answer = requests.post(
            f"{base_url}/api/hooks/alertmanager", data=body, headers={"Content-Type": "application/json"}, timeout=15
        )
        assert answer.status_code == 202, answer.text
    [eml] = outbox.glob(f"*-{answer.json()['requestId']}.eml")
    assert base64.b64decode(eml.with_suffix(".txt").read_bytes()) == eml.read_bytes()
    assert b"\r\nAuto-Submitted: auto-generated\r\n" in eml.read_bytes()
