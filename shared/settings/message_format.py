"""How generated mail (webhook notifications, digests) goes to Graph: its MIME form, or its JSON one.

``MAIL_MESSAGE_FORMAT``: ``mime`` sends a multipart/alternative message with a plain-text part,
``Auto-Submitted`` and the threading headers mail clients group a conversation by, which Graph's
JSON form cannot carry (it takes only ``x-`` headers:
https://learn.microsoft.com/graph/api/resources/internetmessageheader); ``json`` keeps the JSON form.
Unset, it is ``mime`` with MAIL_SEND_METHOD=sendmail and ``json`` with ``draft``: drafts are made
of the JSON form only (a MIME message always goes by sendMail, ``GraphTransport``), and whoever asks
for the draft method asks for "never lost", which threading headers must not silently take away.
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


def read_message_format(read: SettingsReader, *, draft_method: bool) -> MessageFormatSettings:
    default = MessageFormat.JSON if draft_method else MessageFormat.MIME
    return MessageFormatSettings(
        format=MessageFormat(read.choice("MAIL_MESSAGE_FORMAT", [f.value for f in MessageFormat], default)),
        thread_by_date=ThreadByDate(read.choice("MAIL_THREAD_BY_DATE", [t.value for t in ThreadByDate], "none")),
    )
