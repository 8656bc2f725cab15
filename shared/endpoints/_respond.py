"""What every HTTP endpoint does around its own work: a request id, the log context, and one answer shape.

A handler returns a response or raises a Problem, which becomes an RFC 9457 problem document
(https://www.rfc-editor.org/rfc/rfc9457). Anything else it raises is a bug: it is logged with
its stack trace and answered 500 problem+json with the request id, never the host's empty 500,
so the caller has an id to report and the operator a trace to find by it.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from typing import Concatenate, ParamSpec

import azure.functions as func

from shared.logs import get_logger, request_context
from shared.problems import Problem, RetryLater, problem_response

log = get_logger(__name__)

P = ParamSpec("P")
Handler = Callable[Concatenate[func.HttpRequest, str, P], func.HttpResponse]


class InternalError(Problem):
    status = 500
    code = "internal_error"
    title = "Internal error"


def responding(handler: Handler[P]) -> Callable[Concatenate[func.HttpRequest, P], func.HttpResponse]:
    """Wrap ``handler(req, request_id, ...)`` into an endpoint ``(req, ...)`` that always answers."""

    @functools.wraps(handler)
    def endpoint(req: func.HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> func.HttpResponse:
        request_id = str(uuid.uuid4())
        with request_context(request_id):
            try:
                return handler(req, request_id, *args, **kwargs)
            except Problem as problem:
                return answer_problem(problem, request_id)
            except Exception:
                log.exception("unexpected failure; answered 500")
                return problem_response(
                    InternalError(
                        "The bridge failed unexpectedly. Report the requestId: the operator's logs hold "
                        "the details, and whether anything was sent."
                    ),
                    request_id,
                )

    return endpoint


def answer_problem(problem: Problem, request_id: str) -> func.HttpResponse:
    """Log a failure (a warning for the caller's, an error for ours) and answer it."""
    # The caller's mistakes, and what a retry will get through (throttling, an earlier request still
    # sending), are warnings; an error is ours or our dependencies' to fix.
    level = logging.WARNING if problem.status < 500 or isinstance(problem, RetryLater) else logging.ERROR
    log.log(level, "answered %d %s: %s", problem.status, problem.code, problem.detail)
    return problem_response(problem, request_id)
