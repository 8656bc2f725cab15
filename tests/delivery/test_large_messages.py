"""Large messages end to end over real HTTP: through the claim-check blob in queue mode, and in bounded memory.

A message sendMail cannot carry (a file of 3 MB or more) takes the draft path whatever the method;
/api/mail takes request bodies up to the Functions host's 100 MB.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tracemalloc
import uuid
from collections.abc import Callable

import pytest
from azure.storage.blob import ContainerClient

from shared.delivery.mail_queue import bodies_container
from shared.endpoints.mail import handle_mail
from shared.intake import MAX_MAIL_BODY_BYTES
from shared.runtime import Runtime
from tests.conftest import RuntimeFactory
from tests.delivery.test_queue_mode import drain, poison_all
from tests.fakes.graph import FakeGraph
from tests.helpers.app import mail_request, response_json

SIMPLE = {"to": "ops@contoso.com", "subject": "Core dump", "text": "attached"}
# Allowed on top of twice the body while parsing it: the request's other objects.
PARSE_ALLOWANCE_BYTES = 8 * 1024 * 1024


def with_file(content: bytes) -> dict[str, object]:
    return {**SIMPLE, "attachments": [{"name": "core.bin", "contentBase64": base64.b64encode(content).decode()}]}


def test_a_20_mb_attachment_through_the_queue_and_its_claim_check(
    mi_runtime: RuntimeFactory, graph: FakeGraph, azurite: str
) -> None:
    runtime = mi_runtime(
        MAIL_DELIVERY="queue", MAIL_QUEUE_NAME=f"q-{uuid.uuid4().hex[:12]}", AzureWebJobsStorage=azurite
    )
    content = os.urandom(20 * 1024 * 1024)
    response = handle_mail(mail_request(with_file(content)), runtime)
    assert response.status_code == 202, response.get_body()[:300]
    container = ContainerClient.from_connection_string(azurite, bodies_container(runtime.settings.delivery.queue_name))
    assert len(list(container.list_blobs())) == 1
    drain(runtime, azurite)
    assert poison_all(runtime, azurite) == {}
    [mail] = graph.mails
    assert mail.via == "draft"
    assert [a.sha256 for a in mail.attachments] == [hashlib.sha256(content).hexdigest()]
    assert list(container.list_blobs()) == [], "the blob goes once the mail is sent"


def test_a_body_over_100_mb_is_413_before_it_is_read(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    request = mail_request(b"{}", headers={"Content-Length": str(MAX_MAIL_BODY_BYTES + 1)})
    response = handle_mail(request, mi_runtime())
    assert (response.status_code, response_json(response)["code"]) == (413, "body_too_large")


def test_a_large_body_must_be_attachments(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    # JSON structure is what makes parsing costly; base64 has none. 7 MB of objects are refused unparsed.
    body = json.dumps({**SIMPLE, "to": [{}] * 2_000_000}).encode()
    assert len(body) > 7_000_000
    response = handle_mail(mail_request(body), mi_runtime())
    assert (response.status_code, response_json(response)["code"]) == (413, "body_too_large")
    assert "only attachments" in response_json(response)["detail"]


def test_a_90_mb_request_is_sent_in_bounded_memory(
    graph_runtime: Callable[..., Runtime], graph: FakeGraph, identity: object
) -> None:
    # Measured with tracemalloc from the moment the request exists: parsing holds the decoded text and
    # the parsed string at once (twice the body: the peak); the approved message holds the model only,
    # its sendMail body never built on the draft path (2.17 times the body when it was); the upload
    # decodes one chunk at a time.
    graph.keep_content = False
    graph.max_message_bytes = 150 * 1024 * 1024  # an admin raised the mailbox's maximum message size
    runtime = graph_runtime()
    request = mail_request(json.dumps(with_file(os.urandom(67_000_000))).encode())
    body_bytes = len(request.get_body())
    assert 89_000_000 < body_bytes < MAX_MAIL_BODY_BYTES
    tracemalloc.start()
    try:
        response = handle_mail(request, runtime)
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 202, response.get_body()[:300]
    assert len(graph.mails) == 1
    assert peak_bytes < 2 * body_bytes + PARSE_ALLOWANCE_BYTES, f"peak {peak_bytes:,} for a body of {body_bytes:,}"


@pytest.mark.parametrize("method", ["sendmail", "draft"])
def test_a_file_just_under_3_mb_stays_inline_and_one_over_takes_a_session(
    mi_runtime: RuntimeFactory, graph: FakeGraph, method: str
) -> None:
    runtime = mi_runtime(MAIL_SEND_METHOD=method)
    assert handle_mail(mail_request(with_file(os.urandom(2_900_000))), runtime).status_code == 202
    assert handle_mail(mail_request(with_file(os.urandom(3_000_000))), runtime).status_code == 202
    operations = [request.operation for request in graph.requests]
    first = ["sendMail"] if method == "sendmail" else ["create", "send"]
    assert operations == [*first, "create", "createUploadSession", "upload", "send"]
