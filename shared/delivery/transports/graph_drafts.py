"""The draft path of the Graph transport: create a draft, attach, send it; and find out when an answer is lost.

Graph's steps (https://learn.microsoft.com/graph/api/user-post-messages,
https://learn.microsoft.com/graph/outlook-large-attachments, https://learn.microsoft.com/graph/api/message-send):
1. ``POST /users/{mailbox}/messages``: the message as a draft, carrying a single-value extended
   property of ours that holds the request id (``REQUEST_ID_PROPERTY``), so the draft can be found
   again (https://learn.microsoft.com/graph/api/singlevaluelegacyextendedproperty-post). When the
   whole message fits in one request (under 4 MB, every file under 3 MB) its attachments go with it.
2. Otherwise each attachment on its own: ``POST …/attachments`` under 3 MB, or an upload session
   for 3-150 MB (``createUploadSession``, then sequential ``PUT``s of ``UPLOAD_CHUNK_BYTES`` to the
   pre-authenticated ``uploadUrl``, without our bearer token, which it answers with 401). The
   base64 of an attachment is decoded one chunk at a time, never whole.
3. ``POST …/messages/{id}/send`` (202). Exchange then removes the draft and files a copy in Sent
   Items under a new id (microsoftgraph/microsoft-graph-docs issues #1533 and #6250).

Why this can be exactly once where sendMail cannot: a draft is a thing Graph can be asked about.
When /send's answer is lost (a timeout, a cut connection, a 5xx), the draft's GET says what
happened: still there with ``isDraft`` true, it was not sent and /send is repeated (the same draft
cannot go out twice: once sent, its id is gone); gone, the sent copy is looked up by our property
before it is believed sent, because a draft's GET has been seen answering 404 ``ErrorItemNotFound``
for a moment right after an attachment was added (rlrghb/olkcli#118). A draft whose creation's
answer was lost is looked up by the property instead of being created twice. What cannot be told
within the deadline is raised as ``DraftOutcomeUnknown`` (``resumable``): a later attempt of the
same request (the caller's retry with its Idempotency-Key, the queue's next delivery) calls
``resume``, which finds the draft or its sent copy by the property and finishes the job. What makes
that safe is the claim's progress (``SendProgress``), recorded before each ``/send``: which draft was
posted. A posted draft that is gone without a copy to find may have gone out (Exchange files the copy
after sending it, and none at all with PidTagDeleteAfterSubmit): that stays unknown, never a new
draft sent; only an attempt that posted nothing may make a new one.

A MIME message (``GraphSend.mime``) with a Message-ID is made a draft of its own bytes (step 1 in
"MIME format", base64 as text/plain), so its attachments are in it, and it is found again by that
Message-ID (``internetMessageId``) rather than by our property, which a MIME draft cannot carry
without changing the caller's bytes; the rest is the same.

Before /send nothing can have been sent, so a step that fails there is a RetryLater or a refusal,
never an unknown outcome, and the draft is deleted (best effort) so that no stale one waits.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.delivery.transports.base import Resumed, SendProgress
from shared.logs import get_logger
from shared.mail.graph_message import AnyAttachment, FileAttachment, GraphSend, Message
from shared.mail.sizes import MAX_INLINE_ATTACHMENT_BYTES, attachment_size_bytes, too_large_for_send_mail
from shared.problems import OutcomeUnknown, Problem, RetryLater
from shared.settings.graph import MAX_SEND_DEADLINE_S

if TYPE_CHECKING:
    import requests

    from shared.delivery.transports.graph import GraphTransport

log = get_logger(__name__)

# Our own property set, a fixed GUID of Mailhook's: "String {guid} Name MailhookRequestId" is the id
# format of a named string property (https://learn.microsoft.com/graph/api/resources/extended-properties-overview).
REQUEST_ID_PROPERTY = "String {6c3f7a52-1d4e-4b8a-9e25-3f0d8c1b7a64} Name MailhookRequestId"
# Upload chunks: a multiple of 320 KiB (the upload-session rule), at most 4 MB per PUT
# (attachment-createuploadsession), and a multiple of 3 bytes so each chunk is whole base64 quanta.
UPLOAD_CHUNK_BYTES = 12 * 320 * 1024  # 3,932,160 bytes
# Time allowed per byte on top of MAIL_SEND_DEADLINE_S, for big uploads (capped at MAX_SEND_DEADLINE_S).
ASSUMED_UPLOAD_BYTES_PER_S = 1_000_000
# Finding out what happened to a send whose answer was lost: that many looks, this far apart,
# within at least SETTLE_BUDGET_S even when the lost answer used up the send's deadline.
SETTLE_LOOKS = 4
SETTLE_PAUSE_S = 0.5
SETTLE_BUDGET_S = 15.0
MAX_CHUNK_FAILURES = 6
# What a send records on its claim (``SendProgress``): nothing yet (NOTHING_POSTED), or, before its
# /send, the draft it posts (a JSON object whose POSTED member is the draft's id).
NOTHING_POSTED = ""
POSTED = "sendPostedFor"
# PidTagDeleteAfterSubmit: the message is deleted once sent, no copy kept in Sent Items; the draft
# method's saveToSentItems false. MS-OXOMSG 3.3.5.1.3 and the MAPI property's page:
# https://learn.microsoft.com/openspecs/exchange_server_protocols/ms-oxomsg/9b23dc42-c17b-4944-ba0e-a70ec9f90d64
# https://learn.microsoft.com/office/client-developer/outlook/mapi/pidtagdeleteaftersubmit-canonical-property
DELETE_AFTER_SUBMIT_PROPERTY = "Boolean 0x0E01"
UPLOAD_SESSIONS_PER_ATTACHMENT = 2


class DraftOutcomeUnknown(OutcomeUnknown):
    status = 504
    code = "graph_outcome_unknown"
    title = "Microsoft Graph's answer was lost and the draft's fate could not be told yet"
    resumable = True


class DraftStepFailed(RetryLater):
    status = 503
    code = "graph_unavailable"
    title = "Microsoft Graph is throttling or unavailable"


@dataclass(frozen=True)
class FoundMessage:
    """A message carrying our property: the draft, or the copy Exchange filed once it was sent."""

    id: str
    is_draft: bool
    created: str
    internet_message_id: str


def decoded_range(text: str, start: int, end: int) -> bytes:
    """Bytes [start, end) of what base64 ``text`` encodes, decoding only the quanta that hold them."""
    first_quantum, last_quantum = start // 3, -(-end // 3)
    raw = base64.b64decode(text[4 * first_quantum : 4 * last_quantum])
    return raw[start - 3 * first_quantum : end - 3 * first_quantum]


class GraphDrafts:
    """The draft path, over the Graph transport's requests, retries and mailbox slots."""

    def __init__(self, graph: GraphTransport) -> None:
        self._graph = graph

    def send(self, mail: GraphSend, request_id: str, progress: SendProgress | None = None) -> None:
        self._deliver(mail, request_id, progress, resuming=False)

    def resume(self, mail: GraphSend, request_id: str, progress: SendProgress) -> Resumed:
        """Finish request ``request_id``'s send, which got as far as ``progress.recorded``."""
        return self._deliver(mail, request_id, progress, resuming=True)

    def _deliver(self, mail: GraphSend, request_id: str, progress: SendProgress | None, *, resuming: bool) -> Resumed:
        attachment_bytes = sum(attachment_size_bytes(a) for a in _attachments_of(mail))
        deadline_s = min(
            MAX_SEND_DEADLINE_S, self._graph.send_deadline_s + attachment_bytes / ASSUMED_UPLOAD_BYTES_PER_S
        )
        deadline = time.monotonic() + max(deadline_s, self._graph.send_deadline_s)
        with self._graph.mailbox_slot(mail.mailbox, deadline):
            draft_send = _DraftSend(self._graph, mail, request_id, deadline, progress)
            try:
                return draft_send.resume() if resuming else draft_send.deliver()
            except OutcomeUnknown as unknown:
                if unknown.resumable:
                    raise
                # Whatever step it was, the draft (or its sent copy) can be looked up by the request id later.
                raise DraftOutcomeUnknown(
                    f"{unknown.detail} The draft is looked up on the next attempt of this request.", extra=unknown.extra
                ) from None


class _DraftSend:
    """One message's way through the draft steps."""

    def __init__(
        self, graph: GraphTransport, mail: GraphSend, request_id: str, deadline: float, progress: SendProgress | None
    ) -> None:
        self._graph = graph
        self._mail = mail
        self._request_id = request_id
        self._deadline = deadline
        self._progress = progress
        self._messages_url = f"{graph.users_url(mail.mailbox)}/messages"
        # One request when it fits: the draft with its attachments (two Graph calls per message). A
        # MIME message holds its own, and is under 4 MB (policy).
        self._attachments_inline = mail.mime is not None or not too_large_for_send_mail(mail)
        self._attachments: list[AnyAttachment] = [] if self._attachments_inline else _attachments_of(mail)

    def deliver(self) -> Resumed:
        """The first attempt: a new draft, its attachments, /send."""
        return self._finish(self._create(), attached=0, created_now=True)

    def resume(self) -> Resumed:
        """A later attempt, after an earlier one's outcome was unknown: what it recorded says what is safe.

        Its /send was posted: only that draft may go, and only if it is still a draft; found neither
        as a draft nor as its sent copy, it may have gone out with its copy not yet (or never) in Sent
        Items, so the outcome stays unknown. Not posted: nothing can have gone out, so a draft it left
        is finished, or a new one made. Not known (a record kept before progress was): only a sent
        copy can tell; anything else stays unknown.
        """
        recorded = self._progress.recorded if self._progress is not None else None
        posted = _posted_draft(recorded)
        if posted is not None:
            log.info("resuming request %s: its draft's /send was posted; asking what became of it", self._request_id)
            return self._settle_send(posted)
        found = self._looked_up(lambda: self._find_by_property(self._settle_deadline()), resumable=True)
        if self._mail.mime is not None and recorded == NOTHING_POSTED:
            # Nothing was posted, so a sent message found by this Message-ID is another's (the caller
            # sent the message before): only a draft left behind can be this request's.
            found = [message for message in found if message.is_draft]
        if any(not message.is_draft for message in found):
            log.info("resumed: the earlier send of request %s went out", self._request_id)
            self._discard([message.id for message in found if message.is_draft])
            return Resumed.ALREADY_SENT
        if recorded != NOTHING_POSTED:
            log.warning("resuming request %s: how far its earlier attempt got is not known", self._request_id)
            return Resumed.STILL_UNKNOWN
        if not found:
            log.info("resuming request %s: no draft was left and none was sent; making it", self._request_id)
            return self._finish(self._create(), attached=0, created_now=True)
        draft, extra = found[0], found[1:]
        self._discard([message.id for message in extra])  # never sent: one draft is enough
        attached = self._attachment_count(draft.id) if self._attachments else 0
        log.info("resumed: request %s's draft is there, %d attachment(s) on it", self._request_id, attached)
        return self._finish(draft, attached=attached, created_now=False)

    def _finish(self, draft: FoundMessage, *, attached: int, created_now: bool) -> Resumed:
        """The remaining attachments, the record that /send is posted, then /send."""
        try:
            for index in range(attached, len(self._attachments)):
                self._attach(draft.id, index)
            if self._progress is not None:
                # Before /send, never after: once it may have gone, a later attempt must know which draft.
                self._progress.record(_posted_progress(draft))
        except Problem:
            if created_now:
                self._discard([draft.id])  # nothing was sent: no stale draft waits for a retry
            raise
        return self._send(draft)

    # -- the steps --------------------------------------------------------------------------

    def _create(self) -> FoundMessage:
        # A MIME message is made a draft from its own base64, as sendMail would take it (text/plain).
        body = self._mail.body if self._mail.mime is not None else self._draft_json()
        content_type = self._mail.content_type

        def create() -> requests.Response:
            return self._graph.call(
                "POST", self._messages_url, self._deadline, self._request_id, body=body, content_type=content_type
            )

        try:
            response = create()
        except OutcomeUnknown:
            # Its answer was lost: look for it rather than risk two drafts.
            found = self._looked_up(lambda: self._find_by_property(self._settle_deadline()), resumable=False)
            drafts = [message for message in found if message.is_draft]
            if drafts:
                log.warning("the draft's creation lost its answer; found it by its property")
                self._discard([message.id for message in drafts[1:]])
                return drafts[0]
            log.warning("the draft's creation lost its answer and no draft exists: creating it again")
            response = create()
        return _found(response.json())

    def _attach(self, draft_id: str, index: int) -> None:
        attachment = self._attachments[index]
        size = attachment_size_bytes(attachment)
        if size < MAX_INLINE_ATTACHMENT_BYTES or not isinstance(attachment, FileAttachment):
            self._attach_inline(draft_id, attachment, index)
        else:
            self._upload(draft_id, attachment, size, index)

    def _attach_inline(self, draft_id: str, attachment: AnyAttachment, index: int) -> None:
        url = f"{self._messages_url}/{_segment(draft_id)}/attachments"
        body = attachment.__pydantic_serializer__.to_json(attachment, exclude_none=True, by_alias=True)
        for _ in range(2):
            try:
                self._graph.call("POST", url, self._deadline, self._request_id, body=body)
                return
            except OutcomeUnknown:
                if self._attachment_count(draft_id) > index:
                    return  # it was attached; only the answer was lost
        raise DraftStepFailed(f"Attachment {index + 1} could not be added to the draft; nothing was sent.")

    def _upload(self, draft_id: str, attachment: FileAttachment, size: int, index: int) -> None:
        """One attachment through an upload session; a session that expires is replaced once."""
        item: dict[str, Any] = {"attachmentType": "file", "name": attachment.name, "size": size}
        for graph_name, value in (
            ("contentType", attachment.content_type),
            ("isInline", attachment.is_inline),
            ("contentId", attachment.content_id),
        ):
            if value is not None:
                item[graph_name] = value
        session_url = f"{self._messages_url}/{_segment(draft_id)}/attachments/createUploadSession"
        body = json.dumps({"AttachmentItem": item}).encode()
        for _ in range(UPLOAD_SESSIONS_PER_ATTACHMENT):
            try:
                session = self._graph.call("POST", session_url, self._deadline, self._request_id, body=body).json()
            except OutcomeUnknown:
                continue  # an unused session expires by itself
            if self._upload_chunks(str(session["uploadUrl"]), attachment, size, draft_id, index):
                return
        raise DraftStepFailed(f"Attachment {index + 1}'s upload session ended before the upload; nothing was sent.")

    def _upload_chunks(self, upload_url: str, attachment: FileAttachment, size: int, draft_id: str, index: int) -> bool:
        """PUT the chunks in order; True once attached, False if the session is gone (expired)."""
        offset = 0
        failures = 0
        while True:
            end = min(offset + UPLOAD_CHUNK_BYTES, size)
            chunk = decoded_range(attachment.content_bytes, offset, end)
            try:
                response = self._graph.call(
                    "PUT",
                    upload_url,
                    self._deadline,
                    self._request_id,
                    body=chunk,
                    content_type="application/octet-stream",
                    headers={"Content-Range": f"bytes {offset}-{end - 1}/{size}"},
                    authorized=False,  # the URL is pre-authenticated; a bearer token gets 401
                    answers=(404, 416),
                )
            except OutcomeUnknown:
                failures += 1
                if failures > MAX_CHUNK_FAILURES:
                    raise DraftStepFailed("The upload failed too often; nothing was sent.") from None
                if end == size and self._attachment_count(draft_id) > index:
                    return True  # the last chunk landed; only its answer was lost
                continue  # the same chunk again: had Graph kept it, it answers 416 with where it is
            del chunk
            if response.status_code == 201:
                return True
            if response.status_code == 404:
                # The session is gone: expired, or completed by a last chunk whose answer was lost.
                return end == size and self._attachment_count(draft_id) > index
            next_offset = _next_expected(response)
            if response.status_code == 416:
                failures += 1
                if next_offset is None or failures > MAX_CHUNK_FAILURES:
                    raise DraftStepFailed("Graph refused the upload's byte ranges; nothing was sent.")
            offset = next_offset if next_offset is not None else end

    def _send(self, draft: FoundMessage) -> Resumed:
        url = f"{self._messages_url}/{_segment(draft.id)}/send"
        try:
            self._graph.call("POST", url, self._deadline, self._request_id)
        except OutcomeUnknown:
            log.warning("the draft's /send lost its answer: asking Graph what became of the draft")
            settled = self._settle_send(draft)
            if settled is Resumed.STILL_UNKNOWN:
                raise DraftOutcomeUnknown(
                    "Graph's answer to the draft's /send was lost and Graph could not yet tell whether it went out. "
                    "The draft is found again on the next attempt of this request (same Idempotency-Key, or the "
                    "queue's retry), so it is sent once; it is never reported sent before Graph says so.",
                ) from None
            return Resumed.SENT_NOW
        log.info("Graph accepted the draft for sending")
        return Resumed.SENT_NOW

    def _settle_send(self, draft: FoundMessage) -> Resumed:
        """What became of a draft whose /send was posted: sent again if it is still a draft (the same
        draft cannot go out twice), already sent once it is gone and its copy is found, else unknown."""
        deadline = self._settle_deadline()
        url = f"{self._messages_url}/{_segment(draft.id)}"
        for look in range(SETTLE_LOOKS):
            if look:
                self._graph.pause(SETTLE_PAUSE_S)
            try:
                response = self._graph.call(
                    "GET", f"{url}?$select=id,isDraft", deadline, self._request_id, answers=(404,)
                )
                if response.status_code == 200 and response.json().get("isDraft") is True:
                    # Not sent: send it again. The same draft cannot go out twice.
                    again = self._graph.call("POST", f"{url}/send", deadline, self._request_id, answers=(404,))
                    if again.status_code == 202:
                        return Resumed.SENT_NOW
                    continue  # 404: gone meanwhile; look again
                if response.status_code == 200:
                    return Resumed.ALREADY_SENT
                if self._sent_copy_exists(draft, deadline):
                    log.info("the draft is gone and its copy is in the mailbox: it was sent")
                    return Resumed.ALREADY_SENT
            except Problem:  # whatever went wrong while asking, the send's outcome stays unknown
                continue
        # Gone without a copy to be found: sent with its copy still on its way to Sent Items (or none
        # kept, saveToSentItems false), or a 404 that is not to be believed (rlrghb/olkcli#118).
        return Resumed.STILL_UNKNOWN

    # -- asking Graph -----------------------------------------------------------------------

    def _sent_copy_exists(self, draft: FoundMessage, deadline: float) -> bool:
        if self._mail.mime is not None:
            # Found by its Message-ID, which another message of the mailbox may carry too (a caller
            # sending one message twice): only a copy filed after this draft was made is this one's.
            return any(
                not message.is_draft and message.created >= draft.created
                for message in self._find_by_property(deadline)
            )
        if any(not message.is_draft for message in self._find_by_property(deadline)):
            return True
        found = self._find(f"internetMessageId eq '{_odata_quote(draft.internet_message_id)}'", deadline)
        return any(not message.is_draft for message in found)

    def _find_by_property(self, deadline: float) -> list[FoundMessage]:
        """This request's draft or sent copy: by our property, or a MIME message's by its Message-ID
        (a draft made of MIME carries the caller's headers only)."""
        if self._mail.mime is not None:
            assert self._mail.mime.message_id is not None  # GraphTransport._sends_as_draft
            return self._find(f"internetMessageId eq '{_odata_quote(self._mail.mime.message_id)}'", deadline)
        expression = (
            f"singleValueExtendedProperties/Any(ep: ep/id eq '{REQUEST_ID_PROPERTY}' "
            f"and ep/value eq '{_odata_quote(self._request_id)}')"
        )
        return self._find(expression, deadline)

    def _find(self, expression: str, deadline: float) -> list[FoundMessage]:
        query = urllib.parse.urlencode(
            {"$filter": expression, "$select": "id,isDraft,createdDateTime,internetMessageId"},
            quote_via=urllib.parse.quote,
        )
        response = self._graph.call("GET", f"{self._messages_url}?{query}", deadline, self._request_id)
        found = [_found(item) for item in response.json().get("value", [])]
        return sorted(found, key=lambda message: (message.created, message.id))  # the oldest draft is the one

    def _looked_up(self, look: Callable[[], list[FoundMessage]], *, resumable: bool) -> list[FoundMessage]:
        """A lookup whose failures are retried a few times. Failing still: after a creation whose answer
        was lost nothing was sent yet (RetryLater); resuming an earlier attempt, its outcome stays unknown."""
        for attempt in range(SETTLE_LOOKS):
            if attempt:
                self._graph.pause(SETTLE_PAUSE_S)
            try:
                return look()
            except (OutcomeUnknown, RetryLater):
                continue
        if resumable:
            raise DraftOutcomeUnknown("Graph could not be asked what became of the earlier attempt's draft.")
        raise DraftStepFailed("Graph could not say whether the draft was created; nothing was sent.")

    def _attachment_count(self, draft_id: str) -> int:
        url = f"{self._messages_url}/{_segment(draft_id)}/attachments?$select=id,name,size"
        for attempt in range(SETTLE_LOOKS):
            if attempt:
                self._graph.pause(SETTLE_PAUSE_S)
            try:
                response = self._graph.call("GET", url, self._settle_deadline(), self._request_id)
                return len(response.json().get("value", []))
            except (OutcomeUnknown, RetryLater):
                continue
        raise DraftStepFailed("Graph could not list the draft's attachments; nothing was sent.")

    def _discard(self, draft_ids: list[str]) -> None:
        """Delete drafts that will never be sent; best effort (a stale draft is litter, never a second mail)."""
        for draft_id in draft_ids:
            try:
                self._graph.call(
                    "DELETE",
                    f"{self._messages_url}/{_segment(draft_id)}",
                    time.monotonic() + SETTLE_PAUSE_S * 10,
                    self._request_id,
                    answers=(404,),
                )
            except Problem as problem:
                log.warning("a draft that will not be sent was not deleted: %s", problem.code)

    def _settle_deadline(self) -> float:
        return max(self._deadline, time.monotonic() + SETTLE_BUDGET_S)

    def _draft_json(self) -> bytes:
        message = _message_of(self._mail)
        exclude = None if self._attachments_inline else {"attachments"}
        document = message.model_dump(mode="json", by_alias=True, exclude_none=True, exclude=exclude)
        properties = list(document.get("singleValueExtendedProperties") or [])
        properties.append({"id": REQUEST_ID_PROPERTY, "value": self._request_id})
        request = self._mail.request
        if request is not None and request.save_to_sent_items is False:
            # /send has no saveToSentItems; Exchange deletes a message with this property once sent.
            properties.append({"id": DELETE_AFTER_SUBMIT_PROPERTY, "value": "true"})
        document["singleValueExtendedProperties"] = properties
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _posted_progress(draft: FoundMessage) -> str:
    """What the claim records before the draft's /send: which draft, and how its sent copy is found."""
    return json.dumps(
        {POSTED: draft.id, "internetMessageId": draft.internet_message_id, "created": draft.created},
        separators=(",", ":"),
    )


def _posted_draft(recorded: str | None) -> FoundMessage | None:
    """The draft whose /send an earlier attempt posted, from what it recorded; None if none was."""
    if not recorded:
        return None
    try:
        document = json.loads(recorded)
        return FoundMessage(
            id=str(document[POSTED]),
            is_draft=True,
            created=str(document.get("created", "")),
            internet_message_id=str(document.get("internetMessageId", "")),
        )
    except (ValueError, KeyError, TypeError):
        return None


def _found(item: Any) -> FoundMessage:
    return FoundMessage(
        id=str(item["id"]),
        is_draft=bool(item.get("isDraft")),
        created=str(item.get("createdDateTime", "")),
        internet_message_id=str(item.get("internetMessageId", "")),
    )


def _next_expected(response: requests.Response) -> int | None:
    """The offset Graph expects next; for Outlook attachments nextExpectedRanges holds one "{start}"
    (https://learn.microsoft.com/graph/api/resources/uploadsession)."""
    try:
        ranges = response.json().get("nextExpectedRanges") or []
        return int(str(ranges[0]).split("-")[0]) if ranges else None
    except (ValueError, AttributeError):
        return None


def _segment(message_id: str) -> str:
    # Exchange ids hold '/', '+' and '=': one path segment each.
    return urllib.parse.quote(message_id, safe="")


def _odata_quote(value: str) -> str:
    return value.replace("'", "''")


def _message_of(mail: GraphSend) -> Message:
    """The JSON form's message, which a JSON draft is made of."""
    if mail.request is None:
        raise AssertionError("a MIME draft is made of its own bytes")
    return mail.request.message


def _attachments_of(mail: GraphSend) -> list[AnyAttachment]:
    """The JSON form's attachments; none for a MIME message, whose parts are in its bytes."""
    return [] if mail.request is None else list(mail.request.message.attachments or ())
