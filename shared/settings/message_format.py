"""How generated mail (webhook notifications, digests) goes to Graph: its MIME form, or its JSON one.

``MAIL_MESSAGE_FORMAT``: ``mime`` sends a multipart/alternative message with a plain-text part,
``Auto-Submitted`` and the threading headers mail clients group a conversation by, which Graph's
JSON form cannot carry (it takes only ``x-`` headers:
https://learn.microsoft.com/graph/api/resources/internetmessageheader); ``json`` keeps the JSON form.
Unset, it is ``mime``, with either send method: with MAIL_SEND_METHOD=draft a MIME notification is
made a draft of its own bytes and found again by its Message-ID (``GraphTransport``), so it is
"never lost" as a JSON draft is.
``MAIL_THREAD_BY_DATE``: ``none`` (the default) threads a route's group for ever; ``daily`` starts
a new thread each UTC day, as Alertmanager's ``thread_by_date`` does. A route's ``threadByDate``
overrides it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from shared.settings.reader import SettingsReader


class MessageFormat(enum.StrEnum):
    MIME = "mime"
    JSON = "json"


class ThreadByDate(enum.StrEnum):
    NONE = "none"
    DAILY = "daily"


@dataclass(frozen=True)
class MessageFormatSettings:
    format: MessageFormat = MessageFormat.MIME
    thread_by_date: ThreadByDate = ThreadByDate.NONE


def read_message_format(read: SettingsReader) -> MessageFormatSettings:
    return MessageFormatSettings(
        format=MessageFormat(read.choice("MAIL_MESSAGE_FORMAT", [f.value for f in MessageFormat], "mime")),
        thread_by_date=ThreadByDate(read.choice("MAIL_THREAD_BY_DATE", [t.value for t in ThreadByDate], "none")),
    )
