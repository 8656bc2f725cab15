"""One sender mailbox's shared limits as plain data, and the rules that admit a send against them.

Exchange Online limits a mailbox to 10,000 recipients per rolling 24 hours (past it the mailbox is
blocked from sending, typically for a day, while Graph keeps answering 202) and to 30 messages a
minute (past it, submissions are queued and delivered late)
(https://learn.microsoft.com/office365/servicedescriptions/exchange-online-service-description/exchange-online-limits);
Outlook allows an app 4 concurrent requests per mailbox (429 ``ApplicationThrottled`` past it,
https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits). A ledger holds what
these limits are counted from, for every instance of the bridge at once:

- ``reserved``: recipients per 10-minute bucket. A bucket counts until 24 hours after its end, so
  the rolling budget is kept with at most 10 minutes of extra caution and 145 numbers per mailbox.
- ``admitted``: sends admitted per second over the last minute (the pace): at most 60 numbers,
  however high the pace.
- ``slots``: the sends in flight, each with a lease that ends on its own, so an instance that
  crashes mid-send frees its slot without anyone's help.

``admit`` and ``settle`` are pure: the stores (``memory``, ``table``) load a ledger, apply one of
them with the time they trust, and write it back atomically. Both refuse by raising ``Deferred``
problems, which say when to try again.
"""

from __future__ import annotations

import enum
import json
import math
from dataclasses import dataclass, field
from typing import Any

from shared.problems import Deferred

DAY_S = 24 * 3600
BUCKET_S = 600
PACE_WINDOW_S = 60


class Purpose(enum.StrEnum):
    MAIL = "mail"  # POST /api/mail: the caller's own message
    NOTIFICATION = "notification"  # a webhook notification: held for a digest rather than refused
    DIGEST = "digest"  # a storm digest: may use what the others leave for it


class MailboxPaced(Deferred):
    status = 429
    code = "mailbox_paced"
    title = "The sender mailbox has sent as many messages this minute as its pace allows"


class RecipientBudgetExhausted(Deferred):
    status = 429
    code = "recipient_budget_exhausted"
    title = "The sender mailbox's daily recipient budget is used up"


class MailboxBusy(Deferred):
    status = 503
    code = "mailbox_busy"
    title = "The sender mailbox has as many sends in flight as Outlook allows"


@dataclass(frozen=True)
class MailboxRules:
    recipients_per_day: int  # MAIL_DAILY_RECIPIENT_BUDGET, below Exchange's 10,000
    digest_reserve: int  # MAIL_DIGEST_RESERVE: recipients of the budget only digests may use
    messages_per_minute: int  # MAIL_MAILBOX_MESSAGES_PER_MINUTE, Exchange's 30 by default
    slot_lease_s: float  # longer than one send, retries included (MAIL_SEND_DEADLINE_S)
    send_slots: int = 4  # Outlook's concurrent requests per app and mailbox
    digests: bool = True  # False without storage: nothing can be held, so nothing is kept for digests

    def recipient_cap(self, purpose: Purpose) -> int:
        if purpose is Purpose.DIGEST or not self.digests:
            return self.recipients_per_day
        return max(0, self.recipients_per_day - self.digest_reserve)

    def message_cap(self, purpose: Purpose) -> int:
        # One message a minute is kept for digests, so a storm's digest never waits for the storm's
        # own pace to pass; with a pace of 1 there is nothing to keep.
        if purpose is Purpose.DIGEST or not self.digests or self.messages_per_minute < 2:
            return self.messages_per_minute
        return self.messages_per_minute - 1


@dataclass(frozen=True)
class Permit:
    """An admitted send: its slot, its pace entry and its reservation, until it is settled."""

    mailbox: str
    token: str  # names the send slot
    bucket: int  # the bucket the recipients were reserved in
    second: int  # the second it was admitted in, for the pace
    recipients: int
    purpose: Purpose
    entries: int = 0  # a digest: how many notifications it names
    # A send slot alone (``take_slot``): a resumed send, whose recipients and pace entry its first
    # attempt took already.
    slot_only: bool = False


@dataclass
class MailboxLedger:
    reserved: dict[int, int] = field(default_factory=dict)  # bucket start (epoch s) -> recipients
    admitted: dict[int, int] = field(default_factory=dict)  # second (epoch) -> sends admitted in it
    slots: dict[str, float] = field(default_factory=dict)  # token -> lease end
    last_digest_at: float = 0.0
    last_digest_entries: int = 0

    def prune(self, now: float) -> None:
        self.reserved = {start: n for start, n in self.reserved.items() if start + BUCKET_S > now - DAY_S and n > 0}
        self.admitted = {second: n for second, n in self.admitted.items() if second > now - PACE_WINDOW_S and n > 0}
        self.slots = {token: until for token, until in self.slots.items() if until > now}

    @property
    def used(self) -> int:
        return sum(self.reserved.values())

    @property
    def sent_last_minute(self) -> int:
        return sum(self.admitted.values())

    def admit(self, rules: MailboxRules, permit: Permit, now: float) -> None:
        """Record ``permit``, or raise a Deferred saying which limit refuses it and for how long.

        Pace and budget are checked before the slots: a notification they refuse is held for a
        digest, while a full set of slots is a matter of seconds, worth waiting for.
        """
        self.prune(now)
        message_cap = rules.message_cap(permit.purpose)
        sent = self.sent_last_minute
        if sent >= message_cap:
            raise MailboxPaced(
                f"{permit.mailbox} has sent {sent} messages in the last minute; its pace is "
                f"{rules.messages_per_minute} a minute (MAIL_MAILBOX_MESSAGES_PER_MINUTE). Nothing was sent.",
                retry_after_s=_seconds_until(self._pace_frees_at(message_cap, now), now),
            )
        cap = rules.recipient_cap(permit.purpose)
        if self.used + permit.recipients > cap:
            reserve = (
                "" if cap == rules.recipients_per_day else f", of which {rules.digest_reserve} are kept for digests"
            )
            raise RecipientBudgetExhausted(
                f"{permit.mailbox} has sent to {self.used} recipients in 24 hours; its budget is "
                f"{rules.recipients_per_day} (MAIL_DAILY_RECIPIENT_BUDGET{reserve}), below Exchange's 10,000. "
                "Nothing was sent.",
                retry_after_s=_seconds_until(self._budget_frees_at(permit.recipients, cap, now), now),
            )
        if len(self.slots) >= rules.send_slots:
            raise MailboxBusy(
                f"{permit.mailbox} has {len(self.slots)} sends in flight, Outlook's limit; nothing was sent.",
                retry_after_s=1,
            )
        self.reserved[permit.bucket] = self.reserved.get(permit.bucket, 0) + permit.recipients
        self.admitted[permit.second] = self.admitted.get(permit.second, 0) + 1
        self.slots[permit.token] = now + rules.slot_lease_s

    def take_slot(self, rules: MailboxRules, permit: Permit, now: float) -> None:
        """Record a slot-only ``permit``, or raise MailboxBusy: Outlook's concurrency limit holds for
        every request, a resumed send's included, though its budget and pace were counted before."""
        self.prune(now)
        if len(self.slots) >= rules.send_slots:
            raise MailboxBusy(
                f"{permit.mailbox} has {len(self.slots)} sends in flight, Outlook's limit; nothing was sent.",
                retry_after_s=1,
            )
        self.slots[permit.token] = now + rules.slot_lease_s

    def settle(self, permit: Permit, *, taken: bool, now: float) -> None:
        """Free the slot; a send Graph did not take gives back its recipients and its pace entry."""
        self.slots.pop(permit.token, None)
        if permit.slot_only:
            pass  # its recipients and pace entry are its first attempt's, settled then
        elif not taken:
            if permit.second in self.admitted:
                self.admitted[permit.second] = max(0, self.admitted[permit.second] - 1)
            if permit.bucket in self.reserved:
                self.reserved[permit.bucket] = max(0, self.reserved[permit.bucket] - permit.recipients)
        elif permit.purpose is Purpose.DIGEST:
            self.last_digest_at = now
            self.last_digest_entries = permit.entries
        self.prune(now)

    def _pace_frees_at(self, cap: int, now: float) -> float:
        """When enough of the last minute's sends leave it for one more to fit under ``cap``."""
        sent = self.sent_last_minute
        for second in sorted(self.admitted):
            sent -= self.admitted[second]
            if sent < cap:
                return second + PACE_WINDOW_S
        return now + PACE_WINDOW_S

    def _budget_frees_at(self, recipients: int, cap: int, now: float) -> float:
        """When enough of the oldest buckets leave the window for ``recipients`` more to fit."""
        used = self.used
        for start in sorted(self.reserved):
            used -= self.reserved[start]
            if used + recipients <= cap:
                return start + BUCKET_S + DAY_S
        return now + DAY_S  # more recipients than the cap: never within a day

    # -- storage form ------------------------------------------------------------------------

    def to_properties(self) -> dict[str, Any]:
        return {
            "Reserved": json.dumps({str(k): v for k, v in self.reserved.items()}, separators=(",", ":")),
            "Admitted": json.dumps({str(k): v for k, v in self.admitted.items()}, separators=(",", ":")),
            "Slots": json.dumps(self.slots, separators=(",", ":")),
            "LastDigestAt": self.last_digest_at,
            "LastDigestEntries": self.last_digest_entries,
        }

    @classmethod
    def from_properties(cls, properties: Any) -> MailboxLedger:
        return cls(
            reserved={int(k): int(v) for k, v in json.loads(properties.get("Reserved") or "{}").items()},
            admitted={int(k): int(v) for k, v in json.loads(properties.get("Admitted") or "{}").items()},
            slots={str(k): float(v) for k, v in json.loads(properties.get("Slots") or "{}").items()},
            last_digest_at=float(properties.get("LastDigestAt") or 0.0),
            last_digest_entries=int(properties.get("LastDigestEntries") or 0),
        )


def bucket_of(now: float) -> int:
    return int(now // BUCKET_S) * BUCKET_S


def _seconds_until(moment: float, now: float) -> int:
    return max(1, math.ceil(moment - now))
