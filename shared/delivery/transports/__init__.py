"""Where an approved message goes: Microsoft Graph, or the local outbox folder."""

from shared.delivery.transports.base import Transport

__all__ = ["Transport"]
