"""Lenient readers every source shares: payload values that may be missing, null or of another type."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from shared.problems import FieldError
from shared.sources.base import InvalidHookPayload

# Labels, annotations or values read from one object. Prometheus rules rarely carry 30 labels;
# past this many a mail would be a wall of table rows nobody reads.
MAX_MAP_ENTRIES = 100
# Alertmanager's way of saying "no end time yet" (Go's zero time.Time).
ZERO_TIME_PREFIX = "0001-01-01"
# The moments a notification can sensibly be about. Outside them a time is a sender's bug or a
# probe, and near the ends of what datetime holds (years 1 and 9999) converting it to UTC or
# subtracting it raises OverflowError: 9999-12-31T23:00:00-02:00 is in year 10000 in UTC.
EARLIEST_TIME = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST_TIME = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)


def parse_time(text: Any) -> dt.datetime | None:
    """An RFC 3339 timestamp as an aware datetime; None for absent, zero, unreadable or absurd values.

    Python 3.11's fromisoformat reads RFC 3339 whole: ``Z``, offsets, and the up to nine fractional
    digits Go and .NET print (https://docs.python.org/3/library/datetime.html#datetime.datetime.fromisoformat).
    Only a lower-case ``z``, which RFC 3339 allows, is left to us. A time outside 1970 to 2200 is
    dropped like an unreadable one: a mail shows no time rather than a made-up one.
    """
    if not isinstance(text, str) or not text.strip() or text.startswith(ZERO_TIME_PREFIX):
        return None
    value = text.strip()
    if value.endswith("z"):
        value = value[:-1] + "Z"
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    moment = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return moment if EARLIEST_TIME <= moment < LATEST_TIME else None


def require_object(payload: Any, what: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise InvalidHookPayload(f"Expected {what} as a JSON object.", errors=[FieldError("", "expected an object")])
    return payload


def text_of(value: Any) -> str | None:
    """A payload value as display text: strings as they are, numbers and booleans printed, else None."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return None


def string_map(value: Any) -> dict[str, str]:
    """A JSON object of labels or annotations as str → str, dropping what is not printable.

    At most MAX_MAP_ENTRIES, the first in the sender's order: one alert of a 6 MB body can hold
    300,000 labels, each later copied into a silence link, a dedup key and a table row.
    """
    if not isinstance(value, dict):
        return {}
    return {
        str(key): text
        for key, raw in itertools.islice(value.items(), MAX_MAP_ENTRIES)
        if (text := text_of(raw)) is not None
    }
