"""Logs carry the request id on every line of ours, and never a token, secret or message body."""

from __future__ import annotations

import logging

import pytest

from shared.endpoints.mail import handle_mail
from tests.conftest import CLIENT_ID, CLIENT_SECRET, TENANT, RuntimeFactory
from tests.fakes.entra import FakeEntra
from tests.fakes.graph import FakeGraph, graph_error
from tests.fakes.identity import FakeManagedIdentity
from tests.helpers.app import mail_request, response_json

BODY_TEXT = "body-text-that-must-never-be-logged"
PAYLOAD = {
    "to": "ops@contoso.com",
    "subject": "x",
    "text": BODY_TEXT,
    "attachments": [{"name": "a", "content": BODY_TEXT}],
}


def test_secrets_and_bodies_stay_out_of_logs_and_answers(
    caplog: pytest.LogCaptureFixture,
    graph_runtime: RuntimeFactory,
    graph: FakeGraph,
    identity: FakeManagedIdentity,
    entra: FakeEntra,
) -> None:
    caplog.set_level(logging.DEBUG)
    mi_runtime = graph_runtime()
    secret_runtime = graph_runtime(
        AZURE_AUTHORITY_HOST=entra.authority_host,
        AZURE_TENANT_ID=TENANT,
        AZURE_CLIENT_ID=CLIENT_ID,
        AZURE_CLIENT_SECRET=CLIENT_SECRET,
    )
    wrong_secret_runtime = graph_runtime(
        AZURE_AUTHORITY_HOST=entra.authority_host,
        AZURE_TENANT_ID=TENANT,
        AZURE_CLIENT_ID=CLIENT_ID,
        AZURE_CLIENT_SECRET=CLIENT_SECRET + "-wrong",
    )
    graph.enqueue(429, json=graph_error("TooManyRequests", "x"), headers={"Retry-After": "0"})
    graph.enqueue(400, json=graph_error("ErrorInvalidRecipients", "bad"))
    answers = [handle_mail(mail_request(PAYLOAD), runtime) for runtime in (mi_runtime, mi_runtime, secret_runtime)]
    graph.expire_tokens()
    answers += [handle_mail(mail_request(PAYLOAD), runtime) for runtime in (mi_runtime, wrong_secret_runtime)]
    assert [answer.status_code for answer in answers] == [422, 202, 202, 202, 502]

    secrets = {
        "client secret": CLIENT_SECRET,
        "IDENTITY_HEADER": identity.identity_header,
        "message body": BODY_TEXT,
        **{f"token {token}": token for token in identity.issued_tokens + entra.issued_tokens},
    }
    assert len(secrets) >= 6, "tokens were issued, so there is something to look for"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    logged += "\n".join(str(record.args) for record in caplog.records)
    answered = b"\n".join(answer.get_body() for answer in answers).decode()
    for what, secret in secrets.items():
        assert secret not in logged, f"{what} was logged"
        assert secret not in answered, f"{what} was in a response"


def test_every_line_of_ours_names_the_request(
    caplog: pytest.LogCaptureFixture, graph_runtime: RuntimeFactory, identity: FakeManagedIdentity
) -> None:
    caplog.set_level(logging.INFO, logger="shared")
    answer = handle_mail(mail_request(PAYLOAD), graph_runtime())
    request_id = response_json(answer)["requestId"]
    ours = [record for record in caplog.records if record.name.startswith("shared.")]
    assert len(ours) >= 2
    assert all(f"requestId={request_id}" in record.getMessage() for record in ours)
