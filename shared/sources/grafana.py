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

The HMAC signature Grafana can add is checked before this adapter runs (shared/caller_auth.py).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from shared.sources import alertmanager
from shared.sources.base import HookRequest, string_map, text_of
from shared.sources.notification import Alert, Link, Notification

# Per-alert URLs, in the order their buttons appear after Runbook and Source.
_ALERT_URLS = (("Dashboard", "dashboardURL"), ("Panel", "panelURL"), ("Image", "imageURL"), ("Silence", "silenceURL"))


def to_notification(request: HookRequest) -> Notification:
    group = alertmanager.read_group(request.payload, "a Grafana webhook")
    alerts = [_with_grafana_fields(alertmanager.read_alert(raw), raw) for raw in group.alerts]
    fallback_summary = None
    if not any(alert.summary or alert.description for alert in alerts):
        fallback_summary = text_of(request.payload.get("message")) or text_of(request.payload.get("title"))
    links = [Link("Grafana", group.external_url)] if group.external_url else []
    return alertmanager.notification_from(group, alerts, source=request.source, links=links, summary=fallback_summary)


def _with_grafana_fields(alert: Alert, raw: dict[str, Any]) -> Alert:
    values = string_map(raw.get("values"))
    description = alert.description
    if value_string := text_of(raw.get("valueString")):
        # Without a description annotation, the evaluated values are the best description there is.
        if description is None:
            description = value_string
        else:
            values["valueString"] = value_string
    links = [*alert.links, *(Link(title, url) for title, key in _ALERT_URLS if (url := text_of(raw.get(key))))]
    return dataclasses.replace(alert, description=description, values=values, links=links)
