"""Where an approved message goes: Microsoft Graph, or the local outbox folder."""

from .base import Transport

__all__ = ["Transport"]
