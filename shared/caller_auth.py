"""Caller authentication on /api/hooks beyond the function key: a bearer token and sender signatures.

Every comparison is constant-time (hmac.compare_digest), so timing does not leak the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

from .problems import Problem
from .settings import Settings

# Grafana signs "<timestamp>:<body>" when it sends a timestamp; older deliveries are refused so a
# captured request cannot be replayed later.
GRAFANA_MAX_SKEW_S = 300


class CallerUnauthorized(Problem):
    status = 401
    code = "unauthorized"
    title = "The caller could not be authenticated"


class SignatureInvalid(Problem):
    status = 401
    code = "signature_invalid"
    title = "The webhook signature is missing or wrong"


def verify_caller(source: str, headers: Mapping[str, str], body: bytes, settings: Settings) -> None:
    """Raise a 401 Problem unless the caller proves what the settings require; nothing is sent then."""
    if settings.hook_bearer_token is not None:
        scheme, _, credentials = (headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not _equal(credentials.strip(), settings.hook_bearer_token):
            raise CallerUnauthorized(
                "This endpoint requires 'Authorization: Bearer <HOOK_BEARER_TOKEN>'.",
                headers={"WWW-Authenticate": 'Bearer realm="mailhook"'},
            )
    if source == "github" and settings.github_webhook_secret is not None:
        verify_github_signature(headers.get("X-Hub-Signature-256"), body, settings.github_webhook_secret)
    if source == "grafana" and settings.grafana_webhook_secret is not None:
        verify_grafana_signature(
            headers.get("X-Grafana-Alerting-Signature"),
            headers.get("X-Grafana-Alerting-Signature-Timestamp"),
            body,
            settings.grafana_webhook_secret,
            now_s=time.time(),
        )


def verify_github_signature(signature: str | None, body: bytes, secret: str) -> None:
    """GitHub's X-Hub-Signature-256: ``sha256=`` + hex HMAC-SHA256 of the raw body."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not signature or not _equal(signature.strip(), expected):
        raise SignatureInvalid("X-Hub-Signature-256 is missing or does not match GITHUB_WEBHOOK_SECRET.")


def verify_grafana_signature(
    signature: str | None, timestamp: str | None, body: bytes, secret: str, *, now_s: float
) -> None:
    """Grafana's X-Grafana-Alerting-Signature: hex HMAC-SHA256 of the body, or of "<ts>:<body>"."""
    signed = body
    if timestamp:
        if not timestamp.strip().isdigit() or abs(now_s - int(timestamp)) > GRAFANA_MAX_SKEW_S:
            raise SignatureInvalid(
                f"X-Grafana-Alerting-Signature-Timestamp is not within {GRAFANA_MAX_SKEW_S} s of now."
            )
        signed = timestamp.strip().encode() + b":" + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    if not signature or not _equal(signature.strip().lower(), expected):
        raise SignatureInvalid("X-Grafana-Alerting-Signature is missing or does not match GRAFANA_WEBHOOK_SECRET.")


def _equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
