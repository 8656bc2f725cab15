"""The draft path over real HTTP: create, attach (inline and upload sessions), send; lost answers resolved."""

from __future__ import annotations

import base64
import hashlib
import os
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import azure.functions as func
import pytest

from shared.delivery.transports.graph_drafts import REQUEST_ID_PROPERTY, UPLOAD_CHUNK_BYTES
from shared.endpoints.mail import handle_mail
from shared.runtime import Runtime
from tests.conftest import RuntimeFactory
from tests.fakes.graph import UPLOAD_CHUNK_UNIT_BYTES, FakeGraph, Fault, graph_error
from tests.helpers.app import SENDER, mail_request, response_json

SIMPLE = {"to": "ops@contoso.com", "subject": "Disk full", "text": "93%"}
DRAFT = {"MAIL_SEND_METHOD": "draft"}
NOT_ANSWERED: list[Fault | None] = ["cut_before"] * 4  # every look at the draft, within one send


def send(runtime: Runtime, payload: Any = SIMPLE, *, key: str | None = None) -> func.HttpResponse:
    headers = {"Idempotency-Key": key} if key else None
    return handle_mail(mail_request(payload, headers=headers), runtime)


def with_file(size: int, name: str = "big.bin", *, seed: int = 1) -> tuple[dict[str, Any], bytes]:
    content = hashlib.shake_256(seed.to_bytes(4, "big")).digest(size) if size <= 1 << 20 else os.urandom(size)
    payload = {**SIMPLE, "attachments": [{"name": name, "contentBase64": base64.b64encode(content).decode()}]}
    return payload, content


@pytest.fixture(autouse=True)
def tracked(graph: FakeGraph) -> None:
    graph.tracked_property = REQUEST_ID_PROPERTY


def test_the_draft_method_creates_sends_and_leaves_a_sent_copy(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    response = send(mi_runtime(**DRAFT), {**SIMPLE, "attachments": [{"name": "a.txt", "content": "hello"}]})
    assert response.status_code == 202, response.get_body()
    request_id = response_json(response)["requestId"]
    assert [request.operation for request in graph.requests] == ["create", "send"]
    create = graph.operations("create")[0]
    assert create.path == f"/v1.0/users/{SENDER}/messages"
    assert create.json["toRecipients"] == [{"emailAddress": {"address": "ops@contoso.com"}}]
    assert create.json["singleValueExtendedProperties"] == [{"id": REQUEST_ID_PROPERTY, "value": request_id}]
    [mail] = graph.mails
    assert (mail.via, mail.request_id_property) == ("draft", request_id)
    assert [(a.name, a.content) for a in mail.attachments] == [("a.txt", b"hello")]
    assert graph.drafts() == []
    assert len(graph.sent_items()) == 1


def test_a_20_mb_attachment_goes_through_an_upload_session_whatever_the_method(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    payload, content = with_file(20 * 1024 * 1024)
    response = send(mi_runtime(), payload)  # the default method, sendmail
    assert response.status_code == 202, response.get_body()
    operations = [request.operation for request in graph.requests]
    chunks = -(-len(content) // UPLOAD_CHUNK_BYTES)
    assert operations == ["create", "createUploadSession", *["upload"] * chunks, "send"]
    uploads = graph.operations("upload")
    assert all("authorization" not in request.headers for request in uploads)
    assert all(len(request.body) % UPLOAD_CHUNK_UNIT_BYTES == 0 for request in uploads[:-1])
    assert uploads[0].headers["content-range"] == f"bytes 0-{UPLOAD_CHUNK_BYTES - 1}/{len(content)}"
    [mail] = graph.mails
    [attachment] = mail.attachments
    assert attachment.sha256 == hashlib.sha256(content).hexdigest()
    assert attachment.name == "big.bin"


def test_small_and_large_attachments_mix(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    big = base64.b64encode(os.urandom(3_500_000)).decode()
    payload = {
        **SIMPLE,
        "attachments": [
            {"name": "small.txt", "content": "small"},
            {"name": "big.bin", "contentBase64": big},
        ],
    }
    assert send(mi_runtime(), payload).status_code == 202
    assert [r.operation for r in graph.requests][:3] == ["create", "attach", "createUploadSession"]
    [mail] = graph.mails
    assert [a.name for a in mail.attachments] == ["small.txt", "big.bin"]
    assert mail.attachments[1].content == base64.b64decode(big)


def test_send_cut_after_processing_is_found_sent_and_answered_202(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    graph.inject("send", "cut_after")
    response = send(mi_runtime(**DRAFT))
    assert response.status_code == 202, response.get_body()
    assert len(graph.mails) == 1
    assert [r.operation for r in graph.requests][-2:] == ["get", "find"]


def test_send_cut_before_processing_is_sent_again_once(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    graph.inject("send", "cut_before")
    response = send(mi_runtime(**DRAFT))
    assert response.status_code == 202, response.get_body()
    assert len(graph.mails) == 1
    assert [r.operation for r in graph.requests] == ["create", "send", "get", "send"]


def test_a_transient_not_found_is_not_believed(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    # The draft answers 404 for a moment (rlrghb/olkcli#118) although /send never reached it.
    graph.inject("send", "cut_before")
    graph.inject("get", "transient_not_found")
    response = send(mi_runtime(**DRAFT))
    assert response.status_code == 202, response.get_body()
    assert len(graph.mails) == 1
    assert graph.drafts() == []


def test_creation_cut_after_processing_finds_the_draft_instead_of_a_second(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    graph.inject("create", "cut_after")
    assert send(mi_runtime(**DRAFT)).status_code == 202
    assert [r.operation for r in graph.requests] == ["create", "find", "send"]
    assert len(graph.mails) == 1
    assert graph.drafts() == []


def test_creation_cut_before_processing_creates_it_once(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    graph.inject("create", "cut_before")
    assert send(mi_runtime(**DRAFT)).status_code == 202
    assert [r.operation for r in graph.requests] == ["create", "find", "create", "send"]
    assert len(graph.mails) == 1


def test_upload_chunks_resume_after_a_lost_answer(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    payload, content = with_file(9 * 1024 * 1024)
    # Chunk 1 kept but its answer lost, then its repeat lost before Graph read it; the next repeat
    # learns from the 416 where Graph is (nextExpectedRanges) and the upload goes on from there.
    graph.inject("upload", "cut_after", "cut_before")
    assert send(mi_runtime(), payload).status_code == 202
    statuses = [r.status for r in graph.operations("upload")]
    assert statuses == [None, None, 416, 200, 201]
    [mail] = graph.mails
    assert mail.attachments[0].sha256 == hashlib.sha256(content).hexdigest()


def test_the_last_chunk_answer_lost_does_not_attach_twice(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    payload, _ = with_file(4 * 1024 * 1024)
    graph.inject("upload", None, "cut_after")
    assert send(mi_runtime(), payload).status_code == 202
    [mail] = graph.mails
    assert len(mail.attachments) == 1


def test_an_unresolvable_send_is_unknown_and_the_retry_with_its_key_resumes(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    runtime = mi_runtime(**DRAFT)
    graph.inject("send", "cut_before")
    graph.inject("get", *NOT_ANSWERED)  # Graph cannot be asked either: unknown, never "sent"
    first = send(runtime, key="k-1")
    assert first.status_code == 504, first.get_body()
    assert response_json(first)["code"] == "graph_outcome_unknown"
    assert graph.mails == []
    retry = send(runtime, key="k-1")
    assert retry.status_code == 202, retry.get_body()
    assert response_json(retry) == {"status": "accepted", "requestId": response_json(first)["requestId"]}
    assert len(graph.mails) == 1
    again = send(runtime, key="k-1")
    assert response_json(again)["status"] == "duplicate"
    assert len(graph.mails) == 1


def test_a_retry_after_a_sent_but_unconfirmed_send_is_a_duplicate(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    runtime = mi_runtime(**DRAFT)
    graph.inject("send", "cut_after")
    graph.inject("get", *NOT_ANSWERED)
    assert send(runtime, key="k-2").status_code == 504
    assert len(graph.mails) == 1
    retry = send(runtime, key="k-2")
    assert retry.status_code == 202, retry.get_body()
    assert response_json(retry)["status"] == "duplicate"
    assert len(graph.mails) == 1


def test_a_resumed_send_waits_for_a_sent_copy_on_its_way_rather_than_sending_again(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    # Exchange files the Sent Items copy after its transport; a retry arriving before it sees nothing.
    runtime = mi_runtime(**DRAFT)
    graph.sent_copy_delay_s = 6.0
    graph.inject("send", "cut_after")
    graph.inject("get", *NOT_ANSWERED)
    assert send(runtime, key="k-lag").status_code == 504
    graph.sent_copy_delay_s = 0.0
    for copy in graph.sent_items():
        copy.visible_at = time.monotonic() + 0.7
    retry = send(runtime, key="k-lag")
    assert response_json(retry)["status"] == "duplicate", retry.get_body()
    assert len(graph.mails) == 1
    assert graph.drafts() == []


def test_sendmail_lost_answers_stay_unknown(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    # The default method cannot ask: a lost answer is 504, and its key's retry 409, never 202.
    runtime = mi_runtime()
    graph.inject("sendMail", "cut_before")
    assert send(runtime, key="k-3").status_code == 504
    retry = send(runtime, key="k-3")
    assert retry.status_code == 409
    assert graph.mails == []


def test_20_of_20_lost_answers_end_sent_once_with_the_draft_method(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    # The case: the connection cut after the request left, 20 times; the sender retries.
    runtime = mi_runtime(**DRAFT)
    for number in range(20):
        graph.inject("send", "cut_after" if number % 2 else "cut_before")
        key = f"lost-{number}"
        response = send(runtime, {**SIMPLE, "subject": f"lost {number}"}, key=key)
        if response.status_code != 202:
            response = send(runtime, {**SIMPLE, "subject": f"lost {number}"}, key=key)
        assert response.status_code == 202, response.get_body()
    subjects = sorted(mail.message["subject"] for mail in graph.mails)
    assert subjects == sorted(f"lost {number}" for number in range(20))


def test_message_size_exceeded_is_413(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    graph.max_message_bytes = 5 * 1024 * 1024
    payload, _ = with_file(6 * 1024 * 1024)
    response = send(mi_runtime(), payload)
    assert response.status_code == 413, response.get_body()
    document = response_json(response)
    assert (document["code"], document["graphError"]) == ("message_too_large", "ErrorMessageSizeExceeded")
    assert graph.mails == []
    assert graph.drafts() == [], "the draft that cannot be sent is deleted"


def test_an_authorization_header_on_the_upload_url_is_refused(graph: FakeGraph) -> None:
    import requests

    session = requests.post(
        f"{graph.base_url}/v1.0/users/{SENDER}/messages", json={"subject": "x"}, headers=bearer(), timeout=5
    ).json()
    upload = requests.post(
        f"{graph.base_url}/v1.0/users/{SENDER}/messages/{session['id']}/attachments/createUploadSession",
        json={"AttachmentItem": {"attachmentType": "file", "name": "a", "size": 10}},
        headers=bearer(),
        timeout=5,
    ).json()
    refused = requests.put(
        upload["uploadUrl"], data=b"0123456789", headers={**bearer(), "Content-Range": "bytes 0-9/10"}, timeout=5
    )
    assert refused.status_code == 401
    graph.expire_upload_sessions()
    expired = requests.put(
        upload["uploadUrl"], data=b"0123456789", headers={"Content-Range": "bytes 0-9/10"}, timeout=5
    )
    assert expired.status_code == 404


def test_graph_throttling_of_a_draft_step_is_retried(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    graph.enqueue(429, json=graph_error("ApplicationThrottled", "MailboxConcurrency"), headers={"Retry-After": "0"})
    assert send(mi_runtime(**DRAFT)).status_code == 202
    assert [r.status for r in graph.requests] == [429, 201, 202]


def bearer() -> dict[str, str]:
    return {"Authorization": "Bearer test-token"}


def test_an_upload_session_that_expires_is_replaced_once_then_503_and_nothing_sent(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    graph.session_lifetime_s = 0.0  # every session has expired by its first PUT
    payload, _ = with_file(3_500_000)
    response = send(mi_runtime(), payload)
    assert response.status_code == 503, response.get_body()
    assert response_json(response)["code"] == "graph_unavailable"
    assert len(graph.operations("createUploadSession")) == 2
    assert graph.mails == []
    assert graph.drafts() == [], "the draft that will not be sent is deleted"


def test_the_mailbox_limits_of_the_fake_apply_to_drafts(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    from concurrent.futures import ThreadPoolExecutor

    graph.default_delay_s = 0.05
    graph.recipients_per_day = 10
    runtime = mi_runtime(**DRAFT)
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda n: send(runtime, {**SIMPLE, "subject": f"s{n}"}).status_code, range(12)))
    assert statuses == [202] * 12
    assert graph.max_concurrent_per_mailbox[SENDER] <= 4, "at most 4 in flight, draft steps included"
    assert len(graph.mails) == 12
    assert sum(mail.blocked for mail in graph.mails) == 2, "past 10 recipients the mailbox is blocked"
    assert len(graph.blocked) == 2


@pytest.fixture(params=["memory", "table"])
def keys_in(request: pytest.FixtureRequest) -> dict[str, str]:
    """Where the Idempotency-Key's claim lives: this process, or Table storage (Azurite)."""
    if request.param == "memory":
        return {}
    return {"AzureWebJobsStorage": request.getfixturevalue("azurite")}


def test_a_repeat_of_a_posted_send_whose_copy_is_not_there_yet_stays_unknown_and_sends_nothing(
    mi_runtime: RuntimeFactory, graph: FakeGraph, keys_in: dict[str, str]
) -> None:
    # /send went through and its answer was lost; Exchange files the Sent Items copy a minute later.
    runtime = mi_runtime(**DRAFT, **keys_in)
    graph.sent_copy_delay_s = 60.0
    graph.inject("send", "cut_after")
    first = send(runtime, key="k-posted")
    assert (first.status_code, response_json(first)["code"]) == (504, "graph_outcome_unknown")
    assert len(graph.mails) == 1
    creates = len(graph.operations("create"))
    retry = send(runtime, key="k-posted")
    assert retry.status_code == 409, retry.get_body()
    assert response_json(retry)["code"] == "outcome_unknown"
    assert response_json(retry)["firstRequestId"] == response_json(first)["requestId"]
    assert len(graph.mails) == 1, "never a second draft sent"
    assert len(graph.operations("create")) == creates
    for copy in graph.sent_items():
        copy.visible_at = time.monotonic()  # the copy arrives: the next repeat can tell
    later = send(runtime, key="k-posted")
    assert later.status_code == 202, later.get_body()
    assert response_json(later) == {"status": "duplicate", "requestId": response_json(first)["requestId"]}
    assert len(graph.mails) == 1


def test_without_a_sent_items_copy_a_lost_send_stays_unknown_for_every_repeat(
    mi_runtime: RuntimeFactory, graph: FakeGraph, keys_in: dict[str, str]
) -> None:
    # saveToSentItems false: the draft carries PidTagDeleteAfterSubmit, so once sent nothing of it is left.
    runtime = mi_runtime(**DRAFT, **keys_in)
    graph.inject("send", "cut_after")
    first = send(runtime, {**SIMPLE, "saveToSentItems": False}, key="k-nocopy")
    assert first.status_code == 504, first.get_body()
    [create] = graph.operations("create")
    assert {"id": "Boolean 0x0E01", "value": "true"} in create.json["singleValueExtendedProperties"]
    for _ in range(2):
        retry = send(runtime, {**SIMPLE, "saveToSentItems": False}, key="k-nocopy")
        assert (retry.status_code, response_json(retry)["code"]) == (409, "outcome_unknown")
    assert len(graph.mails) == 1
    assert graph.sent_items() == [] and graph.drafts() == []


def test_saving_no_copy_in_sent_items_holds_for_the_draft_method(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    assert send(mi_runtime(**DRAFT), {**SIMPLE, "saveToSentItems": False}).status_code == 202
    assert send(mi_runtime(**DRAFT), SIMPLE).status_code == 202
    assert len(graph.mails) == 2
    assert len(graph.sent_items()) == 1, "only the mail that did not ask otherwise is kept"


def test_a_repeat_of_a_send_whose_draft_was_never_made_makes_it_and_sends_once(
    mi_runtime: RuntimeFactory, graph: FakeGraph, keys_in: dict[str, str]
) -> None:
    # The creation lost its answer twice, before Graph acted: nothing was made, nothing posted.
    runtime = mi_runtime(**DRAFT, **keys_in)
    graph.inject("create", "cut_before", "cut_before")
    first = send(runtime, key="k-nodraft")
    assert first.status_code == 504, first.get_body()
    assert graph.drafts() == [] and graph.mails == []
    retry = send(runtime, key="k-nodraft")
    assert response_json(retry) == {"status": "accepted", "requestId": response_json(first)["requestId"]}
    [mail] = graph.mails
    assert mail.request_id_property == response_json(first)["requestId"]


def test_a_repeat_after_a_posted_send_sends_that_draft_and_no_other(
    mi_runtime: RuntimeFactory, graph: FakeGraph, keys_in: dict[str, str]
) -> None:
    # /send never reached Graph and Graph could not be asked: the draft is still a draft. A stray
    # draft of the same request (a creation whose answer was lost) must not be the one sent.
    runtime = mi_runtime(**DRAFT, **keys_in)
    graph.inject("send", "cut_before")
    graph.inject("get", *NOT_ANSWERED)
    first = send(runtime, key="k-posted-draft")
    assert first.status_code == 504, first.get_body()
    [posted] = graph.drafts()
    stray = graph._store(posted.mailbox, dict(posted.message), "<stray@contoso.com>", is_draft=True)
    stray.created_at = "2000-01-01T00:00:00.000000Z"  # the oldest: what a lookup by the property finds first
    retry = send(runtime, key="k-posted-draft")
    assert response_json(retry)["status"] == "accepted", retry.get_body()
    [mail] = graph.mails
    assert mail.internet_message_id == posted.internet_message_id


def test_the_queue_asks_again_later_and_never_sends_a_lost_send_twice(
    queue_runtime: Callable[..., Runtime], graph: FakeGraph, azurite: str
) -> None:
    # The delivery key's claim is in Table storage. The first attempt's /send went out unanswered, its
    # copy 6 s behind: the next attempt cannot tell and is queued again, the one after finds the copy.
    from tests.delivery.test_queue_mode import drain, poison_all

    runtime = queue_runtime(**DRAFT)
    graph.sent_copy_delay_s = 6.0
    graph.inject("send", "cut_after")
    assert send(runtime).status_code == 202  # queued
    invocations = drain(runtime, azurite, timeout_s=120)
    assert len(graph.mails) == 1, "never a second draft sent"
    assert len(graph.operations("create")) == 1
    assert invocations >= 3, "unknown, still unknown, then found sent"
    assert poison_all(runtime, azurite) == {}


def test_an_unknown_outcome_whose_progress_was_not_kept_is_resumed_only_to_a_sent_copy(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    # A record kept before progress was (Claim.progress None): any step may have been taken, so
    # nothing found is not "nothing sent". Only the copy of a sent draft can settle it.
    from shared.delivery.dispatch import Dispatcher, EarlierOutcomeStillUnknown
    from shared.delivery.idempotency import Outcome
    from shared.delivery.idempotency.memory import MemoryIdempotencyStore
    from shared.mail.draft import parse_mail_request

    runtime = mi_runtime(**DRAFT)
    store = MemoryIdempotencyStore()
    dispatcher = Dispatcher(store, runtime.transport)
    mail = runtime.policy.approve(parse_mail_request(SIMPLE))
    store.complete(store.claim("k-legacy", "request-1", ttl_s=60), Outcome.UNKNOWN)  # never marked sending
    with pytest.raises(EarlierOutcomeStillUnknown) as still:
        dispatcher.dispatch(mail, "request-2", key="k-legacy", ttl_s=60)
    assert (still.value.status, still.value.code) == (409, "outcome_unknown")
    assert graph.mails == [] and graph.operations("create") == []
    runtime.transport.send(mail, "request-1")  # what request-1 had done after all
    assert dispatcher.dispatch(mail, "request-3", key="k-legacy", ttl_s=60).status == "duplicate"
    assert len(graph.mails) == 1


# --- A caller's MIME message as a draft (MAIL_SEND_METHOD=draft) ------------------------------------------


def mime_message(message_id: str | None = "<disk-93.db-1@ops.contoso.com>") -> bytes:
    """A caller's RFC 5322 message with an attachment, as its mail library writes it."""
    mime = EmailMessage()
    mime["From"] = SENDER
    mime["To"] = "ops@contoso.com"
    mime["Subject"] = "Disk full"
    if message_id is not None:
        mime["Message-ID"] = message_id
    mime.set_content("93% on db-1.")
    mime.add_attachment(b"df -h output", maintype="text", subtype="plain", filename="df.txt")
    return mime.as_bytes()


def send_mime(runtime: Runtime, raw: bytes, *, key: str | None = None) -> func.HttpResponse:
    headers = {"Idempotency-Key": key} if key else None
    body = base64.b64encode(raw)
    return handle_mail(mail_request(body, content_type="text/plain", headers=headers), runtime)


def test_a_mime_message_with_a_message_id_is_made_a_draft_of_its_own_bytes(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    raw = mime_message()
    response = send_mime(mi_runtime(**DRAFT), raw)
    assert response.status_code == 202, response.get_body()
    assert [request.operation for request in graph.requests] == ["create", "send"]
    [create] = graph.operations("create")
    assert create.headers["content-type"].startswith("text/plain")
    assert create.body == base64.b64encode(raw), "the caller's base64, byte for byte"
    [mail] = graph.mails
    assert (mail.via, mail.mime, mail.internet_message_id) == ("draft", raw, "<disk-93.db-1@ops.contoso.com>")
    assert graph.drafts() == [] and len(graph.sent_items()) == 1


def test_a_mime_message_without_a_message_id_still_goes_by_sendmail(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    # Nothing to find its draft by again: sendMail, never sent twice but not "never lost" (README).
    response = send_mime(mi_runtime(**DRAFT), mime_message(message_id=None))
    assert response.status_code == 202, response.get_body()
    assert [request.operation for request in graph.requests] == ["sendMail"]


def test_a_mime_drafts_lost_answers_end_in_one_mail(mi_runtime: RuntimeFactory, graph: FakeGraph) -> None:
    runtime = mi_runtime(**DRAFT)
    graph.inject("create", "cut_after")  # made, answer lost: found by its Message-ID, not made twice
    graph.inject("send", "cut_after")  # sent, answer lost: gone, and its copy found by its Message-ID
    response = send_mime(runtime, mime_message())
    assert response.status_code == 202, response.get_body()
    assert [r.operation for r in graph.requests] == ["create", "find", "send", "get", "find"]
    assert len(graph.mails) == 1
    assert graph.drafts() == []


def test_a_mime_drafts_unknown_send_is_resumed_by_its_key_and_sent_once(
    mi_runtime: RuntimeFactory, graph: FakeGraph, keys_in: dict[str, str]
) -> None:
    runtime = mi_runtime(**DRAFT, **keys_in)
    graph.inject("send", "cut_before")
    graph.inject("get", *NOT_ANSWERED)  # Graph cannot be asked: unknown, never "sent"
    first = send_mime(runtime, mime_message(), key="mime-1")
    assert (first.status_code, response_json(first)["code"]) == (504, "graph_outcome_unknown")
    assert graph.mails == [] and len(graph.drafts()) == 1
    retry = send_mime(runtime, mime_message(), key="mime-1")
    assert response_json(retry) == {"status": "accepted", "requestId": response_json(first)["requestId"]}
    again = send_mime(runtime, mime_message(), key="mime-1")
    assert response_json(again)["status"] == "duplicate"
    assert len(graph.mails) == 1 and graph.drafts() == []


def test_a_mime_draft_whose_send_was_posted_and_whose_copy_is_late_is_never_sent_again(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    runtime = mi_runtime(**DRAFT)
    graph.sent_copy_delay_s = 60.0
    graph.inject("send", "cut_after")
    assert send_mime(runtime, mime_message(), key="mime-2").status_code == 504
    retry = send_mime(runtime, mime_message(), key="mime-2")
    assert (retry.status_code, response_json(retry)["code"]) == (409, "outcome_unknown")
    assert len(graph.mails) == 1
    assert len(graph.operations("create")) == 1


def test_an_older_message_with_the_same_message_id_is_not_taken_for_this_drafts_copy(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    # A caller sends one MIME message twice, with two keys: two sends. The second's /send is cut before
    # Graph got it and its draft answers 404 for a moment; the first's copy in Sent Items, found by the
    # same Message-ID, must not make it believed sent (202 with nothing sent).
    runtime = mi_runtime(**DRAFT)
    assert send_mime(runtime, mime_message(), key="first").status_code == 202
    graph.inject("send", "cut_before")
    graph.inject("get", "transient_not_found")
    second = send_mime(runtime, mime_message(), key="second")
    assert second.status_code == 202, second.get_body()
    assert len(graph.mails) == 2, "the second was sent, not mistaken for the first"
    assert graph.drafts() == []


def test_a_resume_that_posted_nothing_is_not_answered_by_an_older_message_with_the_same_message_id(
    mi_runtime: RuntimeFactory, graph: FakeGraph
) -> None:
    runtime = mi_runtime(**DRAFT)
    assert send_mime(runtime, mime_message(), key="first").status_code == 202
    graph.inject("create", "cut_before", "cut_before")  # never made, and the second try's answer lost too
    unknown = send_mime(runtime, mime_message(), key="second")
    assert (unknown.status_code, response_json(unknown)["code"]) == (504, "graph_outcome_unknown")
    retry = send_mime(runtime, mime_message(), key="second")
    assert response_json(retry)["status"] == "accepted", retry.get_body()
    assert len(graph.mails) == 2, "sent now, not taken for the first message's copy"
