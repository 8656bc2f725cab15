"""Abuse limits: a request rate per caller and a daily recipient budget per sender mailbox."""

from __future__ import annotations

from dataclasses import dataclass

from shared.settings.reader import SettingsReader


@dataclass(frozen=True)
class LimitSettings:
    rate_limit_per_minute: int  # per caller and instance; 0: off
    rate_limit_burst: int
    daily_recipient_budget: int  # per sender mailbox and instance, rolling 24 hours


def read_limits(read: SettingsReader) -> LimitSettings:
    return LimitSettings(
        rate_limit_per_minute=read.count("MAIL_RATE_LIMIT_PER_MINUTE", 300, maximum=100_000),
        rate_limit_burst=read.count("MAIL_RATE_LIMIT_BURST", 100, maximum=100_000, minimum=1),
        # Exchange blocks a mailbox past 10,000 recipients in 24 hours
        # (https://learn.microsoft.com/office365/servicedescriptions/exchange-online-service-description/exchange-online-limits).
        daily_recipient_budget=read.count("MAIL_DAILY_RECIPIENT_BUDGET", 8000, maximum=10_000, minimum=1),
    )
