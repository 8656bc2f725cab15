"""Caller checks several sources share: the bearer token, constant-time comparison, and the 401 answers.

A sender's own signature lives with its source (github.py, grafana.py, azure_monitor/entra_token.py).
Every comparison is constant-time (hmac.compare_digest), so timing does not leak the secret.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.problems import Problem
from shared.sources.base import HookRequest, Skip
from shared.sources.notification import Notification


class CallerUnauthorized(Problem):
    status = 401
    code = "unauthorized"
    title = "The caller could not be authenticated"


class SignatureInvalid(Problem):
    status = 401
    code = "signature_invalid"
    title = "The webhook signature is missing or wrong"


def verify_bearer_token(request: HookRequest, token: str | None) -> None:
    """HOOK_BEARER_TOKEN: ``Authorization: Bearer <token>`` when set; nothing to check when None."""
    if token is None:
        return
    scheme, _, credentials = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not equal(credentials.strip(), token):
        raise CallerUnauthorized(
            "This endpoint requires 'Authorization: Bearer <HOOK_BEARER_TOKEN>'.",
            headers={"WWW-Authenticate": 'Bearer realm="mailhook"'},
        )


@dataclass(frozen=True)
class BearerTokenSource:
    """A source whose callers prove themselves with HOOK_BEARER_TOKEN alone (when it is set)."""

    name: str
    reader: Callable[[HookRequest], Notification | Skip]  # the module's payload reader
    bearer_token: str | None = field(repr=False)

    def verify(self, request: HookRequest) -> None:
        verify_bearer_token(request, self.bearer_token)

    def read(self, request: HookRequest) -> Notification | Skip:
        return self.reader(request)


def equal(given: str, expected: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(given.encode(), expected.encode())
