"""Delivery: what happens to an approved message, the same way for the HTTP endpoints and the queue.

- ``dispatch``: the one claim → budget → send → settle flow (``Dispatcher``).
- ``idempotency/``: the key store behind the claim (in-process, or Azure Table storage).
- ``limits``: the per-caller rate limit and the daily recipient budget per mailbox.
- ``transports/``: ``base`` (the Transport protocol and the failure categories RetryLater,
  OutcomeUnknown, Refused), ``graph``, ``outbox``, and ``queue`` (send only).
- ``mail_queue``: the outbound queue's storage (envelope, claim-check body, requeue, poison);
  ``queue_worker``: what the queue-triggered function does after each category.
"""
