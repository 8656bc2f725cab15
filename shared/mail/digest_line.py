"""The line a notification takes in a storm digest: what the digest's summary table shows of it.

A notification that would go past its sender mailbox's pace or budget is held, not sent, and
later named in one digest mail per route (``shared.mail.digest``, ``shared.delivery.digests``).
The line is fixed when the notification is composed, so it travels with the message through the
queue and the held-notification store unchanged.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only read here: /api/mail imports this module without the webhook sources
    from shared.sources.notification import Notification


@dataclass(frozen=True)
class DigestLine:
    route: str
    source: str
    status: str  # "firing", "resolved", "info"
    severity: str
    title: str
    at: str  # when it happened, ISO 8601 UTC: the first alert's start, else when it arrived
    link: str | None

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> DigestLine:
        document = json.loads(text)
        return cls(**{name: document.get(name) for name in cls.__dataclass_fields__})


def digest_line(notification: Notification, route_name: str) -> DigestLine:
    starts = [alert.starts_at for alert in notification.alerts if alert.starts_at is not None]
    moment = min(starts) if starts else dt.datetime.now(dt.UTC)
    links = [*notification.links, *(link for alert in notification.alerts for link in alert.links)]
    return DigestLine(
        route=route_name,
        source=notification.source,
        status=notification.status.value,
        severity=notification.severity.value,
        title=notification.title,
        at=moment.astimezone(dt.UTC).isoformat(timespec="seconds"),
        link=links[0].url if links else None,
    )
