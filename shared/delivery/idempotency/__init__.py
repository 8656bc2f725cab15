"""Idempotency: one notification, one email, however often its sender delivers it.

``base`` is the flow and the store interface; ``memory`` and ``table`` are the stores.
"""

from shared.delivery.idempotency.base import Claim, IdempotencyStore, Outcome

__all__ = ["Claim", "IdempotencyStore", "Outcome"]
