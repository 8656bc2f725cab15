"""Hostile and broken requests: each gets a clear 4xx, the process never errors, and nothing is sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from shared.endpoints.hooks import handle_hook
from shared.endpoints.mail import handle_mail
from tests.conftest import RuntimeFactory
from tests.fakes.graph import FakeGraph
from tests.helpers.app import DATA, hook_request, mail_request, response_json

BASE = {"to": "ops@contoso.com", "subject": "ok"}
TEN_MB = 10 * 1024 * 1024

HOSTILE: dict[str, tuple[Any, int, str, str | None]] = {
    # name: (body, status, code, field named in errors)
    "CR/LF in subject": ({**BASE, "subject": "x\r\nBcc: all@contoso.com"}, 400, "invalid_payload", "subject"),
    "LINE SEPARATOR in subject": ({**BASE, "subject": "x\u2028y"}, 400, "invalid_payload", "subject"),
    "PARAGRAPH SEPARATOR in a name": (
        {**BASE, "to": [{"address": "a@contoso.com", "name": "A\u2029B"}]},
        400,
        "invalid_payload",
        "to[0].name",
    ),
    "NEL in a header value": ({**BASE, "headers": {"X-A": "1\u00852"}}, 400, "invalid_payload", "headers.X-A"),
    "a header that is not x-": (
        {**BASE, "headers": {"Reply-To": "x@evil.example"}},
        400,
        "invalid_payload",
        "headers.Reply-To",
    ),
    "six headers": ({**BASE, "headers": {f"X-H{i}": "v" for i in range(6)}}, 400, "invalid_payload", "headers"),
    "501 recipients": ({**BASE, "to": [f"u{i}@contoso.com" for i in range(501)]}, 400, "invalid_payload", "to"),
    "deeply nested JSON": ('{"a":' * 50_000 + "1" + "}" * 50_000, 400, "invalid_json", None),
    "invalid UTF-8": (b'{"to": "ops@contoso.com", "subject": "\xc3\x28"}', 400, "invalid_json", None),
    "duplicate JSON keys": (
        b'{"to": "ops@contoso.com", "to": "x@evil.example", "subject": "x"}',
        400,
        "invalid_json",
        None,
    ),
    "html with a script": (
        {**BASE, "html": "<p>hi</p><SCRIPT src=//evil.example/x.js></script>"},
        400,
        "invalid_payload",
        "html",
    ),
    "Graph form html with a script": (
        {
            "message": {
                "subject": "x",
                "body": {"contentType": "HTML", "content": "< script>alert(1)</script>"},
                "toRecipients": [{"emailAddress": {"address": "ops@contoso.com"}}],
            }
        },
        400,
        "invalid_payload",
        "message.body",
    ),
    "attachment name with a path": (
        {**BASE, "attachments": [{"name": "..\\\\windows\\\\system32\\\\x.dll", "content": "x"}]},
        400,
        "invalid_payload",
        "attachments[0].name",
    ),
    "display-name trick in an address": (
        {**BASE, "to": '"ceo@contoso.com" <attacker@evil.example>'},
        400,
        "invalid_payload",
        "to[0].address",
    ),
    "address in a display name": (
        {**BASE, "to": [{"address": "attacker@evil.example", "name": "ceo@contoso.com"}]},
        400,
        "invalid_payload",
        "to[0].name",
    ),
    "angle brackets in a display name": (
        {**BASE, "replyTo": [{"address": "a@contoso.com", "name": "CEO <ceo@contoso.com>"}]},
        400,
        "invalid_payload",
        "replyTo[0].name",
    ),
    "a fullwidth at-sign in a display name": (
        {**BASE, "to": [{"address": "a@contoso.com", "name": "ceo\uff20contoso.com"}]},
        400,
        "invalid_payload",
        "to[0].name",
    ),
    "a small at-sign in a display name": (
        {**BASE, "cc": [{"address": "a@contoso.com", "name": "IT\ufe6bcontoso"}]},
        400,
        "invalid_payload",
        "cc[0].name",
    ),
    "one-dot-leader dots in a display name": (
        {**BASE, "to": [{"address": "a@contoso.com", "name": "ceo@contoso\u2024com"}]},
        400,
        "invalid_payload",
        "to[0].name",
    ),
    "an address spelled with blanks in a display name": (
        {**BASE, "to": [{"address": "a@contoso.com", "name": "ceo @ contoso . com"}]},
        400,
        "invalid_payload",
        "to[0].name",
    ),
    "a right-to-left override in a display name": (
        {**BASE, "to": [{"address": "a@contoso.com", "name": "Support \u202emoc.osotnoc"}]},
        400,
        "invalid_payload",
        "to[0].name",
    ),
    "a right-to-left override in an attachment name": (
        {**BASE, "attachments": [{"name": "invoice\u202efdp.exe", "content": "x"}]},
        400,
        "invalid_payload",
        "attachments[0].name",
    ),
    "2,000 reply-to addresses": (
        {**BASE, "replyTo": [f"r{i}@contoso.com" for i in range(2000)]},
        400,
        "invalid_payload",
        "replyTo",
    ),
    "our own trace header": (
        {**BASE, "headers": {"X-Mailhook-Source": "github"}},
        400,
        "invalid_payload",
        "headers.X-Mailhook-Source",
    ),
    "an Exchange header": (
        {**BASE, "headers": {"x-ms-exchange-organization-scl": "-1"}},
        400,
        "invalid_payload",
        "headers.x-ms-exchange-organization-scl",
    ),
    "Graph form with our own trace header": (
        {
            "message": {
                "subject": "x",
                "toRecipients": [{"emailAddress": {"address": "ops@contoso.com"}}],
                "internetMessageHeaders": [{"name": "X-Mailhook-Status", "value": "resolved"}],
            }
        },
        400,
        "invalid_payload",
        "message.internetMessageHeaders[0].name",
    ),
    "100,000 recipients": ({**BASE, "to": [f"u{i}@contoso.com" for i in range(100_000)]}, 400, "invalid_payload", "to"),
    "Graph form with 100,000 recipients": (
        {
            "message": {
                "subject": "x",
                "toRecipients": [{"emailAddress": {"address": f"u{i}@contoso.com"}} for i in range(100_000)],
            }
        },
        400,
        "invalid_payload",
        "message.toRecipients",
    ),
    "a lone UTF-16 surrogate": (b'{"to": "ops@contoso.com", "subject": "x\\ud800"}', 400, "invalid_json", None),
    "a 10 MB body": (b"{" + b" " * TEN_MB + b"}", 413, "body_too_large", None),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_input_is_a_clear_4xx_and_sends_nothing(
    mi_runtime: RuntimeFactory, graph: FakeGraph, case: str
) -> None:
    body, status, code, field = HOSTILE[case]
    response = handle_mail(mail_request(body), mi_runtime())
    assert response.status_code == status, response.get_body()[:300]
    document = response_json(response)
    assert document["code"] == code
    if field is not None:
        assert field in [error["field"] for error in document["errors"]], document["errors"]
    assert graph.requests == []


def test_a_10_mb_body_is_refused_before_it_is_parsed(
    mi_runtime: RuntimeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json as json_module

    def must_not_parse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the body was parsed")

    monkeypatch.setattr(json_module, "loads", must_not_parse)
    response = handle_mail(mail_request(b"{" + b" " * TEN_MB + b"}"), mi_runtime())
    assert response.status_code == 413


def test_a_display_name_with_an_at_sign_but_no_address_is_fine(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    payload = {**BASE, "to": [{"address": "ops@contoso.com", "name": "Ops @ Contoso"}]}
    assert handle_mail(mail_request(payload), mi_runtime()).status_code == 202


def test_a_surrogate_pair_spelled_in_json_is_just_an_emoji(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    body = b'{"to": "ops@contoso.com", "subject": "deploy \\ud83d\\ude80 done"}'
    assert handle_mail(mail_request(body), mi_runtime()).status_code == 202
    assert graph.sent[0].message["subject"] == "deploy \U0001f680 done"


# --- Webhooks ---------------------------------------------------------------------------------------

FAR_FUTURE = "9999-12-31T23:00:00-02:00"  # 10000-01-01T01:00 in UTC: past what a datetime can hold


def _with_time(source: str, file: str, place: Callable[[Any], None]) -> Any:
    payload = json.loads((DATA / source / file).read_text())
    place(payload)
    return payload


FAR_FUTURE_DELIVERIES: dict[str, tuple[str, dict[str, str], Any]] = {
    "alertmanager startsAt": (
        "alertmanager",
        {},
        _with_time("alertmanager", "firing-grouped.json", lambda p: p["alerts"][0].update(startsAt=FAR_FUTURE)),
    ),
    "alertmanager endsAt of a resolved alert": (
        "alertmanager",
        {},
        _with_time("alertmanager", "resolved.json", lambda p: p["alerts"][0].update(endsAt=FAR_FUTURE)),
    ),
    "grafana startsAt": (
        "grafana",
        {},
        _with_time("grafana", "firing.json", lambda p: p["alerts"][0].update(startsAt=FAR_FUTURE)),
    ),
    "azure-monitor firedDateTime": (
        "azure-monitor",
        {},
        _with_time(
            "azure-monitor",
            "metric-static-fired.json",
            lambda p: p["data"]["essentials"].update(firedDateTime=FAR_FUTURE),
        ),
    ),
    "github published_at": (
        "github",
        {"X-GitHub-Event": "release"},
        _with_time("github", "release.published.json", lambda p: p["release"].update(published_at=FAR_FUTURE)),
    ),
}


@pytest.mark.parametrize("case", FAR_FUTURE_DELIVERIES)
def test_a_far_future_time_is_mailed_without_it_not_a_500(
    mi_runtime: RuntimeFactory, graph: FakeGraph, case: str
) -> None:
    source, headers, payload = FAR_FUTURE_DELIVERIES[case]
    response = handle_hook(
        hook_request(source, payload, headers=headers), mi_runtime(MAIL_DEFAULT_TO="oncall@contoso.com")
    )
    assert response.status_code == 202, response.get_body()[:500]
    assert len(graph.sent) == 1  # the genuine alerts of the group are not held back by the bad one


# --- Policy beyond a single field --------------------------------------------------------------------


def test_reply_to_obeys_the_recipient_domain_allow_list(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    runtime = mi_runtime(MAIL_ALLOWED_RECIPIENT_DOMAINS="contoso.com")
    for body, field in (
        ({**BASE, "replyTo": "confirm@evil.example"}, "replyTo"),
        (
            {
                "message": {
                    "subject": "x",
                    "toRecipients": [{"emailAddress": {"address": "ops@contoso.com"}}],
                    "replyTo": [{"emailAddress": {"address": "confirm@evil.example"}}],
                }
            },
            "message.replyTo",
        ),
    ):
        response = handle_mail(mail_request(body), runtime)
        assert response.status_code == 403, response.get_body()
        document = response_json(response)
        assert (document["code"], [e["field"] for e in document["errors"]]) == ("recipient_not_allowed", [field])
    assert handle_mail(mail_request({**BASE, "replyTo": "team@contoso.com"}), runtime).status_code == 202
    assert len(graph.sent) == 1


PHISHING_HTML = (
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">'
    '<p onclick="steal()" onmouseover="steal()">Your password expires</p>'
    '<a href="javascript:steal()">keep it</a> <a href="data:text/html;base64,PHA+">or this</a>'
    '<iframe srcdoc="&lt;form action=https://evil.example&gt;"></iframe>'
    '<form action="https://evil.example/login"><input name="password"></form>'
    '<img src="https://contoso.com/logo.png" onerror="steal()">'
    '<a href="https://contoso.com/help" style="color:red;position:fixed">help</a>'
)


@pytest.mark.parametrize("form", ["simple", "graph"])
def test_caller_html_is_sanitized_in_both_forms(mi_runtime: RuntimeFactory, graph: FakeGraph, form: str) -> None:
    body: dict[str, Any] = (
        {**BASE, "html": PHISHING_HTML}
        if form == "simple"
        else {
            "message": {
                "subject": "x",
                "body": {"contentType": "HTML", "content": PHISHING_HTML},
                "toRecipients": [{"emailAddress": {"address": "ops@contoso.com"}}],
            }
        }
    )
    assert handle_mail(mail_request(body), mi_runtime()).status_code == 202
    sent = graph.sent[0].message["body"]["content"].lower()
    for dropped in ("<meta", "refresh", "onclick", "onmouseover", "onerror", "javascript:", "data:", "<iframe",
                    "srcdoc", "<form", "<input", "position"):  # fmt: skip
        assert dropped not in sent, dropped
    # What a report mail is made of stays.
    for kept in (
        "<p>your password expires</p>",
        'src="https://contoso.com/logo.png"',
        'href="https://contoso.com/help"',
    ):
        assert kept in sent, kept


def _embedded(kind: str, html: str, *, attachments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"@odata.type": f"#microsoft.graph.{kind}", "body": {"contentType": "HTML", "content": html}}
    if kind == "message":
        item["subject"] = "forwarded"
    if attachments:
        item["attachments"] = attachments
    return {"@odata.type": "#microsoft.graph.itemAttachment", "name": kind, "item": item}


def _dropped_and_kept(html: str) -> None:
    lowered = html.lower()
    for dropped in ("<meta", "onclick", "onerror", "javascript:", "data:", "<iframe", "<form", "position"):
        assert dropped not in lowered, dropped
    assert "<p>your password expires</p>" in lowered and 'href="https://contoso.com/help"' in lowered


def test_an_item_attachments_html_is_sanitized_at_every_depth(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    """An embedded message or event shows as a message does: its HTML (and its own items') obeys the same rules."""
    innermost = _embedded("message", PHISHING_HTML)
    middle = _embedded("message", PHISHING_HTML, attachments=[innermost])
    text_item = {"@odata.type": "#microsoft.graph.message", "body": {"contentType": "text", "content": "<b>"}}
    body = {
        "message": {
            "subject": "x",
            "toRecipients": [{"emailAddress": {"address": "ops@contoso.com"}}],
            "attachments": [
                _embedded("message", PHISHING_HTML, attachments=[middle]),
                _embedded("event", PHISHING_HTML),
                # A text body is not HTML: passed on as written, as the message's own text body is.
                {"@odata.type": "#microsoft.graph.itemAttachment", "item": text_item},
            ],
        }
    }
    assert handle_mail(mail_request(body), mi_runtime()).status_code == 202
    [attachment, event, text] = graph.sent[0].message["attachments"]  # what the fake Graph received, as JSON
    nested = attachment["item"]
    for depth in range(3):
        _dropped_and_kept(nested["body"]["content"])
        assert nested["subject" if depth == 0 else "@odata.type"]  # the rest of the item is passed on
        nested = nested["attachments"][0]["item"] if depth < 2 else nested
    _dropped_and_kept(event["item"]["body"]["content"])
    assert text["item"]["body"]["content"] == "<b>"


def test_a_script_in_a_nested_item_attachment_is_refused_naming_its_path(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    inner = _embedded("event", "<p>ok</p><script>steal()</script>")
    body = {
        "message": {
            "subject": "x",
            "toRecipients": [{"emailAddress": {"address": "ops@contoso.com"}}],
            "attachments": [_embedded("message", "<p>fine</p>", attachments=[inner])],
        }
    }
    response = handle_mail(mail_request(body), mi_runtime())
    assert response.status_code == 400, response.get_body()
    [error] = response_json(response)["errors"]
    assert error["field"] == "message.attachments[0].item"
    assert error["message"].startswith("attachments[0].item.body.content: an HTML body must not contain <script>")
    assert graph.sent == []


INTERNET_HEADERS = "{00020386-0000-0000-C000-000000000046}"  # PS_INTERNET_HEADERS


def _with_headers(headers: list[str], properties: list[str]) -> dict[str, Any]:
    """A Graph message setting custom headers both ways: internetMessageHeaders and extended properties."""
    return {
        "message": {
            "subject": "x",
            "toRecipients": [{"emailAddress": {"address": "ops@contoso.com"}}],
            "internetMessageHeaders": [{"name": name, "value": "v"} for name in headers],
            "singleValueExtendedProperties": [
                {"id": f"String {INTERNET_HEADERS} Name {name}", "value": "v"} for name in properties
            ],
        }
    }


def test_custom_headers_are_counted_together_however_they_are_written(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    runtime = mi_runtime()
    # Five in all: what Graph takes, and what it receives.
    assert handle_mail(mail_request(_with_headers(["X-A", "X-B", "X-C"], ["X-D", "X-E"])), runtime).status_code == 202
    [sent] = graph.sent
    assert [h["name"] for h in sent.message["internetMessageHeaders"]] == ["X-A", "X-B", "X-C"]
    assert len(sent.message["singleValueExtendedProperties"]) == 2
    # Six: refused, naming each header past the fifth, wherever it was written.
    response = handle_mail(mail_request(_with_headers(["X-A", "X-B", "X-C"], ["X-D", "X-E", "X-F"])), runtime)
    assert response.status_code == 400, response.get_body()
    document = response_json(response)
    assert document["code"] == "invalid_payload"
    [error] = document["errors"]
    assert error["field"] == "message.singleValueExtendedProperties[2].id"
    assert "at most 5 custom headers in internetMessageHeaders and PS_INTERNET_HEADERS" in error["message"]
    assert len(graph.sent) == 1


@pytest.mark.parametrize(
    ("body", "field", "first"),
    [
        (_with_headers(["X-Ticket"], ["x-ticket"]), "message.singleValueExtendedProperties[0].id",
         "message.internetMessageHeaders[0].name"),
        (_with_headers(["X-Ticket", "X-TICKET"], []), "message.internetMessageHeaders[1].name",
         "message.internetMessageHeaders[0].name"),
        (_with_headers([], ["X-Ticket", "x-ticket"]), "message.singleValueExtendedProperties[1].id",
         "message.singleValueExtendedProperties[0].id"),
        ({**BASE, "headers": {"X-Ticket": "1", "x-ticket": "2"}}, "headers.x-ticket", "headers.X-Ticket"),
    ],
    ids=["both ways", "internetMessageHeaders", "extended properties", "simplified payload"],
)  # fmt: skip
def test_a_header_given_twice_in_any_case_is_refused_naming_both(
    mi_runtime: RuntimeFactory, graph: FakeGraph, body: dict[str, Any], field: str, first: str
) -> None:
    response = handle_mail(mail_request(body), mi_runtime())
    assert response.status_code == 400, response.get_body()
    [error] = response_json(response)["errors"]
    assert error["field"] == field and error["message"].endswith(f"is already set, by {first}")
    assert graph.sent == []


@pytest.mark.parametrize(
    "payload",
    [{}, json.loads((DATA / "alertmanager" / "firing-grouped.json").read_text())],
    ids=["empty object", "an Alertmanager body"],
)
def test_the_azure_monitor_route_mails_only_azure_monitor_alerts(
    mi_runtime: RuntimeFactory, graph: FakeGraph, payload: Any
) -> None:
    response = handle_hook(hook_request("azure-monitor", payload), mi_runtime(MAIL_DEFAULT_TO="oncall@contoso.com"))
    assert response.status_code == 400, response.get_body()
    assert response_json(response)["code"] == "invalid_payload"
    assert graph.requests == []
