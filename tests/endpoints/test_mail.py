"""The two HTTP functions as the host calls them: function_app's own objects, configuration from the environment."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import azure.functions as func
import pytest
from jsonschema import Draft202012Validator

import function_app
from shared import runtime as runtime_module
from shared.endpoints.openapi import openapi_document
from tests.helpers.app import SENDER, is_app_setting, mail_request, reference_example, response_json

# The functions exactly as the Functions worker would call them after indexing.
MAIL = function_app.mail
HEALTH = function_app.health


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """A clean environment and no process runtime yet, as in a new worker process."""
    for name in [name for name in os.environ if is_app_setting(name)]:
        monkeypatch.delenv(name)
    monkeypatch.setattr(runtime_module, "_runtime", None)
    monkeypatch.setenv("MAIL_OUTBOX_DIR", str(tmp_path / "outbox"))
    yield monkeypatch


def health() -> func.HttpResponse:
    response: func.HttpResponse = HEALTH(
        func.HttpRequest(method="GET", url="http://localhost:7071/api/health", body=b"")
    )
    return response


def test_health_reports_transport_auth_and_cloud_only(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("MAIL_SENDER", SENDER)
    environment.setenv("MAIL_DEFAULT_TO", "oncall@contoso.com")
    environment.setenv("MAIL_TRANSPORT", "outbox")
    environment.setenv("GRAPH_CLOUD", "usgov")
    environment.setenv("MAIL_ALLOWED_SENDERS", "secret-mailbox@contoso.com")
    response = health()
    assert response.status_code == 200
    assert response_json(response) == {
        "health": "ok",
        "transport": "outbox",
        "auth": "managed_identity",
        "cloud": "usgov",
        "delivery": "direct",
        "mailboxLimits": {
            "store": "memory",
            "perMailboxPerDay": 8000,
            "digestReserve": 500,
            "messagesPerMinute": 30,
            "highestUseLast24h": 0,
            "sendsInFlight": 0,
            "heldNotifications": 0,
            "heldNotificationsAtLeast": False,
            "lastDigestAt": None,
        },
        "warnings": [],
    }


def test_anonymous_health_names_the_settings_to_fix_never_what_they_hold(
    environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Addresses, mailbox names, paths and raw values stay out of the anonymous answer (they were echoed)."""
    environment.setenv("MAIL_SENDER", "hidden-sender@contoso.com")
    environment.setenv("MAIL_TRANSPORT", "outbox")
    environment.setenv("MAIL_ALLOWED_RECIPIENT_DOMAINS", "contoso.com,not_a_domain!")
    environment.setenv("MAIL_DEFAULT_TO", "outsider@fabrikam.example")
    environment.setenv("MAIL_TEMPLATES_DIR", str(tmp_path / "secret-templates-folder"))
    environment.setenv("MAIL_ALLOWED_SENDERS", "not-an-address")
    environment.setenv("GITHUB_WEBHOOK_SECRET", "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/gh)")
    response = health()
    assert response.status_code == 503
    body = response.get_body().decode()
    for value in (
        "not_a_domain!",
        "outsider@fabrikam.example",
        "secret-templates-folder",
        "not-an-address",
        "kv.vault",
    ):
        assert value not in body
    errors = {error["field"]: error["message"] for error in response_json(response)["errors"]}
    assert set(errors) == {
        "MAIL_ALLOWED_RECIPIENT_DOMAINS",
        "MAIL_DEFAULT_TO",
        "MAIL_TEMPLATES_DIR",
        "MAIL_ALLOWED_SENDERS",
        "GITHUB_WEBHOOK_SECRET",
    }
    # Said in fixed words, so it is shown: the deploy script's hint depends on it.
    assert "Key Vault reference did not resolve" in errors["GITHUB_WEBHOOK_SECRET"]
    assert "function key" in errors["MAIL_DEFAULT_TO"]
    assert "/api/status" in errors["MAIL_DEFAULT_TO"]
    # A caller with a function key is told each setting's problem: GET /api/status, and the mail routes.
    status = function_app.status(
        func.HttpRequest(
            method="GET", url="http://localhost:7071/api/status", headers={"x-functions-key": "k"}, body=b""
        )
    )
    mail = MAIL(mail_request(reference_example(1), headers={"x-functions-key": "k"}))
    for keyed in (status, mail):
        assert keyed.status_code == 503
        keyed_errors = {e["field"]: e["message"] for e in response_json(keyed)["errors"]}
        assert "outsider@fabrikam.example is outside" in keyed_errors["MAIL_DEFAULT_TO"]


def test_health_warns_when_grafana_signatures_carry_no_timestamp(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("MAIL_SENDER", SENDER)
    environment.setenv("MAIL_DEFAULT_TO", "oncall@contoso.com")
    environment.setenv("MAIL_TRANSPORT", "outbox")
    environment.setenv("GRAFANA_WEBHOOK_SECRET", "grafana-secret-value")
    response = health()
    assert response.status_code == 200
    [warning] = response_json(response)["warnings"]
    assert (warning["code"], warning["setting"]) == (
        "grafana_signature_without_timestamp",
        "GRAFANA_WEBHOOK_TIMESTAMP_HEADER",
    )
    assert "grafana-secret-value" not in response.get_body().decode()
    published_schema("/api/health", "200").validate(response_json(response))
    environment.setattr(runtime_module, "_runtime", None)
    environment.setenv("GRAFANA_WEBHOOK_TIMESTAMP_HEADER", "X-Grafana-Alerting-Signature-Timestamp")
    assert response_json(health())["warnings"] == []


def test_health_warns_when_no_recipient_is_configured_anywhere(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("MAIL_SENDER", SENDER)
    environment.setenv("MAIL_TRANSPORT", "outbox")
    environment.setenv("MAIL_ROUTES", json.dumps({"db": {"subjectPrefix": "[DB]"}}))
    response = health()
    assert response.status_code == 200, "healthy, but the first webhook would get 503"
    [warning] = response_json(response)["warnings"]
    assert (warning["code"], warning["setting"]) == ("no_recipients", "MAIL_DEFAULT_TO")
    published_schema("/api/health", "200").validate(response_json(response))
    environment.setattr(runtime_module, "_runtime", None)
    environment.setenv("MAIL_ROUTES", json.dumps({"db": {"to": "dba@contoso.com"}}))
    assert response_json(health())["warnings"] == [], "a route with recipients is enough"


def test_health_counts_bad_routes_without_naming_them(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("MAIL_SENDER", SENDER)
    environment.setenv("MAIL_TRANSPORT", "outbox")
    routes = {"default": {"to": "oncall@contoso.com"}, "secret-team": {"to": "x@contoso.com", "colour": "red"}}
    environment.setenv("MAIL_ROUTES", json.dumps(routes))
    response = health()
    assert response.status_code == 200, "only the bad route is unusable"
    [warning] = response_json(response)["warnings"]
    assert (warning["code"], warning["setting"]) == ("route_invalid", "MAIL_ROUTES")
    assert "secret-team" not in response.get_body().decode()


def published_schema(operation_path: str, status: str) -> Draft202012Validator:
    """The schema the OpenAPI document gives for an answer of /api/health, its $refs resolved in it."""
    document = openapi_document()
    [schema] = [
        media["schema"] for media in document["paths"][operation_path]["get"]["responses"][status]["content"].values()
    ]
    return Draft202012Validator({**schema, "components": document["components"]})


@pytest.mark.parametrize(
    "settings",
    [
        {"MAIL_TRANSPORT": "outbox"},
        {
            "MAIL_TRANSPORT": "graph",
            "GRAPH_CLOUD": "china",
            "AZURE_CLIENT_ID": "00000000-0000-0000-0000-000000000001",
            "AZURE_TENANT_ID": "00000000-0000-0000-0000-000000000002",
            "AZURE_CLIENT_SECRET": "not-a-real-secret",
            "MAIL_DAILY_RECIPIENT_BUDGET": "100",
        },
    ],
)
def test_the_health_answer_is_what_the_contract_publishes(
    environment: pytest.MonkeyPatch, settings: dict[str, str]
) -> None:
    environment.setenv("MAIL_SENDER", SENDER)
    for name, value in settings.items():
        environment.setenv(name, value)
    response = health()
    assert response.status_code == 200, response.get_body()
    published_schema("/api/health", "200").validate(response_json(response))


def test_the_misconfigured_health_answer_is_what_the_contract_publishes(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("MAIL_TRANSPORT", "smtp")
    response = health()
    assert response.status_code == 503
    published_schema("/api/health", "503").validate(response_json(response))


def test_invalid_configuration_keeps_the_app_up_and_names_the_setting(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("MAIL_TRANSPORT", "smtp")
    environment.setenv("AZURE_CLIENT_SECRET", "a-secret-that-must-not-show")
    response = health()
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    document = response_json(response)
    assert document["code"] == "configuration_invalid"
    assert {error["field"] for error in document["errors"]} == {
        "MAIL_TRANSPORT",
        "MAIL_SENDER",
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
    }
    assert b"a-secret-that-must-not-show" not in response.get_body()

    mail = MAIL(mail_request(reference_example(1)))
    assert mail.status_code == 503
    assert response_json(mail)["code"] == "configuration_invalid"


def test_fixing_the_setting_is_picked_up_by_a_new_worker(environment: pytest.MonkeyPatch) -> None:
    assert health().status_code == 503
    environment.setenv("MAIL_SENDER", SENDER)
    environment.setenv("MAIL_TRANSPORT", "outbox")
    assert health().status_code == 200, "a failed configuration is not cached"


def test_outbox_through_the_function_object(environment: pytest.MonkeyPatch, tmp_path: Path) -> None:
    environment.setenv("MAIL_SENDER", SENDER)
    environment.setenv("MAIL_TRANSPORT", "outbox")
    response = MAIL(mail_request(reference_example(1)))
    assert response.status_code == 202
    request_id = response_json(response)["requestId"]
    assert response.headers["X-Request-Id"] == request_id
    assert len(list((tmp_path / "outbox").glob(f"*-{request_id}.eml"))) == 1


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"{}", "text/csv", 415, "unsupported_media_type"),
        # text/plain is Graph's MIME form: the base64 of a message, which "{}" is not.
        (b"{}", "text/plain", 400, "invalid_mime_encoding"),
        (b"{not json", "application/json", 400, "invalid_json"),
        (b'{"to": "x"}', "application/json", 400, "invalid_payload"),
    ],
)
def test_request_errors_are_problem_documents(
    environment: pytest.MonkeyPatch, body: bytes, content_type: str, status: int, code: str
) -> None:
    environment.setenv("MAIL_SENDER", SENDER)
    environment.setenv("MAIL_TRANSPORT", "outbox")
    response = MAIL(mail_request(body, content_type=content_type))
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    document = response_json(response)
    assert set(document) >= {"type", "title", "status", "detail", "code", "requestId"}
    assert document["code"] == code
