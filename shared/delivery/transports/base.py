"""The one interface every transport implements, chosen once from MAIL_TRANSPORT and MAIL_DELIVERY.

A transport that cannot deliver raises a Problem of one of three categories, and callers decide by
the category alone, never by a transport's own exception names or HTTP status numbers:

- ``RetryLater``: nothing was sent; the same message may go through after ``retry_after_s``.
- ``OutcomeUnknown``: the request may have been sent (a send timed out after it left), so it must
  never be sent again, unless the transport is a ``ResumableTransport`` that can find out first.
- ``Refused``: refused for good; the message or a setting must change first.

The categories live in ``shared.problems`` so that ``shared.azure`` (the token provider) can use
them too without importing the delivery package.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from shared.mail.graph_message import GraphSend
from shared.problems import OutcomeUnknown, Refused, RetryLater

__all__ = ["OutcomeUnknown", "Refused", "ResumableTransport", "RetryLater", "Transport"]


class Transport(Protocol):
    name: str

    def send(self, mail: GraphSend, request_id: str) -> None:
        """Deliver the message, or raise RetryLater, OutcomeUnknown or Refused; never send it twice."""
        ...


@runtime_checkable
class ResumableTransport(Transport, Protocol):
    """A transport that can finish a send whose outcome was unknown, without sending it twice (Graph's
    draft method: the draft, or the copy Exchange filed once it went out, is found again by the request id)."""

    def can_resume(self, mail: GraphSend) -> bool:
        """Whether this message's send (its outcome unknown) can be looked up and finished."""
        ...

    def resume(self, mail: GraphSend, request_id: str) -> bool:
        """Finish the send of request ``request_id``: True if sent now, False if it had been sent already;
        OutcomeUnknown while that cannot be told."""
        ...
