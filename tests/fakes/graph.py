"""A fake Microsoft Graph mailbox: sendMail, and drafts with attachments and upload sessions.

Behaviour follows Graph's documentation (https://learn.microsoft.com/graph/api/user-sendmail,
https://learn.microsoft.com/graph/errors, https://learn.microsoft.com/graph/throttling): 202 with an empty body on
success, ``request-id``/``client-request-id`` headers, Graph's error body shape, 401
``InvalidAuthenticationToken`` for a refused bearer token, 413 above the 4 MB request cap.

Routes, each under ``/v1.0/users/{id | userPrincipalName}``:
- ``POST /sendMail`` (JSON, or MIME as base64 text/plain: 400 ``ErrorMimeContentInvalidBase64String``
  "Invalid base64 string for MIME content." when it is not base64, as the sendMail page documents, 400
  ``ErrorInvalidRecipients`` "At least one recipient is not valid., A message can't be sent because it
  contains no recipients." without To, Cc or Bcc, quoted in microsoftgraph/msgraph-sdk-dotnet#1891;
  the decoded message is in ``GraphRequest.mime``); a copy lands in Sent Items unless
  ``saveToSentItems`` is false.
- ``POST /messages``: a draft (201 with ``id``, ``isDraft``, ``internetMessageId``,
  https://learn.microsoft.com/graph/api/user-post-messages), from JSON or base64 MIME;
  ``GET /messages?$filter=`` on our single-value extended property or on ``internetMessageId``
  (https://learn.microsoft.com/graph/api/singlevaluelegacyextendedproperty-get), ``GET`` and
  ``DELETE /messages/{id}``.
- ``POST /messages/{id}/attachments``: a file attachment under 3 MB.
- ``POST /messages/{id}/attachments/createUploadSession`` and ``PUT`` on the ``uploadUrl`` it
  answers, strict as https://learn.microsoft.com/graph/outlook-large-attachments says: 401 when the
  pre-authenticated URL is given an ``Authorization`` header, chunks of at most 4 MB that are
  multiples of 320 KiB except the last, ``Content-Range`` in order (416 with ``nextExpectedRanges``
  otherwise, which is how a client resumes), the session expiring ``session_lifetime_s`` after its
  last chunk; the last chunk answers 201 with a ``Location``.
- ``POST /messages/{id}/send`` (https://learn.microsoft.com/graph/api/message-send): 202, and the
  draft is gone: Exchange files a copy in Sent Items under a new id (microsoftgraph/microsoft-graph-docs
  issues #1533 and #6250), so the draft's id answers 404 ``ErrorItemNotFound`` from then on; no copy
  when the draft carries PidTagDeleteAfterSubmit (``Boolean 0x0E01`` true, MS-OXOMSG section 3.3.5.1.3).
  Past ``max_message_bytes`` (the mailbox's maximum message size, 35 MB by default) it answers 400
  ``ErrorMessageSizeExceeded``.

Faults (``inject``), per operation, for the outcomes a client cannot see: ``"cut_after"`` does the
work and then closes the connection without answering (the lost answer); ``"cut_before"`` closes
it without doing anything; ``"transient_not_found"`` answers a draft's GET with 404
``ErrorItemNotFound`` although it exists, as one report saw right after an attachment was added
(rlrghb/olkcli#118). ``fault_plan`` picks faults by operation for chaos runs.

Two limits of the mailbox behind it, as strict as Microsoft documents them, for sendMail and drafts alike:
- Outlook's 4 concurrent requests per app and mailbox: the fifth in flight is answered 429
  ``ApplicationThrottled`` "Application is over its MailboxConcurrency limit." with Retry-After
  (https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits);
- Exchange's recipient rate (10,000 per rolling 24 hours; ``recipients_per_day``): past it the
  mailbox is blocked from sending while Graph still answers 202, so every message accepted from
  then on is recorded in ``blocked``, never delivered, and nothing in the answer says so
  (https://learn.microsoft.com/office365/servicedescriptions/exchange-online-service-description/exchange-online-limits).
"""

from __future__ import annotations

import base64
import binascii
import collections
import datetime
import email.parser
import email.policy
import hashlib
import itertools
import json as jsonlib
import re
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from typing import Any, Literal

from . import FakeHttpServer, HttpAnswer, HttpRequest

# "The maximum request length supported is 4MB." (microsoftgraph/microsoft-graph-docs-contrib#682)
MAX_REQUEST_BYTES = 4 * 1024 * 1024
# POST .../attachments takes files under 3 MB; larger ones need an upload session, up to 150 MB
# (https://learn.microsoft.com/graph/api/attachment-createuploadsession).
MAX_INLINE_ATTACHMENT_BYTES = 3 * 1024 * 1024
MAX_UPLOAD_SESSION_BYTES = 150 * 1024 * 1024
UPLOAD_CHUNK_UNIT_BYTES = 320 * 1024
MAX_UPLOAD_CHUNK_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_MESSAGE_BYTES = 35 * 1024 * 1024
# PidTagDeleteAfterSubmit as a Graph extended property: a draft carrying it true leaves no Sent Items copy.
DELETE_AFTER_SUBMIT_PROPERTY = "Boolean 0x0E01"

Fault = Literal["cut_before", "cut_after", "transient_not_found"]
# The operations faults and ``operations`` name.
Operation = Literal[
    "sendMail",
    "create",
    "find",
    "get",
    "delete",
    "attach",
    "listAttachments",
    "createUploadSession",
    "upload",
    "send",
    "other",
]

# Graph matches path segments case-insensitively; the mailbox is an object id or a UPN.
_USER_PATH = re.compile(r"^/v1\.0/users/(?P<mailbox>[^/]+)(?P<rest>/.*)$", re.IGNORECASE)
_UPLOAD_PATH = re.compile(r"^/upload/(?P<token>[A-Za-z0-9-]+)$")
_ROUTES: list[tuple[str, re.Pattern[str], Operation]] = [
    ("POST", re.compile(r"^/sendMail$", re.IGNORECASE), "sendMail"),
    ("POST", re.compile(r"^/messages$", re.IGNORECASE), "create"),
    ("GET", re.compile(r"^/messages$", re.IGNORECASE), "find"),
    ("GET", re.compile(r"^/messages/(?P<id>[^/]+)$", re.IGNORECASE), "get"),
    ("DELETE", re.compile(r"^/messages/(?P<id>[^/]+)$", re.IGNORECASE), "delete"),
    ("POST", re.compile(r"^/messages/(?P<id>[^/]+)/attachments$", re.IGNORECASE), "attach"),
    ("GET", re.compile(r"^/messages/(?P<id>[^/]+)/attachments$", re.IGNORECASE), "listAttachments"),
    (
        "POST",
        re.compile(r"^/messages/(?P<id>[^/]+)/attachments/createUploadSession$", re.IGNORECASE),
        "createUploadSession",
    ),
    ("POST", re.compile(r"^/messages/(?P<id>[^/]+)/send$", re.IGNORECASE), "send"),
]
# The two filters a client of ours may use: on a single-value extended property, or on the
# internetMessageId (https://learn.microsoft.com/graph/api/singlevaluelegacyextendedproperty-get).
_PROPERTY_FILTER = re.compile(
    r"^singleValueExtendedProperties/any\((?P<v>\w+):\s*"
    r"(?P=v)/id eq '(?P<id>[^']+)' and (?P=v)/value eq '(?P<value>[^']*)'\)$",
    re.IGNORECASE,
)
_MESSAGE_ID_FILTER = re.compile(r"^internetMessageId eq '(?P<value>[^']+)'$", re.IGNORECASE)
_CONTENT_RANGE = re.compile(r"^bytes (?P<start>\d+)-(?P<end>\d+)/(?P<total>\d+)$")


@dataclass(frozen=True)
class GraphRequest:
    """A request FakeGraph received, and how it answered."""

    method: str
    path: str
    mailbox: str | None  # URL-decoded; None when the path is not under /v1.0/users/{mailbox}
    headers: dict[str, str]  # lower-cased names
    body: bytes
    json: Any  # the body parsed as JSON, None when it is empty or not JSON (MIME sends)
    received_at: float  # time.monotonic()
    status: int | None  # what FakeGraph answered; None when it closed without answering
    operation: Operation = "other"
    mime: EmailMessage | None = None  # a MIME send's or draft's message, decoded from its base64 body

    @property
    def message(self) -> dict[str, Any]:
        """The message as Graph reads it, in either form: the JSON's ``message``, or the MIME message
        as the message resource Exchange makes of it (``message_of_mime``)."""
        if self.mime is None:
            message: dict[str, Any] = self.json["message"]
            return message
        return message_of_mime(self.mime)


@dataclass
class StoredAttachment:
    id: str
    name: str
    content_type: str | None
    size: int
    sha256: str
    content: bytes | None  # None when the fake keeps only digests (``keep_content=False``)
    is_inline: bool = False
    content_id: str | None = None


@dataclass
class StoredMessage:
    """A message in the fake mailbox: a draft, or the Sent Items copy of a sent one."""

    id: str
    mailbox: str
    message: dict[str, Any]  # the Message JSON as created (or as sendMail carried it)
    internet_message_id: str
    created_at: str
    is_draft: bool
    attachments: list[StoredAttachment] = field(default_factory=list)
    mime: bytes | None = None  # a draft created from MIME: its bytes
    attached_at: float = 0.0  # time.monotonic() of its last attachment
    visible_at: float = 0.0  # time.monotonic() from which GET and $filter see it (a sent copy on its way)

    def extended_property(self, property_id: str) -> str | None:
        for item in self.message.get("singleValueExtendedProperties") or []:
            if isinstance(item, dict) and str(item.get("id", "")).lower() == property_id.lower():
                return str(item.get("value"))
        return None

    def resource(self) -> dict[str, Any]:
        visible = {k: v for k, v in self.message.items() if k not in ("singleValueExtendedProperties", "attachments")}
        return {
            **visible,
            "id": self.id,
            "createdDateTime": self.created_at,
            "isDraft": self.is_draft,
            "internetMessageId": self.internet_message_id,
            "hasAttachments": bool(self.attachments),
            "parentFolderId": "drafts" if self.is_draft else "sentitems",
        }

    def size_bytes(self) -> int:
        return len(jsonlib.dumps(self.message)) + len(self.mime or b"") + sum(a.size for a in self.attachments)


@dataclass(frozen=True)
class SentMail:
    """A mail Exchange sent: by sendMail or by sending a draft, whether or not its answer arrived."""

    mailbox: str
    via: Literal["sendMail", "draft"]
    message: dict[str, Any]  # the Message JSON ({} for MIME)
    attachments: tuple[StoredAttachment, ...]
    internet_message_id: str
    request_id_property: str | None  # the value of ``tracked_property`` on it
    mime: bytes | None = None
    blocked: bool = False  # past the mailbox's recipient rate: accepted, never delivered


@dataclass
class _UploadSession:
    token: str
    mailbox: str
    message_id: str
    name: str
    size: int
    content_type: str | None
    is_inline: bool
    content_id: str | None
    expires_at: float
    received: bytearray
    digest: Any  # hashlib sha256 of the bytes so far
    next_offset: int = 0


def graph_error(
    code: str,
    message: str,
    *,
    request_id: str | None = None,
    client_request_id: str | None = None,
) -> dict[str, Any]:
    """Graph's error body (learn.microsoft.com/graph/errors).

    FakeGraph rewrites the ``innerError`` ids of a scripted body to the ids of the response it
    is sent in, so body and headers agree as they do on the real service.
    """
    request_id = request_id or str(uuid.uuid4())
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_request_id or request_id,
            },
        }
    }


class FakeGraph(FakeHttpServer):
    """Fake Graph. Use as ``with FakeGraph() as graph:``; point the client at ``graph.base_url``.

    Tokens: when ``valid_tokens`` is empty any bearer token is accepted, else only those in it.
    ``expire_tokens()``/``revoke()`` make tokens be refused from then on, whatever the mode.
    ``tracked_property`` is the single-value extended property id whose value ``mails`` reports.
    """

    def __init__(
        self,
        *,
        default_delay_s: float = 0.0,
        valid_tokens: Iterable[str] = (),
        mailbox_concurrency: int = 4,
        recipients_per_day: int = 10_000,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        session_lifetime_s: float = 900.0,
        keep_content: bool = True,
        tracked_property: str | None = None,
        sent_copy_delay_s: float = 0.0,
    ) -> None:
        super().__init__()
        self.mailbox_concurrency = mailbox_concurrency
        self.recipients_per_day = recipients_per_day
        self.max_message_bytes = max_message_bytes
        self.session_lifetime_s = session_lifetime_s
        self.keep_content = keep_content
        self.tracked_property = tracked_property
        # How long after a send its copy takes to show in Sent Items (Exchange's transport, Outbox).
        self.sent_copy_delay_s = sent_copy_delay_s
        self._recipients_accepted: dict[str, int] = {}
        self._blocked_mailboxes: set[str] = set()
        self._blocked: list[GraphRequest] = []
        self._concurrency_refusals = 0
        self.default_delay_s = default_delay_s  # for answers not scripted, e.g. 0.05 like Graph
        # A plain set so a token issuer can feed it: ``identity.on_issue = graph.valid_tokens.add``.
        self.valid_tokens: set[str] = set(valid_tokens)
        self._revoked_tokens: set[str] = set()
        self._accepted_tokens: set[str] = set()
        self._requests: list[GraphRequest] = []
        self._in_flight_per_mailbox: dict[str, int] = {}
        self._max_in_flight_per_mailbox: dict[str, int] = {}
        self._messages: dict[str, StoredMessage] = {}  # by id, every mailbox
        self._sessions: dict[str, _UploadSession] = {}
        self._mails: list[SentMail] = []
        self._faults: dict[str, collections.deque[Fault | None]] = collections.defaultdict(collections.deque)
        self._ids = itertools.count(1)
        self._local = threading.local()
        # Chaos runs: called with each operation, answers the fault to apply (or None).
        self.fault_plan: Callable[[Operation], Fault | None] | None = None

    # -- what happened -------------------------------------------------------------------------

    @property
    def requests(self) -> list[GraphRequest]:
        """Every request received, in the order FakeGraph handled them (a copy)."""
        with self._lock:
            return list(self._requests)

    def operations(self, operation: Operation) -> list[GraphRequest]:
        return [request for request in self.requests if request.operation == operation]

    @property
    def sent(self) -> list[GraphRequest]:
        """The sendMail and draft-send requests answered 202 Accepted."""
        return [request for request in self.requests if request.status == 202]

    @property
    def mails(self) -> list[SentMail]:
        """Every mail Exchange sent, by either route, its answer lost or not (a copy)."""
        with self._lock:
            return list(self._mails)

    @property
    def blocked(self) -> list[GraphRequest]:
        """Requests answered 202 that Exchange then blocked: the mailbox was past its recipient rate."""
        with self._lock:
            return list(self._blocked)

    @property
    def delivered(self) -> list[GraphRequest]:
        """The mails that would reach their recipients: accepted and not blocked."""
        blocked = {id(request) for request in self.blocked}
        return [request for request in self.sent if id(request) not in blocked]

    @property
    def concurrency_refusals(self) -> int:
        """Requests refused with 429 for being over the mailbox's concurrency limit."""
        with self._lock:
            return self._concurrency_refusals

    @property
    def max_concurrent_per_mailbox(self) -> dict[str, int]:
        """Most requests seen in flight at once per mailbox, delays included (a copy)."""
        with self._lock:
            return dict(self._max_in_flight_per_mailbox)

    def drafts(self, mailbox: str | None = None) -> list[StoredMessage]:
        with self._lock:
            return [
                m
                for m in self._messages.values()
                if m.is_draft and (mailbox is None or m.mailbox.lower() == mailbox.lower())
            ]

    def sent_items(self, mailbox: str | None = None) -> list[StoredMessage]:
        with self._lock:
            return [
                m
                for m in self._messages.values()
                if not m.is_draft and (mailbox is None or m.mailbox.lower() == mailbox.lower())
            ]

    def revoke(self, token: str) -> None:
        """Refuse ``token`` from now on with 401 InvalidAuthenticationToken."""
        with self._lock:
            self._revoked_tokens.add(token)
            self.valid_tokens.discard(token)

    def expire_tokens(self) -> None:
        """Refuse every token accepted or registered so far; the client must get a fresh one."""
        with self._lock:
            expired = self._accepted_tokens | set(self.valid_tokens)
            self._revoked_tokens |= expired
            self.valid_tokens.difference_update(expired)

    def inject(self, operation: Operation, *faults: Fault | None) -> None:
        """Apply ``faults`` to the next requests of ``operation``, in order (None: that one served as usual)."""
        with self._lock:
            self._faults[operation].extend(faults)

    def expire_upload_sessions(self) -> None:
        with self._lock:
            for session in self._sessions.values():
                session.expires_at = 0.0

    # -- serving -----------------------------------------------------------------------------

    def _in_flight(self, request: HttpRequest) -> AbstractContextManager[None]:
        mailbox = self._mailbox_of(request.path)
        return self._count_in_flight(mailbox) if mailbox is not None else nullcontext()

    def _mailbox_of(self, path: str) -> str | None:
        match = _USER_PATH.match(path)
        if match:
            return urllib.parse.unquote(match["mailbox"])
        upload = _UPLOAD_PATH.match(path)
        if upload:
            with self._lock:
                session = self._sessions.get(upload["token"])
            return session.mailbox if session else None
        return None

    @contextmanager
    def _count_in_flight(self, mailbox: str) -> Iterator[None]:
        with self._lock:
            in_flight = self._in_flight_per_mailbox.get(mailbox, 0) + 1
            self._in_flight_per_mailbox[mailbox] = in_flight
            peak = self._max_in_flight_per_mailbox.get(mailbox, 0)
            self._max_in_flight_per_mailbox[mailbox] = max(peak, in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight_per_mailbox[mailbox] -= 1

    def _handle(self, request: HttpRequest) -> HttpAnswer:
        mailbox = self._mailbox_of(request.path)
        request_id = str(uuid.uuid4())
        ids = {
            "request-id": request_id,
            "client-request-id": request.headers.get("client-request-id", request_id),
        }
        operation, match = _route(request)
        answer = self._answer(request, mailbox, operation, match, ids)
        recorded = GraphRequest(
            method=request.method,
            path=request.path,
            mailbox=mailbox if _USER_PATH.match(request.path) else None,
            headers=request.headers,
            # Without kept content, uploaded bytes are not kept in the record either (memory benchmarks).
            body=request.body if self.keep_content or operation != "upload" else b"",
            json=_json_or_none(request.body) if operation != "upload" else None,
            received_at=request.received_at,
            status=None if answer.close_without_answer else answer.status,
            operation=operation,
            mime=_mime_of(request) if operation in ("sendMail", "create") else None,
        )
        with self._lock:
            self._requests.append(recorded)
            if getattr(self._local, "blocked", False) and recorded.status == 202:
                self._blocked.append(recorded)
            self._local.blocked = False
        return answer

    def _answer(
        self,
        request: HttpRequest,
        mailbox: str | None,
        operation: Operation,
        match: re.Match[str] | None,
        ids: dict[str, str],
    ) -> HttpAnswer:
        def error(status: int, code: str, message: str) -> HttpAnswer:
            return self._error(status, code, message, ids)

        if operation == "upload":
            return self._upload(request, match, ids)
        if mailbox is None or match is None:
            return error(
                404,
                "ResourceNotFound",
                f"FakeGraph serves /v1.0/users/{{id}}/sendMail and messages, not {request.method} {request.path}",
            )
        if len(request.body) > MAX_REQUEST_BYTES:
            return error(413, "RequestEntityTooLarge", "The maximum request length supported is 4MB.")
        refusal = self._token_refusal(request.headers.get("authorization"))
        if refusal is not None:
            return error(401, "InvalidAuthenticationToken", refusal)

        with self._lock:
            over_limit = self._in_flight_per_mailbox.get(mailbox, 0) > self.mailbox_concurrency
            self._concurrency_refusals += over_limit
        if over_limit:
            answer = error(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.")
            return replace(answer, headers={**answer.headers, "Retry-After": "1"}, delay_s=0.0)

        scripted = self._next_scripted()
        if scripted is not None:
            return replace(scripted, json=_with_ids(scripted.json, ids)).as_answer(ids)
        fault = self._next_fault(operation)
        if fault == "cut_before":
            return HttpAnswer(status=0, close_without_answer=True)
        answer = self._serve(request, mailbox, operation, match, ids, fault)
        if fault == "cut_after":
            return replace(answer, close_without_answer=True)
        return answer

    def _next_fault(self, operation: Operation) -> Fault | None:
        with self._lock:
            queued = self._faults.get(operation)
            if queued:
                return queued.popleft()
        return self.fault_plan(operation) if self.fault_plan is not None else None

    def _error(self, status: int, code: str, message: str, ids: Mapping[str, str]) -> HttpAnswer:
        body = graph_error(code, message, request_id=ids["request-id"], client_request_id=ids["client-request-id"])
        return HttpAnswer.with_json(status, body, ids, delay_s=self.default_delay_s)

    def _serve(
        self,
        request: HttpRequest,
        mailbox: str,
        operation: Operation,
        match: re.Match[str],
        ids: dict[str, str],
        fault: Fault | None,
    ) -> HttpAnswer:
        def error(status: int, code: str, message: str) -> HttpAnswer:
            return self._error(status, code, message, ids)

        def json_answer(status: int, payload: Any, extra: Mapping[str, str] | None = None) -> HttpAnswer:
            return HttpAnswer.with_json(status, payload, {**ids, **(extra or {})}, delay_s=self.default_delay_s)

        if operation == "sendMail":
            return self._send_mail(request, mailbox, ids)
        if operation == "create":
            return self._create(request, mailbox, ids)
        if operation == "find":
            return self._find(request, mailbox, ids)

        message_id = urllib.parse.unquote(match["id"])
        with self._lock:
            stored = self._messages.get(message_id)
        if stored is None or stored.mailbox.lower() != mailbox.lower() or stored.visible_at > time.monotonic():
            return error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        if operation == "get":
            if fault == "transient_not_found":
                return error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
            return json_answer(200, stored.resource())
        if operation == "listAttachments":
            listed = [{"id": a.id, "name": a.name, "size": a.size} for a in stored.attachments]
            return json_answer(200, {"value": listed})
        if operation == "delete":
            with self._lock:
                self._messages.pop(message_id, None)
            return HttpAnswer(status=204, headers=ids, delay_s=self.default_delay_s)
        if not stored.is_draft:
            return error(400, "ErrorInvalidOperation", "The item is not a draft.")
        if operation == "attach":
            return self._attach(request, stored, ids)
        if operation == "createUploadSession":
            return self._create_upload_session(request, stored, ids)
        return self._send_draft(request, stored, ids)

    def _send_mail(self, request: HttpRequest, mailbox: str, ids: dict[str, str]) -> HttpAnswer:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "text/plain":
            mime = _decode_mime(request.body)
            if mime is None:
                return self._error(
                    400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.", ids
                )
            recipients = _mime_recipients(_parse_mime(mime))
            if not recipients:
                return self._error(
                    400,
                    "ErrorInvalidRecipients",
                    "At least one recipient is not valid., A message can't be sent because it contains no recipients.",
                    ids,
                )
            message_id = _mime_message_id(mime) or self._new_internet_message_id()
            self._record_mail(mailbox, "sendMail", {}, (), message_id, None, mime=mime, recipients=len(recipients))
            return HttpAnswer(status=202, headers=ids, delay_s=self.default_delay_s)
        document = _json_or_none(request.body)
        message = document.get("message", {}) if isinstance(document, dict) else {}
        if not isinstance(message, dict):
            message = {}
        internet_message_id = self._new_internet_message_id()
        attachments = tuple(self._inline_attachment(item) for item in message.get("attachments") or [])
        self._record_mail(mailbox, "sendMail", message, attachments, internet_message_id, None)
        if not (isinstance(document, dict) and str(document.get("saveToSentItems", True)).lower() == "false"):
            copy = self._store(mailbox, message, internet_message_id, is_draft=False)
            copy.attachments = list(attachments)
        return HttpAnswer(status=202, headers=ids, delay_s=self.default_delay_s)

    def _create(self, request: HttpRequest, mailbox: str, ids: dict[str, str]) -> HttpAnswer:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        mime = None
        if content_type == "text/plain":
            mime = _decode_mime(request.body)
            if mime is None:
                return self._error(
                    400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.", ids
                )
            message: dict[str, Any] = {}
            internet_message_id = _mime_message_id(mime) or self._new_internet_message_id()
        else:
            document = _json_or_none(request.body)
            if not isinstance(document, dict):
                return self._error(400, "BadRequest", "The message must be a JSON object.", ids)
            message = document
            internet_message_id = str(document.get("internetMessageId") or self._new_internet_message_id())
        attachments = [self._inline_attachment(item) for item in message.pop("attachments", None) or []]
        stored = self._store(mailbox, message, internet_message_id, is_draft=True)
        stored.mime = mime
        stored.attachments = attachments
        return HttpAnswer.with_json(201, stored.resource(), ids, delay_s=self.default_delay_s)

    def _find(self, request: HttpRequest, mailbox: str, ids: dict[str, str]) -> HttpAnswer:
        expression = request.query.get("$filter", "").strip()
        by_property = _PROPERTY_FILTER.match(expression)
        by_message_id = _MESSAGE_ID_FILTER.match(expression)
        if by_property is None and by_message_id is None:
            return self._error(400, "ErrorInvalidUrlQueryFilter", f"FakeGraph cannot filter on {expression!r}.", ids)
        now = time.monotonic()
        with self._lock:
            candidates = [
                m for m in self._messages.values() if m.mailbox.lower() == mailbox.lower() and m.visible_at <= now
            ]
        if by_property is not None:
            found = [m for m in candidates if m.extended_property(by_property["id"]) == by_property["value"]]
        else:
            assert by_message_id is not None
            found = [m for m in candidates if m.internet_message_id == by_message_id["value"]]
        found.sort(key=lambda m: (m.created_at, m.id))
        return HttpAnswer.with_json(200, {"value": [m.resource() for m in found]}, ids, delay_s=self.default_delay_s)

    def _attach(self, request: HttpRequest, stored: StoredMessage, ids: dict[str, str]) -> HttpAnswer:
        document = _json_or_none(request.body)
        if not isinstance(document, dict) or document.get("@odata.type") != "#microsoft.graph.fileAttachment":
            return self._error(400, "BadRequest", "FakeGraph takes file attachments only.", ids)
        try:
            attachment = self._inline_attachment(document)
        except (binascii.Error, ValueError, TypeError):
            return self._error(400, "BadRequest", "contentBytes is not base64.", ids)
        if attachment.size >= MAX_INLINE_ATTACHMENT_BYTES:
            return self._error(413, "RequestEntityTooLarge", "Attachments of 3 MB or more need an upload session.", ids)
        with self._lock:
            stored.attachments.append(attachment)
            stored.attached_at = time.monotonic()
        return HttpAnswer.with_json(
            201,
            {"id": attachment.id, "name": attachment.name, "size": attachment.size},
            ids,
            delay_s=self.default_delay_s,
        )

    def _create_upload_session(self, request: HttpRequest, stored: StoredMessage, ids: dict[str, str]) -> HttpAnswer:
        document = _json_or_none(request.body)
        item = document.get("AttachmentItem") if isinstance(document, dict) else None
        if not isinstance(item, dict) or item.get("attachmentType") != "file" or not item.get("name"):
            return self._error(
                400, "BadRequest", "AttachmentItem with attachmentType file and a name is required.", ids
            )
        size = item.get("size")
        if not isinstance(size, int) or size <= 0:
            return self._error(400, "BadRequest", "AttachmentItem.size must be a positive number of bytes.", ids)
        if size > MAX_UPLOAD_SESSION_BYTES:
            return self._error(413, "RequestEntityTooLarge", "Attachments are limited to 150 MB.", ids)
        if stored.size_bytes() + size > self.max_message_bytes:
            return self._error(400, "ErrorMessageSizeExceeded", "The message exceeds the maximum supported size.", ids)
        token = uuid.uuid4().hex
        session = _UploadSession(
            token=token,
            mailbox=stored.mailbox,
            message_id=stored.id,
            name=str(item["name"]),
            size=size,
            content_type=item.get("contentType"),
            is_inline=bool(item.get("isInline")),
            content_id=item.get("contentId"),
            expires_at=time.time() + self.session_lifetime_s,
            received=bytearray(),
            digest=hashlib.sha256(),
        )
        with self._lock:
            self._sessions[token] = session
        return HttpAnswer.with_json(
            201,
            {
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.uploadSession",
                "uploadUrl": f"{self.base_url}/upload/{token}",
                "expirationDateTime": _iso(session.expires_at),
                "nextExpectedRanges": ["0-"],
            },
            ids,
            delay_s=self.default_delay_s,
        )

    def _upload(self, request: HttpRequest, match: re.Match[str] | None, ids: dict[str, str]) -> HttpAnswer:
        def error(status: int, code: str, message: str, **extra: Any) -> HttpAnswer:
            answer = self._error(status, code, message, ids)
            if not extra:
                return answer
            document = jsonlib.loads(answer.body)
            document.update(extra)
            return replace(answer, body=jsonlib.dumps(document).encode())

        if request.method != "PUT" or match is None:
            return error(405, "MethodNotAllowed", "The upload URL takes PUT requests.")
        # The URL carries its own token: "don't specify an Authorization request header" (outlook-large-attachments).
        if "authorization" in request.headers:
            return error(401, "InvalidAuthenticationToken", "The upload URL is pre-authenticated; drop Authorization.")
        with self._lock:
            session = self._sessions.get(match["token"])
        if session is None or session.expires_at <= time.time():
            return error(404, "ErrorItemNotFound", "The upload session does not exist or has expired.")
        fault = self._next_fault("upload")
        if fault == "cut_before":
            return HttpAnswer(status=0, close_without_answer=True)
        content_range = _CONTENT_RANGE.match(request.headers.get("content-range", ""))
        if content_range is None:
            return error(400, "InvalidContentRange", "Content-Range must be 'bytes {start}-{end}/{total}'.")
        start, end, total = (int(content_range[name]) for name in ("start", "end", "total"))
        length = end - start + 1
        if total != session.size:
            return error(400, "InvalidContentRange", f"The session is for {session.size} bytes, not {total}.")
        if length <= 0 or len(request.body) != length:
            return error(400, "InvalidContentRange", "The body's length does not match Content-Range.")
        if length > MAX_UPLOAD_CHUNK_BYTES:
            return error(413, "RequestEntityTooLarge", "Upload at most 4 MB per request.")
        last = end + 1 == session.size
        if not last and length % UPLOAD_CHUNK_UNIT_BYTES:
            return error(400, "InvalidChunkSize", "Every chunk but the last must be a multiple of 320 KiB.")
        with self._lock:
            if start != session.next_offset:
                return error(
                    416,
                    "InvalidRange",
                    f"The next expected byte is {session.next_offset}.",
                    nextExpectedRanges=[str(session.next_offset)],
                )
            session.digest.update(request.body)
            if self.keep_content:
                session.received += request.body
            session.next_offset = end + 1
            session.expires_at = time.time() + self.session_lifetime_s  # each chunk extends it
            stored = self._messages.get(session.message_id)
            if last:
                self._sessions.pop(session.token, None)
                attachment_id = f"att-{next(self._ids)}"
                if stored is not None:
                    stored.attachments.append(
                        StoredAttachment(
                            id=attachment_id,
                            name=session.name,
                            content_type=session.content_type,
                            size=session.size,
                            sha256=session.digest.hexdigest(),
                            content=bytes(session.received) if self.keep_content else None,
                            is_inline=session.is_inline,
                            content_id=session.content_id,
                        )
                    )
                    stored.attached_at = time.monotonic()
        answer: HttpAnswer
        if last:
            location = (
                f"https://graph.microsoft.com/v1.0/users('{session.mailbox}')/messages('{session.message_id}')"
                f"/attachments('{attachment_id}')"
            )
            answer = HttpAnswer(status=201, headers={**ids, "Location": location}, delay_s=self.default_delay_s)
        else:
            answer = HttpAnswer.with_json(
                200,
                {"expirationDateTime": _iso(session.expires_at), "nextExpectedRanges": [str(session.next_offset)]},
                ids,
                delay_s=self.default_delay_s,
            )
        return replace(answer, close_without_answer=True) if fault == "cut_after" else answer

    def _send_draft(self, request: HttpRequest, stored: StoredMessage, ids: dict[str, str]) -> HttpAnswer:
        if stored.size_bytes() > self.max_message_bytes:
            return self._error(400, "ErrorMessageSizeExceeded", "The message exceeds the maximum supported size.", ids)
        with self._lock:
            if self._messages.get(stored.id) is not stored:  # sent by a concurrent /send
                return self._error(404, "ErrorItemNotFound", "The specified object was not found in the store.", ids)
            del self._messages[stored.id]
        property_value = stored.extended_property(self.tracked_property) if self.tracked_property else None
        # A draft made of MIME is addressed by its own headers, counted as sendMail's MIME form is.
        mime_recipients = len(_mime_recipients(_parse_mime(stored.mime))) if stored.mime is not None else None
        if mime_recipients == 0:
            with self._lock:  # Exchange keeps a draft it cannot send
                self._messages[stored.id] = stored
            return self._error(
                400,
                "ErrorInvalidRecipients",
                "At least one recipient is not valid., A message can't be sent because it contains no recipients.",
                ids,
            )
        self._record_mail(
            stored.mailbox,
            "draft",
            stored.message,
            tuple(stored.attachments),
            stored.internet_message_id,
            property_value,
            mime=stored.mime,
            recipients=mime_recipients,
        )
        if str(stored.extended_property(DELETE_AFTER_SUBMIT_PROPERTY)).lower() == "true":
            # PidTagDeleteAfterSubmit: Exchange deletes the message once sent and files no copy (MS-OXOMSG 3.3.5.1.3).
            return HttpAnswer(status=202, headers=ids, delay_s=self.default_delay_s)
        # Otherwise /send saves the message in Sent Items, under a new id (message-send).
        copy = self._store(stored.mailbox, stored.message, stored.internet_message_id, is_draft=False)
        copy.attachments = stored.attachments
        copy.mime = stored.mime
        copy.visible_at = time.monotonic() + self.sent_copy_delay_s
        return HttpAnswer(status=202, headers=ids, delay_s=self.default_delay_s)

    # -- the mailbox's store ------------------------------------------------------------------

    def _store(
        self, mailbox: str, message: dict[str, Any], internet_message_id: str, *, is_draft: bool
    ) -> StoredMessage:
        with self._lock:
            number = next(self._ids)
            stored = StoredMessage(
                id=f"AAMkAD{number:06d}{uuid.uuid4().hex[:8]}=",
                mailbox=mailbox,
                message=message,
                internet_message_id=internet_message_id,
                created_at=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                is_draft=is_draft,
            )
            self._messages[stored.id] = stored
            return stored

    def _new_internet_message_id(self) -> str:
        return f"<{uuid.uuid4().hex}@fake.graph.example>"

    def _inline_attachment(self, item: Any) -> StoredAttachment:
        content = base64.b64decode(str(item.get("contentBytes", "")), validate=True)
        return StoredAttachment(
            id=f"att-{next(self._ids)}",
            name=str(item.get("name", "")),
            content_type=item.get("contentType"),
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            content=content if self.keep_content else None,
            is_inline=bool(item.get("isInline")),
            content_id=item.get("contentId"),
        )

    def _record_mail(
        self,
        mailbox: str,
        via: Literal["sendMail", "draft"],
        message: dict[str, Any],
        attachments: tuple[StoredAttachment, ...],
        internet_message_id: str,
        property_value: str | None,
        *,
        mime: bytes | None = None,
        recipients: int | None = None,
    ) -> None:
        """Exchange's recipient rate: once past it, the mailbox's accepted mail is blocked."""
        fields = ("toRecipients", "ccRecipients", "bccRecipients")
        count = recipients if recipients is not None else sum(len(message.get(field) or []) for field in fields)
        with self._lock:
            key = mailbox.lower()
            total = self._recipients_accepted.get(key, 0) + count
            self._recipients_accepted[key] = total
            if total > self.recipients_per_day:
                self._blocked_mailboxes.add(key)
            blocked = key in self._blocked_mailboxes
            self._mails.append(
                SentMail(mailbox, via, message, attachments, internet_message_id, property_value, mime, blocked)
            )
            self._local.blocked = blocked  # _handle files the request under ``blocked``

    def _token_refusal(self, authorization: str | None) -> str | None:
        """Why Graph would refuse this Authorization header, or None to accept it."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return "Access token is empty."
        token = token.strip()
        with self._lock:
            if token in self._revoked_tokens:
                return "Lifetime validation failed, the token is expired."
            if self.valid_tokens and token not in self.valid_tokens:
                return "Access token validation failure. Invalid audience."
            self._accepted_tokens.add(token)
        return None


def _route(request: HttpRequest) -> tuple[Operation, re.Match[str] | None]:
    upload = _UPLOAD_PATH.match(request.path)
    if upload:
        return "upload", upload
    user = _USER_PATH.match(request.path)
    if user is None:
        return "other", None
    for method, pattern, operation in _ROUTES:
        match = pattern.match(user["rest"])
        if match and request.method == method:
            return operation, match
    return "other", None


def _iso(epoch_s: float) -> str:
    return datetime.datetime.fromtimestamp(epoch_s, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _decode_mime(body: bytes) -> bytes | None:
    """The message in a MIME body; None when it is not base64 (.NET's decoder, which Graph uses, skips
    whitespace and wants whole 4-character groups, where Python forgives surplus padding)."""
    compact = re.sub(rb"\s+", b"", body)
    if len(compact) % 4:
        return None
    try:
        return base64.b64decode(compact, validate=True) or None
    except (binascii.Error, ValueError):
        return None


def _parse_mime(raw: bytes) -> EmailMessage:
    return email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)


def _mime_of(request: HttpRequest) -> EmailMessage | None:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "text/plain":
        return None
    raw = _decode_mime(request.body)
    return _parse_mime(raw) if raw is not None else None


def message_of_mime(mime: EmailMessage) -> dict[str, Any]:
    """A MIME message as the message resource Exchange makes of it: subject, the HTML part or else the
    text, recipients with their names, importance, the ``X-Mailhook-*`` headers."""
    message: dict[str, Any] = {"subject": str(mime["Subject"] or "")}
    part = mime.get_body(preferencelist=("html", "plain"))
    if isinstance(part, EmailMessage):
        # A MIME body's lines end in CRLF, and the email package ends it with one: undone for comparing.
        content = part.get_content().replace("\r\n", "\n").removesuffix("\n")
        message["body"] = {
            "contentType": "html" if part.get_content_subtype() == "html" else "text",
            "content": content,
        }
    for header, field_name in (("To", "toRecipients"), ("Cc", "ccRecipients"), ("Bcc", "bccRecipients")):
        recipients = [
            {"emailAddress": {"address": a.addr_spec, **({"name": a.display_name} if a.display_name else {})}}
            for value in mime.get_all(header) or ()
            for a in getattr(value, "addresses", ())
        ]
        if recipients:
            message[field_name] = recipients
    if mime["Importance"]:
        message["importance"] = str(mime["Importance"]).lower()
    headers = [{"name": n, "value": str(v)} for n, v in mime.items() if n.lower().startswith("x-mailhook-")]
    if headers:
        message["internetMessageHeaders"] = headers
    return message


def _mime_recipients(message: EmailMessage) -> list[str]:
    try:
        return [
            address.addr_spec
            for header in ("To", "Cc", "Bcc")
            for value in message.get_all(header) or ()
            for address in getattr(value, "addresses", ())
        ]
    except Exception:  # the email package raises on some hostile headers: for Graph, no recipient it reads
        return []


def _mime_message_id(mime: bytes) -> str | None:
    headers = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(mime)
    value = headers.get("Message-ID")
    return str(value).strip() if value else None


def _json_or_none(body: bytes) -> Any:
    if not body:
        return None
    try:
        return jsonlib.loads(body)
    except ValueError:
        return None


def _with_ids(payload: Any, ids: Mapping[str, str]) -> Any:
    """A Graph error body whose ``innerError`` ids are those of the response carrying it."""
    inner = payload.get("error", {}).get("innerError") if isinstance(payload, dict) else None
    if not isinstance(inner, dict):
        return payload
    inner = {**inner, "request-id": ids["request-id"], "client-request-id": ids["client-request-id"]}
    return {**payload, "error": {**payload["error"], "innerError": inner}}
