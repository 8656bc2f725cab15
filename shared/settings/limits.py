"""Limits: a request rate per caller, and each sender mailbox's budget, pace and digests."""

from __future__ import annotations

from dataclasses import dataclass

from shared.settings.reader import SettingsReader


@dataclass(frozen=True)
class LimitSettings:
    rate_limit_per_minute: int  # per caller and instance; 0: off
    rate_limit_burst: int
    daily_recipient_budget: int  # per sender mailbox, rolling 24 hours, every instance together
    digest_reserve: int  # recipients of that budget only digests may use
    mailbox_messages_per_minute: int  # per sender mailbox, every instance together
    digest_window_s: int  # how long held notifications gather before their digest is sent


def read_limits(read: SettingsReader) -> LimitSettings:
    # Exchange blocks a mailbox past 10,000 recipients in 24 hours and delays its mail past 30
    # messages a minute
    # (https://learn.microsoft.com/office365/servicedescriptions/exchange-online-service-description/exchange-online-limits).
    budget = read.count("MAIL_DAILY_RECIPIENT_BUDGET", 8000, maximum=10_000, minimum=1)
    reserve = read.count("MAIL_DIGEST_RESERVE", min(500, budget // 10), maximum=10_000)
    if reserve >= budget:
        read.fail("MAIL_DIGEST_RESERVE", f"must be below MAIL_DAILY_RECIPIENT_BUDGET ({budget})")
    return LimitSettings(
        rate_limit_per_minute=read.count("MAIL_RATE_LIMIT_PER_MINUTE", 300, maximum=100_000),
        rate_limit_burst=read.count("MAIL_RATE_LIMIT_BURST", 100, maximum=100_000, minimum=1),
        daily_recipient_budget=budget,
        digest_reserve=reserve,
        mailbox_messages_per_minute=read.count("MAIL_MAILBOX_MESSAGES_PER_MINUTE", 30, maximum=10_000, minimum=1),
        digest_window_s=read.seconds("MAIL_DIGEST_WINDOW_S", 60, maximum=3600),
    )
