"""A fake Microsoft Graph that serves ``POST /v1.0/users/{id | userPrincipalName}/sendMail``.

Behaviour follows Graph's documentation (https://learn.microsoft.com/graph/api/user-sendmail,
https://learn.microsoft.com/graph/errors, https://learn.microsoft.com/graph/throttling): 202 with an empty body on
success, ``request-id``/``client-request-id`` headers, Graph's error body shape, 401
``InvalidAuthenticationToken`` for a refused bearer token, 413 above the 4 MB request cap.

Two limits of the mailbox behind it, as strict as Microsoft documents them:
- Outlook's 4 concurrent requests per app and mailbox: the fifth in flight is answered 429
  ``ApplicationThrottled`` "Application is over its MailboxConcurrency limit." with Retry-After
  (https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits);
- Exchange's recipient rate (10,000 per rolling 24 hours; ``recipients_per_day``): past it the
  mailbox is blocked from sending while sendMail still answers 202, so every message accepted from
  then on is recorded in ``blocked``, never delivered, and nothing in the answer says so
  (https://learn.microsoft.com/office365/servicedescriptions/exchange-online-service-description/exchange-online-limits).
"""

from __future__ import annotations

import datetime
import json as jsonlib
import re
import urllib.parse
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from typing import Any

from . import FakeHttpServer, HttpAnswer, HttpRequest

# "The maximum request length supported is 4MB." (microsoftgraph/microsoft-graph-docs-contrib#682)
MAX_REQUEST_BYTES = 4 * 1024 * 1024

# Graph matches path segments case-insensitively; the mailbox is an object id or a UPN.
_SEND_MAIL_PATH = re.compile(r"^/v1\.0/users/(?P<mailbox>[^/]+)/sendMail$", re.IGNORECASE)


@dataclass(frozen=True)
class GraphRequest:
    """A request FakeGraph received, and how it answered."""

    method: str
    path: str
    mailbox: str | None  # URL-decoded; None when the path is not a sendMail path
    headers: dict[str, str]  # lower-cased names
    body: bytes
    json: Any  # the body parsed as JSON, None when it is empty or not JSON (MIME sends)
    received_at: float  # time.monotonic()
    status: int | None  # what FakeGraph answered; None when it closed without answering


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
    """Fake Graph sendMail. Use as ``with FakeGraph() as graph:``; point the client at ``graph.base_url``.

    Tokens: when ``valid_tokens`` is empty any bearer token is accepted, else only those in it.
    ``expire_tokens()``/``revoke()`` make tokens be refused from then on, whatever the mode.
    """

    def __init__(
        self,
        *,
        default_delay_s: float = 0.0,
        valid_tokens: Iterable[str] = (),
        mailbox_concurrency: int = 4,
        recipients_per_day: int = 10_000,
    ) -> None:
        super().__init__()
        self.mailbox_concurrency = mailbox_concurrency
        self.recipients_per_day = recipients_per_day
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

    @property
    def requests(self) -> list[GraphRequest]:
        """Every request received, in the order FakeGraph handled them (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def sent(self) -> list[GraphRequest]:
        """The requests answered 202 Accepted, i.e. the mails Graph would send."""
        return [request for request in self.requests if request.status == 202]

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

    # -- serving -----------------------------------------------------------------------------

    def _in_flight(self, request: HttpRequest) -> AbstractContextManager[None]:
        mailbox = _mailbox_of(request.path)
        return self._count_in_flight(mailbox) if mailbox is not None else nullcontext()

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
        mailbox = _mailbox_of(request.path)
        request_id = str(uuid.uuid4())
        ids = {
            "request-id": request_id,
            "client-request-id": request.headers.get("client-request-id", request_id),
        }
        answer = self._answer(request, mailbox, ids)
        recorded = GraphRequest(
            method=request.method,
            path=request.path,
            mailbox=mailbox,
            headers=request.headers,
            body=request.body,
            json=_json_or_none(request.body),
            received_at=request.received_at,
            status=None if answer.close_without_answer else answer.status,
        )
        with self._lock:
            self._requests.append(recorded)
            if recorded.status == 202 and mailbox is not None:
                self._count_recipients(mailbox.lower(), recorded)
        return answer

    def _count_recipients(self, mailbox: str, recorded: GraphRequest) -> None:
        """Exchange's recipient rate: once past it, the mailbox's accepted mail is blocked."""
        message = recorded.json.get("message", {}) if isinstance(recorded.json, dict) else {}
        count = sum(len(message.get(field) or []) for field in ("toRecipients", "ccRecipients", "bccRecipients"))
        total = self._recipients_accepted.get(mailbox, 0) + count
        self._recipients_accepted[mailbox] = total
        if total > self.recipients_per_day:
            self._blocked_mailboxes.add(mailbox)
        if mailbox in self._blocked_mailboxes:
            self._blocked.append(recorded)

    def _answer(self, request: HttpRequest, mailbox: str | None, ids: dict[str, str]) -> HttpAnswer:
        def error(status: int, code: str, message: str) -> HttpAnswer:
            body = graph_error(
                code,
                message,
                request_id=ids["request-id"],
                client_request_id=ids["client-request-id"],
            )
            return HttpAnswer.with_json(status, body, ids, delay_s=self.default_delay_s)

        if mailbox is None or request.method != "POST":
            return error(
                404,
                "ResourceNotFound",
                f"FakeGraph only serves POST /v1.0/users/{{id}}/sendMail, not {request.method} {request.path}",
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
        return HttpAnswer(status=202, headers=ids, delay_s=self.default_delay_s)

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


def _mailbox_of(path: str) -> str | None:
    match = _SEND_MAIL_PATH.match(path)
    return urllib.parse.unquote(match["mailbox"]) if match else None


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
