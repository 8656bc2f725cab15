"""Small readers of Azure Monitor's values: every field may be missing, null or of another type."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from shared.sources.notification import Link, time_text
from shared.sources.readers import parse_time, text_of

MAX_FACT_CHARS = 1000


MAX_LIST_ITEMS = 20  # dimensions, targets, custom properties


_ISO_DURATION_RE = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?", re.IGNORECASE)


_WORD_BOUNDARY_RE = re.compile(r"(?<=[a-z])(?=[A-Z])")


def as_object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_text(value: Any) -> str | None:
    if isinstance(value, float):
        return number_text(value)
    return text_of(value)


def as_texts(value: Any) -> list[str]:
    return [text for item in as_list(value) if (text := as_text(item))]


def lower_text(value: Any) -> str:
    return (as_text(value) or "").lower()


def number_text(value: Any) -> str | None:
    """31.1105 → '31.1105', 3.0 → '3', '25' → '25'."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return text_of(value)


def words_of(value: Any) -> str | None:
    """'GreaterThan' → 'greater than', 'UserInitiated' → 'user initiated', 'Less Than' → 'less than'."""
    text = as_text(value)
    return _WORD_BOUNDARY_RE.sub(" ", text).lower() if text else None


def label_of(value: Any) -> str | None:
    """'UserInitiated' → 'User initiated', 'LinkToSearchResults' → 'Link to search results'."""
    words = words_of(value)
    return words[:1].upper() + words[1:] if words else None


def http_url(value: Any) -> str | None:
    text = as_text(value)
    return text if text and text.lower().startswith(("https://", "http://")) and " " not in text else None


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def moment_text(moment: dt.datetime | None) -> str | None:
    return time_text(moment) or None


def span_text(start: Any, end: Any) -> str | None:
    """An evaluation window; the V1 log payloads print '3/22/2019 1:36:31 PM', shown as sent."""
    first = moment_text(parse_time(start)) or as_text(start)
    last = moment_text(parse_time(end)) or as_text(end)
    if first and last:
        return f"{first} to {last}"
    return first or last


def iso_duration_text(value: Any) -> str | None:
    """'PT5M' → '5 min', 'PT1H30M' → '1 h 30 min', 'P1D' → '1 d'; anything else as sent."""
    text = as_text(value)
    if not text:
        return None
    match = _ISO_DURATION_RE.fullmatch(text)
    if not match or not any(match.groups()):
        return text
    days, hours, minutes, seconds = match.groups()
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    parts.append(f"{seconds} s" if seconds else "")
    return " ".join(p for p in parts if p)


def unique_texts(values: Any) -> list[str]:
    seen: dict[str, str] = {}
    for value in values:
        if value and value.lower() not in seen:
            seen[value.lower()] = value
    return list(seen.values())


def unique_links(links: list[Link]) -> list[Link]:
    seen: set[str] = set()
    unique = []
    for link in links:
        if link.url not in seen:
            seen.add(link.url)
            unique.append(link)
    return unique
