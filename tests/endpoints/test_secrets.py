"""Secrets never leave: every endpoint and failure path at DEBUG, and no token, client secret,
IDENTITY_HEADER, function key, signature secret, storage key or message body in any log record,
problem document or health output."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from pathlib import Path

import azure.functions as func
import pytest

import function_app
from shared import runtime as runtime_module
from shared.endpoints.health import handle_health
from shared.endpoints.hooks import handle_hook
from shared.endpoints.mail import handle_mail
from tests.conftest import CLIENT_ID, CLIENT_SECRET, TENANT, RuntimeFactory
from tests.fakes.entra import FakeEntra
from tests.fakes.graph import FakeGraph, graph_error
from tests.fakes.identity import FakeManagedIdentity
from tests.helpers.app import hook_request, mail_request

DATA = Path(__file__).parents[1] / "data"
BODY_TEXT = "quarterly-figures-body-never-logged"
FUNCTION_KEY = "function-key-never-logged-0123456789"
BEARER = "hook-bearer-never-logged-0123456789"
GITHUB_SECRET = "github-secret-never-logged"
GRAFANA_SECRET = "grafana-secret-never-logged"
MAIL = {
    "to": "ops@contoso.com",
    "subject": "Quarterly figures",
    "text": BODY_TEXT,
    "attachments": [{"name": "a.txt", "content": BODY_TEXT}],
}


def test_no_secret_in_any_log_answer_or_health(
    caplog: pytest.LogCaptureFixture,
    graph_runtime: RuntimeFactory,
    graph: FakeGraph,
    identity: FakeManagedIdentity,
    entra: FakeEntra,
    azurite: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    hook_secrets = {
        "HOOK_BEARER_TOKEN": BEARER,
        "GITHUB_WEBHOOK_SECRET": GITHUB_SECRET,
        "GRAFANA_WEBHOOK_SECRET": GRAFANA_SECRET,
        "MAIL_DEFAULT_TO": "oncall@contoso.com",
    }
    with_secret = {
        "AZURE_AUTHORITY_HOST": entra.authority_host,
        "AZURE_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": CLIENT_ID,
    }
    runtimes = {
        "managed identity": graph_runtime(**hook_secrets),
        "client secret": graph_runtime(**hook_secrets, **with_secret, AZURE_CLIENT_SECRET=CLIENT_SECRET),
        "wrong secret": graph_runtime(**with_secret, AZURE_CLIENT_SECRET=CLIENT_SECRET + "-x"),
        "queue": graph_runtime(
            **hook_secrets,
            MAIL_DELIVERY="queue",
            AzureWebJobsStorage=azurite,
            MAIL_QUEUE_NAME=f"s-{uuid.uuid4().hex[:10]}",
        ),
    }
    key = {"x-functions-key": FUNCTION_KEY}
    answers: list[func.HttpResponse] = []

    # /api/mail: accepted, Graph refusals, throttling, a token failure, a 401 refresh, queued.
    graph.enqueue(400, json=graph_error("ErrorInvalidRecipients", "bad"))
    graph.enqueue(429, json=graph_error("TooManyRequests", "x"), headers={"Retry-After": "0"})
    for name in ("managed identity", "managed identity", "client secret", "wrong secret", "queue"):
        answers.append(handle_mail(mail_request(MAIL, headers=key), runtimes[name]))
    graph.expire_tokens()
    answers.append(handle_mail(mail_request(MAIL, headers=key), runtimes["managed identity"]))
    answers.append(handle_mail(mail_request(b"{broken", headers=key), runtimes["managed identity"]))

    # /api/hooks: every caller check, right and wrong.
    github = (DATA / "github" / "workflow_run.completed.failure.json").read_bytes()
    signature = "sha256=" + hmac.new(GITHUB_SECRET.encode(), github, hashlib.sha256).hexdigest()
    grafana = (DATA / "grafana" / "firing.json").read_bytes()
    grafana_signature = hmac.new(GRAFANA_SECRET.encode(), grafana, hashlib.sha256).hexdigest()
    github_headers = {"X-GitHub-Event": "workflow_run", "X-GitHub-Delivery": str(uuid.uuid4()), **key}
    for headers in (
        {**github_headers, "X-Hub-Signature-256": signature},
        {**github_headers, "X-Hub-Signature-256": "sha256=00"},
    ):
        answers.append(handle_hook(hook_request("github", github, headers=headers), runtimes["managed identity"]))
    for signed in (grafana_signature, "00"):
        headers = {**key, "Authorization": f"Bearer {BEARER}", "X-Grafana-Alerting-Signature": signed}
        answers.append(handle_hook(hook_request("grafana", grafana, headers=headers), runtimes["managed identity"]))
    for bearer in (BEARER, BEARER[::-1]):
        headers = {**key, "Authorization": f"Bearer {bearer}"}
        answers.append(handle_hook(hook_request("slack", {"text": BODY_TEXT}, headers=headers), runtimes["queue"]))
    answers.append(handle_hook(hook_request("alertmanager", (DATA / "alertmanager" / "resolved.json").read_bytes(),
                                            headers={**key, "Authorization": f"Bearer {BEARER}"}),
                               runtimes["managed identity"]))  # fmt: skip

    # /api/health, well and badly configured, with secrets in the environment.
    health = [handle_health(func.HttpRequest("GET", "http://localhost/api/health", body=b""), runtimes["queue"])]
    monkeypatch.setattr(runtime_module, "_runtime", None)
    monkeypatch.setenv("AZURE_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("HOOK_BEARER_TOKEN", BEARER)
    monkeypatch.setenv("MAIL_TRANSPORT", "carrier-pigeon")
    health.append(function_app.health(func.HttpRequest("GET", "http://localhost/api/health", body=b"")))

    statuses = sorted({answer.status_code for answer in answers})
    assert statuses == [202, 400, 401, 422, 502], "every path above was really taken"
    secrets = {
        "client secret": CLIENT_SECRET,
        "IDENTITY_HEADER": identity.identity_header,
        "function key": FUNCTION_KEY,
        "hook bearer token": BEARER,
        "GitHub secret": GITHUB_SECRET,
        "Grafana secret": GRAFANA_SECRET,
        "message body": BODY_TEXT,
        "storage account key": azurite.split("AccountKey=")[1].split(";")[0],
        **{f"token {token}": token for token in identity.issued_tokens + entra.issued_tokens},
    }
    assert len(identity.issued_tokens) >= 2 and entra.issued_tokens
    logged = "\n".join(f"{record.getMessage()} {record.args!r} {record.exc_text or ''}" for record in caplog.records)
    answered = "\n".join(answer.get_body().decode() for answer in answers + health)
    for what, secret in secrets.items():
        assert secret not in logged, f"{what} appears in a log record"
        assert secret not in answered, f"{what} appears in a response"
    assert json.loads(health[1].get_body())["health"] == "misconfigured"
