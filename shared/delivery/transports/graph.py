"""The Graph transport: POST /users/{mailbox}/sendMail with retries that never send twice.

With MAIL_SEND_METHOD=draft, and for every message sendMail cannot carry (4 MB or more, or a file
of 3 MB or more), it sends through a draft instead (``graph_drafts``), over the same requests
(``call``), retries and mailbox slots; only that path can ``resume`` a send whose outcome was unknown.

What is retried, inside the send (https://learn.microsoft.com/graph/throttling):
- 429 and 503, after ``Retry-After`` (seconds or an HTTP date), or exponential backoff with
  full jitter when Graph gives none: Graph refused the request before acting on it;
- a connection that failed before the request left (refused, DNS, connect timeout);
- a 401, once, with a fresh token.
What is never retried: a read timeout, a connection lost after the request was sent, or a 504 (a
gateway that gave up waiting for Exchange, which may still finish the send) — Graph may have
accepted the message, and sendMail has no idempotency key
(https://learn.microsoft.com/graph/api/user-sendmail). MSAL retries none of this: it throttles
only its own token calls.
Everything happens inside one deadline (MAIL_SEND_DEADLINE_S), and at most four requests per
mailbox are in flight from this process, the Outlook service's concurrency limit
(https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits).

Its failures are the delivery categories of ``transports.base``: throttled or unavailable past the
deadline is RetryLater; no answer after sending, or a 500, 502 or 504, is OutcomeUnknown; any
other refusal is Refused.
These classes are this module's own; no caller names them.
"""

from __future__ import annotations

import email.utils
import math
import random
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NameResolutionError, NewConnectionError

from shared.azure.tokens import TokenProvider
from shared.logs import get_logger
from shared.mail.graph_message import GraphSend
from shared.mail.sizes import too_large_for_send_mail
from shared.problems import OutcomeUnknown, Refused, RetryLater
from shared.settings import GraphSettings
from shared.settings.graph import SendMethod

if TYPE_CHECKING:
    from shared.delivery.transports.base import Resumed, SendProgress
    from shared.delivery.transports.graph_drafts import GraphDrafts

log = get_logger(__name__)

MAILBOX_CONCURRENCY = 4
CONNECT_TIMEOUT_S = 5.0
BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 8.0
MIN_RETRY_DELAY_S = 0.1  # even "Retry-After: 0" must not become a tight loop
_RETRYABLE_STATUSES = {429, 503}


class GraphRejectedMessage(Refused):
    status = 422
    code = "graph_rejected_message"
    title = "Microsoft Graph rejected the message"


class GraphRequestTooLarge(Refused):
    status = 413
    code = "message_too_large"
    title = "The message is too large for Microsoft Graph"


class GraphConfigurationError(Refused):
    """Graph refused our credentials or mailbox: nothing the caller can fix, an operator must."""

    status = 502
    code = "graph_configuration_error"
    title = "Microsoft Graph refused the bridge's credentials or mailbox"


class GraphFailed(OutcomeUnknown):
    """Another 5xx (500, 502): Graph may have acted on it before failing, so, like a lost answer, the
    outcome is unknown: never retried, and its idempotency key is kept so no retry sends it twice."""

    status = 502
    code = "graph_error"
    title = "Microsoft Graph failed"


class GraphUnavailable(RetryLater):
    status = 503
    code = "graph_unavailable"
    title = "Microsoft Graph is throttling or unavailable"


class GraphTimeout(OutcomeUnknown):
    status = 504
    code = "graph_timeout"
    title = "Microsoft Graph did not answer in time"


class GraphTransport:
    name = "graph"

    def __init__(
        self,
        graph: GraphSettings,
        tokens: TokenProvider,
        session: requests.Session,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._graph = graph
        self._tokens = tokens
        self._session = session
        self._sleep = sleep
        # Session.post() asks os.environ for proxies, NO_PROXY and CA bundles on every call, and
        # reading them walks the whole environment several times: with a worker's 100+ variables
        # that was most of a send's CPU (bench/results.md). They are read once here, for the one
        # Graph host this transport talks to, the way settings are read.
        self._send_options = session.merge_environment_settings(graph.base_url, {}, None, None, None)
        self._mailbox_slots: dict[str, threading.BoundedSemaphore] = {}
        self._slots_lock = threading.Lock()
        self._draft_sender: GraphDrafts | None = None

    def send(self, mail: GraphSend, request_id: str, progress: SendProgress | None = None) -> None:
        if self._sends_as_draft(mail):
            self._drafts().send(mail, request_id, progress)
            return
        deadline = time.monotonic() + self._graph.send_deadline_s
        url = f"{self.users_url(mail.mailbox)}/sendMail"
        with self.mailbox_slot(mail.mailbox, deadline):
            # JSON, or text/plain for the MIME form (https://learn.microsoft.com/graph/api/user-sendmail).
            self.call("POST", url, deadline, request_id, body=mail.body, content_type=mail.content_type)
        # No line of its own: the endpoint or the queue worker logs the delivery right after, with the
        # recipients and the mailbox (one line per message, not two, to read and to pay for in App Insights).

    def can_resume(self, mail: GraphSend) -> bool:
        """Whether a send of ``mail`` whose outcome was unknown can be finished later: only a draft
        can be asked about (a sendMail request leaves nothing to look up)."""
        return self._sends_as_draft(mail)

    def resume(self, mail: GraphSend, request_id: str, progress: SendProgress) -> Resumed:
        """Finish the earlier send of request ``request_id``, which got as far as ``progress`` says."""
        return self._drafts().resume(mail, request_id, progress)

    def _sends_as_draft(self, mail: GraphSend) -> bool:
        if mail.mime is not None:
            # A draft can be made of MIME too (https://learn.microsoft.com/graph/api/user-post-messages,
            # "MIME format"), and found again by its Message-ID, which Exchange keeps: with the draft
            # method, a MIME message that has one goes as a draft. Without one there is nothing to look
            # it up by, so it goes by sendMail (policy keeps the MIME form under 4 MB).
            return self._graph.send_method is SendMethod.DRAFT and mail.mime.message_id is not None
        return self._graph.send_method is SendMethod.DRAFT or too_large_for_send_mail(mail)

    def _drafts(self) -> GraphDrafts:
        # Imported on first use: most deployments never send a draft (cold start, function_app.py).
        if self._draft_sender is None:
            from shared.delivery.transports.graph_drafts import GraphDrafts

            self._draft_sender = GraphDrafts(self)
        return self._draft_sender

    def users_url(self, mailbox: str) -> str:
        return f"{self._graph.base_url}/v1.0/users/{quote(mailbox, safe='@')}"

    def pause(self, delay_s: float) -> None:
        self._sleep(delay_s)

    @property
    def send_deadline_s(self) -> float:
        return self._graph.send_deadline_s

    @contextmanager
    def mailbox_slot(self, mailbox: str, deadline: float) -> Iterator[None]:
        with self._slots_lock:
            slot = self._mailbox_slots.setdefault(mailbox.lower(), threading.BoundedSemaphore(MAILBOX_CONCURRENCY))
        if not slot.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise GraphUnavailable(
                f"{MAILBOX_CONCURRENCY} sends from this mailbox were already in flight until the deadline.",
                retry_after_s=5,
            )
        try:
            yield
        finally:
            slot.release()

    def call(
        self,
        method: str,
        url: str,
        deadline: float,
        request_id: str,
        *,
        body: bytes | None = None,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
        authorized: bool = True,
        answers: Collection[int] = (),
    ) -> requests.Response:
        """One Graph request, retried as the module says; a 2xx (or a status in ``answers``) is returned,
        anything else raised as its category. ``authorized`` False sends no bearer token (an upload
        session's pre-authenticated URL refuses one with 401)."""
        attempt = 0
        refused_token: str | None = None
        token = self._tokens.access_token() if authorized else None
        while True:
            attempt += 1
            request_headers = {
                "client-request-id": request_id,
                "return-client-request-id": "true",
                **(headers or {}),
            }
            if body is not None:
                request_headers["Content-Type"] = content_type
            if token is not None:
                request_headers["Authorization"] = f"Bearer {token}"
            remaining_s = deadline - time.monotonic()
            if remaining_s <= 0:
                # Nothing was sent this time, so unlike a read timeout this is safe to retry later.
                raise GraphUnavailable("The send deadline passed before Graph could be asked again.", retry_after_s=1)
            try:
                # Prepared without the session: Session.prepare_request() also reads ~/.netrc and
                # merges cookies on every call, half of a send's CPU, for nothing Graph uses.
                prepared = requests.PreparedRequest()
                prepared.prepare(method=method, url=url, headers=request_headers, data=body)
                response = self._session.send(
                    prepared,
                    timeout=(min(CONNECT_TIMEOUT_S, remaining_s), remaining_s),
                    allow_redirects=False,  # a redirect must never carry the bearer token elsewhere
                    **self._send_options,
                )
            except requests.RequestException as exc:
                if not _failed_before_sending(exc):
                    log.error("Graph did not answer (attempt %d): %s; not retried", attempt, type(exc).__name__)
                    raise GraphTimeout(
                        "Graph did not answer after the request was sent. It may or may not have "
                        "accepted the message; the bridge does not retry, so it is never sent twice.",
                    ) from None
                delay_s = _backoff_s(attempt)
                log.warning("Graph unreachable (attempt %d): %s", attempt, type(exc).__name__)
                self._wait_or_give_up(deadline, delay_s, f"Graph could not be reached ({type(exc).__name__}).")
                continue

            graph_request_id = response.headers.get("request-id", "")
            if 200 <= response.status_code < 300 or response.status_code in answers:
                log.debug(
                    "Graph answered %d to %s (graph request-id %s)", response.status_code, method, graph_request_id
                )
                return response
            error_code, error_message = _graph_error(response)
            log.warning(
                "Graph answered %d %s (graph request-id %s, attempt %d)",
                response.status_code, error_code, graph_request_id, attempt,
            )  # fmt: skip
            if response.status_code == 401 and refused_token is None and token is not None:
                refused_token = token
                token = self._tokens.access_token(refused=refused_token)
                continue
            if response.status_code in _RETRYABLE_STATUSES:
                retry_after_s = _retry_after_s(response.headers.get("Retry-After"))
                self._wait_or_give_up(
                    deadline,
                    retry_after_s if retry_after_s is not None else _backoff_s(attempt),
                    f"Graph answered {response.status_code} {error_code} and the send deadline is reached.",
                    extra={
                        "graphStatus": response.status_code, "graphError": error_code,
                        "graphRequestId": graph_request_id,
                    },
                )  # fmt: skip
                continue
            raise _classify(response.status_code, error_code, error_message, graph_request_id)

    def _wait_or_give_up(
        self, deadline: float, delay_s: float, reason: str, *, extra: dict[str, Any] | None = None
    ) -> None:
        """Sleep ``delay_s``, or give up with 503 and Retry-After if that passes the deadline; a
        throttling answer's own status, error code and request-id go with it (``extra``)."""
        delay_s = max(delay_s, MIN_RETRY_DELAY_S)
        if time.monotonic() + delay_s >= deadline:
            raise GraphUnavailable(f"{reason} Try again later.", retry_after_s=max(1, math.ceil(delay_s)), extra=extra)
        self._sleep(delay_s)


def _failed_before_sending(exc: requests.RequestException) -> bool:
    """True only when no byte of the request can have reached Graph."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError) and exc.args:
        reason = exc.args[0].reason if isinstance(exc.args[0], MaxRetryError) else exc.args[0]
        return isinstance(reason, NewConnectionError | NameResolutionError | ConnectTimeoutError)
    return False


def _backoff_s(attempt: int) -> float:
    return random.uniform(  # noqa: S311 (jitter, not cryptography)
        0, min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (attempt - 1))
    )


def _retry_after_s(value: str | None) -> float | None:
    """Retry-After as seconds, from delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _graph_error(response: requests.Response) -> tuple[str, str]:
    try:
        error: Any = response.json().get("error", {})
        return str(error.get("code", "")), str(error.get("message", ""))
    except (ValueError, AttributeError):
        return "", ""


def _classify(status: int, error_code: str, error_message: str, graph_request_id: str) -> Refused | OutcomeUnknown:
    extra = {"graphStatus": status, "graphError": error_code, "graphRequestId": graph_request_id}
    if status == 413 or "maximum request length" in error_message.lower():
        return GraphRequestTooLarge("Microsoft Graph refused the request as too large (4 MB limit).", extra=extra)
    if error_code == "ErrorMessageSizeExceeded":
        # Past the mailbox's maximum message size (35 MB by default, an admin setting), not Graph's
        # request limit (https://learn.microsoft.com/graph/api/attachment-createuploadsession).
        return GraphRequestTooLarge(
            "The message exceeds the mailbox's maximum message size (ErrorMessageSizeExceeded).", extra=extra
        )
    if status == 401:
        return GraphConfigurationError(
            "Graph refused the bridge's token twice. Check the app registration or managed identity.", extra=extra
        )
    if status == 403:
        if "AccessPolicy" in error_message or "[RAOP]" in error_message:
            detail = (
                "The tenant's application access policy or RBAC for Applications does not let the bridge "
                "send as this mailbox."
            )
        elif error_code == "ErrorSendAsDenied":
            detail = "The bridge may not send as this mailbox (no SendAs permission)."
        else:
            detail = "Graph denied access: grant the Mail.Send application permission (see README)."
        return GraphConfigurationError(detail, extra=extra)
    if status == 404:
        return GraphConfigurationError(
            "Graph does not know the sender mailbox (no Exchange Online mailbox for it).", extra=extra
        )
    if 400 <= status < 500:
        return GraphRejectedMessage(
            f"Graph refused the message ({error_code or status}): {error_message[:300]}", extra=extra
        )
    if status == 504:
        # A gateway gave up waiting for the mailbox server, which may still send the message.
        return GraphTimeout(
            "Graph answered 504 Gateway Timeout: the message may or may not have been sent; the bridge "
            "does not retry, so it is never sent twice.",
            extra=extra,
        )
    # Another 5xx: Graph may have acted on the request, so it is reported, not retried.
    return GraphFailed(f"Graph failed with {status} {error_code}; not retried, so never sent twice.", extra=extra)
