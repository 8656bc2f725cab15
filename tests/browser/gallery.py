"""Every stored upstream-shaped delivery (tests/data/<source>/*.json) as the mail the default templates make.

The browser tests and ``make screenshots`` (scripts/screenshots.py) both walk this gallery, so a
fixture added to tests/data is rendered, measured and photographed without further wiring.
GitHub and Sentry fixtures are named after the event or resource their header names
(``<X-GitHub-Event>.<what>.json``, ``<Sentry-Hook-Resource>.<action>.json``); it goes in that header.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
from dataclasses import dataclass
from pathlib import Path

from shared.mail.rendering import Renderer, status_line
from shared.settings.routes import Route
from shared.sources import SOURCES
from shared.sources.base import HookRequest
from shared.sources.notification import Notification

DATA = Path(__file__).resolve().parents[1] / "data"
# The header a source reads its event or resource kind from, when its fixtures are named after it.
_NAMED_BY_HEADER = {"github": "X-GitHub-Event", "sentry": "Sentry-Hook-Resource"}

# What a reader must see without scrolling sideways, beyond what every mail shows (its status word
# and its alerts' names, which ``expected_texts`` adds).
KEY_FACTS: dict[str, tuple[str, ...]] = {
    "alertmanager/firing-truncated": (
        "FIRING · 5 alerts: 3 not included",
        "3 more alerts",
        "pod=payments-api-7d9f8b6c5-4xk2p",
    ),
    "alertmanager/firing-with-resolved": ("RESOLVED",),
    "grafana/default-message": ("High memory usage", "High CPU usage", "44.24", "zone=us-1"),
    "grafana/firing": ("87.31", "zone=eu-west-1a", "Runbook"),
    "azure-monitor/legacy-metric-alert": ("Transactions", "greater than", "Sev3"),
    "azure-monitor/metric-static-fired": ("Transactions", "Greater than", "Investigate in Azure portal"),
    "azure-monitor/metric-multi-criteria-fired": ("Percentage CPU",),
    "azure-monitor/service-health-resolved": ("RESOLVED", "Test Action Group - Test Service Health Alert"),
    "slack/alertmanager-slack-config": ("HighMemoryUsage (prod-eu)", "Open in Alertmanager"),
    "slack/uptime-blocks": ("HTTP 503 Service Unavailable", "the incident page"),
}


@dataclass(frozen=True)
class Specimen:
    name: str  # "<source>/<fixture name>"
    source: str
    notification: Notification
    html: str
    subject: str

    def expected_texts(self) -> list[str]:
        texts = [status_line(self.notification).split(" · ")[0]]  # FIRING, RESOLVED, or an event's severity
        texts.extend(alert.name[:40] for alert in self.notification.alerts[:12])
        texts.extend(KEY_FACTS.get(self.name, ()))
        return list(dict.fromkeys(texts))


def specimens(*, now: dt.datetime | None = None) -> list[Specimen]:
    """The rendered mail of every fixture that becomes a mail (pings and ignored events do not)."""
    renderer = Renderer(None)
    found = []
    for source in SOURCES:
        module = importlib.import_module(f"shared.sources.{source.replace('-', '_')}")
        for path in sorted((DATA / source).glob("*.json")):
            payload = json.loads(path.read_text(encoding="utf-8"))
            header = _NAMED_BY_HEADER.get(source)
            headers = {header: path.name.split(".")[0]} if header else {}
            route = _route_for(path)
            request = HookRequest(source=source, payload=payload, headers=headers, body=path.read_bytes(), route=route)
            notification = module.to_notification(request)
            if not isinstance(notification, Notification):
                continue
            mail = renderer.render(notification, route)
            found.append(Specimen(f"{source}/{path.stem}", source, notification, mail.body, mail.subject))
    return found


def _route_for(path: Path) -> Route:
    """A plain route; with the mapping of ``mappings/<sender>.json`` beside the fixture when there is one
    (generic payloads are read by their route's mapping: tests/data/generic/mappings)."""
    mapping = path.parent / "mappings" / f"{path.name.split('.')[0]}.json"
    if not mapping.is_file():
        return Route()
    return Route.model_validate({"mapping": json.loads(mapping.read_text(encoding="utf-8"))})
