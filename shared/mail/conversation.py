"""Conversations: which mail thread a notification belongs to, in the headers mail clients thread by.

Every mail of one route and one group (``Notification.thread_key``: Alertmanager's group key, Azure
Monitor's alert id; else the topic) answers the same root: ``In-Reply-To``
and ``References`` name a Message-ID no mail has, as Alertmanager's email notifier does
(``<alert-{16 hex of the key's hash}-{date}@{host}>``, prometheus/alertmanager PRs #4623 and #4826),
so the firing mail and its resolved mail are one conversation. With ``thread_by_date: daily`` the
root changes with the UTC day.

Outlook also reads ``Thread-Topic`` and ``Thread-Index`` (https://learn.microsoft.com/office/client-developer/outlook/mapi/tracking-conversations):
the index is the 22-byte header block of PidTagConversationIndex ([MS-OXOMSG] 2.2.1.3,
https://learn.microsoft.com/openspecs/exchange_server_protocols/ms-oxomsg/9e994fbb-b839-495f-84e3-2c8c02c7dd9b):
a reserved 0x01, the 40 high bits of a FILETIME, big-endian, and a GUID (Data1-3 big-endian). Both
come from the root, so every mail of the thread carries the same block: the GUID from the root's
hash, the time from the thread's day (the Unix epoch for a thread without one, which has no start
we could know). The topic is the title without its status tag and without the trailing
``(label values)`` Alertmanager-style subjects end in, which change while a group resolves
(``[FIRING:3] HighMemoryUsage (prod-eu warning)``, then ``[RESOLVED] HighMemoryUsage (prod-eu)``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import uuid
from dataclasses import dataclass

from shared.mail.rendering import header_title, one_line
from shared.settings.message_format import ThreadByDate
from shared.sources.notification import Notification

# FILETIME counts 100 ns intervals since 1601-01-01 UTC ([MS-DTYP] 2.3.3).
_FILETIME_EPOCH = dt.datetime(1601, 1, 1, tzinfo=dt.UTC)
_UNDATED = dt.date(1970, 1, 1)
_TRAILING_LABELS_RE = re.compile(r"\s*\([^()]*\)$")


@dataclass(frozen=True)
class Conversation:
    """One thread: its root's local part (the domain is the sender mailbox's), topic and index."""

    root: str  # "alert-<16 hex>-<date>" or "alert-<16 hex>"
    topic: str  # Thread-Topic: the subject without its status tag
    index: bytes  # Thread-Index, 22 bytes

    def root_id(self, domain: str) -> str:
        return f"<{self.root}@{domain}>"

    @property
    def index_header(self) -> str:
        return base64.b64encode(self.index).decode()


def conversation_of(
    notification: Notification, route_name: str, by_date: ThreadByDate, now: dt.datetime
) -> Conversation:
    title = one_line(header_title(notification.title))
    topic = _TRAILING_LABELS_RE.sub("", title) or title
    key = notification.thread_key or f"title:{topic.lower()}"
    digest = hashlib.sha256(f"{route_name}\n{notification.source}\n{key}".encode()).digest()
    day = now.astimezone(dt.UTC).date() if by_date is ThreadByDate.DAILY else None
    root = f"alert-{digest[:8].hex()}" + (f"-{day.isoformat()}" if day else "")
    return Conversation(root=root, topic=topic, index=thread_index(digest, day or _UNDATED))


def thread_index(root_digest: bytes, day: dt.date) -> bytes:
    """The PidTagConversationIndex header block of a thread: 0x01, FILETIME's 40 high bits, the GUID."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    filetime = (start - _FILETIME_EPOCH) // dt.timedelta(microseconds=1) * 10
    guid = uuid.UUID(bytes=root_digest[:16])  # .bytes is big-endian throughout: Data1-3 as the spec wants
    return b"\x01" + (filetime >> 24).to_bytes(5, "big") + guid.bytes
