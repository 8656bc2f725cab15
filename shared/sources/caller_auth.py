"""Caller authentication on /api/hooks beyond the function key: a bearer token and sender signatures.

Every comparison is constant-time (hmac.compare_digest), so timing does not leak the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from shared.problems import Problem
from shared.settings import HookAuthSettings

if TYPE_CHECKING:
    from shared.sources.entra_token import EntraWebhookVerifier

# Grafana signs "<timestamp>:<body>" when its contact point names a timestamp header (it has no
# default name: GRAFANA_WEBHOOK_TIMESTAMP_HEADER says which); older deliveries are refused so a
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


# Senders that cannot add an Authorization header of our choosing: Azure Monitor action groups
# send none (or their own Entra token), and GitHub proves itself with its signature instead.
def _bearer_token_applies(source: str, settings: HookAuthSettings) -> bool:
    if source == "azure-monitor":
        return False
    return not (source == "github" and settings.github_secret is not None)


def verify_caller(
    source: str,
    headers: Mapping[str, str],
    body: bytes,
    settings: HookAuthSettings,
    entra_webhook_verifier: EntraWebhookVerifier | None = None,
) -> None:
    """Raise a 401 Problem unless the caller proves what the settings require; nothing is sent then.

    ``entra_webhook_verifier`` (the Runtime's) checks Azure Monitor's Entra token; it may also
    raise a 503 when Entra's signing keys cannot be fetched, which action groups retry.
    """
    if source == "azure-monitor" and settings.azure_monitor_audiences:
        if entra_webhook_verifier is None:  # fail closed: the setting asks for a check nobody would make
            raise CallerUnauthorized("AZURE_MONITOR_WEBHOOK_AUDIENCE is set but no Entra token verifier was built.")
        entra_webhook_verifier.verify(headers.get("Authorization"))
    if settings.bearer_token is not None and _bearer_token_applies(source, settings):
        scheme, _, credentials = (headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not _equal(credentials.strip(), settings.bearer_token):
            raise CallerUnauthorized(
                "This endpoint requires 'Authorization: Bearer <HOOK_BEARER_TOKEN>'.",
                headers={"WWW-Authenticate": 'Bearer realm="mailhook"'},
            )
    if source == "github" and settings.github_secret is not None:
        verify_github_signature(headers.get("X-Hub-Signature-256"), body, settings.github_secret)
    if source == "grafana" and settings.grafana_secret is not None:
        timestamp = None
        if settings.grafana_timestamp_header is not None:
            timestamp = headers.get(settings.grafana_timestamp_header)
            if not timestamp:
                raise SignatureInvalid(f"The {settings.grafana_timestamp_header} header is required.")
        verify_grafana_signature(
            # The documented name, or the one Grafana's first HMAC release used.
            headers.get("X-Grafana-Alerting-Signature") or headers.get("X-Grafana-Alert-Signature"),
            timestamp,
            body,
            settings.grafana_secret,
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
    if timestamp is not None:
        seconds = timestamp.strip()
        # isascii too: "1²".isdigit() is True, and int() would raise on it.
        if not (seconds.isascii() and seconds.isdigit()) or abs(now_s - int(seconds)) > GRAFANA_MAX_SKEW_S:
            raise SignatureInvalid(f"The signature timestamp is not within {GRAFANA_MAX_SKEW_S} s of now.")
        signed = seconds.encode() + b":" + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    if not signature or not _equal(signature.strip().lower(), expected):
        raise SignatureInvalid("X-Grafana-Alerting-Signature is missing or does not match GRAFANA_WEBHOOK_SECRET.")


def _equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
