"""GET /api/status: each sender mailbox's limits by name, behind the function key."""

from __future__ import annotations

import json
import uuid
from typing import Any

import azure.functions as func
from jsonschema import Draft202012Validator

from shared.endpoints.mail import handle_mail
from shared.endpoints.openapi import openapi_document
from shared.endpoints.status import handle_status
from tests.conftest import RuntimeFactory
from tests.fakes.graph import FakeGraph
from tests.fakes.identity import FakeManagedIdentity
from tests.helpers.app import mail_request, response_json


def status_request() -> func.HttpRequest:
    return func.HttpRequest(method="GET", url="http://localhost:7071/api/status", body=b"")


def published_status_schema() -> Draft202012Validator:
    document = openapi_document()
    schema = document["paths"]["/api/status"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    return Draft202012Validator({**schema, "components": document["components"]})


def test_status_names_each_mailbox_with_every_instances_use(
    mi_runtime: RuntimeFactory, graph: FakeGraph, identity: FakeManagedIdentity, azurite: str
) -> None:
    sender = f"status-{uuid.uuid4().hex[:8]}@contoso.com"
    settings: dict[str, Any] = {"AzureWebJobsStorage": azurite, "MAIL_SENDER": sender}
    first, second = mi_runtime(**settings), mi_runtime(**settings)  # two instances, one storage account
    for runtime in (first, second):
        mail = {"to": ["a@contoso.com", "b@contoso.com"], "subject": "Disk full", "text": "93%"}
        assert handle_mail(mail_request(mail), runtime).status_code == 202
    answer = handle_status(status_request(), first)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    document = response_json(answer)
    published_status_schema().validate(document)
    assert document["store"] == "table"
    [mine] = [entry for entry in document["mailboxes"] if entry["mailbox"] == sender]
    assert (mine["recipientsUsedLast24h"], mine["sentLastMinute"], mine["sendsInFlight"]) == (4, 2, 0)
    assert (mine["heldNotifications"], mine["lastDigestAt"]) == (0, None)


def test_status_without_storage_is_this_process_only(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    runtime = mi_runtime()
    document = response_json(handle_status(status_request(), runtime))
    assert document == {"store": "memory", "mailboxes": []}
    published_status_schema().validate(json.loads(json.dumps(document)))
