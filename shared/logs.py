"""Logging with the request id on every line, so one request can be followed in App Insights."""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("mailhook_request_id", default=None)


class _RequestIdFilter(logging.Filter):
    # The Functions host forwards only the formatted message to App Insights, so the id goes into
    # the message itself rather than into a record attribute a formatter would have to know about.
    def filter(self, record: logging.LogRecord) -> bool:
        request_id = _request_id.get()
        record.request_id = request_id
        if request_id and not getattr(record, "mailhook_tagged", False):
            record.msg = f"[requestId={request_id}] {record.msg}"
            record.mailhook_tagged = True
        return True


_FILTER = _RequestIdFilter()


def get_logger(name: str) -> logging.Logger:
    """A logger whose records carry the current request id (filters do not propagate to children)."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger


@contextlib.contextmanager
def request_context(request_id: str) -> Iterator[None]:
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)
