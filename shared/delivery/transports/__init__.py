"""Where an approved message goes: Microsoft Graph, the local outbox folder, or the outbound queue."""

from shared.delivery.transports.base import (
    OutcomeUnknown,
    Refused,
    ResumableTransport,
    Resumed,
    RetryLater,
    SendProgress,
    Transport,
)

__all__ = ["OutcomeUnknown", "Refused", "ResumableTransport", "Resumed", "RetryLater", "SendProgress", "Transport"]
