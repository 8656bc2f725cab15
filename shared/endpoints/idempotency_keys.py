"""Whose an idempotency key is: every key is scoped, so one caller's key never meets another's.

A caller's ``Idempotency-Key`` header names a request of that caller's only: scoped by a digest of
the function key it called with (keys in the ``x-functions-key`` header or ``?code=``), so caller B
sending the key caller A used gets its own mail and its own request id, never A's (the IETF draft's
keys are per client: https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/).
Without a function key (the local dev server, which does not check keys) every caller is one.

Keys the bridge derives from what a notification says (an alert group and its fingerprints, a
signed body) are scoped by the source and route: the same notification sent to one route twice is
one mail, whoever sent it (Alertmanager's replicas each send it), and the same one on two routes is
two.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

FUNCTION_KEY_HEADER = "x-functions-key"


def caller_scope(headers: Mapping[str, str], params: Mapping[str, str]) -> str:
    """A digest of the function key the caller used (never the key itself), or "anonymous"."""
    function_key = headers.get(FUNCTION_KEY_HEADER) or params.get("code")
    if not function_key:
        return "anonymous"
    return "key-" + hashlib.sha256(function_key.encode()).hexdigest()[:32]


def signed_body_key(body: bytes) -> str:
    """The key of a delivery whose body a verified signature covers: a digest of that body."""
    return "signed-body:" + hashlib.sha256(body).hexdigest()
