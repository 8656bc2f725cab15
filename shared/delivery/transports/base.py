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

import enum
from typing import Protocol, runtime_checkable

from shared.mail.graph_message import GraphSend
from shared.problems import OutcomeUnknown, Refused, RetryLater

__all__ = [
    "OutcomeUnknown", "Refused", "ResumableTransport", "Resumed", "RetryLater", "SendProgress", "Transport",
]  # fmt: skip


class Transport(Protocol):
    name: str

    def send(self, mail: GraphSend, request_id: str) -> None:
        """Deliver the message, or raise RetryLater, OutcomeUnknown or Refused; never send it twice."""
        ...


class SendProgress(Protocol):
    """Where a send's progress is kept (the claim on its idempotency key), so that the attempt that
    resumes it knows how far an earlier one got: ``recorded`` is what that one recorded ("" nothing;
    None: not known, so any step may have been taken). ``record`` is called before a step that cannot
    be taken back; when it raises (RetryLater), that step must not be taken."""

    @property
    def recorded(self) -> str | None: ...

    def record(self, progress: str) -> None: ...


class Resumed(enum.Enum):
    SENT_NOW = "sent now"  # it had not gone out, and it has now
    ALREADY_SENT = "already sent"  # the earlier attempt's send went out
    # The earlier attempt had handed it to Graph and nothing can tell yet whether it went out: it is
    # neither sent again nor reported sent.
    STILL_UNKNOWN = "still unknown"


@runtime_checkable
class ResumableTransport(Transport, Protocol):
    """A transport that can finish a send whose outcome was unknown, without sending it twice (Graph's
    draft method: the draft, or the copy Exchange filed once it went out, is found again by the request id,
    and the claim's progress says whether the draft had been handed over for sending)."""

    def send(self, mail: GraphSend, request_id: str, progress: SendProgress | None = None) -> None:
        """``Transport.send``, recording its progress (when given) before each step it cannot take back."""
        ...

    def can_resume(self, mail: GraphSend) -> bool:
        """Whether this message's send (its outcome unknown) can be looked up and finished."""
        ...

    def resume(self, mail: GraphSend, request_id: str, progress: SendProgress) -> Resumed:
        """Finish the send of request ``request_id``, which got as far as ``progress.recorded``;
        OutcomeUnknown when something went wrong while finding out."""
        ...
