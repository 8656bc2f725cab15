"""Grafana Alerting's webhook contact point (payload ``"version": "1"``) → Notification.

Grafana sends Alertmanager's document (alertmanager.py reads it) plus a few fields, per the webhook
notifier docs (https://grafana.com/docs/grafana/latest/alerting/configure-notifications/
manage-contact-points/integrations/webhook-notifier/) and grafana/alerting's
templates/template_data.go (ExtendedAlert) and receivers/webhook/v1/webhook.go:

- top level: ``orgId``; ``title``, ``state`` and ``message``, documented as "will be deprecated
  soon". They are the contact point's rendered title and message templates, so they are used only
  when no alert carries a summary or description at all.
- per alert: ``values`` (query refId → number, e.g. ``{"B": 44.2, "C": 1}``), ``valueString``
  (the same as one line of text with metric labels, slated for removal), ``silenceURL`` (Grafana's
  own silence form, pre-filled; used instead of building Alertmanager's), ``dashboardURL`` and
  ``panelURL`` (deprecated, "" when the rule has no dashboard), ``imageURL`` (a panel screenshot,
  only when one was taken).

``verify`` checks the bearer token (HOOK_BEARER_TOKEN, Grafana's authorization header) and the HMAC
signature Grafana adds when the contact point has a secret (GRAFANA_WEBHOOK_SECRET): hex
HMAC-SHA256 of the body, or of ``<timestamp>:<body>`` when the contact point names a timestamp
header (the webhook notifier docs above, "HMAC signature").
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import math
import re
import time
from typing import TYPE_CHECKING, Any

from shared.sources import alertmanager
from shared.sources.auth import SignatureInvalid, equal, verify_bearer_token
from shared.sources.base import HookRequest
from shared.sources.notification import Alert, Link, Notification
from shared.sources.readers import string_map, text_of

if TYPE_CHECKING:
    from shared.settings import HookAuthSettings
    from shared.sources.base import SourceSettings

# Grafana signs "<timestamp>:<body>" when its contact point names a timestamp header (it has no
# default name: GRAFANA_WEBHOOK_TIMESTAMP_HEADER says which); older deliveries are refused so a
# captured request cannot be replayed later.
GRAFANA_MAX_SKEW_S = 300

_BOLD_RE = re.compile(r"\*\*(.+?)\*\*")
_LONG_NUMBER_RE = re.compile(r"(?<![\w.])-?\d+\.\d{3,}(?![\w.])")
_VALUE_STRING_RE = re.compile(r"\[ var='([^']*)' labels=\{([^}]*)\} value=([^ \]]+) \]")

# Per-alert URLs, in the order their buttons appear after Runbook and Source.
_ALERT_URLS = (("Dashboard", "dashboardURL"), ("Panel", "panelURL"), ("Image", "imageURL"), ("Silence", "silenceURL"))


class GrafanaSource:
    """/api/hooks/grafana: the bearer token, then the HMAC signature, each when its setting is set."""

    name = "grafana"

    def __init__(self, hook_auth: HookAuthSettings) -> None:
        self._bearer_token = hook_auth.bearer_token
        self._secret = hook_auth.grafana_secret
        self._timestamp_header = hook_auth.grafana_timestamp_header

    def verify(self, request: HookRequest) -> bool:
        verify_bearer_token(request, self._bearer_token)
        if self._secret is None:
            return False
        timestamp = None
        if self._timestamp_header is not None:
            timestamp = request.headers.get(self._timestamp_header)
            if not timestamp:
                raise SignatureInvalid(f"The {self._timestamp_header} header is required.")
        verify_signature(
            # The documented name, or the one Grafana's first HMAC release used.
            request.headers.get("X-Grafana-Alerting-Signature") or request.headers.get("X-Grafana-Alert-Signature"),
            timestamp,
            request.body,
            self._secret,
            now_s=time.time(),
        )
        return True

    def read(self, request: HookRequest) -> Notification:
        return to_notification(request)


def build(settings: SourceSettings) -> GrafanaSource:
    return GrafanaSource(settings.hook_auth)


def verify_signature(signature: str | None, timestamp: str | None, body: bytes, secret: str, *, now_s: float) -> None:
    """Grafana's X-Grafana-Alerting-Signature: hex HMAC-SHA256 of the body, or of "<ts>:<body>"."""
    signed = body
    if timestamp is not None:
        seconds = timestamp.strip()
        # isascii too: "1²".isdigit() is True, and int() would raise on it.
        if not (seconds.isascii() and seconds.isdigit()) or abs(now_s - int(seconds)) > GRAFANA_MAX_SKEW_S:
            raise SignatureInvalid(f"The signature timestamp is not within {GRAFANA_MAX_SKEW_S} s of now.")
        signed = seconds.encode() + b":" + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    if not signature or not equal(signature.strip().lower(), expected):
        raise SignatureInvalid("X-Grafana-Alerting-Signature is missing or does not match GRAFANA_WEBHOOK_SECRET.")


def to_notification(request: HookRequest) -> Notification:
    group = alertmanager.read_group(request.payload, "a Grafana webhook")
    alerts = [_with_grafana_fields(alertmanager.read_alert(raw), raw) for raw in group.alerts]
    message = None
    if not any(alert.summary or alert.description for alert in alerts):
        # The contact point's rendered message is the only prose there is; kept as text with its
        # lines (the mail keeps line breaks and makes its addresses links), without the Markdown
        # bold of Grafana's default template ("**Firing**", templates/default_template.go).
        message = readable_message(text_of(request.payload.get("message")))
    links = [Link("Grafana", group.external_url)] if group.external_url else []
    return alertmanager.notification_from(group, alerts, source=request.source, links=links, description=message)


def readable_message(message: str | None) -> str | None:
    """Grafana's ``message`` as plain lines: Markdown bold markers dropped, long decimals rounded."""
    if not message:
        return None
    text = _BOLD_RE.sub(r"\1", message)
    text = _LONG_NUMBER_RE.sub(lambda match: _rounded(match.group(0)), text)
    return text.strip() or None


def _with_grafana_fields(alert: Alert, raw: dict[str, Any]) -> Alert:
    values = {key: _rounded(value) for key, value in string_map(raw.get("values")).items()}
    # valueString, "[ var='B' labels={instance=web-1:9100} value=87.31 ], ...", says which series
    # each value is of; the values then show with their labels.
    for ref_id, labels, value in _VALUE_STRING_RE.findall(text_of(raw.get("valueString")) or ""):
        values[ref_id] = f"{_rounded(value)} ({labels})" if labels else _rounded(value)
    links = [*alert.links, *(Link(title, url) for title, key in _ALERT_URLS if (url := text_of(raw.get(key))))]
    return dataclasses.replace(alert, values=values, links=links)


def _rounded(text: str) -> str:
    """87.31 stays, 44.23943737541908 → 44.24: Grafana sends float64s at full precision."""
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number) or len(text.partition(".")[2]) <= 2:
        return text
    return f"{number:.2f}" if abs(number) >= 1 else f"{number:.3g}"
