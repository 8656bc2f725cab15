"""GET /api/status (function key): each sender mailbox's limits and digests, by name.

/api/health is anonymous and so names no mailbox; this is what an operator reads in a storm: per
mailbox, the recipients used of the budget (every instance's sends, rolling 24 hours), the
messages of the last minute against the pace, the sends in flight, the notifications held for a
digest, and the last digest sent. The answer is the Status model, also its schema in the OpenAPI
document.
"""

from __future__ import annotations

from typing import Literal

import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field

from shared.endpoints._respond import responding
from shared.problems import json_response
from shared.runtime import Runtime, current_runtime

NO_STORE = {"Cache-Control": "no-store"}


class _Report(BaseModel):
    model_config = ConfigDict(frozen=True, validate_by_name=True, serialize_by_alias=True)


class MailboxStatus(_Report):
    mailbox: str
    recipients_used_last_24h: int = Field(alias="recipientsUsedLast24h")
    recipients_per_day: int = Field(alias="recipientsPerDay")
    sent_last_minute: int = Field(alias="sentLastMinute")
    messages_per_minute: int = Field(alias="messagesPerMinute")
    sends_in_flight: int = Field(alias="sendsInFlight")
    held_notifications: int = Field(alias="heldNotifications")
    last_digest_at: float | None = Field(alias="lastDigestAt")  # epoch seconds, the storage service's clock
    last_digest_entries: int = Field(alias="lastDigestEntries")


class Status(_Report):
    """Every sender mailbox the bridge has sent from (in the last 24 hours) or holds notifications for."""

    # "table": every instance's sends (Table storage); "memory": this process's only (no storage).
    store: Literal["table", "memory"]
    mailboxes: list[MailboxStatus]


@responding
def handle_status(req: func.HttpRequest, request_id: str, runtime: Runtime | None = None) -> func.HttpResponse:
    runtime = runtime or current_runtime()  # misconfigured: 503 configuration_invalid, naming the settings
    usages = {usage.mailbox: usage for usage in runtime.mailbox_limits.usage()}  # unreachable: 503, Retry-After
    held = runtime.holding.counts() if runtime.holding is not None else {}
    limits = runtime.settings.limits
    mailboxes = []
    for mailbox in sorted(set(usages) | set(held)):
        usage = usages.get(mailbox)
        mailboxes.append(
            MailboxStatus(
                mailbox=mailbox,
                recipients_used_last_24h=usage.recipients_used if usage else 0,
                recipients_per_day=limits.daily_recipient_budget,
                sent_last_minute=usage.sent_last_minute if usage else 0,
                messages_per_minute=limits.mailbox_messages_per_minute,
                sends_in_flight=usage.in_flight if usage else 0,
                held_notifications=held.get(mailbox, 0),
                last_digest_at=usage.last_digest_at if usage else None,
                last_digest_entries=usage.last_digest_entries if usage else 0,
            )
        )
    report = Status(store=runtime.mailbox_limits.kind, mailboxes=mailboxes)
    return json_response(report.model_dump(mode="json"), 200, request_id, headers=NO_STORE)
