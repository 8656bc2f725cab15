"""Caller checks several sources share: the bearer token, constant-time comparison, and the 401 answers.

A sender's own signature lives with its source (github.py, grafana.py, azure_monitor/entra_token.py).
Every comparison is constant-time (hmac.compare_digest), so timing does not leak the secret.
"""

from __future__ import annotations

import hmac

from shared.problems import Problem
from shared.sources.base import HookRequest


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


def equal(given: str, expected: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(given.encode(), expected.encode())
