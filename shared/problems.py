"""RFC 9457 problem documents: the one shape every error answer of the bridge takes.

Each failure is an exception class defined next to the code that raises it; it names its HTTP
status and a stable ``code``. This module knows how to turn one into a response, and holds the
three categories of a failed delivery (``RetryLater``, with its ``Deferred`` kind, ``OutcomeUnknown``,
``Refused``): what a caller of a transport or of the token provider decides by, without naming the
failure itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import azure.functions as func

PROBLEM_TYPE_PREFIX = "urn:mailhook:problem:"
PROBLEM_CONTENT_TYPE = "application/problem+json"


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class Problem(Exception):
    """Base of every failure that becomes an HTTP answer."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = tuple(errors)
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def to_document(self, request_id: str | None) -> dict[str, Any]:
        document: dict[str, Any] = {
            "type": PROBLEM_TYPE_PREFIX + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if request_id:
            document["requestId"] = request_id
        if self.errors:
            document["errors"] = [{"field": e.field, "message": e.message} for e in self.errors]
        document.update(self.extra)
        return document


class RetryLater(Problem):
    """Nothing was sent; the same request may succeed after ``retry_after_s`` (None: back off)."""

    status = 503

    def __init__(
        self,
        detail: str,
        *,
        retry_after_s: int | None = None,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        all_headers = dict(headers or {})
        if retry_after_s is not None:
            all_headers["Retry-After"] = str(retry_after_s)
        super().__init__(detail, errors=errors, headers=all_headers, extra=extra)
        retry_after = self.headers.get("Retry-After", "")
        self.retry_after_s = int(retry_after) if retry_after.isdigit() else None


class StorageUnavailable(RetryLater):
    """The storage account (a queue, table or blob the delivery needs) cannot be reached: nothing was
    sent, and a retry a few seconds later usually gets through."""

    status = 503

    def __init__(self, detail: str) -> None:
        super().__init__(detail, retry_after_s=5)


class Deferred(RetryLater):
    """Not attempted: one of our own limits (the mailbox's pace, budget or send slots) says not now.

    Nothing was tried, so a queued message that is deferred goes back without using up one of its
    attempts: a storm can defer a message many times and it must still go out.
    """

    status = 429


class OutcomeUnknown(Problem):
    """The request may have been sent and acted on: retrying could deliver it twice, so never retry.

    ``resumable``: the transport can find out later and finish the send without sending it twice
    (``resume``, a draft it can ask Graph about), so a retry of the same request should resume it.
    """

    status = 504
    resumable = False


class Refused(Problem):
    """Refused for good: the same request would be refused again; the request or a setting must change."""

    status = 502


def json_response(
    document: Mapping[str, Any],
    status: int,
    request_id: str | None = None,
    *,
    mimetype: str = "application/json",
    headers: Mapping[str, str] | None = None,
) -> func.HttpResponse:
    all_headers = dict(headers or {})
    if request_id:
        all_headers["X-Request-Id"] = request_id
    return func.HttpResponse(
        body=json.dumps(document), status_code=status, headers=all_headers, mimetype=mimetype, charset="utf-8"
    )


def problem_response(problem: Problem, request_id: str | None) -> func.HttpResponse:
    return json_response(
        problem.to_document(request_id),
        problem.status,
        request_id,
        mimetype=PROBLEM_CONTENT_TYPE,
        headers=problem.headers,
    )


def field_path(location: tuple[int | str, ...]) -> str:
    """A pydantic error location as the caller wrote it: ``message.toRecipients[0].emailAddress``."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "[key]" or part.startswith(("function-", "json-or-python")):
            continue  # pydantic's internal validator names, meaningless to a caller
        else:
            path += f".{part}" if path else part
    return path
